/*
 * test_abuse_http.c: hostile HTTP clients against the real
 * mockres-frontend and mockres-dashboard (in front of the real mockresd):
 * 1,000 idle connections each (slowloris) while others are served, until
 * the servers' timeouts close them; oversized headers and paths, bodies,
 * wrong methods, malformed and non-ASCII request lines; 10,000 requests
 * on one keep-alive connection; request smuggling (conflicting framing,
 * whitespace before the colon, Transfer-Encoding), methods, versions, Host,
 * control bytes and absolute-form targets (RFC 9112); a browser that sends
 * on its event stream, browsers that leave it, and clients that reset
 * while their request waits.  After each, the same processes (no
 * respawned worker) go on serving.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "support.h"

#define IDLE_CONNS        1000
#define FRONTEND_TIMEOUT  15 /* HTTP_TIMEOUT_S in frontend/frontend.h */
#define DASHBOARD_TIMEOUT 30 /* HTTP_TIMEOUT_S in dashboard/http.c */

static const char *sock;
static pid_t mrd_pid, fe_pid, dash_pid;
static int fe_port, dash_port;
static char fe_workers[256];

/* The frontend master's children, as "pid pid ...". */
static void
workers_of(pid_t master, char *buf, size_t len)
{
	char path[64];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)master,
	         (int)master);
	buf[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void
setup(void)
{
	const char *extra[] = {"--limit", "0", "--hold-ms", "1", NULL};
	char feport[32], dashport[32];
	const char *fe_argv[] = {FRONTEND_BIN, "--listen", feport, "--workers",
	                         "2",          "--socket", NULL,   NULL};
	const char *dash_argv[] = {DASHBOARD_BIN, "--listen", dashport,
	                           "--socket",    NULL,       NULL};
	struct rlimit rl;
	double end;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	mrd_pid = sup_mockresd("abuse-http.sock", extra, &sock);
	fe_port = sup_free_port();
	snprintf(feport, sizeof(feport), "127.0.0.1:%d", fe_port);
	fe_argv[6] = sock;
	fe_pid = sup_spawn(fe_argv, "frontend");
	dash_port = sup_free_port();
	snprintf(dashport, sizeof(dashport), "127.0.0.1:%d", dash_port);
	dash_argv[4] = sock;
	dash_pid = sup_spawn(dash_argv, "dashboard");
	ck_assert_int_eq(sup_wait_port(fe_port, 10000), 0);
	ck_assert_int_eq(sup_wait_port(dash_port, 10000), 0);
	/* both workers up (two pids listed) */
	end = clock_now_ms_frac() + 10000;
	do {
		workers_of(fe_pid, fe_workers, sizeof(fe_workers));
		if (strchr(fe_workers, ' ') != NULL &&
		    strchr(fe_workers, ' ') != strrchr(fe_workers, ' '))
			break;
		sup_sleep_ms(20);
	} while (clock_now_ms_frac() < end);
}

static void
teardown(void)
{
	/* A pid of 0 or -1 would signal a whole group: a test that stopped
	 * a process itself sets it to 0. */
	if (dash_pid > 0)
		sup_stop(dash_pid, SIGTERM, 10000);
	if (fe_pid > 0)
		sup_stop(fe_pid, SIGTERM, 20000);
	if (mrd_pid > 0)
		sup_stop(mrd_pid, SIGTERM, 10000);
}

/* 127.0.0.1:PORT; a read or write that waits 10 s fails. */
static int
tcp_connect(int port)
{
	struct timeval tv = {10, 0};
	int fd;

	if ((fd = sup_tcp_connect(port)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads one response on FD: returns its status (0 if none came), sets
 * *closed if the server said Connection: close or hung up.  The body is
 * read by its Content-Length (every answer here has one).
 */
static int
read_response(int fd, int *closed)
{
	static char buf[65536];
	size_t have = 0, need;
	char *end, *cl;
	long clen = 0;
	int status = 0;
	ssize_t n;

	*closed = 0;
	for (;;) {
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (have == sizeof(buf) - 1)
			return 0;
		n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0) {
			*closed = 1;
			return 0;
		}
		have += (size_t)n;
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	*end = '\0';
	if ((cl = strcasestr(buf, "\r\ncontent-length:")) != NULL)
		clen = strtol(cl + 17, NULL, 10);
	if (strcasestr(buf, "\r\nconnection: close") != NULL)
		*closed = 1;
	need = (size_t)(end + 4 - buf) + (size_t)clen;
	while (have < need && need < sizeof(buf)) {
		n = recv(fd, buf + have, need - have, 0);
		if (n <= 0) {
			*closed = 1;
			break;
		}
		have += (size_t)n;
	}
	return status;
}

/* One raw request on a fresh connection: the status. */
static int
raw_status(int port, const char *raw, size_t len)
{
	int fd = tcp_connect(port), status, closed;

	ck_assert_int_ge(fd, 0);
	send_all(fd, raw, len);
	status = read_response(fd, &closed);
	close(fd);
	return status;
}

/* The same processes still serve: frontend workers not respawned. */
static void
still_serving(void)
{
	const char *get_fe = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *get_dash = "GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n";
	char now[256];

	ck_assert_int_eq(raw_status(fe_port, get_fe, strlen(get_fe)), 200);
	ck_assert_int_eq(raw_status(dash_port, get_dash, strlen(get_dash)),
	                 200);
	ck_assert(sup_alive(fe_pid) && sup_alive(dash_pid));
	workers_of(fe_pid, now, sizeof(now));
	ck_assert_str_eq(now, fe_workers);
}

static void
expect_4xx(const char *what, const char *raw, size_t len)
{
	int ports[2] = {fe_port, dash_port}, i, status;

	for (i = 0; i < 2; i++) {
		status = raw_status(ports[i], raw, len);
		ck_assert_msg(status >= 400 && status < 500,
		              "%s: %s answered %d, not 4xx", what,
		              i == 0 ? "frontend" : "dashboard", status);
	}
	still_serving();
}

#define EXPECT_4XX(what, lit) expect_4xx(what, lit, sizeof(lit) - 1)
/* A string literal and its length, NULs included. */
#define RAW(lit) lit, sizeof(lit) - 1

/*
 * Bad requests, each on a fresh connection, to both servers: 4xx, and the
 * workers go on.  Headers over the 8 KiB cap: 431 or 400.
 */
START_TEST(test_bad_requests)
{
	static char big[20000];
	size_t n, i;
	int status;

	EXPECT_4XX("POST", "POST /part1/async HTTP/1.1\r\nHost: x\r\n"
	                   "Content-Length: 5\r\n\r\nhello");
	EXPECT_4XX("malformed request line", "GARBAGE\r\n\r\n");
	EXPECT_4XX("request line without a version", "GET /\r\n\r\n");
	EXPECT_4XX("unknown HTTP version", "GET / HTTP/9.9\r\n\r\n");
	EXPECT_4XX("binary request line", "\x16\x03\x01\x02\x00\r\n\r\n");
	EXPECT_4XX("non-ASCII path",
	           "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n");
	EXPECT_4XX("invalid UTF-8 path",
	           "GET /\xff\xfe\x80 HTTP/1.1\r\nHost: x\r\n\r\n");

	/* a path of 10,000 bytes */
	n = (size_t)snprintf(big, sizeof(big), "GET /");
	memset(big + n, 'a', 10000 - 1);
	n += 10000 - 1;
	n += (size_t)snprintf(big + n, sizeof(big) - n,
	                      " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_4xx("10,000-byte path", big, n);

	/* 100 headers of 100 bytes: over the 8 KiB cap */
	n = (size_t)snprintf(big, sizeof(big), "GET /healthz HTTP/1.1\r\n");
	for (i = 0; i < 100; i++) {
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		                      "X-Pad-%03zu: ", i);
		memset(big + n, 'v', 88);
		n += 88;
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	}
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	status = raw_status(fe_port, big, n);
	ck_assert_msg(status == 431 || status == 400, "frontend: %d", status);
	status = raw_status(dash_port, big, n);
	ck_assert_msg(status == 431 || status == 400, "dashboard: %d", status);
	still_serving();
}
END_TEST

/*
 * A GET with a body: libevent 2.1 reads no body for GET/HEAD, so the body
 * would stay on the connection and be parsed as the next request line.
 * Both servers answer 400 and close the connection.
 */
START_TEST(test_get_with_body)
{
	const char *fe = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	                 "Content-Length: 5\r\n\r\nhello"
	                 "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *dash = "GET /api/stats HTTP/1.1\r\nHost: x\r\n"
	                   "Content-Length: 5\r\n\r\nhello"
	                   "GET /api/stats HTTP/1.1\r\nHost: x\r\n\r\n";
	const char *raws[2] = {fe, dash};
	int ports[2] = {fe_port, dash_port}, i, fd, status, closed;

	for (i = 0; i < 2; i++) {
		fd = tcp_connect(ports[i]);
		ck_assert_int_ge(fd, 0);
		send_all(fd, raws[i], strlen(raws[i]));
		status = read_response(fd, &closed);
		ck_assert_msg(status == 400, "GET with a body: %d", status);
		/* the body is never read as the next request */
		ck_assert_msg(closed || read_response(fd, &closed) <= 0,
		              "the connection went on after a GET with a body");
		close(fd);
	}
	still_serving();
}
END_TEST

/*
 * Neither server offers a way to change mockresd's settings: no method or
 * path that looks like one gets a 2xx, and limit, hold and peak stay put.
 * (Neither program sends set_limit, set_hold or reset_peak at all.)
 */
START_TEST(test_no_admin_surface)
{
	static const char *const reqs[] = {
	    "POST /api/limit HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "\r\n1",
	    "PUT /api/stats HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
	    "\r\n1",
	    "DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /api/limit?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /limit/1 HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /part1/limit?value=1 HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /api/reset-peak HTTP/1.1\r\nHost: x\r\n\r\n",
	    "PATCH /part1/serial HTTP/1.1\r\nHost: x\r\n\r\n",
	};
	const char *json_args[] = {"--json", "status", NULL};
	char before[8192], after[8192];
	uint64_t v0, v1;
	size_t i;
	int status;

	ck_assert_int_eq(sup_ctl(sock, json_args, before, sizeof(before)), 0);
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		status = raw_status(fe_port, reqs[i], strlen(reqs[i]));
		ck_assert_msg(status >= 400 && status < 500,
		              "frontend answered %d to %.40s", status, reqs[i]);
		status = raw_status(dash_port, reqs[i], strlen(reqs[i]));
		ck_assert_msg(status >= 400 && status < 500,
		              "dashboard answered %d to %.40s", status,
		              reqs[i]);
	}
	ck_assert_int_eq(sup_ctl(sock, json_args, after, sizeof(after)), 0);
	ck_assert_int_eq(sup_json_u64(before, "limit", &v0), 0);
	ck_assert_int_eq(sup_json_u64(after, "limit", &v1), 0);
	ck_assert_uint_eq(v0, v1);
	ck_assert_int_eq(sup_json_u64(before, "hold_ms", &v0), 0);
	ck_assert_int_eq(sup_json_u64(after, "hold_ms", &v1), 0);
	ck_assert_uint_eq(v0, v1);
	still_serving();
}
END_TEST

/* 10,000 requests one after another on one keep-alive connection. */
static void
keepalive_10000(int port, const char *path)
{
	char req[128];
	int fd = tcp_connect(port), i, closed, n;

	ck_assert_int_ge(fd, 0);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
	             path);
	for (i = 0; i < 10000; i++) {
		ck_assert_int_eq(send_all(fd, req, (size_t)n), 0);
		ck_assert_msg(read_response(fd, &closed) == 200,
		              "%s: request %d on the connection failed", path,
		              i + 1);
		ck_assert_msg(!closed, "%s: closed after request %d", path,
		              i + 1);
	}
	close(fd);
}

START_TEST(test_keepalive_10000)
{
	struct sup_stats s;

	keepalive_10000(fe_port, "/part1/async");
	keepalive_10000(dash_port, "/api/stats");
	ck_assert_int_eq(sup_stats(sock, &s), 0);
	ck_assert_uint_eq(s.admitted, 10000);
	ck_assert_uint_eq(s.rejected, 0);
	still_serving();
}
END_TEST

/*
 * Opens IDLE_CONNS connections to PORT: half send nothing, half a request
 * line and a header but never the blank line.
 */
static void
open_idle(int port, int *fds)
{
	const char *partial = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	int i;

	for (i = 0; i < IDLE_CONNS; i++) {
		fds[i] = tcp_connect(port);
		ck_assert_msg(fds[i] >= 0, "idle connection %d: %s", i,
		              strerror(errno));
		if (i % 2 == 1)
			send_all(fds[i], partial, strlen(partial));
	}
}

/* Waits until the server closed every fd in FDS; returns how many did. */
static int
wait_all_closed(int *fds, int n, int timeout_ms)
{
	static struct pollfd pfd[2 * IDLE_CONNS];
	double end = clock_now_ms_frac() + timeout_ms;
	int open = n, i;
	char buf[4096];

	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (open > 0 && clock_now_ms_frac() < end) {
		if (poll(pfd, (nfds_t)n, 500) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			r = recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				close(pfd[i].fd);
				fds[i] = -1;
				pfd[i].fd = -1;
				open--;
			}
		}
	}
	return n - open;
}

/*
 * Slowloris: 1,000 idle connections to each server.  Others are served
 * meanwhile, and the servers' timeouts (15 s frontend, 30 s dashboard)
 * close every idle one.
 */
START_TEST(test_slowloris)
{
	static int fds[2 * IDLE_CONNS];
	int closed, i;
	double t0 = clock_now_ms_frac();

	open_idle(fe_port, fds);
	open_idle(dash_port, fds + IDLE_CONNS);
	for (i = 0; i < 5; i++)
		still_serving();
	closed = wait_all_closed(fds, 2 * IDLE_CONNS,
	                         (DASHBOARD_TIMEOUT + 30) * 1000);
	ck_assert_msg(closed == 2 * IDLE_CONNS,
	              "only %d of %d idle connections were closed in %.0f s",
	              closed, 2 * IDLE_CONNS,
	              (clock_now_ms_frac() - t0) / 1000);
	/* by their timeouts, not at once */
	ck_assert_double_ge(clock_now_ms_frac() - t0,
	                    FRONTEND_TIMEOUT * 1000 * 0.9);
	still_serving();
}
END_TEST

/*
 * Sends RAW on a fresh connection to PORT and reads until the server
 * closes or TIMEOUT_MS pass.  Returns the bytes read (OUT is
 * NUL-terminated; bytes past OUTLEN are dropped); *CLOSED says whether
 * the server closed (FIN or reset) rather than kept the connection.
 */
static size_t
exchange(int port, const char *raw, size_t len, char *out, size_t outlen,
         int *closed, int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;
	int fd = tcp_connect(port);
	size_t got = 0;
	char sink[4096];

	ck_assert_int_ge(fd, 0);
	send_all(fd, raw, len);
	*closed = 0;
	while (clock_now_ms_frac() < end) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (got + 1 < outlen)
			n = recv(fd, out + got, outlen - 1 - got, 0);
		else
			n = recv(fd, sink, sizeof(sink), 0);
		if (n <= 0) {
			*closed = 1;
			break;
		}
		if (got + 1 < outlen)
			got += (size_t)n;
	}
	out[got] = '\0';
	close(fd);
	return got;
}

/* The value of header NAME in the first response of OUT, or NULL. */
static const char *
header_of(const char *out, const char *name, char *buf, size_t len)
{
	struct sup_http_resp r;
	const char *end = strstr(out, "\r\n\r\n");
	size_t n = end ? (size_t)(end - out) : strlen(out);

	if (n >= sizeof(r.headers))
		n = sizeof(r.headers) - 1;
	memcpy(r.headers, out, n);
	r.headers[n] = '\0';
	return sup_http_header(&r, name, buf, len);
}

/* The hidden request a smuggling attempt tries to get past the check. */
#define HIDDEN "GET /part1/async HTTP/1.1\r\nHost: x\r\n\r\n"

/*
 * Request smuggling (RFC 9112 section 6.3 and 5.1): heads whose framing
 * evhttp could read differently from a proxy in front, each followed by
 * a hidden request.  Both servers answer 4xx with "Connection: close",
 * close the connection, and never answer the hidden request: the
 * frontend admits no use.
 */
START_TEST(test_smuggling)
{
	static const struct {
		const char *what;
		const char *raw;
		size_t len;
	} cases[] = {
#define C(what, lit) {what, lit, sizeof(lit) - 1}
	    C("duplicate Content-Length",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	      "Content-Length: 39\r\n\r\n" HIDDEN),
	    C("equal duplicate Content-Length",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	      "Content-Length: 0\r\n\r\n" HIDDEN),
	    C("space before the colon of Content-Length",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 39\r\n"
	      "\r\n" HIDDEN),
	    C("tab before the colon of Content-Length",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length\t: 39\r\n"
	      "\r\n" HIDDEN),
	    C("space before the colon of Transfer-Encoding",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	      "Transfer-Encoding : chunked\r\n\r\n" HIDDEN),
	    C("Transfer-Encoding: chunked on a GET",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" HIDDEN),
	    C("Transfer-Encoding: gzip, chunked",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	      "Transfer-Encoding: gzip, chunked\r\n\r\n" HIDDEN),
	    C("Transfer-Encoding with a tab",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	      "Transfer-Encoding:\tchunked\r\n\r\n" HIDDEN),
	    C("Transfer-Encoding and Content-Length",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	      "Transfer-Encoding: chunked\r\n\r\n" HIDDEN),
	    C("Content-Length with a sign",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: +0\r\n"
	      "\r\n" HIDDEN),
	    C("Content-Length hidden behind a NUL",
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\0 39\r\n"
	      "\r\n" HIDDEN),
	    C("HEAD with a body",
	      "HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 39\r\n"
	      "\r\n" HIDDEN),
	    C("TRACE with a body",
	      "TRACE /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 39\r\n"
	      "\r\n" HIDDEN),
	    C("unknown method with a body",
	      "PROPFIND /healthz HTTP/1.1\r\nHost: x\r\n"
	      "Content-Length: 39\r\n\r\n" HIDDEN),
	    C("OPTIONS with a Transfer-Encoding evhttp ignores",
	      "OPTIONS /healthz HTTP/1.1\r\nHost: x\r\n"
	      "Transfer-Encoding: xchunked\r\n\r\n" HIDDEN),
	    C("CONNECT with duplicate Content-Length",
	      "CONNECT x:80 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	      "Content-Length: 39\r\n\r\n" HIDDEN),
	    C("HTTP/1.0 keep-alive with duplicate Content-Length",
	      "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n"
	      "Content-Length: 0\r\nContent-Length: 39\r\n\r\n" HIDDEN),
#undef C
	};
	int ports[2] = {fe_port, dash_port}, i, closed, status;
	static char out[65536];
	struct sup_stats st;
	char h[64];
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (i = 0; i < 2; i++) {
			const char *who = i == 0 ? "frontend" : "dashboard";

			exchange(ports[i], cases[c].raw, cases[c].len, out,
			         sizeof(out), &closed, 3000);
			status = 0;
			sscanf(out, "HTTP/1.%*d %d", &status);
			ck_assert_msg(status >= 400 && status < 500,
			              "%s: %s answered %d", cases[c].what, who,
			              status);
			ck_assert_msg(sup_http_responses(out) == 1,
			              "%s: %s answered the hidden request: %s",
			              cases[c].what, who, out);
			ck_assert_msg(closed, "%s: %s kept the connection",
			              cases[c].what, who);
			ck_assert_msg(
			    header_of(out, "Connection", h, sizeof(h)) &&
			        strcasecmp(h, "close") == 0,
			    "%s: %s closed without Connection: close: %s",
			    cases[c].what, who, out);
		}
	ck_assert_int_eq(sup_stats(sock, &st), 0);
	ck_assert_msg(st.admitted == 0, "a hidden request was admitted");
	still_serving();
}
END_TEST

/*
 * Methods other than GET and HEAD, known to evhttp or not, get 405 with
 * "Allow: GET, HEAD" and a Content-Length, and the connection goes on:
 * the next request on it is read and answered.  OPTIONS * gets 200 with
 * Allow.  A HEAD answer carries the GET's Content-Type and Content-Length.
 */
START_TEST(test_methods)
{
	static const char *const lines[] = {
	    "PROPFIND / HTTP/1.1",          "get / HTTP/1.1",
	    "CONNECT x:443 HTTP/1.1",       "OPTIONS / HTTP/1.1",
	    "OPTIONS /nope HTTP/1.1",       "DELETE /healthz HTTP/1.1",
	    "PUT /healthz HTTP/1.1",        "TRACE / HTTP/1.1",
	    "PATCH /part1/serial HTTP/1.1", "BREW /pot HTTP/1.1",
	    "OPTIONS / HTTP/1.0",
	};
	int ports[2] = {fe_port, dash_port}, i, fd, closed, status;
	char req[256], h[128], get_len[32], get_type[128];
	struct sup_http_resp r;
	size_t l;

	for (i = 0; i < 2; i++) {
		const char *who = i == 0 ? "frontend" : "dashboard";

		for (l = 0; l < sizeof(lines) / sizeof(lines[0]); l++) {
			int n =
			    snprintf(req, sizeof(req),
			             "%s\r\nHost: x\r\n\r\n"
			             "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
			             lines[l]);
			static char out[8192];

			exchange(ports[i], req, (size_t)n, out, sizeof(out),
			         &closed, 1500);
			status = 0;
			sscanf(out, "HTTP/1.%*d %d", &status);
			ck_assert_msg(status == 405, "%s: %s answered %d: %s",
			              lines[l], who, status, out);
			ck_assert_msg(header_of(out, "Allow", h, sizeof(h)) &&
			                  strcmp(h, "GET, HEAD") == 0,
			              "%s: %s: no Allow: %s", lines[l], who,
			              out);
			/* on a kept-alive connection (an HTTP/1.0 one is
			 * closed after it) */
			ck_assert_msg(
			    header_of(out, "Content-Length", h, sizeof(h)) ||
			        strstr(lines[l], "1.0") != NULL,
			    "%s: %s: no Content-Length: %s", lines[l], who,
			    out);
			ck_assert_msg(
			    !header_of(out, "Connection", h, sizeof(h)) ||
			        strcasecmp(h, "close") != 0 ||
			        strstr(lines[l], "1.0") != NULL,
			    "%s: %s closed the connection", lines[l], who);
			if (strstr(lines[l], "1.0") != NULL)
				continue;
			/* the next request was read as one, and answered */
			ck_assert_msg(sup_http_responses(out) == 2 &&
			                  strstr(out, "HTTP/1.1 404") != NULL,
			              "%s: %s: the next request got no proper "
			              "answer: %s",
			              lines[l], who, out);
		}

		/* OPTIONS *: what the server allows */
		fd = tcp_connect(ports[i]);
		send_all(fd, RAW("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"));
		status = read_response(fd, &closed);
		close(fd);
		ck_assert_msg(status == 200, "OPTIONS *: %s answered %d", who,
		              status);
		exchange(ports[i], RAW("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
		         req, sizeof(req), &closed, 1000);
		ck_assert_msg(header_of(req, "Allow", h, sizeof(h)) &&
		                  strcmp(h, "GET, HEAD") == 0,
		              "OPTIONS *: %s: %s", who, req);
		ck_assert_msg(header_of(req, "Content-Length", h, sizeof(h)) &&
		                  strcmp(h, "0") == 0,
		              "OPTIONS *: %s: %s", who, req);

		/* HEAD answers carry what GET's do */
		ck_assert_int_eq(
		    sup_http(ports[i], "GET", "/nope", NULL, &r, 5000), 0);
		ck_assert_ptr_nonnull(sup_http_header(
		    &r, "Content-Length", get_len, sizeof(get_len)));
		ck_assert_ptr_nonnull(sup_http_header(
		    &r, "Content-Type", get_type, sizeof(get_type)));
		ck_assert_int_eq(
		    sup_http(ports[i], "HEAD", "/nope", NULL, &r, 5000), 0);
		ck_assert_int_eq(r.status, 404);
		ck_assert_uint_eq(r.body_len, 0);
		ck_assert_msg(
		    sup_http_header(&r, "Content-Length", h, sizeof(h)) &&
		        strcmp(h, get_len) == 0,
		    "HEAD: %s: Content-Length: %s", who, r.headers);
		ck_assert_msg(
		    sup_http_header(&r, "Content-Type", h, sizeof(h)) &&
		        strcmp(h, get_type) == 0,
		    "HEAD: %s: Content-Type: %s", who, r.headers);
	}
	ck_assert_int_eq(sup_http(fe_port, "HEAD", "/healthz", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Length", h, sizeof(h)));
	ck_assert_str_eq(h, "2");
	ck_assert_ptr_nonnull(
	    sup_http_header(&r, "Content-Type", h, sizeof(h)));
	ck_assert_ptr_nonnull(strstr(h, "text/plain"));
	still_serving();
}
END_TEST

/*
 * Heads that break RFC 9112 in other ways: an unsupported version (505,
 * answered as HTTP/1.1, never echoed), HTTP/1.1 without exactly one valid
 * Host, control bytes (NUL included) in the request line or a field,
 * whitespace or nothing as a field name, and targets in absolute or
 * asterisk form.  Each gets its status with "Connection: close", and the
 * connection really closes.
 */
START_TEST(test_bad_heads)
{
	static const struct {
		const char *what;
		int status;
		const char *raw;
		size_t len;
	} cases[] = {
#define C(what, st, lit) {what, st, lit, sizeof(lit) - 1}
	    C("HTTP/1.9", 505, "GET /healthz HTTP/1.9\r\nHost: x\r\n\r\n"),
	    C("HTTP/1.2 keep-alive", 505,
	      "GET /healthz HTTP/1.2\r\nHost: x\r\n"
	      "Connection: keep-alive\r\n\r\n"),
	    C("no Host", 400, "GET /healthz HTTP/1.1\r\n\r\n"),
	    C("two Hosts", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
	    C("a Host with a space", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x y\r\n\r\n"),
	    C("a Host with a slash", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x/y\r\n\r\n"),
	    C("NUL in a field value", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n"),
	    C("NUL in Host", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\0y\r\n\r\n"),
	    C("NUL after the version", 400,
	      "GET /healthz HTTP/1.1\0x\r\nHost: x\r\n\r\n"),
	    C("NUL at the end of a field", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0\r\n\r\n"),
	    C("SOH in a field value", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\001b\r\n\r\n"),
	    C("DEL in a field value", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\177b\r\n\r\n"),
	    C("bare CR in a field value", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
	    C("ESC in the target", 400,
	      "GET /heal\033thz HTTP/1.1\r\nHost: x\r\n\r\n"),
	    C("space before a colon", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n"),
	    C("an empty field name", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n"),
	    C("a separator in a field name", 400,
	      "GET /healthz HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n"),
	    C("absolute-form target", 400,
	      "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
	    C("absolute-form target, https", 400,
	      "GET https://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
	    C("absolute-form target, other scheme", 400,
	      "GET ftp://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
	    C("absolute-form target, keep-alive proxy", 400,
	      "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n"
	      "Proxy-Connection: keep-alive\r\n\r\n"),
	    C("asterisk-form on a GET", 400,
	      "GET * HTTP/1.1\r\nHost: x\r\n\r\n"),
#undef C
	};
	int ports[2] = {fe_port, dash_port}, i, closed, status;
	static char out[65536];
	char h[64];
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (i = 0; i < 2; i++) {
			const char *who = i == 0 ? "frontend" : "dashboard";
			char line[32];

			/* a second request on the same connection must not
			 * be answered */
			char raw[512];

			memcpy(raw, cases[c].raw, cases[c].len);
			memcpy(raw + cases[c].len, HIDDEN, sizeof(HIDDEN) - 1);
			exchange(ports[i], raw,
			         cases[c].len + sizeof(HIDDEN) - 1, out,
			         sizeof(out), &closed, 3000);
			status = 0;
			sscanf(out, "HTTP/1.%*d %d", &status);
			ck_assert_msg(status == cases[c].status,
			              "%s: %s answered %d, not %d: %s",
			              cases[c].what, who, status,
			              cases[c].status, out);
			snprintf(line, sizeof(line), "HTTP/1.1 %d ",
			         cases[c].status);
			ck_assert_msg(strncmp(out, line, strlen(line)) == 0,
			              "%s: %s: status line %.20s",
			              cases[c].what, who, out);
			ck_assert_msg(
			    header_of(out, "Connection", h, sizeof(h)) &&
			        strcasecmp(h, "close") == 0,
			    "%s: %s: no Connection: close: %s", cases[c].what,
			    who, out);
			ck_assert_msg(closed && sup_http_responses(out) == 1,
			              "%s: %s kept the connection: %s",
			              cases[c].what, who, out);
		}

	/* HTTP/1.0 needs no Host; a Host with a port or an IPv6 literal
	 * is fine */
	ck_assert_int_eq(
	    raw_status(fe_port, RAW("GET /healthz HTTP/1.0\r\n\r\n")), 200);
	ck_assert_int_eq(
	    raw_status(fe_port, RAW("GET /healthz HTTP/1.1\r\n"
	                            "Host: 127.0.0.1:4000\r\n\r\n")),
	    200);
	ck_assert_int_eq(raw_status(fe_port, RAW("GET /healthz HTTP/1.1\r\n"
	                                         "Host: [::1]:4000\r\n\r\n")),
	                 200);
	still_serving();
}
END_TEST

/* RSS of PID in kB, after waiting for it to settle. */
static long
rss_kb(pid_t pid)
{
	long kb = sup_proc_rss_kb(pid);

	ck_assert_int_gt(kb, 0);
	return kb;
}

/* The dashboard's /metrics value of NAME, or -1. */
static long
dash_metric(const char *name)
{
	struct sup_http_resp r;
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s ", name);
	if (sup_http(dash_port, "GET", "/metrics", NULL, &r, 5000) != 0 ||
	    (p = strstr(r.body, pat)) == NULL)
		return -1;
	return strtol(p + strlen(pat), NULL, 10);
}

/* Opens an event stream and reads its head; returns the fd. */
static int
events_open(void)
{
	static const char req[] = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[512];
	int fd = tcp_connect(dash_port);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(send_all(fd, req, sizeof(req) - 1), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
	return fd;
}

/*
 * A browser sends nothing on its event stream after the request.  One
 * that sends 100 MB there does not grow the dashboard: the stream is
 * closed on the first bytes, and no memory stays behind.
 */
START_TEST(test_events_input)
{
	static char chunk[64 << 10];
	long before, after;
	size_t sent = 0;
	int fd;

	memset(chunk, 'x', sizeof(chunk));
	before = rss_kb(dash_pid);
	fd = events_open();
	while (sent < (size_t)100 << 20) {
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);

		if (n <= 0)
			break; /* closed on us, or stopped reading */
		sent += (size_t)n;
	}
	close(fd);
	after = rss_kb(dash_pid);
	ck_assert_msg(after - before < 16 * 1024,
	              "dashboard RSS went from %ld kB to %ld kB after a "
	              "browser sent %zu bytes on its stream",
	              before, after, sent);
	ck_assert_msg(sent < (size_t)100 << 20,
	              "the dashboard took all 100 MB on an event stream");
	still_serving();
	ck_assert_int_eq(dash_metric("mockres_dashboard_sse_dropped_total"), 0);
}
END_TEST

/* Closes FD with a reset (RST) rather than a FIN. */
static void
close_reset(int fd)
{
	struct linger lg = {1, 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * Browsers that leave the event stream, by FIN or by reset, are not
 * "dropped": the counter is for those cut off for falling behind, and
 * leaving is not logged at info.  The dashboard is stopped while they
 * leave, so that on resume the next event is written to their dead
 * sockets before their close is read (what a busy dashboard sees).
 */
START_TEST(test_events_leavers)
{
	enum { N = 20 };
	static char log[1 << 16];
	int fds[N], i;
	double end;

	for (i = 0; i < N; i++)
		fds[i] = events_open();
	end = clock_now_ms_frac() + 10000;
	while (dash_metric("mockres_dashboard_sse_clients") != N) {
		ck_assert_msg(clock_now_ms_frac() < end, "streams not counted");
		sup_sleep_ms(20);
	}
	kill(dash_pid, SIGSTOP);
	sup_sleep_ms(200); /* a watch push from mockresd is queued */
	for (i = 0; i < N; i++) {
		if (i % 2 == 0)
			close_reset(fds[i]);
		else
			close(fds[i]);
	}
	sup_sleep_ms(200);
	kill(dash_pid, SIGCONT);
	end = clock_now_ms_frac() + 10000;
	while (dash_metric("mockres_dashboard_sse_clients") != 0) {
		ck_assert_msg(clock_now_ms_frac() < end,
		              "streams not forgotten");
		sup_sleep_ms(20);
	}
	ck_assert_int_eq(dash_metric("mockres_dashboard_sse_dropped_total"), 0);
	sup_read_log("dashboard.log", log, sizeof(log));
	ck_assert_msg(strstr(log, "dropped a browser") == NULL, "%s", log);
	still_serving();
}
END_TEST

/* The frontend master's current workers, up to MAX. */
static int
workers(pid_t *out, int max)
{
	return sup_proc_children(fe_pid, out, max);
}

/*
 * N clients send GET /part1/serial and reset their connection while it
 * waits for its 1.5 s hold; the holds end and the answers meet dead
 * sockets.  Returns once the holds are over.
 */
static void
reset_while_waiting(int n)
{
	static const char req[] =
	    "GET /part1/serial HTTP/1.1\r\nHost: x\r\n\r\n";
	int fds[16], i;
	struct sup_stats st;
	double end;

	ck_assert_int_le(n, 16);
	for (i = 0; i < n; i++) {
		fds[i] = tcp_connect(fe_port);
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(send_all(fds[i], req, sizeof(req) - 1), 0);
	}
	end = clock_now_ms_frac() + 10000;
	do {
		ck_assert_msg(clock_now_ms_frac() < end, "uses not in flight");
		sup_sleep_ms(20);
		ck_assert_int_eq(sup_stats(sock, &st), 0);
	} while (st.in_flight < (uint64_t)n);
	for (i = 0; i < n; i++)
		close_reset(fds[i]);
	do {
		ck_assert_msg(clock_now_ms_frac() < end, "holds did not end");
		sup_sleep_ms(20);
		ck_assert_int_eq(sup_stats(sock, &st), 0);
	} while (st.in_flight > 0);
	sup_sleep_ms(200); /* the answers are written, and fail */
}

/*
 * A worker counts the requests it has not finished answering, and a
 * stopping or reloaded worker waits for them (up to 10 s).  Clients that
 * reset while their request waits must not leave that count behind:
 * SIGHUP retires the old workers and SIGTERM stops the frontend in about
 * a second, not after the 10 s drain.
 */
START_TEST(test_reset_while_waiting)
{
	const char *hold[] = {"hold", "1500", NULL};
	pid_t old[8];
	static char log[1 << 16];
	char out[256];
	double t0;
	int n, i, status;

	ck_assert_int_eq(sup_ctl(sock, hold, out, sizeof(out)), 0);
	ck_assert_int_eq(workers(old, 8), 2);
	reset_while_waiting(6);

	t0 = clock_now_ms_frac();
	kill(fe_pid, SIGHUP);
	for (;;) {
		n = 0;
		for (i = 0; i < 2; i++)
			n += sup_alive(old[i]);
		if (n == 0)
			break;
		ck_assert_msg(clock_now_ms_frac() - t0 < 5000,
		              "old workers still there %.0f ms after SIGHUP",
		              clock_now_ms_frac() - t0);
		sup_sleep_ms(20);
	}

	/* the new workers, the same way */
	t0 = clock_now_ms_frac();
	while (workers(old, 8) != 2) {
		ck_assert_msg(clock_now_ms_frac() - t0 < 10000,
		              "no new workers");
		sup_sleep_ms(20);
	}
	reset_while_waiting(6);
	t0 = clock_now_ms_frac();
	status = sup_stop(fe_pid, SIGTERM, 20000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "status %d", status);
	ck_assert_msg(clock_now_ms_frac() - t0 < 5000,
	              "SIGTERM took %.0f ms with nothing pending",
	              clock_now_ms_frac() - t0);
	fe_pid = 0;
	sup_read_log("frontend.log", log, sizeof(log));
	ck_assert_msg(strstr(log, "still unanswered") == NULL, "%s", log);
}
END_TEST

SUP_MAIN("abuse_http", setup, teardown, 180, test_bad_requests,
         test_get_with_body, test_no_admin_surface, test_keepalive_10000,
         test_smuggling, test_methods, test_bad_heads, test_events_input,
         test_events_leavers, test_reset_while_waiting, test_slowloris)
