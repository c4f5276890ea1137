/*
 * test_frontend_http.c: HTTP/1.1 as the real mockres-frontend speaks it
 * (issue 19: its own HTTP layer; issue 21: the head limit in bytes, no
 * 100 Continue before a refusal), in front of the real mockresd:
 *
 * - 10 pipelined requests in one packet, serial and async mixed with
 *   other routes, answered in order with the right bodies;
 * - a request sent one byte at a time; HTTP/1.0 with and without
 *   keep-alive; HEAD on both routes; Expect: 100-continue on a GET;
 *   100 fields;
 * - refused with 400 and a closed connection, the request behind never
 *   answered: an 8 KiB request line, a space before a colon, bare LF line
 *   ends, obs-fold, any Transfer-Encoding, duplicate or conflicting
 *   Content-Length; a head over 8192 bytes however it is made up (4000
 *   empty fields, one long field); a GET with a body and Expect gets the
 *   refusal alone;
 * - a request pipelined after "Connection: close" is not answered.
 */
#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "support.h"

static const char *sock;
static pid_t mrd_pid, fe_pid;
static int port;

#define HOLD_MS 100
/* A string literal and its length, NULs included. */
#define RAW(lit) lit, sizeof(lit) - 1

static void
setup(void)
{
	static char hold[16];
	const char *mrd_extra[] = {"--limit", "0", "--hold-ms", hold, NULL};
	const char *fe_extra[] = {"--workers", "2", NULL};
	struct sup_http_resp r;
	double end;

	snprintf(hold, sizeof(hold), "%d", HOLD_MS);
	mrd_pid = sup_mockresd("mockresd.sock", mrd_extra, &sock);
	fe_pid =
	    sup_http_server(FRONTEND_BIN, "frontend", sock, fe_extra, &port);
	end = clock_now_ms_frac() + 10000;
	while (sup_http(port, "GET", "/healthz", NULL, &r, 5000) != 0 ||
	       r.status != 200) {
		ck_assert_msg(clock_now_ms_frac() < end,
		              "frontend never healthy");
		sup_sleep_ms(20);
	}
}

static void
teardown(void)
{
	sup_stop_ok(fe_pid, "the frontend", 20000);
	sup_stop(mrd_pid, SIGTERM, 10000);
}

static int
conn(void)
{
	int fd = sup_tcp_connect(port);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		ck_assert_int_gt(n, 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Reads until the server closes or WAIT_MS pass; *CLOSED says which. */
static size_t
read_until(int fd, char *out, size_t len, int wait_ms, int *closed)
{
	double end = clock_now_ms_frac() + wait_ms;
	size_t got = 0;

	*closed = 0;
	while (got + 1 < len) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int left = (int)(end - clock_now_ms_frac());
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		if ((n = recv(fd, out + got, len - 1 - got, 0)) <= 0) {
			*closed = 1;
			break;
		}
		got += (size_t)n;
	}
	out[got] = '\0';
	return got;
}

/* One raw exchange on a fresh connection. */
static size_t
exchange(const char *raw, size_t len, char *out, size_t outlen, int wait_ms,
         int *closed)
{
	int fd = conn();
	size_t n;

	send_all(fd, raw, len);
	n = read_until(fd, out, outlen, wait_ms, closed);
	close(fd);
	return n;
}

/*
 * The next response in *P: its status, its body (Content-Length bytes,
 * none for HEAD) in BODY; *P moves past it.  0 if there is none.
 */
static int
next_response(const char **p, int head, char *hdrs, size_t hlen, char *body,
              size_t blen)
{
	const char *s = *p, *end = strstr(s, "\r\n\r\n"), *cl;
	size_t clen = 0, n;
	int status = 0;

	if (end == NULL || sscanf(s, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	n = (size_t)(end - s);
	snprintf(hdrs, hlen, "%.*s", (int)n, s);
	if ((cl = sup_header_in(s, end, "Content-Length", &n)) != NULL)
		clen = strtoul(cl, NULL, 10);
	if (head)
		clen = 0;
	snprintf(body, blen, "%.*s", (int)clen, end + 4);
	*p = end + 4 + clen;
	return status;
}

static int
count(const char *out, const char *what)
{
	int n = 0;

	for (; (out = strstr(out, what)) != NULL; out++)
		n++;
	return n;
}

/* Ten requests in one packet, in order, whatever each waits for. */
START_TEST(test_pipelined_mixed)
{
	static const struct {
		const char *path;
		int status;
		const char *body;
	} reqs[10] = {
	    {"/part1/serial", 200, "OK"},
	    {"/part1/async", 200, "OK"},
	    {"/nope", 404, "not found"},
	    {"/part1/async?x=1", 200, "OK"},
	    {"/healthz", 200, "OK"},
	    {"/part1/serial", 200, "OK"},
	    {"/", 303, "see the dashboard at the Location header's URL"},
	    {"/part1/async", 200, "OK"},
	    {"/part1/nope", 404, "not found"},
	    {"/part1/serial", 200, "OK"},
	};
	static char raw[4096], out[16384];
	char hdrs[1024], body[256];
	const char *p = out;
	size_t n = 0, i;
	int fd = conn(), closed = 0;
	double t0;
	struct sup_stats st0, st1;

	ck_assert_int_eq(sup_stats(sock, &st0), 0);
	for (i = 0; i < 10; i++)
		n += (size_t)snprintf(raw + n, sizeof(raw) - n,
		                      "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
		                      reqs[i].path);
	t0 = clock_now_ms_frac();
	send_all(fd, raw, n); /* one write, one segment (NODELAY) */
	n = 0;
	while (sup_http_responses(out) < 10 && clock_now_ms_frac() - t0 < 10000)
		n += read_until(fd, out + n, sizeof(out) - n, 200, &closed);
	ck_assert_msg(!closed, "closed: %s", out);
	for (i = 0; i < 10; i++) {
		int status = next_response(&p, 0, hdrs, sizeof(hdrs), body,
		                           sizeof(body));

		ck_assert_msg(status == reqs[i].status,
		              "answer %zu (%s): %d, not %d", i, reqs[i].path,
		              status, reqs[i].status);
		ck_assert_str_eq(body, reqs[i].body);
	}
	ck_assert_str_eq(p, "");
	/* the three serial ones waited for their holds, one after another */
	ck_assert_double_ge(clock_now_ms_frac() - t0, 3 * HOLD_MS * 0.9);
	ck_assert_int_eq(sup_stats(sock, &st1), 0);
	ck_assert_uint_eq(st1.admitted - st0.admitted, 6);
	close(fd);
}
END_TEST

START_TEST(test_one_byte_at_a_time)
{
	static const char req[] =
	    "GET /part1/async HTTP/1.1\r\nHost: x\r\n\r\n";
	char out[1024];
	int fd = conn(), closed;
	size_t i;

	for (i = 0; i < sizeof(req) - 1; i++) {
		send_all(fd, req + i, 1);
		sup_sleep_ms(2);
	}
	read_until(fd, out, sizeof(out), 1000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\r\n\r\nOK"));
	ck_assert(!closed);
	close(fd);
}
END_TEST

START_TEST(test_http10)
{
	char out[4096], hdrs[1024], body[64];
	const char *p = out;
	int closed;

	/* without keep-alive: answered, then closed */
	exchange(RAW("GET /part1/async HTTP/1.0\r\n\r\n"
	             "GET /part1/async HTTP/1.0\r\n\r\n"),
	         out, sizeof(out), 2000, &closed);
	ck_assert(closed);
	ck_assert_int_eq(count(out, "HTTP/1.0 200 OK"), 1);
	ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));

	/* with it (what ab -k sends): kept, said so */
	exchange(RAW("GET /part1/async HTTP/1.0\r\nConnection: Keep-Alive\r\n"
	             "Host: x\r\nUser-Agent: ApacheBench/2.3\r\n\r\n"
	             "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
	         out, sizeof(out), 1000, &closed);
	ck_assert(!closed);
	ck_assert_int_eq(
	    next_response(&p, 0, hdrs, sizeof(hdrs), body, sizeof(body)), 200);
	ck_assert_ptr_nonnull(strstr(hdrs, "HTTP/1.0 200 OK\r\n"
	                                   "Connection: keep-alive\r\n"
	                                   "Content-Length: 2\r\n"));
	ck_assert_int_eq(
	    next_response(&p, 0, hdrs, sizeof(hdrs), body, sizeof(body)), 200);
	ck_assert_str_eq(body, "OK");
}
END_TEST

/* HEAD on both routes: the GET's length and type, no body; the next
 * request on the connection is read right after. */
START_TEST(test_head_routes)
{
	static const char *const paths[] = {"/part1/serial", "/part1/async"};
	char raw[512], out[4096], hdrs[1024], body[64], h[128];
	const char *p;
	size_t i, n, len;
	int closed;

	for (i = 0; i < 2; i++) {
		n = (size_t)snprintf(raw, sizeof(raw),
		                     "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n"
		                     "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		                     paths[i]);
		exchange(raw, n, out, sizeof(out), 1000, &closed);
		p = out;
		ck_assert_int_eq(next_response(&p, 1, hdrs, sizeof(hdrs), body,
		                               sizeof(body)),
		                 200);
		ck_assert_ptr_nonnull(sup_header_in(hdrs, hdrs + strlen(hdrs),
		                                    "Content-Length", &len));
		snprintf(h, sizeof(h), "%.*s", (int)len,
		         sup_header_in(hdrs, hdrs + strlen(hdrs),
		                       "Content-Length", &len));
		ck_assert_str_eq(h, "2");
		ck_assert_ptr_nonnull(strstr(hdrs, "Content-Type: text/plain"));
		/* no body: the next answer starts at once */
		ck_assert_msg(strncmp(p, "HTTP/1.1 200 OK\r\n", 17) == 0,
		              "%s: after the HEAD answer: %s", paths[i], p);
		ck_assert_int_eq(next_response(&p, 0, hdrs, sizeof(hdrs), body,
		                               sizeof(body)),
		                 200);
		ck_assert_str_eq(body, "OK");
	}
}
END_TEST

START_TEST(test_expect_on_get)
{
	char out[2048];
	int closed;

	exchange(RAW("GET /part1/async HTTP/1.1\r\nHost: x\r\n"
	             "Expect: 100-continue\r\n\r\n"),
	         out, sizeof(out), 1000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", out);
	ck_assert_ptr_null(strstr(out, "100 Continue"));
	ck_assert(!closed);
}
END_TEST

START_TEST(test_100_fields)
{
	static char raw[8192], out[2048];
	size_t n;
	int i, closed;

	n = (size_t)snprintf(raw, sizeof(raw),
	                     "GET /part1/async HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(raw + n, sizeof(raw) - n,
		                      "X-Field-%03d: %d\r\n", i, i * 7);
	n += (size_t)snprintf(raw + n, sizeof(raw) - n, "\r\n");
	ck_assert_uint_lt(n, 8192);
	exchange(raw, n, out, sizeof(out), 1000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", out);
}
END_TEST

#define HIDDEN "GET /part1/async HTTP/1.1\r\nHost: x\r\n\r\n"

/* RAW is refused with 400 (505) and "Connection: close", the connection
 * closes, and the request behind it is never answered. */
static void
refused(const char *what, const char *raw, size_t len, int status)
{
	static char buf[40000], out[8192];
	char line[32];
	int closed;

	ck_assert_uint_lt(len + sizeof(HIDDEN), sizeof(buf));
	memcpy(buf, raw, len);
	memcpy(buf + len, HIDDEN, sizeof(HIDDEN) - 1);
	exchange(buf, len + sizeof(HIDDEN) - 1, out, sizeof(out), 3000,
	         &closed);
	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	ck_assert_msg(strncmp(out, line, strlen(line)) == 0,
	              "%s: answered %.60s", what, out);
	ck_assert_msg(strstr(out, "Connection: close\r\n") != NULL,
	              "%s: no Connection: close: %s", what, out);
	ck_assert_msg(sup_http_responses(out) == 1, "%s: %s", what, out);
	ck_assert_msg(closed, "%s: the connection stayed open", what);
	ck_assert_msg(strstr(out, "100 Continue") == NULL, "%s", what);
}

#define REFUSED(what, lit) refused(what, lit, sizeof(lit) - 1, 400)

START_TEST(test_leniencies_refused)
{
	struct sup_stats st0, st1;

	ck_assert_int_eq(sup_stats(sock, &st0), 0);
	REFUSED("space before a colon",
	        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n");
	REFUSED("bare LF line ends", "GET /healthz HTTP/1.1\nHost: x\n\n");
	REFUSED("a bare LF among CRLFs",
	        "GET /healthz HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n");
	REFUSED("obs-fold",
	        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n");
	REFUSED("Transfer-Encoding: chunked",
	        "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	        "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
	REFUSED("Transfer-Encoding: identity",
	        "GET /healthz HTTP/1.1\r\nHost: x\r\n"
	        "Transfer-Encoding: identity\r\n\r\n");
	REFUSED("duplicate Content-Length",
	        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	        "Content-Length: 0\r\n\r\n");
	REFUSED("conflicting Content-Length",
	        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	        "Content-Length: 39\r\n\r\n");
	REFUSED("HTTP/1.0 keep-alive, conflicting Content-Length",
	        "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n"
	        "Content-Length: 39\r\nContent-Length: 0\r\n\r\n");
	refused("HTTP/1.2", RAW("GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n"),
	        505);
	/* issue 21: the body is refused, never invited */
	REFUSED("a GET with a body and Expect: 100-continue",
	        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	        "Expect: 100-continue\r\n\r\n");
	ck_assert_int_eq(sup_stats(sock, &st1), 0);
	ck_assert_uint_eq(st1.admitted, st0.admitted); /* nothing hidden */
}
END_TEST

/* The head limit: 8192 bytes of request line, fields and CRLFs. */
START_TEST(test_head_limit_in_bytes)
{
	static char raw[20000], out[4096];
	size_t n, pad;
	int i, closed;

	/* a request line of 8 KiB */
	n = (size_t)snprintf(raw, sizeof(raw), "GET /");
	memset(raw + n, 'a', 8192 - n);
	n = 8192;
	n += (size_t)snprintf(raw + n, sizeof(raw) - n,
	                      " HTTP/1.1\r\nHost: x\r\n\r\n");
	refused("an 8 KiB request line", raw, n, 400);

	/* 4000 empty fields: 16,034 bytes */
	n = (size_t)snprintf(raw, sizeof(raw),
	                     "GET /part1/async HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 4000; i++)
		n += (size_t)snprintf(raw + n, sizeof(raw) - n, "a:\r\n");
	n += (size_t)snprintf(raw + n, sizeof(raw) - n, "\r\n");
	refused("4000 empty fields", raw, n, 400);

	/* one field of 8,186 bytes */
	n = (size_t)snprintf(raw, sizeof(raw),
	                     "GET /part1/async HTTP/1.1\r\nHost: x\r\nX: ");
	pad = 8186 - 5;
	memset(raw + n, 'v', pad);
	n += pad;
	n += (size_t)snprintf(raw + n, sizeof(raw) - n, "\r\n\r\n");
	refused("one 8,186-byte field", raw, n, 400);

	/* exactly 8192 bytes: served; one more: refused */
	n = (size_t)snprintf(raw, sizeof(raw),
	                     "GET /part1/async HTTP/1.1\r\nHost: x\r\nX: ");
	pad = 8192 - n - 4;
	memset(raw + n, 'v', pad);
	memcpy(raw + n + pad, "\r\n\r\n", 5); /* (and a NUL, not sent) */
	exchange(raw, 8192, out, sizeof(out), 1000, &closed);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "%.60s",
	              out);
	raw[n + pad] = 'v';
	memcpy(raw + n + pad + 1, "\r\n\r\n", 5);
	refused("an 8193-byte head", raw, 8193, 400);
}
END_TEST

/* "Connection: close": answered with it, closed, and what was pipelined
 * behind it is never answered (no use admitted for it). */
START_TEST(test_close_then_more)
{
	char out[4096];
	struct sup_stats st0, st1;
	int closed;

	ck_assert_int_eq(sup_stats(sock, &st0), 0);
	exchange(RAW("GET /healthz HTTP/1.1\r\nHost: x\r\n"
	             "Connection: close\r\n\r\n" HIDDEN),
	         out, sizeof(out), 2000, &closed);
	ck_assert(closed);
	ck_assert_int_eq(sup_http_responses(out), 1);
	ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
	ck_assert_int_eq(sup_stats(sock, &st1), 0);
	ck_assert_uint_eq(st1.admitted, st0.admitted);
}
END_TEST

SUP_MAIN("frontend_http", setup, teardown, 60, test_pipelined_mixed,
         test_one_byte_at_a_time, test_http10, test_head_routes,
         test_expect_on_get, test_100_fields, test_leniencies_refused,
         test_head_limit_in_bytes, test_close_then_more)
