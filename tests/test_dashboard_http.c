/*
 * test_dashboard_http.c: mockres-dashboard as a user runs it, against a
 * real mockresd: flags, routes, the event stream (rate, content, HTTP/1.0),
 * /api/stats against mockresctl, mockresd going away and coming back, and
 * browsers that leave; issue 21 on the dashboard's port: /api/history
 * asked for and never read (memory, the 20 ms sampling), the head limit
 * in bytes, no 100 Continue before a refusal.
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "clock.h"
#include "rawclient.h"
#include "support.h"

static const char *sock;
static pid_t daemon_pid, dash_pid;
static int port;
static char big[1 << 19];

static void
start_daemon(const char *limit)
{
	const char *extra[] = {"--limit", limit, NULL};

	daemon_pid = sup_mockresd("mockresd.sock", extra, &sock);
}

static void
start_dashboard(void)
{
	dash_pid =
	    sup_http_server(DASHBOARD_BIN, "dashboard", sock, NULL, &port);
}

static void
start_both(const char *limit)
{
	start_daemon(limit);
	start_dashboard();
}

/* Waits until /api/stats says "connected":WANT; 0 or -1. */
static int
wait_connected(int want, int timeout_ms)
{
	struct sup_http_resp r;
	double end = clock_now_ms_frac() + timeout_ms;
	const char *needle =
	    want ? "\"connected\":true" : "\"connected\":false";

	while (clock_now_ms_frac() < end) {
		if (sup_http(port, "GET", "/api/stats", NULL, &r, 2000) == 0 &&
		    r.status == 200 && strstr(r.body, needle) != NULL)
			return 0;
		sup_sleep_ms(20);
	}
	return -1;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Reads the event stream for MS milliseconds into big[]. */
static ssize_t
read_events(const char *version_and_headers, int ms)
{
	char req[256];
	ssize_t n;

	snprintf(req, sizeof(req), "GET /events %s\r\n\r\n",
	         version_and_headers);
	n = sup_http_raw(port, req, strlen(req), big, sizeof(big), ms);
	ck_assert_int_gt(n, 0);
	big[n] = '\0';
	return n;
}

static long
sse_gauge(void)
{
	struct sup_http_resp r;
	const char *p;

	if (sup_http(port, "GET", "/metrics", NULL, &r, 2000) != 0 ||
	    (p = strstr(r.body, "\nmockres_dashboard_sse_clients ")) == NULL)
		return -1;
	return strtol(p + 31, NULL, 10);
}

START_TEST(test_flags)
{
	char out[4096], err[4096];
	const char *help[] = {DASHBOARD_BIN, "--help", NULL};
	const char *version[] = {DASHBOARD_BIN, "--version", NULL};
	const char *bad_listen[] = {DASHBOARD_BIN, "--listen", "localhost",
	                            NULL};
	const char *port0[] = {DASHBOARD_BIN, "--listen", "127.0.0.1:0", NULL};
	const char *bad_host[] = {DASHBOARD_BIN, "--listen", "1.2.3:80", NULL};
	const char *unknown[] = {DASHBOARD_BIN, "--frobnicate", NULL};
	const char *extra[] = {DASHBOARD_BIN, "extra", NULL};

	ck_assert_int_eq(
	    sup_run(help, out, sizeof(out), err, sizeof(err), 5000), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: mockres-dashboard"));
	ck_assert_ptr_nonnull(strstr(out, "--listen"));
	ck_assert_int_eq(
	    sup_run(version, out, sizeof(out), err, sizeof(err), 5000), 0);
	ck_assert_ptr_nonnull(strstr(out, "mockres-dashboard "));
	ck_assert_int_eq(
	    sup_run(bad_listen, out, sizeof(out), err, sizeof(err), 5000), 2);
	ck_assert_ptr_nonnull(strstr(err, "--listen takes ADDR:PORT"));
	ck_assert_int_eq(
	    sup_run(port0, out, sizeof(out), err, sizeof(err), 5000), 2);
	ck_assert_int_eq(
	    sup_run(bad_host, out, sizeof(out), err, sizeof(err), 5000), 2);
	ck_assert_int_eq(
	    sup_run(unknown, out, sizeof(out), err, sizeof(err), 5000), 2);
	ck_assert_int_eq(
	    sup_run(extra, out, sizeof(out), err, sizeof(err), 5000), 2);
	ck_assert_ptr_nonnull(strstr(err, "unexpected argument 'extra'"));
}
END_TEST

START_TEST(test_listen_in_use)
{
	char out[1024], err[4096], listen[64];
	const char *argv[] = {DASHBOARD_BIN, "--socket", "/nonexistent.sock",
	                      "--listen",    listen,     NULL};

	start_both("15");
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	ck_assert_int_eq(
	    sup_run(argv, out, sizeof(out), err, sizeof(err), 5000), 1);
	ck_assert_ptr_nonnull(strstr(err, "cannot listen on"));
}
END_TEST

START_TEST(test_routes)
{
	struct sup_http_resp r;
	char h[256];

	start_both("15");
	ck_assert_int_eq(sup_http(port, "GET", "/", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Type", h, sizeof(h)));
	ck_assert_str_eq(h, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(
	    r.body, "<title>Concurrent Requests to Mock Resource</title>"));
	/* Its script and style are its own files, from its own origin, and
	 * the CSP allows nothing inline (and nothing from elsewhere). */
	ck_assert_ptr_nonnull(strstr(r.body, "<script src=\"app.js\""));
	ck_assert_ptr_nonnull(strstr(r.body, "href=\"app.css\""));
	ck_assert_ptr_null(strstr(r.body, "<script>"));
	ck_assert_ptr_null(strstr(r.body, "<style>"));
	ck_assert_ptr_null(strstr(r.body, "http://"));
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Security-Policy", h, sizeof(h)));
	ck_assert_ptr_nonnull(strstr(h, "script-src 'self';"));
	ck_assert_ptr_nonnull(strstr(h, "style-src 'self';"));
	ck_assert_ptr_null(strstr(h, "unsafe"));
	ck_assert_int_eq(sup_http(port, "GET", "/app.js", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Type", h, sizeof(h)));
	ck_assert_str_eq(h, "text/javascript; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.body, "EventSource"));
	ck_assert_int_eq(sup_http(port, "GET", "/app.css", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Type", h, sizeof(h)));
	ck_assert_str_eq(h, "text/css; charset=utf-8");
	/* /api/guess: GET, HEAD, POST, DELETE and nothing else. */
	ck_assert_int_eq(sup_http(port, "PUT", "/api/guess", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(sup_http_header(&r, "Allow", h, sizeof(h)));
	ck_assert_str_eq(h, "GET, HEAD, POST, DELETE");
	ck_assert_int_eq(sup_http(port, "DELETE", "/api/guess", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "null\n");
	ck_assert_int_eq(sup_http(port, "DELETE", "/api/guess",
	                          "Origin: http://evil.example\r\n", &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 403);

	ck_assert_int_eq(sup_http(port, "HEAD", "/", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);

	ck_assert_int_eq(sup_http(port, "POST", "/", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(sup_http_header(&r, "Allow", h, sizeof(h)));
	ck_assert_str_eq(h, "GET, HEAD");
	ck_assert_int_eq(sup_http(port, "PATCH", "/metrics", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 405);
	ck_assert_int_eq(sup_http(port, "GET", "/nope", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 404);
	ck_assert_ptr_nonnull(strstr(r.body, "/api/stats"));

	ck_assert_int_eq(wait_connected(1, 5000), 0);
	ck_assert_int_eq(sup_http(port, "GET", "/api/stats", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Type", h, sizeof(h)));
	ck_assert_str_eq(h, "application/json");
	ck_assert_ptr_nonnull(strstr(r.body, "\"average\":"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"processes\":[{"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"role\":\"mockresd\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"role\":\"dashboard\""));

	ck_assert_int_eq(sup_http(port, "GET", "/metrics", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Type", h, sizeof(h)));
	ck_assert_ptr_nonnull(strstr(h, "text/plain; version=0.0.4"));
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE mockres_in_flight gauge"));
	ck_assert_ptr_nonnull(strstr(r.body, "\nmockres_limit 15\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE mockres_peak gauge"));
	ck_assert_ptr_nonnull(
	    strstr(r.body, "# TYPE mockres_admitted_total counter"));
	ck_assert_ptr_nonnull(
	    strstr(r.body, "# TYPE mockres_rejected_total counter"));
	ck_assert_ptr_nonnull(
	    strstr(r.body, "# TYPE mockres_completed_total counter"));
	ck_assert_ptr_nonnull(
	    strstr(r.body, "mockres_process_cpu_seconds_total{pid=\""));
	ck_assert_ptr_nonnull(
	    strstr(r.body, "mockres_process_resident_memory_bytes{pid=\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\nmockres_up 1\n"));
}
END_TEST

/* About 50 events a second, each carrying the count. */
START_TEST(test_events_rate_and_count)
{
	const char *use[] = {"use", "--async", "--hold-ms", "5000", NULL};
	char out[1024];
	size_t events;
	int i;

	start_both("15");
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(sup_ctl(sock, use, out, sizeof(out)), 0);
	read_events("HTTP/1.1\r\nHost: x", 2000);
	ck_assert_ptr_nonnull(strstr(big, "HTTP/1.1 200"));
	ck_assert_ptr_nonnull(strstr(big, "Content-Type: text/event-stream"));
	ck_assert_ptr_nonnull(strstr(big, "Cache-Control: no-cache"));
	ck_assert_ptr_nonnull(strstr(big, "Transfer-Encoding: chunked"));
	events = count(big, "data: {");
	ck_assert_msg(events >= 40 && events <= 160,
	              "%zu events in 2 s, expected about 100", events);
	ck_assert_ptr_nonnull(strstr(big, "data: {\"in_flight\":3,"));
	ck_assert_ptr_nonnull(strstr(big, "\"average\":3.00"));
}
END_TEST

/* HTTP/1.0 with keep-alive (what ab -k sends): a stream, not an empty
 * body with Content-Length: 0. */
START_TEST(test_events_http10)
{
	size_t events;

	start_both("15");
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	read_events("HTTP/1.0\r\nConnection: keep-alive", 1000);
	ck_assert_ptr_nonnull(strstr(big, "HTTP/1.0 200"));
	ck_assert_ptr_null(strstr(big, "Content-Length: 0"));
	events = count(big, "data: {");
	ck_assert_msg(events >= 15, "%zu events in 1 s", events);
}
END_TEST

START_TEST(test_api_stats_matches_ctl)
{
	const char *use[] = {"use", "--async", "--hold-ms", "8000", NULL};
	struct sup_http_resp r;
	struct sup_stats st;
	char out[1024];
	uint64_t v;

	start_both("2");
	ck_assert_int_eq(sup_ctl(sock, use, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_ctl(sock, use, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_ctl(sock, use, out, sizeof(out)), 1); /* busy */
	sup_sleep_ms(200); /* a few watch pushes */
	ck_assert_int_eq(sup_stats(sock, &st), 0);
	ck_assert_int_eq(sup_http(port, "GET", "/api/stats", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(sup_json_u64(r.body, "limit", &v), 0);
	ck_assert_uint_eq(v, st.limit);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(sup_json_u64(r.body, "admitted", &v), 0);
	ck_assert_uint_eq(v, st.admitted);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(sup_json_u64(r.body, "rejected", &v), 0);
	ck_assert_uint_eq(v, st.rejected);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(sup_json_u64(r.body, "completed", &v), 0);
	ck_assert_uint_eq(v, st.completed);
	ck_assert_int_eq(sup_json_u64(r.body, "peak", &v), 0);
	ck_assert_uint_eq(v, st.peak);
	ck_assert_int_eq(sup_json_u64(r.body, "in_flight", &v), 0);
	ck_assert_uint_eq(v, st.in_flight);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(sup_json_u64(r.body, "daemon_pid", &v), 0);
	ck_assert_uint_eq(v, (uint64_t)daemon_pid);
}
END_TEST

START_TEST(test_mockresd_down_and_back)
{
	static const char *const gone[] = {
	    "\nmockres_in_flight ",
	    "\nmockres_limit ",
	    "\nmockres_peak ",
	    "\nmockres_hold_seconds ",
	    "\nmockres_admitted_total ",
	    "\nmockres_rejected_total ",
	    "\nmockres_completed_total ",
	    "\nmockres_clients ",
	    "role=\"mockresd\"",
	};
	static const char down[] = "{\"connected\":false,\"processes\":[";
	struct sup_http_resp r;
	size_t events, i;

	start_both("15");
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	ck_assert_int_eq(sup_stop(daemon_pid, SIGKILL, 5000) != -1, 1);
	ck_assert_int_eq(wait_connected(0, 3000), 0);

	/* Still streaming, at the slower cadence, saying so. */
	read_events("HTTP/1.1\r\nHost: x", 1600);
	events = count(big, "data: {");
	ck_assert_msg(events >= 2 && events <= 10, "%zu events", events);
	ck_assert_uint_eq(count(big, "\"connected\":false"), events);
	ck_assert_int_eq(sup_http(port, "GET", "/metrics", NULL, &r, 5000), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\nmockres_up 0\n"));
	/* nothing mockresd said is repeated as if it were current */
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		ck_assert_msg(!strstr(r.body, gone[i]),
		              "/metrics still has %s with mockresd down",
		              gone[i]);
	ck_assert_ptr_nonnull(
	    strstr(r.body, "\nmockres_dashboard_sse_clients "));
	ck_assert_ptr_nonnull(
	    strstr(r.body, "mockres_process_resident_memory_bytes{pid=\""));
	ck_assert_int_eq(sup_http(port, "GET", "/api/stats", NULL, &r, 5000),
	                 0);
	ck_assert_msg(strncmp(r.body, down, strlen(down)) == 0,
	              "/api/stats with mockresd down: %s", r.body);
	ck_assert_ptr_null(strstr(r.body, "\"limit\""));
	ck_assert_ptr_null(strstr(r.body, "\"average\""));
	ck_assert_ptr_null(strstr(r.body, "\"role\":\"mockresd\""));

	start_daemon("15");
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	ck_assert_int_eq(sup_http(port, "GET", "/metrics", NULL, &r, 5000), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\nmockres_up 1\n"));
	ck_assert(sup_alive(dash_pid));
}
END_TEST

/*
 * A TCP connection to the dashboard whose receive buffer is RCVBUF bytes,
 * or the kernel's default for 0 (set before the connect: the window is
 * agreed then).
 */
static int
connect_rcvbuf(int rcvbuf)
{
	struct sockaddr_in sin;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/*
 * Opens one event stream to the dashboard, as a browser does; RCVBUF > 0
 * shrinks its receive buffer first.  Returns the fd.
 */
static int
sse_open(int rcvbuf)
{
	static const char req[] = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd = connect_rcvbuf(rcvbuf);

	ck_assert_int_eq(send(fd, req, sizeof(req) - 1, 0),
	                 (ssize_t)sizeof(req) - 1);
	return fd;
}

/* Browsers that leave are forgotten: the gauge and our fds come back. */
START_TEST(test_clients_leave)
{
	enum { N = 100 };
	int fds[N], i;
	long base_fds;

	start_both("15");
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	base_fds = sup_proc_fds(dash_pid);
	for (i = 0; i < N; i++)
		fds[i] = sse_open(0);
	for (i = 0; i < 100 && sse_gauge() != N; i++)
		sup_sleep_ms(20);
	ck_assert_int_eq(sse_gauge(), N);
	for (i = 0; i < N; i++)
		close(fds[i]);
	for (i = 0; i < 150 && sse_gauge() != 0; i++)
		sup_sleep_ms(20);
	ck_assert_int_eq(sse_gauge(), 0);
	ck_assert_int_le(sup_proc_fds(dash_pid), base_fds + 1);
	ck_assert(sup_alive(dash_pid));
}
END_TEST

/* A browser that stops reading is cut off once it is SSE_OUTPUT_MAX
 * behind; the others keep their 50 events a second meanwhile. */
START_TEST(test_slow_browser_dropped)
{
	struct sup_http_resp r;
	int fd, rcvbuf = 4096, dropped = 0;
	double end;
	size_t events;

	start_both("15");
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	fd = sse_open(rcvbuf);

	read_events("HTTP/1.1\r\nHost: x", 1000);
	events = count(big, "data: {");
	ck_assert_msg(events >= 15, "%zu events in 1 s beside a stalled one",
	              events);
	end = clock_now_ms_frac() + 45000;
	while (!dropped && clock_now_ms_frac() < end) {
		sup_sleep_ms(250);
		if (sup_http(port, "GET", "/metrics", NULL, &r, 2000) == 0 &&
		    strstr(r.body, "\nmockres_dashboard_sse_dropped_total 1\n"))
			dropped = 1;
	}
	ck_assert_msg(dropped, "the stalled browser was not dropped");
	ck_assert_int_eq(sse_gauge(), 0);
	ck_assert_int_lt(sup_proc_rss_kb(dash_pid), 32 * 1024);
	close(fd);
}
END_TEST

/* Past SSE_CLIENTS_MAX streams a browser gets 503 and Retry-After; the
 * page's EventSource tries again later by itself. */
START_TEST(test_stream_cap)
{
	enum { CAP = 1024 };
	static int fds[CAP];
	struct sup_http_resp r;
	struct rlimit rl;
	char h[64];
	int i;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < CAP + 64)
		return; /* cannot open enough sockets here */
	start_both("15");
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	for (i = 0; i < CAP; i++)
		fds[i] = sse_open(0);
	for (i = 0; i < 250 && sse_gauge() != CAP; i++)
		sup_sleep_ms(20);
	ck_assert_int_eq(sse_gauge(), CAP);
	ck_assert_int_eq(sup_http(port, "GET", "/events", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(sup_http_header(&r, "Retry-After", h, sizeof(h)));
	ck_assert_ptr_nonnull(strstr(r.body, "too many browsers"));
	for (i = 0; i < CAP; i++)
		close(fds[i]);
	for (i = 0; i < 250 && sse_gauge() != 0; i++)
		sup_sleep_ms(20);
	ck_assert_int_eq(sse_gauge(), 0);
	ck_assert(sup_alive(dash_pid));
}
END_TEST

#ifdef FRONTEND_BIN
/* With the real frontend: its master and workers are in the table, the
 * workers with the uses they hold. */
START_TEST(test_frontend_processes)
{
	const char *extra[] = {"--hold-ms", "4000", NULL};
	char listen[64], needle[96];
	const char *argv[] = {FRONTEND_BIN, "--socket",  NULL, "--listen",
	                      listen,       "--workers", "2",  NULL};
	struct sup_http_resp r;
	pid_t fe;
	int feport, i, ok = 0;

	daemon_pid = sup_mockresd("mockresd.sock", extra, &sock);
	start_dashboard();
	feport = sup_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", feport);
	argv[2] = sock;
	fe = sup_spawn(argv, "frontend");
	ck_assert_int_gt(fe, 0);
	ck_assert_int_eq(sup_wait_port(feport, 5000), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(
		    sup_http(feport, "GET", "/part1/async", NULL, &r, 5000), 0);
		ck_assert_int_eq(r.status, 200);
	}
	snprintf(needle, sizeof(needle),
	         "{\"pid\":%d,\"role\":\"frontend-master\"", (int)fe);
	for (i = 0; i < 100 && !ok; i++) {
		sup_sleep_ms(50);
		ok = sup_http(port, "GET", "/api/stats", NULL, &r, 2000) == 0 &&
		     strstr(r.body, needle) != NULL &&
		     count(r.body, "\"role\":\"frontend-worker\"") == 2;
	}
	ck_assert_msg(ok, "no master %d and 2 workers in %s", (int)fe, r.body);
	ck_assert_ptr_nonnull(strstr(r.body, "\"in_flight\":3,"));
	sup_stop(fe, SIGTERM, 10000);
}
END_TEST
#endif

/*
 * Issue 21: forged HTTP reports (from a peer that may report: this test
 * runs as mockresd's own user).  10^15 answers from a worker one second
 * old, a burst ending 10^15 us in the future and two reports of 2^63
 * answers each (the merged count would pass 2^64) are refused by
 * mockresd; the dashboard goes on: a real report that follows shows up at
 * once, exactly, and the dashboard logs no bad stats.  Before, the 10^15
 * showed in /metrics and the runs, the pair wrapped the merged count, and
 * the dashboard refused every later answer with a log line each (5 a
 * second), its HTTP view frozen.
 */
START_TEST(test_forged_reports)
{
	uint64_t now, e15 = UINT64_C(1000000000000000);
	struct sup_http_resp r;
	char log[65536];
	double end;
	int fd, i, eof;

	start_both("15");
	ck_assert_int_eq(wait_connected(1, 10000), 0);
	now = clock_now_us();
	for (i = 0; i < 4; i++) {
		Mockres__Response *resp;

		ck_assert_int_ge(fd = raw_connect(sock), 0);
		switch (i) {
		case 0:
			raw_send_report(fd, 1, now - 1000000, e15, 1, now, now);
			break;
		case 1:
			raw_send_report(fd, 1, now - 1000000, 1, 1, now,
			                now + e15);
			break;
		default: /* 2^63 answers of 1 us, then of 0 us */
			raw_send_report(fd, 1, (uint64_t)i, UINT64_C(1) << 63,
			                (uint64_t)(3 - i), now, now);
			break;
		}
		ck_assert_ptr_nonnull(resp = raw_recv(fd, 10000, &eof));
		mockres__response__free_unpacked(resp, NULL);
		close(fd);
	}
	/* a worker's real report: 100 answers of 0.5 ms */
	ck_assert_int_ge(fd = raw_connect(sock), 0);
	raw_send_report(fd, 1, now - 10000000, 100, 500, now - 1000000, now);
	end = clock_now_ms_frac() + 5000;
	for (;;) {
		ck_assert_int_eq(
		    sup_http(port, "GET", "/api/stats", NULL, &r, 2000), 0);
		if (strstr(r.body, "\"serial\":{\"requests\":100,") != NULL)
			break;
		ck_assert_msg(clock_now_ms_frac() < end,
		              "the real report never showed: %.600s",
		              strstr(r.body, "\"http\"")
		                  ? strstr(r.body, "\"http\"")
		                  : r.body);
		sup_sleep_ms(50);
	}
	ck_assert_int_eq(sup_http(port, "GET", "/metrics", NULL, &r, 2000), 0);
	ck_assert_msg(strstr(r.body,
	                     "mockres_http_requests_total{route=\"serial\","
	                     "code=\"200\"} 100\n") != NULL,
	              "%s", r.body);
	sup_sleep_ms(1000); /* 5 answers of mockresd */
	sup_read_log("dashboard.log", log, sizeof(log));
	ck_assert_msg(count(log, "bad HTTP stats") == 0, "%s", log);
	close(fd);
	sup_stop_ok(dash_pid, "dashboard", 10000);
	sup_stop_ok(daemon_pid, "mockresd", 10000);
}
END_TEST

/*
 * A dashboard that mockresd does not trust (run as uid 65534, the socket
 * opened up to it) may not watch every 20 ms with the client list
 * (issue 21): it says so once and samples every 100 ms without it, and
 * serves the counts all the same.
 */
START_TEST(test_untrusted_dashboard)
{
	char listen[32], log[16384];
	const char *argv[] = {"/usr/bin/setpriv",
	                      "--reuid=65534",
	                      "--regid=65534",
	                      "--clear-groups",
	                      DASHBOARD_BIN,
	                      "--listen",
	                      listen,
	                      "--socket",
	                      NULL,
	                      NULL};
	const char *use[] = {"use", "--async", NULL};
	char out[256];
	struct sup_http_resp r;
	double end;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
		fprintf(stderr,
		        "test_dashboard_http: switching uids needs "
		        "root and setpriv; untrusted dashboard skipped\n");
		return;
	}
	start_daemon("15");
	ck_assert_int_eq(chmod(sock, 0666), 0);
	port = sup_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	argv[8] = sock;
	ck_assert_int_gt(dash_pid = sup_spawn(argv, "dashboard"), 0);
	ck_assert_int_eq(sup_wait_port(port, 10000), 0);
	ck_assert_int_eq(wait_connected(1, 10000), 0);
	ck_assert_int_eq(sup_ctl(sock, use, out, sizeof(out)), 0);
	end = clock_now_ms_frac() + 5000;
	do {
		ck_assert_msg(clock_now_ms_frac() < end, "%s", r.body);
		sup_sleep_ms(50);
		ck_assert_int_eq(
		    sup_http(port, "GET", "/api/stats", NULL, &r, 2000), 0);
	} while (strstr(r.body, "\"admitted\":1,") == NULL);
	sup_read_log("dashboard.log", log, sizeof(log));
	ck_assert_msg(count(log, "sampling every 100 ms") == 1, "%s", log);
	sup_stop_ok(dash_pid, "dashboard", 10000);
	sup_stop_ok(daemon_pid, "mockresd", 10000);
}
END_TEST

/* SIGHUP does not stop the dashboard: it says there is nothing to
 * reload and goes on serving, streams included. */
START_TEST(test_sighup)
{
	struct sup_http_resp r;
	char log[8192];
	int fd;

	start_both("15");
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	fd = sse_open(0);
	kill(dash_pid, SIGHUP);
	sup_sleep_ms(300);
	ck_assert(sup_alive(dash_pid));
	ck_assert_int_eq(sup_http(port, "GET", "/api/stats", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(sse_gauge(), 1);
	close(fd);
	sup_read_log("dashboard.log", log, sizeof(log));
	ck_assert_msg(strstr(log, "SIGHUP") != NULL, "%s", log);
	ck_assert_int_eq(WEXITSTATUS(sup_stop(dash_pid, SIGTERM, 10000)), 0);
}
END_TEST

/* A string literal and its length. */
#define RAW(lit) lit, sizeof(lit) - 1

/* A connection to the dashboard that sends RAW and reads for MS (or
 * until the close) into OUT; *CLOSED says whether the dashboard closed.
 * Returns the bytes read (OUT NUL-terminated). */
static size_t
exchange(const char *raw, size_t len, char *out, size_t outlen, int ms,
         int *closed)
{
	double end = clock_now_ms_frac() + ms;
	int fd = sup_tcp_connect(port);
	size_t got = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(send(fd, raw, len, MSG_NOSIGNAL), (ssize_t)len);
	*closed = 0;
	while (got + 1 < outlen && clock_now_ms_frac() < end) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((n = recv(fd, out + got, outlen - 1 - got, 0)) <= 0) {
			*closed = 1;
			break;
		}
		got += (size_t)n;
	}
	out[got] = '\0';
	close(fd);
	return got;
}

/*
 * Issue 21, finding 6: the 8 KiB head limit is counted in bytes, CRLFs
 * included, on the dashboard's port too (evhttp counted lines without
 * their CRLF: 4000 empty fields, 16,034 bytes, got 200).
 */
START_TEST(test_head_limit_in_bytes)
{
	static char raw[20000], out[4096];
	size_t n, pad;
	int i, closed;

	start_both("15");
	/* 4000 empty fields: 16,034 bytes */
	n = (size_t)snprintf(raw, sizeof(raw),
	                     "GET /api/stats HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 4000; i++)
		n += (size_t)snprintf(raw + n, sizeof(raw) - n, "a:\r\n");
	n += (size_t)snprintf(raw + n, sizeof(raw) - n, "\r\n");
	exchange(raw, n, out, sizeof(out), 3000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0,
	              "4000 empty fields: %.60s", out);
	ck_assert(closed);

	/* exactly 8192 bytes: served; one more: refused */
	n = (size_t)snprintf(raw, sizeof(raw),
	                     "GET /api/stats HTTP/1.1\r\nHost: x\r\nX: ");
	pad = 8192 - n - 4;
	memset(raw + n, 'v', pad);
	memcpy(raw + n + pad, "\r\n\r\n", 5);
	exchange(raw, 8192, out, sizeof(out), 1000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "%.60s",
	              out);
	raw[n + pad] = 'v';
	memcpy(raw + n + pad + 1, "\r\n\r\n", 5);
	exchange(raw, 8193, out, sizeof(out), 3000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0,
	              "an 8193-byte head: %.60s", out);
	ck_assert(closed);
}
END_TEST

/*
 * Issue 21, finding 7: no "100 Continue" before a refusal.  A GET that
 * announces a body, and a guess from another origin, are refused from
 * their heads (evhttp said 100 Continue first, then refused); a guess
 * that may come is told to.
 */
START_TEST(test_no_continue_before_refusal)
{
	char out[4096];
	int fd, closed;
	ssize_t n;

	start_both("15");
	exchange(RAW("GET /api/stats HTTP/1.1\r\nHost: x\r\n"
	             "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"),
	         out, sizeof(out), 3000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%.80s", out);
	ck_assert_ptr_null(strstr(out, "100 Continue"));
	ck_assert(closed);

	exchange(RAW("POST /api/guess HTTP/1.1\r\nHost: x\r\n"
	             "Origin: http://evil.example\r\n"
	             "Content-Type: application/json\r\n"
	             "Content-Length: 20\r\nExpect: 100-continue\r\n\r\n"),
	         out, sizeof(out), 3000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 403 ", 13) == 0, "%.80s", out);
	ck_assert_ptr_null(strstr(out, "100 Continue"));
	ck_assert(closed);
	exchange(RAW("POST /api/stats HTTP/1.1\r\nHost: x\r\n"
	             "Content-Length: 20\r\nExpect: 100-continue\r\n\r\n"),
	         out, sizeof(out), 3000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 405 ", 13) == 0, "%.80s", out);
	ck_assert_ptr_null(strstr(out, "100 Continue"));

	/* a guess from the page: go ahead, then taken */
	fd = sup_tcp_connect(port);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(send(fd,
	                      RAW("POST /api/guess HTTP/1.1\r\nHost: x\r\n"
	                          "Origin: http://x\r\n"
	                          "Content-Type: application/json\r\n"
	                          "Content-Length: 20\r\n"
	                          "Expect: 100-continue\r\n\r\n"),
	                      0),
	                 0);
	n = recv(fd, out, sizeof(out) - 1, 0);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_str_eq(out, "HTTP/1.1 100 Continue\r\n\r\n");
	ck_assert_int_eq(send(fd, "{\"duration_ms\":1234}", 20, 0), 20);
	n = recv(fd, out, sizeof(out) - 1, 0);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%.80s", out);
	close(fd);
}
END_TEST

/*
 * A browser on the event stream, in a thread of its own (so that what
 * the test does meanwhile, a connect that waits, is not taken for a
 * gap): the longest time between two events it read.
 */
struct gaps {
	int fd;
	atomic_int stop;
	double last_ms, max_ms;
	size_t events;
	int closed;
};

static void *
gaps_thread(void *arg)
{
	struct gaps *g = arg;
	char buf[65536];
	double now;
	ssize_t n;
	size_t k;

	while (!atomic_load(&g->stop)) {
		struct pollfd pfd = {g->fd, POLLIN, 0};

		if (poll(&pfd, 1, 10) <= 0)
			continue;
		if ((n = recv(g->fd, buf, sizeof(buf) - 1, 0)) <= 0) {
			g->closed = 1;
			break;
		}
		buf[n] = '\0';
		now = clock_now_ms_frac();
		if ((k = count(buf, "data: {")) == 0)
			continue;
		if (g->events > 0 && now - g->last_ms > g->max_ms)
			g->max_ms = now - g->last_ms;
		g->last_ms = now;
		g->events += k;
	}
	return NULL;
}

/* Waits MS, noting the dashboard's highest RSS in *PEAK_KB. */
static void
rss_watch(int ms, long *peak_kb)
{
	double end = clock_now_ms_frac() + ms;
	long kb;

	while (clock_now_ms_frac() < end) {
		if ((kb = sup_proc_rss_kb(dash_pid)) > *peak_kb)
			*peak_kb = kb;
		sup_sleep_ms(20);
	}
}

#if defined(__SANITIZE_ADDRESS__)
/* ASan keeps freed memory in quarantine (256 MiB by default): the RSS
 * after the clients left says nothing there (the dashboard kept all of
 * its 40 MB peak); LeakSanitizer checks leaks. */
#define HISTORY_KEPT_MAX_KB (512L * 1024)
#else
#define HISTORY_KEPT_MAX_KB (16L * 1024) /* RSS kept after they left */
#endif

/*
 * Issue 21, finding 1: N clients ask for 10 minutes of history (2.5 MB
 * as objects) and never read, each with a 4 KB receive buffer.  Each
 * answer is written as its client takes it: the dashboard holds a few
 * tens of KiB for each, the 20 ms sampling goes on (events keep coming,
 * the history has no hole), and the memory goes back when they leave.
 * Before, every answer was formatted whole on the loop and kept: 100
 * such clients took the dashboard to ~300 MB with a 1.5-4.5 s gap in
 * the events, and the memory stayed after they left.
 */
START_TEST(test_unread_history)
{
	enum { N = 200 };
	static const char req[] = "GET /api/history?seconds=600 HTTP/1.1\r\n"
	                          "Host: x\r\n\r\n";
	const char *prefill[] = {"--history-prefill", NULL};
	static int fds[N];
	static struct gaps g;
	struct sup_http_resp r;
	long base_kb, peak_kb = 0, after_kb;
	uint64_t v, max_dt = 0;
	const char *p;
	pthread_t th;
	int i;

	start_daemon("15");
	dash_pid =
	    sup_http_server(DASHBOARD_BIN, "dashboard", sock, prefill, &port);
	ck_assert_int_eq(wait_connected(1, 5000), 0);
	/* a full answer is ~2.5 MB (more than the 512 KiB read here) */
	ck_assert_int_eq(
	    sup_http_raw(port,
	                 RAW("GET /api/history?seconds=600 HTTP/1.1\r\n"
	                     "Host: x\r\nConnection: close\r\n\r\n"),
	                 big, sizeof(big) - 1, 10000),
	    (ssize_t)sizeof(big) - 2);
	sup_sleep_ms(500);
	base_kb = sup_proc_rss_kb(dash_pid);
	g.fd = sse_open(0);
	ck_assert_int_eq(pthread_create(&th, NULL, gaps_thread, &g), 0);
	rss_watch(1000, &peak_kb);
	for (i = 0; i < N; i++) {
		fds[i] = connect_rcvbuf(4096);
		ck_assert_int_eq(send(fds[i], req, sizeof(req) - 1, 0),
		                 (ssize_t)sizeof(req) - 1);
	}
	rss_watch(5000, &peak_kb);
	atomic_store(&g.stop, 1);
	pthread_join(th, NULL);
	ck_assert_msg(!g.closed && g.events >= 100,
	              "the event stream closed, or %zu events in 6 s",
	              g.events);
	ck_assert_msg(g.max_ms <= 1000,
	              "%.0f ms without an event while %d clients left "
	              "/api/history unread",
	              g.max_ms, N);
	ck_assert_msg(peak_kb - base_kb <= 64 * 1024,
	              "the dashboard went from %ld kB to %ld kB for %d "
	              "unread /api/history",
	              base_kb, peak_kb, N);
	/* the history itself has no hole: a sample every 20 ms */
	ck_assert_int_eq(sup_http(port, "GET",
	                          "/api/history?seconds=6&format=columns", NULL,
	                          &r, 5000),
	                 0);
	ck_assert_ptr_nonnull(p = strstr(r.body, "\"dt_ms\":["));
	for (p += 9; *p != ']'; p++) {
		v = strtoull(p, (char **)&p, 10);
		if (v > max_dt)
			max_dt = v;
		if (*p == ']')
			break;
	}
	ck_assert_msg(max_dt <= 1000, "a %llu ms hole in the history",
	              (unsigned long long)max_dt);
	for (i = 0; i < N; i++)
		close(fds[i]);
	rss_watch(2000, &peak_kb);
	after_kb = sup_proc_rss_kb(dash_pid);
	ck_assert_msg(after_kb - base_kb <= HISTORY_KEPT_MAX_KB,
	              "the dashboard kept %ld kB after the clients left "
	              "(from %ld kB, %ld kB at the most)",
	              after_kb - base_kb, base_kb, peak_kb);
	fprintf(stderr,
	        "test_unread_history: %d clients: RSS %ld kB, at most %ld "
	        "kB, %ld kB after; longest gap %.0f ms\n",
	        N, base_kb, peak_kb, after_kb, g.max_ms);
	close(g.fd);
	ck_assert(sup_alive(dash_pid));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dashboard_http");
	TCase *tc = tcase_create("http");

	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_listen_in_use);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_events_rate_and_count);
	tcase_add_test(tc, test_events_http10);
	tcase_add_test(tc, test_api_stats_matches_ctl);
	tcase_add_test(tc, test_mockresd_down_and_back);
	tcase_add_test(tc, test_clients_leave);
	tcase_add_test(tc, test_slow_browser_dropped);
	tcase_add_test(tc, test_stream_cap);
	tcase_add_test(tc, test_forged_reports);
	tcase_add_test(tc, test_untrusted_dashboard);
	tcase_add_test(tc, test_head_limit_in_bytes);
	tcase_add_test(tc, test_no_continue_before_refusal);
	tcase_add_test(tc, test_unread_history);
#ifdef FRONTEND_BIN
	tcase_add_test(tc, test_frontend_processes);
	tcase_add_test(tc, test_sighup);
#endif
	suite_add_tcase(s, tc);
	return sup_run_suite(s);
}
