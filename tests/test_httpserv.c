/*
 * test_httpserv.c: the HTTP layer (common/httpserv.c) on socketpairs in
 * one process: answers given later stay in order behind pipelined ones,
 * streams (chunked on 1.1, closed on 1.0), a producer that only writes
 * as the client drains, requests lost with their connection, stale
 * tickets, bodies and 100 Continue for a method that takes one, refusals
 * counted like requests; a server's check of a head before its body (no
 * 100 Continue before its refusal), pipelined requests answered at once
 * past the answers a connection may queue, the output budget, quiet
 * streams and stream writes that go straight to the socket.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "httpserv.h"
#include "support.h"

static struct event_base *base;
static struct httpserv *srv;
static struct httpserv_conn *later_c;
static uint32_t later_t;
static int begun, done_ok, done_lost, last_code;
static size_t unsent_max;
static int produced;
static char got_body[64];
static char big_body[32 << 10];

static uint64_t
t_begin(void *arg)
{
	return (uint64_t)++begun;
}

static void
t_done(void *arg, uint64_t cookie, int code, int written)
{
	if (written)
		done_ok++;
	else
		done_lost++;
	last_code = code;
}

/* 1 KiB a call, 1000 calls; notes the most output ever unsent. */
static int
t_fill(void *arg, struct httpserv_conn *c)
{
	static char kb[1024];

	if (httpserv_unsent(c) > unsent_max)
		unsent_max = httpserv_unsent(c);
	if (produced == 1000)
		return 0;
	memset(kb, 'a' + produced % 26, sizeof(kb));
	produced++;
	ck_assert_int_eq(httpserv_stream_write(c, kb, sizeof(kb)), 0);
	return 1;
}

static void
t_request(void *arg, struct httpserv_request *r)
{
	const char *p = r->head->target;
	size_t n = r->head->path_len;

#define IS(lit) (n == sizeof(lit) - 1 && memcmp(p, lit, n) == 0)
	if (IS("/later")) {
		later_c = r->conn;
		later_t = r->ticket;
	} else if (IS("/stream")) {
		ck_assert_int_eq(httpserv_stream_start(r->conn, r->ticket, 200,
		                                       "text/event-stream",
		                                       NULL),
		                 0);
		httpserv_stream_write(r->conn, "abc", 3);
		httpserv_stream_write(r->conn, "de", 2);
		httpserv_stream_end(r->conn);
	} else if (IS("/produce")) {
		produced = 0;
		unsent_max = 0;
		ck_assert_int_eq(
		    httpserv_stream_start(r->conn, r->ticket, 200, NULL, NULL),
		    0);
		httpserv_stream_producer(r->conn, t_fill, NULL);
	} else if (IS("/quiet")) {
		ck_assert_int_eq(httpserv_stream_start(r->conn, r->ticket, 200,
		                                       "text/event-stream",
		                                       NULL),
		                 0);
		httpserv_stream_quiet(r->conn);
		later_c = r->conn;
	} else if (IS("/big")) {
		httpserv_reply_body(r->conn, r->ticket, 200, NULL, NULL,
		                    big_body, sizeof(big_body));
	} else if (IS("/body")) {
		snprintf(got_body, sizeof(got_body), "%.*s", (int)r->body_len,
		         r->body ? r->body : "");
		httpserv_reply_body(r->conn, r->ticket, 200, NULL, NULL, "got",
		                    3);
	} else {
		/* the path is the body */
		httpserv_reply_body(r->conn, r->ticket, 200, NULL,
		                    "X-Test: 1\r\n", p, n);
	}
#undef IS
}

/* Refuses a body sent to /refuse from its head. */
static void
t_check(void *arg, struct httpserv_request *r)
{
	ck_assert_ptr_null(r->body);
	if (r->head->path_len == 7 &&
	    memcmp(r->head->target, "/refuse", 7) == 0)
		httpserv_reply_body(r->conn, r->ticket, 403, NULL, NULL, "no",
		                    2);
}

static const struct httpserv_ops t_ops = {t_begin, t_request, t_done, NULL,
                                          t_check};

static void
setup(void)
{
	static const struct httpserv_config cf = {
	    .methods = HTTPSERV_M(HTTPPARSE_GET) | HTTPSERV_M(HTTPPARSE_HEAD) |
	               HTTPSERV_M(HTTPPARSE_POST),
	    .allow = "GET, HEAD, POST",
	    .body_max = 64,
	    .content_type = "text/plain",
	};

	base = event_base_new();
	srv = httpserv_new(base, &cf, &t_ops, NULL);
	ck_assert_ptr_nonnull(srv);
	later_c = NULL;
	begun = done_ok = done_lost = last_code = 0;
}

static void
teardown(void)
{
	httpserv_free(srv);
	event_base_free(base);
}

/* A client end whose server end the layer serves. */
static int
client(void)
{
	int sv[2];

	ck_assert_int_eq(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(httpserv_adopt(srv, sv[0]), 0);
	return sv[1];
}

static void
spin(int n)
{
	while (n-- > 0)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void
put(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL),
	                 (ssize_t)strlen(s));
}

/* What the server sent so far (spinning the loop first), NUL-terminated;
 * *EOF set if it closed. */
static size_t
take(int fd, char *buf, size_t len, int *eof)
{
	size_t got = 0;
	ssize_t n;

	*eof = 0;
	spin(10);
	while (got + 1 < len) {
		n = recv(fd, buf + got, len - 1 - got, 0);
		if (n == 0)
			*eof = 1;
		if (n <= 0)
			break;
		got += (size_t)n;
		spin(2);
	}
	buf[got] = '\0';
	return got;
}

/* Answers in order: the first is given later, the two behind it (in the
 * same packet) wait for it. */
START_TEST(test_pipelined_in_order)
{
	char out[4096];
	int fd = client(), eof;
	const char *a, *b, *c;

	put(fd, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n"
	        "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
	        "GET /two HTTP/1.1\r\nHost: x\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_nonnull(later_c);
	ck_assert_int_eq(
	    httpserv_reply_body(later_c, later_t, 200, NULL, NULL, "first", 5),
	    0);
	/* answered once only */
	ck_assert_int_eq(
	    httpserv_reply_body(later_c, later_t, 200, NULL, NULL, "again", 5),
	    -1);
	take(fd, out, sizeof(out), &eof);
	a = strstr(out, "first");
	b = strstr(out, "/one");
	c = strstr(out, "/two");
	ck_assert_msg(a && b && c && a < b && b < c, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "X-Test: 1\r\n"));
	ck_assert_int_eq(begun, 3);
	ck_assert_int_eq(done_ok, 3);
	ck_assert(!eof);
	close(fd);
	spin(5);
	ck_assert_uint_eq(httpserv_conns(srv), 0);
}
END_TEST

START_TEST(test_stream_chunked_and_10)
{
	char out[4096];
	int fd = client(), eof;

	put(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"
	        "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_ptr_nonnull(strstr(out, "Transfer-Encoding: chunked\r\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nHTTP/1.1 "));
	ck_assert_ptr_nonnull(strstr(out, "/after"));
	ck_assert(!eof);
	close(fd);

	fd = client();
	put(fd, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_ptr_null(strstr(out, "chunked"));
	ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "\r\n\r\nabcde"));
	ck_assert(eof);
	close(fd);

	/* HEAD: the head only */
	fd = client();
	put(fd, "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_null(strstr(out, "abc"));
	close(fd);
	spin(5);
	ck_assert_int_eq(done_ok, 4);
}
END_TEST

/* A producer writes only as the client drains: 1 MB goes through, and
 * never more than a little is held unsent. */
START_TEST(test_producer_bounded)
{
	static char out[1 << 16];
	int fd = client(), eof = 0, rcv = 4096;
	size_t total = 0, n;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	put(fd, "GET /produce HTTP/1.0\r\n\r\n");
	while (!eof) {
		n = take(fd, out, sizeof(out), &eof);
		total += n;
		ck_assert_uint_le(unsent_max, HTTPSERV_PRODUCE_LOW + 1024 + 64);
	}
	ck_assert_int_eq(produced, 1000);
	ck_assert_uint_ge(total, 1000 * 1024);
	close(fd);
}
END_TEST

/*
 * Producers share a budget per loop turn: four clients that read all
 * they get (the socket takes ~100 KiB a turn) never get more than
 * HTTPSERV_PRODUCE_TURN together in one turn, and all are served to the
 * end.
 */
START_TEST(test_producer_turn_budget)
{
	static char sink[1 << 20];
	int fds[4] = {client(), client(), client(), client()};
	int eof[4] = {0, 0, 0, 0}, before, most = 0, spins = 0, i, all = 0;
	ssize_t n;

	for (i = 0; i < 4; i++)
		put(fds[i], "GET /produce HTTP/1.0\r\n\r\n");
	produced = 0;
	while (!all && spins++ < 100000) {
		before = produced;
		spin(1);
		if (produced - before > most)
			most = produced - before;
		for (all = 1, i = 0; i < 4; i++) {
			while ((n = recv(fds[i], sink, sizeof(sink),
			                 MSG_DONTWAIT)) > 0)
				;
			eof[i] |= n == 0;
			all &= eof[i];
		}
	}
	ck_assert(all);
	ck_assert_int_eq(produced, 1000);
	ck_assert_int_le(most, HTTPSERV_PRODUCE_TURN / 1024 + 1);
	ck_assert_int_ge(most, 16);
	for (i = 0; i < 4; i++)
		close(fds[i]);
}
END_TEST

/*
 * A client that closes while its request waits may only have half-closed:
 * the answer is still written, and when that fails the request is lost
 * (done says so).  Answers to a request gone, or stale tickets, are
 * refused.
 */
START_TEST(test_lost_and_stale)
{
	char out[1024];
	int fd = client(), eof;

	put(fd, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
	spin(5);
	ck_assert_ptr_nonnull(later_c);
	close(fd);
	spin(5);
	ck_assert_int_eq(
	    httpserv_reply_body(later_c, later_t, 200, NULL, NULL, "late", 4),
	    0);
	spin(5);
	ck_assert_int_eq(done_lost, 1);
	ck_assert_int_eq(last_code, 200);
	ck_assert_uint_eq(httpserv_conns(srv), 0);
	ck_assert_int_eq(
	    httpserv_reply_body(later_c, later_t, 200, NULL, NULL, "late", 4),
	    -1);

	/* the record is reused; the old ticket still does not fit */
	fd = client();
	put(fd, "GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
	spin(5);
	ck_assert_int_eq(httpserv_reply_body(later_c, later_t - 1, 200, NULL,
	                                     NULL, "late", 4),
	                 -1);
	ck_assert_int_eq(
	    httpserv_reply_body(later_c, later_t, 200, NULL, NULL, "now", 3),
	    0);
	take(fd, out, sizeof(out), &eof);
	ck_assert_ptr_nonnull(strstr(out, "\r\n\r\nnow"));
	close(fd);
}
END_TEST

/* A body for a method that takes one, with 100 Continue first when asked;
 * none before a refusal. */
START_TEST(test_body_and_continue)
{
	char out[2048];
	int fd = client(), eof;

	put(fd, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	        "Expect: 100-continue\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_str_eq(out, "HTTP/1.1 100 Continue\r\n\r\n");
	put(fd, "hel");
	take(fd, out, sizeof(out), &eof);
	ck_assert_str_eq(out, "");
	put(fd, "lo");
	take(fd, out, sizeof(out), &eof);
	ck_assert_str_eq(got_body, "hello");
	ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 200 OK"));
	close(fd);

	/* over the body cap: 413, no 100 */
	fd = client();
	put(fd, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n"
	        "Expect: 100-continue\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_msg(strncmp(out, "HTTP/1.1 413 ", 13) == 0, "%s", out);
	ck_assert_ptr_null(strstr(out, "100 Continue"));
	ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
	close(fd);

	/* a GET with a body: 400, no 100 (issue 21) */
	fd = client();
	put(fd, "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	        "Expect: 100-continue\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s", out);
	ck_assert_ptr_null(strstr(out, "100 Continue"));
	close(fd);
	spin(5);
}
END_TEST

/* Refusals go through begin and done like requests; 405 keeps the
 * connection; close_after closes every answer's. */
START_TEST(test_refusals_counted)
{
	char out[4096];
	int fd = client(), eof;

	put(fd, "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"
	        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"
	        "GET / HTTP/1.1\r\nHost: x\r\nA : b\r\n\r\n"
	        "GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 405 Method Not Allowed"));
	ck_assert_ptr_nonnull(strstr(out, "Allow: GET, HEAD, POST\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 200 OK"));
	ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 400 Bad Request"));
	ck_assert_ptr_null(strstr(out, "/hidden"));
	ck_assert(eof);
	ck_assert_int_eq(begun, 3);
	ck_assert_int_eq(done_ok, 3);
	close(fd);

	httpserv_close_after(srv, 1);
	fd = client();
	put(fd, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n"
	        "Host: x\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
	ck_assert_ptr_null(strstr(out, "/b"));
	ck_assert(eof);
	close(fd);
	spin(5);
	ck_assert_uint_eq(httpserv_conns(srv), 0);
}
END_TEST

/*
 * The server's check sees a head whose body has not come: a refusal from
 * it is the first thing the client gets (no 100 Continue), and closes;
 * a head it lets through gets 100 Continue, then its answer, begun once.
 */
START_TEST(test_check_before_continue)
{
	char out[2048];
	int fd = client(), eof;

	put(fd, "POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	        "Expect: 100-continue\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_msg(strncmp(out, "HTTP/1.1 403 ", 13) == 0, "%s", out);
	ck_assert_ptr_null(strstr(out, "100 Continue"));
	ck_assert_ptr_nonnull(strstr(out, "Connection: close\r\n"));
	put(fd, "hello");
	spin(5);
	ck_assert_int_eq(done_ok, 1);
	ck_assert_int_eq(last_code, 403);
	close(fd);

	fd = client();
	put(fd, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	        "Expect: 100-continue\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_str_eq(out, "HTTP/1.1 100 Continue\r\n\r\n");
	put(fd, "hello");
	take(fd, out, sizeof(out), &eof);
	ck_assert_ptr_nonnull(strstr(out, "HTTP/1.1 200 OK"));
	ck_assert_str_eq(got_body, "hello");
	ck_assert_int_eq(begun, 2); /* the refused one, and this one once */
	ck_assert(!eof);
	close(fd);
	spin(5);
}
END_TEST

/*
 * 16 requests pipelined in one full input buffer, each answered at once
 * (more than the answers a connection may queue unwritten), then a body
 * waited for at the very end of that buffer: every one is answered, the
 * body read into the room at the buffer's front.  (They stalled after
 * the fourth answer, and the body's read was one of 0 bytes: an EOF.)
 */
START_TEST(test_pipelined_full_buffer)
{
	static const char post[] = "POST /body HTTP/1.1\r\nHost: x\r\n"
	                           "Content-Length: 5\r\n\r\nhel";
	static const char get[] = "GET /a HTTP/1.1\r\nHost: x\r\nX: ";
	static char in[HTTPSERV_INPUT_MAX];
	static char out[1 << 16];
	size_t n = 0, want, pad, gets = 0;
	int fd = client(), eof;

	/* GETs of 4000 bytes, the last of what is left (4000..8000) */
	while (n < sizeof(in) - (sizeof(post) - 1)) {
		want = sizeof(in) - (sizeof(post) - 1) - n;
		pad = (want > 8000 ? 4000 : want) - (sizeof(get) - 1) - 4;
		memcpy(in + n, get, sizeof(get) - 1);
		n += sizeof(get) - 1;
		memset(in + n, 'p', pad);
		n += pad;
		n +=
		    (size_t)sprintf(in + n, "\r\n\r\n"); /* (its NUL: post's) */
		gets++;
	}
	memcpy(in + n, post, sizeof(post) - 1);
	ck_assert_int_eq(send(fd, in, sizeof(in), 0), (ssize_t)sizeof(in));
	take(fd, out, sizeof(out), &eof);
	ck_assert_int_eq(done_ok, (int)gets);
	put(fd, "lo");
	take(fd, out, sizeof(out), &eof);
	ck_assert_str_eq(got_body, "hello");
	ck_assert(!eof);
	ck_assert_int_eq(done_ok, (int)gets + 1);
	close(fd);
}
END_TEST

/* Reads everything FD has now, spinning the loop; returns the bytes. */
static size_t
drain_all(int fd)
{
	static char sink[1 << 16];
	size_t total = 0;
	int eof;

	for (;;) {
		size_t n = take(fd, sink, sizeof(sink), &eof);

		total += n;
		if (n == 0 || eof)
			return total;
	}
}

/*
 * The output budget: an answer to a client that does not read holds it;
 * past it a big answer is a 503 that closes, a small one still goes,
 * and once the client read, big answers go again.
 */
START_TEST(test_output_budget)
{
	static const struct httpserv_config cf = {
	    .methods = HTTPSERV_M(HTTPPARSE_GET) | HTTPSERV_M(HTTPPARSE_HEAD),
	    .allow = "GET, HEAD",
	    .content_type = "text/plain",
	    .output_max = 40 << 10,
	};
	char out[4096];
	int sv[2], fd, eof, snd = 4096;

	httpserv_free(srv);
	srv = httpserv_new(base, &cf, &t_ops, NULL);
	ck_assert_ptr_nonnull(srv);
	/* a stalled client (a small socket buffer): its 32 KiB answer is
	 * held, mostly */
	ck_assert_int_eq(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	ck_assert_int_eq(httpserv_adopt(srv, sv[0]), 0);
	put(sv[1], "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
	spin(5);
	ck_assert_uint_ge(httpserv_output_held(srv), 16 << 10);
	fd = client();
	put(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_msg(strncmp(out, "HTTP/1.1 503 ", 13) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "Retry-After: 1\r\n"));
	ck_assert(eof);
	close(fd);
	fd = client();
	put(fd, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 ", 13) == 0, "%s", out);
	/* the stalled one reads: the budget is back */
	ck_assert_uint_ge(drain_all(sv[1]), sizeof(big_body));
	ck_assert_uint_eq(httpserv_output_held(srv), 0);
	put(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_uint_ge(drain_all(fd), sizeof(big_body));
	close(sv[1]);
	close(fd);
	spin(5);
}
END_TEST

/*
 * A quiet stream (an event stream): its writes go straight to the
 * socket when nothing is queued, and a byte from its client closes it.
 */
START_TEST(test_quiet_stream)
{
	char out[2048];
	int fd = client(), eof;

	put(fd, "GET /quiet HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\n");
	take(fd, out, sizeof(out), &eof);
	ck_assert_ptr_nonnull(strstr(out, "Transfer-Encoding: chunked\r\n"));
	ck_assert_ptr_nonnull(later_c);
	/* written at once: nothing left unsent, no loop turn needed */
	ck_assert_int_eq(httpserv_stream_write(later_c, "data: 1\n\n", 9), 0);
	ck_assert_uint_eq(httpserv_unsent(later_c), 0);
	ck_assert_int_eq(recv(fd, out, sizeof(out) - 1, 0), 14);
	out[14] = '\0';
	ck_assert_str_eq(out, "9\r\ndata: 1\n\n\r\n");
	ck_assert_uint_eq(httpserv_conns(srv), 1);
	put(fd, "x");
	take(fd, out, sizeof(out), &eof);
	ck_assert(eof);
	ck_assert_uint_eq(httpserv_conns(srv), 0);
	ck_assert_int_eq(done_lost, 1);
	ck_assert_int_eq(httpserv_stream_write(later_c, "a", 1), -1);
	close(fd);
}
END_TEST

SUP_MAIN("httpserv", setup, teardown, 30, test_pipelined_in_order,
         test_stream_chunked_and_10, test_producer_bounded,
         test_producer_turn_budget, test_lost_and_stale, test_body_and_continue,
         test_refusals_counted, test_check_before_continue,
         test_pipelined_full_buffer, test_output_budget, test_quiet_stream)
