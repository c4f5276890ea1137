/*
 * test_fdlimit.c: each server out of file descriptors (issue 13).
 *
 * mockresd, the frontend and the dashboard each run with a low
 * RLIMIT_NOFILE (soft and hard, set before the exec, so their raising of
 * the soft limit cannot help), and get flooded with more connections than
 * they have fds.  Each must pause accepting rather than spin: under 10% of
 * a core over 3 s (from /proc/PID/stat) and fewer than 20 log lines; a
 * connection opened before the flood is still served; once the flood's
 * connections close, new connections are served again.
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "rawclient.h"
#include "support.h"

#define NOFILE     40
#define FLOOD      120
#define MEASURE_MS 3000
#define CPU_MAX    0.10 /* of one core */
#define LOG_MAX    20

static const char *sock;
static pid_t mrd_pid;

/* One GET on keep-alive connection FD; returns the status, 0 if none came
 * within TIMEOUT_MS. */
static int
ka_get(int fd, const char *path, int timeout_ms)
{
	char req[256], buf[65536];
	struct pollfd pfd = {fd, POLLIN, 0};
	double end = clock_now_ms_frac() + timeout_ms;
	size_t got = 0, clen;
	const char *h, *cl;
	int status = 0;
	ssize_t n;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
	         path);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
		return 0;
	for (;;) {
		int left = (int)(end - clock_now_ms_frac());

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return 0;
		if ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) <= 0)
			return 0;
		got += (size_t)n;
		buf[got] = '\0';
		if ((h = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		if ((cl = strcasestr(buf, "\r\nContent-Length:")) == NULL ||
		    cl > h)
			return 0; /* every answer here has one */
		clen = strtoul(cl + 17, NULL, 10);
		if (got >= (size_t)(h + 4 - buf) + clen)
			break;
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	return status;
}

static long
log_lines(const char *logname)
{
	char path[300], buf[4096];
	long n = 0;
	ssize_t r, i;
	int fd;

	snprintf(path, sizeof(path), "%s.log", sup_path(logname));
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < r; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

static void
print_log(const char *logname)
{
	char path[300], buf[8192];
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "%s.log", sup_path(logname));
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	while ((r = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[r] = '\0';
		printf("%s", buf);
	}
	close(fd);
}

/* The share of one core PID used over MEASURE_MS. */
static double
cpu_share(pid_t pid)
{
	double c0 = sup_proc_cpu_ms(pid), t0 = clock_now_ms_frac(), c1;

	ck_assert_double_ge(c0, 0);
	sup_sleep_ms(MEASURE_MS);
	c1 = sup_proc_cpu_ms(pid);
	ck_assert_double_ge(c1, 0);
	return (c1 - c0) / (clock_now_ms_frac() - t0);
}

/* Opens up to FLOOD connections with CONNECT_FN(arg); returns how many. */
static int
flood(int *fds, int (*connect_fn)(const void *), const void *arg)
{
	int i;

	for (i = 0; i < FLOOD; i++)
		if ((fds[i] = connect_fn(arg)) == -1)
			break;
	return i;
}

static void
unflood(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

static int
connect_tcp_fn(const void *arg)
{
	return sup_tcp_connect(*(const int *)arg);
}

static int
connect_unix_fn(const void *arg)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", (const char *)arg);
	/* Non-blocking: a full backlog must not block the test. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What each scenario checks, once its server is flooded. */
static void
check_flooded(pid_t pid, const char *logname, long lines0, double *cpu)
{
	long lines;

	sup_sleep_ms(500); /* let it hit the limit */
	ck_assert_msg(sup_alive(pid), "%s died", logname);
	*cpu = cpu_share(pid);
	lines = log_lines(logname) - lines0;
	printf("%s flooded: %.1f%% of a core over %d ms, %ld log lines, %ld "
	       "fds (limit %d)\n",
	       logname, *cpu * 100, MEASURE_MS, lines, sup_proc_fds(pid),
	       NOFILE);
	if (lines >= LOG_MAX)
		print_log(logname);
	ck_assert_double_lt(*cpu, CPU_MAX);
	ck_assert_int_lt(lines, LOG_MAX);
	ck_assert_int_ge(sup_proc_fds(pid), NOFILE - 2); /* it was exhausted */
}

/* After a flood: a new connection to PORT is accepted and PATH served,
 * within 10 s. */
static void
assert_new_connection_served(int port, const char *path)
{
	double end = clock_now_ms_frac() + 10000;
	int fd;

	for (;;) {
		fd = sup_tcp_connect(port);
		if (fd >= 0 && ka_get(fd, path, 3000) == 200)
			break;
		if (fd >= 0)
			close(fd);
		ck_assert_msg(clock_now_ms_frac() < end,
		              "no new connection served after the flood");
		sup_sleep_ms(100);
	}
	close(fd);
}

static int
mrd_stats_ok(int fd, uint64_t id)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	Mockres__Response *resp;
	int eof = 0, ok;

	req.has_id = 1;
	req.id = id;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	if (raw_send_req(fd, &req) == -1)
		return 0;
	if ((resp = raw_recv(fd, 5000, &eof)) == NULL)
		return 0;
	ok = resp->id == id && resp->status == MOCKRES__STATUS__OK &&
	     resp->stats != NULL;
	mockres__response__free_unpacked(resp, NULL);
	return ok;
}

START_TEST(test_mockresd_out_of_fds)
{
	const char *argv[] = {MOCKRESD_BIN, "--socket", NULL, NULL};
	int fds[FLOOD], n, old, fresh = -1, i;
	double cpu, end;
	long lines0;

	sock = sup_path("mockresd.sock");
	argv[2] = sock;
	mrd_pid = sup_spawn_nofile(argv, "mockresd", NOFILE);
	ck_assert_int_gt(mrd_pid, 0);
	ck_assert_int_eq(sup_wait_socket(sock, 10000), 0);
	old = raw_connect(sock);
	ck_assert_int_ge(old, 0);
	ck_assert(mrd_stats_ok(old, 1));
	lines0 = log_lines("mockresd");

	n = flood(fds, connect_unix_fn, sock);
	ck_assert_int_gt(n, NOFILE);
	check_flooded(mrd_pid, "mockresd", lines0, &cpu);
	for (i = 0; i < 3; i++)
		ck_assert_msg(mrd_stats_ok(old, 10 + (uint64_t)i),
		              "the open connection is not served");

	unflood(fds, n);
	end = clock_now_ms_frac() + 10000;
	while (fresh == -1 || !mrd_stats_ok(fresh, 100)) {
		if (fresh != -1)
			close(fresh);
		ck_assert_msg(clock_now_ms_frac() < end,
		              "no new connection served after the flood");
		sup_sleep_ms(100);
		fresh = raw_connect(sock);
	}
	close(fresh);
	close(old);
	ck_assert_int_eq(sup_stop(mrd_pid, SIGTERM, 10000), 0);
}
END_TEST

/*
 * A real mockresd, then the HTTP server ARGV (whose "--listen" and
 * "--socket" values are the NULLs at LISTEN_AT and SOCK_AT) under the fd
 * limit, listening on a free port; returns its pid, the port in *PORT.
 */
static pid_t
start_http_under_limit(const char *argv[], int listen_at, int sock_at,
                       const char *logname, int *port)
{
	static char listen[32];
	pid_t pid;

	sock = sup_path("mockresd.sock");
	mrd_pid = sup_start_mockresd(sock, NULL);
	ck_assert_int_gt(mrd_pid, 0);
	*port = sup_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", *port);
	argv[listen_at] = listen;
	argv[sock_at] = sock;
	pid = sup_spawn_nofile(argv, logname, NOFILE);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(sup_wait_port(*port, 10000), 0);
	return pid;
}

START_TEST(test_frontend_out_of_fds)
{
	const char *argv[] = {FRONTEND_BIN, "--listen", NULL, "--workers",
	                      "1",          "--socket", NULL, NULL};
	int fds[FLOOD], n, old, port, i;
	pid_t fe, kids[2];
	double cpu, end;
	long lines0;

	fe = start_http_under_limit(argv, 2, 6, "frontend", &port);
	end = clock_now_ms_frac() + 10000;
	while (sup_proc_children(fe, kids, 2) != 1) {
		ck_assert(clock_now_ms_frac() < end);
		sup_sleep_ms(10);
	}
	old = sup_tcp_connect(port);
	ck_assert_int_ge(old, 0);
	while (ka_get(old, "/healthz", 5000) != 200) {
		ck_assert_msg(clock_now_ms_frac() < end,
		              "frontend never healthy");
		sup_sleep_ms(50);
	}
	lines0 = log_lines("frontend");

	n = flood(fds, connect_tcp_fn, &port);
	ck_assert_int_gt(n, NOFILE);
	check_flooded(kids[0], "frontend", lines0, &cpu);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ka_get(old, "/part1/async", 5000), 200);

	unflood(fds, n);
	assert_new_connection_served(port, "/part1/async");
	close(old);
	ck_assert_int_eq(sup_stop(fe, SIGTERM, 20000), 0);
	sup_stop(mrd_pid, SIGTERM, 10000);
}
END_TEST

START_TEST(test_dashboard_out_of_fds)
{
	const char *argv[] = {DASHBOARD_BIN, "--listen", NULL,
	                      "--socket",    NULL,       NULL};
	int fds[FLOOD], n, old, port, i;
	pid_t dash;
	double cpu;
	long lines0;

	dash = start_http_under_limit(argv, 2, 4, "dashboard", &port);
	old = sup_tcp_connect(port);
	ck_assert_int_ge(old, 0);
	ck_assert_int_eq(ka_get(old, "/api/stats", 5000), 200);
	lines0 = log_lines("dashboard");

	n = flood(fds, connect_tcp_fn, &port);
	ck_assert_int_gt(n, NOFILE);
	check_flooded(dash, "dashboard", lines0, &cpu);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(ka_get(old, "/api/stats", 5000), 200);

	unflood(fds, n);
	assert_new_connection_served(port, "/api/stats");
	close(old);
	ck_assert_int_eq(sup_stop(dash, SIGTERM, 10000), 0);
	sup_stop(mrd_pid, SIGTERM, 10000);
}
END_TEST

static Suite *
fdlimit_suite(void)
{
	Suite *s = suite_create("fdlimit");
	TCase *tc = tcase_create("integration");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_mockresd_out_of_fds);
	tcase_add_test(tc, test_frontend_out_of_fds);
	tcase_add_test(tc, test_dashboard_out_of_fds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return sup_run_suite(fdlimit_suite());
}
