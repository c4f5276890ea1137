/*
 * test_frontend.c: the real mockres-frontend in front of the real mockresd,
 * on a free port and a temporary socket: the HTTP surface, the hold times,
 * hard mode, mockresd going away and coming back, worker respawn, reload
 * and graceful stop.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "clock.h"
#include "support.h"

static const char *sock;
static pid_t mrd_pid, fe_pid;
static int port;
static char portarg[32];

static void
start_mockresd(const char *limit, const char *hold)
{
	const char *extra[] = {"--limit", limit, "--hold-ms", hold, NULL};

	mrd_pid = sup_mockresd("mockresd.sock", extra, &sock);
}

/* Starts the frontend with 2 workers and waits until it answers healthz. */
static void
start_frontend(void)
{
	const char *extra[] = {"--workers", "2", "-v", NULL};
	struct sup_http_resp r;
	pid_t kids[8];
	double end;

	fe_pid = sup_http_server(FRONTEND_BIN, "frontend", sock, extra, &port);
	snprintf(portarg, sizeof(portarg), "127.0.0.1:%d", port);
	end = clock_now_ms_frac() + 10000;
	for (;;) {
		if (sup_http(port, "GET", "/healthz", NULL, &r, 5000) == 0 &&
		    r.status == 200)
			break;
		ck_assert_msg(clock_now_ms_frac() < end,
		              "frontend never healthy");
		sup_sleep_ms(20);
	}
	while (sup_proc_children(fe_pid, kids, 8) != 2) {
		ck_assert_msg(clock_now_ms_frac() < end,
		              "workers never started");
		sup_sleep_ms(20);
	}
}

static void
stop_all(void)
{
	sup_stop_ok(fe_pid, "the frontend", 20000);
	sup_stop(mrd_pid, SIGTERM, 10000);
}

/*
 * N requests at once, each on its own connection (HTTP/1.1, Connection:
 * close), all sent before any answer is read.  Fills STATUS[i] (0 if none)
 * and MS[i], the time to each full answer.
 */
#define MANY_MAX 64
static void
http_many(const char *path, int n, int *status, double *ms, int timeout_ms)
{
	struct pollfd pfd[MANY_MAX];
	static char buf[MANY_MAX][2048];
	size_t len[MANY_MAX];
	struct sockaddr_in sin;
	char req[256];
	uint64_t t0 = clock_now_us();
	double end = (double)clock_now_ms_frac() + timeout_ms;
	int i, open_fds = n, rl;

	ck_assert_int_le(n, MANY_MAX);
	rl = snprintf(req, sizeof(req),
	              "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	              "Connection: close\r\n\r\n",
	              path);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++) {
		pfd[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(pfd[i].fd, 0);
		ck_assert_int_eq(
		    connect(pfd[i].fd, (struct sockaddr *)&sin, sizeof(sin)),
		    0);
		pfd[i].events = POLLIN;
		len[i] = 0;
		status[i] = 0;
		ms[i] = -1;
	}
	for (i = 0; i < n; i++)
		ck_assert_int_eq(send(pfd[i].fd, req, (size_t)rl, MSG_NOSIGNAL),
		                 rl);
	while (open_fds > 0 && clock_now_ms_frac() < end) {
		if (poll(pfd, (nfds_t)n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 ||
			    !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(pfd[i].fd, buf[i] + len[i],
			         sizeof(buf[i]) - 1 - len[i]);
			if (r > 0) {
				len[i] += (size_t)r;
				continue;
			}
			buf[i][len[i]] = '\0';
			sscanf(buf[i], "HTTP/1.%*d %d", &status[i]);
			ms[i] = (double)(clock_now_us() - t0) / 1000.0;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			open_fds--;
		}
	}
	for (i = 0; i < n; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
}

START_TEST(test_routes)
{
	struct sup_http_resp r;
	char h[256];

	start_mockresd("15", "100");
	start_frontend();

	ck_assert_int_eq(sup_http(port, "GET", "/nope", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 404);
	ck_assert_int_eq(
	    sup_http(port, "POST", "/part1/serial", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(sup_http_header(&r, "Allow", h, sizeof(h)));
	ck_assert_str_eq(h, "GET, HEAD");
	ck_assert_int_eq(sup_http(port, "DELETE", "/", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 405);

	ck_assert_int_eq(sup_http(port, "GET", "/", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 303);
	ck_assert_ptr_nonnull(sup_http_header(&r, "Location", h, sizeof(h)));
	ck_assert_str_eq(h, "http://127.0.0.1:4001/");
	ck_assert_int_eq(sup_http(port, "GET", "/part1", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 303);

	ck_assert_int_eq(sup_http(port, "HEAD", "/healthz", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq((int)r.body_len, 0);
	ck_assert_int_eq(sup_http(port, "HEAD", "/part1/async", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq((int)r.body_len, 0);

	ck_assert_int_eq(
	    sup_http(port, "GET", "/part1/async?x=1", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "OK");
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Type", h, sizeof(h)));
	ck_assert_ptr_nonnull(strstr(h, "text/plain"));
	stop_all();
}
END_TEST

START_TEST(test_flags)
{
	const char *bad[][4] = {
	    {FRONTEND_BIN, "--workers", "257", NULL},
	    {FRONTEND_BIN, "--workers", "x", NULL},
	    {FRONTEND_BIN, "--listen", "127.0.0.1", NULL},
	    {FRONTEND_BIN, "--listen", "127.0.0.1:0", NULL},
	    {FRONTEND_BIN, "--dashboard-url", "ftp://x/", NULL},
	    {FRONTEND_BIN, "--dashboard-url", "http://a\r\nX: y", NULL},
	    {FRONTEND_BIN, "extra", NULL, NULL},
	};
	const char *help[] = {FRONTEND_BIN, "--help", NULL};
	const char *version[] = {FRONTEND_BIN, "--version", NULL};
	char out[4096], err[4096];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(
		    sup_run(bad[i], out, sizeof(out), err, sizeof(err), 10000),
		    2);
	ck_assert_int_eq(sup_run(help, out, sizeof(out), NULL, 0, 10000), 0);
	ck_assert_ptr_nonnull(strstr(out, "--dashboard-url"));
	ck_assert_int_eq(sup_run(version, out, sizeof(out), NULL, 0, 10000), 0);
	ck_assert_ptr_nonnull(strstr(out, "mockres-frontend"));
}
END_TEST

/* A port that is taken is a clear start-up error, not a silent share. */
START_TEST(test_port_in_use)
{
	const char *argv[] = {FRONTEND_BIN, "--listen",       portarg,
	                      "--socket",   "/tmp/none.sock", NULL};
	char err[4096];

	start_mockresd("15", "100");
	start_frontend();
	ck_assert_int_eq(sup_run(argv, NULL, 0, err, sizeof(err), 10000), 1);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	stop_all();
}
END_TEST

START_TEST(test_serial_and_async)
{
	struct sup_http_resp r;
	struct sup_stats s;

	start_mockresd("0", "2000");
	start_frontend();

	ck_assert_int_eq(
	    sup_http(port, "GET", "/part1/serial", NULL, &r, 10000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "OK");
	ck_assert_msg(r.ms >= 1900, "serial answered after %.0f ms", r.ms);

	ck_assert_int_eq(sup_http(port, "GET", "/part1/async", NULL, &r, 10000),
	                 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "OK");
	ck_assert_msg(r.ms < 400, "async answered after %.0f ms", r.ms);
	ck_assert_int_eq(sup_stats(sock, &s), 0);
	ck_assert_uint_ge(s.in_flight, 1);
	stop_all();
}
END_TEST

/* Hard mode: 30 at once at limit 15 -> 15 OK, 15 fast 500s. */
START_TEST(test_limit_15_of_30)
{
	int status[30], ok = 0, busy = 0, i;
	double ms[30];
	struct sup_stats s;
	struct sup_http_resp r;

	start_mockresd("15", "1500");
	start_frontend();
	http_many("/part1/serial", 30, status, ms, 20000);
	for (i = 0; i < 30; i++) {
		if (status[i] == 200) {
			ok++;
			ck_assert_msg(ms[i] >= 1400, "OK after %.0f ms", ms[i]);
		} else if (status[i] == 500) {
			busy++;
			ck_assert_msg(ms[i] < 1000, "500 after %.0f ms", ms[i]);
		}
	}
	ck_assert_int_eq(ok, 15);
	ck_assert_int_eq(busy, 15);
	ck_assert_int_eq(sup_stats(sock, &s), 0);
	ck_assert_uint_le(s.peak, 15);
	ck_assert_uint_eq(s.admitted, 15);
	ck_assert_uint_eq(s.rejected, 15);
	ck_assert_uint_eq(s.completed, 15);

	/* The reason is mockresd's one line. */
	http_many("/part1/async", 15, status, ms, 10000);
	for (i = 0; i < 15; i++)
		ck_assert_int_eq(status[i], 200);
	ck_assert_int_eq(sup_http(port, "GET", "/part1/async", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 500);
	ck_assert_str_eq(r.body,
	                 "resource busy: 15 requests already in flight");
	stop_all();
}
END_TEST

/* mockresd gone: 503 at once; back: service resumes by itself. */
START_TEST(test_mockresd_restart)
{
	struct sup_http_resp r;
	double end;
	int status;

	start_mockresd("15", "300");
	start_frontend();
	status = sup_stop(mrd_pid, SIGTERM, 10000);
	ck_assert(WIFEXITED(status));

	ck_assert_int_eq(sup_http(port, "GET", "/part1/serial", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_msg(r.ms < 1000, "503 after %.0f ms", r.ms);
	ck_assert_int_eq(sup_http(port, "GET", "/healthz", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 503);

	start_mockresd("15", "300");
	end = clock_now_ms_frac() + 10000;
	for (;;) {
		ck_assert_int_eq(
		    sup_http(port, "GET", "/part1/serial", NULL, &r, 5000), 0);
		if (r.status == 200)
			break;
		ck_assert_int_eq(r.status, 503);
		ck_assert_msg(clock_now_ms_frac() < end, "never recovered");
		sup_sleep_ms(50);
	}
	/* Both workers are back, not just one. */
	for (status = 0; status < 10; status++) {
		ck_assert_int_eq(
		    sup_http(port, "GET", "/part1/async", NULL, &r, 5000), 0);
		if (r.status != 200)
			sup_sleep_ms(300);
	}
	ck_assert_int_eq(r.status, 200);
	stop_all();
}
END_TEST

/* A pending request whose mockresd connection drops gets 503, not a hang. */
START_TEST(test_mockresd_killed_midway)
{
	int status[4], i;
	double ms[4];
	pid_t kid;

	start_mockresd("15", "5000");
	start_frontend();
	if ((kid = fork()) == 0) {
		sup_sleep_ms(500);
		kill(mrd_pid, SIGKILL);
		_exit(0);
	}
	http_many("/part1/serial", 4, status, ms, 10000);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(status[i], 503);
		ck_assert_msg(ms[i] < 3000, "503 after %.0f ms", ms[i]);
	}
	waitpid(kid, NULL, 0);
	start_mockresd("15", "100");
	stop_all();
}
END_TEST

START_TEST(test_worker_respawn)
{
	pid_t before[8], after[8];
	struct sup_http_resp r;
	double end;
	int n, i;

	start_mockresd("0", "100");
	start_frontend();
	ck_assert_int_eq(sup_proc_children(fe_pid, before, 8), 2);
	kill(before[0], SIGKILL);
	end = clock_now_ms_frac() + 10000;
	for (;;) {
		n = sup_proc_children(fe_pid, after, 8);
		if (n == 2 && after[0] != before[0] && after[1] != before[0])
			break;
		ck_assert_msg(clock_now_ms_frac() < end, "worker not replaced");
		sup_sleep_ms(20);
	}
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(
		    sup_http(port, "GET", "/part1/async", NULL, &r, 5000), 0);
		ck_assert_int_eq(r.status, 200);
	}
	stop_all();
}
END_TEST

/* SIGTERM while serial requests hold the resource: they all finish. */
START_TEST(test_sigterm_drains)
{
	int status[6], i, st;
	double ms[6];
	pid_t kid;

	start_mockresd("0", "1500");
	start_frontend();
	if ((kid = fork()) == 0) {
		sup_sleep_ms(400);
		kill(fe_pid, SIGTERM);
		_exit(0);
	}
	http_many("/part1/serial", 6, status, ms, 15000);
	waitpid(kid, NULL, 0);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(status[i], 200);
	st = sup_wait_exit(fe_pid, 15000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	              "frontend status %d", st);
	ck_assert_int_eq(sup_wait_port(port, 200), -1);
	sup_stop(mrd_pid, SIGTERM, 10000);
}
END_TEST

/* What ab -k sends: HTTP/1.0 keep-alive, several requests on one
 * connection; and HTTP/1.1 pipelined. */
START_TEST(test_keepalive)
{
	static const char ka10[] =
	    "GET /part1/async HTTP/1.0\r\nConnection: Keep-Alive\r\n"
	    "Host: x\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n"
	    "GET /part1/serial HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
	    "GET /nope HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
	    "GET /healthz HTTP/1.0\r\n\r\n";
	static const char ka11[] =
	    "GET /part1/async HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /part1/serial HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";
	char out[8192], *p;
	int n;

	start_mockresd("0", "200");
	start_frontend();
	ck_assert_int_gt(
	    sup_http_raw(port, ka10, sizeof(ka10) - 1, out, sizeof(out), 5000),
	    0);
	for (n = 0, p = out; (p = strstr(p, "HTTP/1.0 ")) != NULL; p++)
		n++;
	ck_assert_msg(n == 4, "%d answers: %s", n, out);
	ck_assert_ptr_nonnull(strstr(out,
	                             "HTTP/1.0 200 OK\r\nConnection: "
	                             "keep-alive\r\nContent-Length: 2\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "HTTP/1.0 404"));

	ck_assert_int_gt(
	    sup_http_raw(port, ka11, sizeof(ka11) - 1, out, sizeof(out), 5000),
	    0);
	for (n = 0, p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
		n++;
	ck_assert_msg(n == 3, "%d answers: %s", n, out);
	stop_all();
}
END_TEST

/* Clients that hang up while their serial request waits cost nothing. */
START_TEST(test_client_hangup)
{
	pid_t before[8], after[8];
	struct sockaddr_in sin;
	struct sup_http_resp r;
	static const char req[] =
	    "GET /part1/serial HTTP/1.1\r\nHost: x\r\n\r\n";
	long fds0, fds1;
	int i, fd;
	double end;

	start_mockresd("0", "500");
	start_frontend();
	ck_assert_int_eq(sup_proc_children(fe_pid, before, 8), 2);
	fds0 = sup_proc_fds(before[0]) + sup_proc_fds(before[1]);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 40; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_eq(
		    connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
		ck_assert_int_eq(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL),
		                 (ssize_t)sizeof(req) - 1);
		sup_sleep_ms(2);
		close(fd);
	}
	/* The holds end, the answers hit closed sockets: nothing breaks and
	 * every connection is released. */
	end = clock_now_ms_frac() + 10000;
	do {
		sup_sleep_ms(100);
		fds1 = sup_proc_fds(before[0]) + sup_proc_fds(before[1]);
	} while (fds1 > fds0 && clock_now_ms_frac() < end);
	ck_assert_int_le(fds1, fds0);
	ck_assert_int_eq(sup_proc_children(fe_pid, after, 8), 2);
	ck_assert(after[0] == before[0] || after[0] == before[1]);
	ck_assert(after[1] == before[0] || after[1] == before[1]);
	ck_assert_int_eq(sup_http(port, "GET", "/part1/serial", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 200);
	stop_all();
}
END_TEST

/* SIGHUP replaces every worker while requests keep succeeding. */
START_TEST(test_sighup_reload)
{
	pid_t before[8], after[8];
	struct sup_http_resp r;
	double end;
	int i, n, changed;

	start_mockresd("0", "100");
	start_frontend();
	ck_assert_int_eq(sup_proc_children(fe_pid, before, 8), 2);
	kill(fe_pid, SIGHUP);
	end = clock_now_ms_frac() + 10000;
	for (;;) {
		ck_assert_int_eq(
		    sup_http(port, "GET", "/part1/async", NULL, &r, 5000), 0);
		ck_assert_int_eq(r.status, 200);
		n = sup_proc_children(fe_pid, after, 8);
		changed = 0;
		for (i = 0; i < n; i++)
			changed +=
			    after[i] != before[0] && after[i] != before[1];
		if (n == 2 && changed == 2)
			break;
		ck_assert_msg(clock_now_ms_frac() < end,
		              "workers not replaced");
		sup_sleep_ms(5);
	}
	stop_all();
}
END_TEST

/* Every 503 says when to come back (Retry-After), whatever its cause. */
START_TEST(test_503_retry_after)
{
	static const char *const paths[] = {"/part1/serial", "/part1/async",
	                                    "/healthz"};
	struct sup_http_resp r;
	char h[64];
	size_t i;

	start_mockresd("15", "100");
	start_frontend();
	sup_stop(mrd_pid, SIGKILL, 5000);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		double end = clock_now_ms_frac() + 5000;

		do {
			ck_assert_int_eq(
			    sup_http(port, "GET", paths[i], NULL, &r, 5000), 0);
		} while (r.status != 503 && clock_now_ms_frac() < end);
		ck_assert_int_eq(r.status, 503);
		ck_assert_msg(sup_http_header(&r, "Retry-After", h, sizeof(h)),
		              "%s: 503 without Retry-After: %s", paths[i],
		              r.headers);
		ck_assert_int_gt(atoi(h), 0);
		ck_assert_int_eq(
		    sup_http(port, "HEAD", paths[i], NULL, &r, 5000), 0);
		ck_assert_int_eq(r.status, 503);
		ck_assert_ptr_nonnull(
		    sup_http_header(&r, "Retry-After", h, sizeof(h)));
	}
	ck_assert_int_eq(sup_stop(fe_pid, SIGTERM, 20000) != -1, 1);
}
END_TEST

static Suite *
frontend_suite(void)
{
	Suite *s = suite_create("frontend");
	TCase *tc = tcase_create("integration");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_port_in_use);
	tcase_add_test(tc, test_serial_and_async);
	tcase_add_test(tc, test_limit_15_of_30);
	tcase_add_test(tc, test_mockresd_restart);
	tcase_add_test(tc, test_mockresd_killed_midway);
	tcase_add_test(tc, test_worker_respawn);
	tcase_add_test(tc, test_sigterm_drains);
	tcase_add_test(tc, test_keepalive);
	tcase_add_test(tc, test_client_hangup);
	tcase_add_test(tc, test_sighup_reload);
	tcase_add_test(tc, test_503_retry_after);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return sup_run_suite(frontend_suite());
}
