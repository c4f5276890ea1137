/*
 * test_deadlines.c: no request waits for ever (issue 13), against the real
 * binaries on a temporary socket and free ports:
 *
 * - a use mockresd does not answer within --request-timeout gets 504, and
 *   its late answer is dropped without harm;
 * - a stopped mockresd (SIGSTOP): 504 within the timeout + 1 s, /healthz
 *   503 within 4 s, new requests 503 at once, waiting ones 503 "outcome
 *   unknown" once the stall is seen; after SIGCONT everything recovers
 *   with no process restarted;
 * - a client dripping its request head, or idling after an answer, is
 *   closed within 12 s, while a slow but complete request is served;
 * - mockresctl waits for the hold of a serial use past its reply timeout
 *   while mockresd answers, and gives a stopped mockresd up after the
 *   reply timeout, saying so.
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
#include <unistd.h>

#include "clock.h"
#include "support.h"

#define WORKERS "1"

static const char *sock;
static pid_t mrd_pid;

static void
mrd_start(const char *hold)
{
	const char *extra[] = {"--limit", "0", "--hold-ms", hold, NULL};

	sock = sup_path("mockresd.sock");
	mrd_pid = sup_start_mockresd(sock, extra);
	ck_assert_int_gt(mrd_pid, 0);
}

/* Starts a frontend with one worker; returns its port, waits for 200 on
 * /healthz. */
static int
fe_start(const char *timeout_ms, pid_t *pid, const char *logname)
{
	static char listen[4][32];
	static int n;
	char *l = listen[n++ % 4];
	struct sup_http_resp r;
	double end = clock_now_ms_frac() + 10000;
	int port = sup_free_port();
	const char *argv[] = {
	    FRONTEND_BIN, "--listen", l,    "--workers",
	    WORKERS,      "--socket", sock, "--request-timeout",
	    timeout_ms,   NULL};

	ck_assert_int_gt(port, 0);
	snprintf(l, sizeof(listen[0]), "127.0.0.1:%d", port);
	*pid = sup_spawn(argv, logname);
	ck_assert_int_gt(*pid, 0);
	ck_assert_int_eq(sup_wait_port(port, 10000), 0);
	while (sup_http(port, "GET", "/healthz", NULL, &r, 5000) != 0 ||
	       r.status != 200) {
		ck_assert_msg(clock_now_ms_frac() < end,
		              "frontend never healthy");
		sup_sleep_ms(20);
	}
	return port;
}

static pid_t
fe_worker(pid_t fe)
{
	pid_t kids[4];
	double end = clock_now_ms_frac() + 10000;

	while (sup_proc_children(fe, kids, 4) != 1) {
		ck_assert_msg(clock_now_ms_frac() < end, "no frontend worker");
		sup_sleep_ms(10);
	}
	return kids[0];
}

static int
tcp_connect(int port)
{
	int fd = sup_tcp_connect(port);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void
send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	ck_assert_int_eq(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* A GET on a fresh connection, not yet read. */
static int
http_send(int port, const char *path)
{
	char req[256];
	int fd = tcp_connect(port);

	snprintf(req, sizeof(req),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close"
	         "\r\n\r\n",
	         path);
	send_all(fd, req);
	return fd;
}

/* Reads FD's answer until close (or TIMEOUT_MS); returns the status code,
 * 0 if none; the whole answer goes to BUF. */
static int
http_recv(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	double end = clock_now_ms_frac() + timeout_ms;
	size_t got = 0;
	int status = 0;
	ssize_t n;

	while (got + 1 < len) {
		int left = (int)(end - clock_now_ms_frac());

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		if ((n = read(fd, buf + got, len - got - 1)) <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	return status;
}

/* Polls PATH on PORT until it answers WANT; returns the ms it took, or
 * -1 after TIMEOUT_MS. */
static double
wait_status(int port, const char *path, int want, int timeout_ms)
{
	struct sup_http_resp r;
	double t0 = clock_now_ms_frac();

	for (;;) {
		if (sup_http(port, "GET", path, NULL, &r, 2000) == 0 &&
		    r.status == want)
			return clock_now_ms_frac() - t0;
		if (clock_now_ms_frac() - t0 > timeout_ms)
			return -1;
		sup_sleep_ms(20);
	}
}

START_TEST(test_flag)
{
	static const char *bad[] = {"0", "abc", "-5", "86400001", ""};
	char out[8192], err[1024];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {FRONTEND_BIN, "--request-timeout", bad[i],
		                      NULL};

		ck_assert_int_eq(
		    sup_run(argv, out, sizeof(out), err, sizeof(err), 5000), 2);
		ck_assert_msg(strstr(err, "--request-timeout") != NULL,
		              "no reason for '%s': %s", bad[i], err);
	}
	{
		const char *argv[] = {FRONTEND_BIN, "--help", NULL};

		ck_assert_int_eq(sup_run(argv, out, sizeof(out), NULL, 0, 5000),
		                 0);
		ck_assert_ptr_nonnull(strstr(out, "--request-timeout MS"));
		ck_assert_ptr_nonnull(strstr(out, "default 30000"));
	}
}
END_TEST

/* A healthy mockresd whose hold outlasts the frontend's timeout. */
START_TEST(test_timeout_504)
{
	struct sup_http_resp r;
	struct sup_stats st;
	pid_t fe, wk;
	double t0, end;
	int port, fd, i;
	char buf[4096];

	mrd_start("3000");
	port = fe_start("1000", &fe, "frontend");
	wk = fe_worker(fe);

	t0 = clock_now_ms_frac();
	fd = http_send(port, "/part1/serial");
	ck_assert_int_eq(http_recv(fd, buf, sizeof(buf), 10000), 504);
	printf("504 after %.0f ms (timeout 1000)\n", clock_now_ms_frac() - t0);
	ck_assert_double_ge(clock_now_ms_frac() - t0, 900);
	ck_assert_double_le(clock_now_ms_frac() - t0, 2000);
	ck_assert_ptr_nonnull(strstr(buf, "did not answer in time"));

	/* mockresd answers pings meanwhile: still healthy, no stall. */
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(
		    sup_http(port, "GET", "/healthz", NULL, &r, 5000), 0);
		ck_assert_int_eq(r.status, 200);
		sup_sleep_ms(200);
	}
	/* The hold ends; its late DONE is dropped; the worker serves on. */
	end = clock_now_ms_frac() + 10000;
	while (sup_stats(sock, &st) != 0 || st.in_flight != 0) {
		ck_assert_msg(clock_now_ms_frac() < end, "hold never ended");
		sup_sleep_ms(50);
	}
	ck_assert_int_eq(st.admitted, 1);
	ck_assert_int_eq(sup_http(port, "GET", "/part1/async", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(fe_worker(fe), wk);
	ck_assert(sup_alive(wk));
}
END_TEST

START_TEST(test_stalled_mockresd)
{
	struct sup_http_resp r;
	char buf[4096], v[64];
	pid_t fe_a, fe_b, wk_a, wk_b;
	double t0, t_a, t_b, ms;
	int port_a, port_b, fd_a, fd_b, st_a, st_b;

	mrd_start("200");
	port_a = fe_start("2000", &fe_a, "frontend-a");  /* 504 first */
	port_b = fe_start("30000", &fe_b, "frontend-b"); /* stall first */
	wk_a = fe_worker(fe_a);
	wk_b = fe_worker(fe_b);
	ck_assert_int_eq(
	    sup_http(port_b, "GET", "/part1/serial", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);

	ck_assert_int_eq(kill(mrd_pid, SIGSTOP), 0);
	t0 = clock_now_ms_frac();
	fd_a = http_send(port_a, "/part1/serial");
	fd_b = http_send(port_b, "/part1/serial");
	st_a = http_recv(fd_a, buf, sizeof(buf), 10000);
	t_a = clock_now_ms_frac() - t0;
	ck_assert_int_eq(st_a, 504);
	st_b = http_recv(fd_b, buf, sizeof(buf), 10000);
	t_b = clock_now_ms_frac() - t0;
	printf("stopped mockresd: 504 after %.0f ms (timeout 2000), 503 "
	       "after %.0f ms (stall)\n",
	       t_a, t_b);
	ck_assert_double_le(t_a, 3000);
	ck_assert_int_eq(st_b, 503);
	ck_assert_ptr_nonnull(strstr(buf, "outcome unknown"));
	ck_assert_double_le(t_b, 4500);

	/* Stalled: /healthz 503 within 4 s of the stop; uses 503 at once. */
	ck_assert_double_ge(wait_status(port_a, "/healthz", 503, 4000), 0);
	ck_assert_double_ge(wait_status(port_b, "/healthz", 503, 4000), 0);
	ck_assert_double_le(clock_now_ms_frac() - t0, 4500);
	ck_assert_int_eq(
	    sup_http(port_a, "GET", "/part1/async", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_double_le(r.ms, 500);
	ck_assert_ptr_nonnull(strstr(r.body, "not answering"));
	ck_assert_ptr_nonnull(sup_http_header(&r, "Retry-After", v, sizeof(v)));

	/* Still stalled a few seconds later (the new connection is not
	 * answered either). */
	sup_sleep_ms(2500);
	ck_assert_int_eq(sup_http(port_b, "GET", "/healthz", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 503);

	ck_assert_int_eq(kill(mrd_pid, SIGCONT), 0);
	ms = wait_status(port_a, "/healthz", 200, 5000);
	ck_assert_double_ge(ms, 0);
	ck_assert_double_ge(wait_status(port_b, "/healthz", 200, 5000), 0);
	printf("healthy again %.0f ms after SIGCONT\n", ms);
	ck_assert_int_eq(
	    sup_http(port_a, "GET", "/part1/serial", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(
	    sup_http(port_b, "GET", "/part1/serial", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	/* Nothing was restarted. */
	ck_assert_int_eq(fe_worker(fe_a), wk_a);
	ck_assert_int_eq(fe_worker(fe_b), wk_b);
	ck_assert(sup_alive(mrd_pid) && sup_alive(fe_a) && sup_alive(fe_b));
}
END_TEST

/*
 * Three clients at once: one drips its request head a byte every 500 ms,
 * one idles after an answer on a keep-alive connection, one sends its head
 * slowly but whole within 3 s.
 */
START_TEST(test_head_deadline)
{
	static const char slow[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	struct pollfd pfd[2];
	struct sup_http_resp r;
	char buf[4096];
	double t0, closed[2] = {-1, -1}, next_drip, answered = -1;
	pid_t fe;
	int port, drip, idle, fd, i, status;
	size_t sent = 0;
	ssize_t n;

	mrd_start("100");
	port = fe_start("30000", &fe, "frontend");
	t0 = clock_now_ms_frac();
	drip = tcp_connect(port);
	send_all(drip, "GET /part1/async HTTP/1.1\r\nX-Drip: ");
	idle = tcp_connect(port);
	send_all(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	next_drip = t0 + 500;
	pfd[0].fd = drip;
	pfd[1].fd = idle;
	while ((closed[0] < 0 || closed[1] < 0) &&
	       clock_now_ms_frac() - t0 < 20000) {
		pfd[0].events = closed[0] < 0 ? POLLIN : 0;
		pfd[1].events = closed[1] < 0 ? POLLIN : 0;
		if (poll(pfd, 2, 50) > 0)
			for (i = 0; i < 2; i++) {
				if (!(pfd[i].revents &
				      (POLLIN | POLLHUP | POLLERR)))
					continue;
				n = read(pfd[i].fd, buf, sizeof(buf));
				if (n <= 0)
					closed[i] = clock_now_ms_frac() - t0;
				else if (i == 1 && answered < 0)
					answered = clock_now_ms_frac() - t0;
				else if (i == 0)
					ck_abort_msg("the dripping client got "
					             "an answer");
			}
		if (closed[0] < 0 && clock_now_ms_frac() >= next_drip) {
			/* A send error means closed: the read sees it. */
			(void)send(drip, "a", 1, MSG_NOSIGNAL);
			next_drip += 500;
		}
	}
	close(drip);
	close(idle);
	printf("dripping client closed after %.1f s; idle keep-alive closed "
	       "%.1f s after its answer\n",
	       closed[0] / 1000, (closed[1] - answered) / 1000);
	ck_assert_double_ge(answered, 0);
	ck_assert_double_ge(closed[0], 9000);
	ck_assert_double_le(closed[0], 12000);
	ck_assert_double_ge(closed[1] - answered, 9000);
	ck_assert_double_le(closed[1] - answered, 12000);

	/* Slow but whole within 3 s: served. */
	fd = tcp_connect(port);
	while (sent < sizeof(slow) - 1) {
		size_t k =
		    sent + 12 < sizeof(slow) - 1 ? 12 : sizeof(slow) - 1 - sent;

		ck_assert_int_eq(send(fd, slow + sent, k, MSG_NOSIGNAL),
		                 (ssize_t)k);
		sent += k;
		sup_sleep_ms(900);
	}
	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	ck_assert_int_eq(poll(pfd, 1, 5000), 1);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(sscanf(buf, "HTTP/1.1 %d", &status), 1);
	ck_assert_int_eq(status, 200);
	close(fd);
	/* And the worker served everyone else throughout. */
	ck_assert_int_eq(sup_http(port, "GET", "/healthz", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
}
END_TEST

/* mockresctl ARGS against mockresd; returns the exit code, fills ERR and
 * *MS (elapsed). */
static int
ctl_timed(const char *const args[], char *err, size_t errlen, double *ms)
{
	const char *argv[16];
	char out[4096];
	double t0 = clock_now_ms_frac();
	int n = 0, i, rc;

	argv[n++] = MOCKRESCTL_BIN;
	argv[n++] = "--socket";
	argv[n++] = sock;
	for (i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = sup_run(argv, out, sizeof(out), err, errlen, 60000);
	*ms = clock_now_ms_frac() - t0;
	return rc;
}

/*
 * A serial use waits for the hold it asked for (or mockresd's) even past
 * the 10 s reply timeout while mockresd answers; a stopped mockresd is
 * given up after 10 s whatever the hold.
 */
START_TEST(test_ctl_stopped)
{
	const char *use[] = {"use", NULL};
	const char *use_short[] = {"use", "--hold-ms", "100", NULL};
	const char *use_hold[] = {"use", "--hold-ms", "1500", NULL};
	const char *status[] = {"status", NULL};
	char err[1024];
	double ms;

	mrd_start("11000");
	ck_assert_int_eq(ctl_timed(use, err, sizeof(err), &ms), 0);
	printf("use, 11 s hold: done after %.1f s\n", ms / 1000);
	ck_assert_double_ge(ms, 11000);
	ck_assert_int_eq(ctl_timed(use_short, err, sizeof(err), &ms), 0);

	ck_assert_int_eq(kill(mrd_pid, SIGSTOP), 0);
	ck_assert_int_eq(ctl_timed(status, err, sizeof(err), &ms), 3);
	printf("status, stopped mockresd: %.1f s: %s", ms / 1000, err);
	ck_assert_double_ge(ms, 9500);
	ck_assert_double_le(ms, 12000);
	ck_assert_ptr_nonnull(strstr(err, "no answer from mockresd"));
	ck_assert_ptr_nonnull(strstr(err, "within 10 s (is it stopped?)"));

	ck_assert_int_eq(ctl_timed(use_hold, err, sizeof(err), &ms), 3);
	printf("use --hold-ms 1500, stopped mockresd: %.1f s: %s", ms / 1000,
	       err);
	ck_assert_double_ge(ms, 9500);
	ck_assert_double_le(ms, 12000);
	ck_assert_ptr_nonnull(strstr(err, "within 10 s (is it stopped?)"));

	ck_assert_int_eq(kill(mrd_pid, SIGCONT), 0);
	ck_assert_int_eq(ctl_timed(use_short, err, sizeof(err), &ms), 0);
}
END_TEST

static Suite *
deadlines_suite(void)
{
	Suite *s = suite_create("deadlines");
	TCase *tc = tcase_create("integration");

	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_flag);
	tcase_add_test(tc, test_timeout_504);
	tcase_add_test(tc, test_stalled_mockresd);
	tcase_add_test(tc, test_head_deadline);
	tcase_add_test(tc, test_ctl_stopped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return sup_run_suite(deadlines_suite());
}
