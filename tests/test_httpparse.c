/*
 * test_httpparse.c: the request head parser (common/httpparse.c) alone:
 * what it accepts and extracts, every refusal with its status, the end of
 * a head found a byte at a time, the limit counted in bytes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpparse.h"
#include "support.h"

#define MAX 8192

/* Parses the literal LIT (NULs included) as a whole head. */
#define PARSE(lit, r) parse(lit, sizeof(lit) - 1, r)

static enum httpparse_error
parse(const char *s, size_t len, struct httpparse_req *r)
{
	size_t scan = 0, end = httpparse_end(s, len, &scan);

	ck_assert_msg(end == len, "head end %zu, not %zu: %.40s", end, len, s);
	return httpparse_request(s, len, MAX, r);
}

START_TEST(test_ab_request)
{
	static const char ab[] = "GET /part1/async HTTP/1.0\r\n"
	                         "Connection: Keep-Alive\r\n"
	                         "Host: 127.0.0.1:4000\r\n"
	                         "User-Agent: ApacheBench/2.3\r\n"
	                         "Accept: */*\r\n\r\n";
	struct httpparse_req r;
	const char *v;
	size_t len;

	ck_assert_int_eq(PARSE(ab, &r), HTTPPARSE_OK);
	ck_assert_int_eq(r.method, HTTPPARSE_GET);
	ck_assert_int_eq(r.minor, 0);
	ck_assert_uint_eq(r.head_len, sizeof(ab) - 1);
	ck_assert_uint_eq(r.target_len, strlen("/part1/async"));
	ck_assert_uint_eq(r.path_len, r.target_len);
	ck_assert(memcmp(r.target, "/part1/async", r.target_len) == 0);
	ck_assert_uint_eq(r.flags & (HTTPPARSE_KEEPALIVE | HTTPPARSE_CLOSE),
	                  HTTPPARSE_KEEPALIVE);
	ck_assert_uint_eq(r.host_len, strlen("127.0.0.1:4000"));
	v = httpparse_field(&r, "user-agent", &len);
	ck_assert_ptr_nonnull(v);
	ck_assert(len == 15 && memcmp(v, "ApacheBench/2.3", 15) == 0);
	ck_assert_ptr_null(httpparse_field(&r, "referer", &len));
}
END_TEST

START_TEST(test_keepalive_rules)
{
	struct httpparse_req r;

	ck_assert_int_eq(PARSE("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
	ck_assert_uint_eq(r.flags & (HTTPPARSE_KEEPALIVE | HTTPPARSE_CLOSE), 0);
	ck_assert_int_eq(PARSE("GET / HTTP/1.1\r\nHost: x\r\n"
	                       "Connection: keep-alive, Close\r\n\r\n",
	                       &r),
	                 0);
	ck_assert(r.flags & HTTPPARSE_CLOSE);
	ck_assert_int_eq(PARSE("GET / HTTP/1.0\r\n\r\n", &r), 0);
	ck_assert(r.flags & HTTPPARSE_CLOSE);
	ck_assert_int_eq(
	    PARSE("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r), 0);
	ck_assert(r.flags & HTTPPARSE_KEEPALIVE);
	ck_assert(!(r.flags & HTTPPARSE_CLOSE));
	ck_assert_int_eq(PARSE("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
	                       "Connection: close\r\n\r\n",
	                       &r),
	                 0);
	ck_assert(r.flags & HTTPPARSE_CLOSE);
	ck_assert(!(r.flags & HTTPPARSE_KEEPALIVE));
}
END_TEST

START_TEST(test_fields_and_target)
{
	struct httpparse_req r;
	const char *v;
	size_t len;

	ck_assert_int_eq(PARSE("HEAD /a/b?x=1#f HTTP/1.1\r\nHost: [::1]:80\r\n"
	                       "X-Empty:\r\nX-Ws: \t a b \t\r\n"
	                       "Expect: 100-Continue\r\n"
	                       "X-Obs: caf\xc3\xa9\r\n\r\n",
	                       &r),
	                 0);
	ck_assert_int_eq(r.method, HTTPPARSE_HEAD);
	ck_assert_uint_eq(r.path_len, 4);
	ck_assert(r.flags & HTTPPARSE_CONTINUE);
	v = httpparse_field(&r, "X-EMPTY", &len);
	ck_assert(v != NULL && len == 0);
	v = httpparse_field(&r, "x-ws", &len);
	ck_assert(v != NULL && len == 3 && memcmp(v, "a b", 3) == 0);
	/* OPTIONS *, CONNECT's authority form, unknown methods */
	ck_assert_int_eq(PARSE("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
	ck_assert_int_eq(r.method, HTTPPARSE_OPTIONS);
	ck_assert_int_eq(PARSE("CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", &r),
	                 0);
	ck_assert_int_eq(r.method, HTTPPARSE_CONNECT);
	ck_assert_int_eq(PARSE("get / HTTP/1.1\r\nHost: x\r\n\r\n", &r), 0);
	ck_assert_int_eq(r.method, HTTPPARSE_OTHER);
	/* an empty Host is allowed; HTTP/1.0 needs none */
	ck_assert_int_eq(PARSE("GET / HTTP/1.1\r\nHost:\r\n\r\n", &r), 0);
	ck_assert_int_eq(PARSE("GET / HTTP/1.0\r\n\r\n", &r), 0);
	ck_assert_ptr_null(r.host);
	ck_assert_int_eq(PARSE("POST / HTTP/1.1\r\nHost: x\r\n"
	                       "Content-Length: 0012\r\n\r\n",
	                       &r),
	                 0);
	ck_assert_uint_eq(r.content_length, 12);
	ck_assert(r.flags & HTTPPARSE_LENGTH);
	ck_assert_int_eq(PARSE("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
	                       "99999999999999999999999\r\n\r\n",
	                       &r),
	                 0);
	ck_assert_uint_eq(r.content_length, UINT64_MAX);
}
END_TEST

/* Each refusal, with the status it is answered with. */
START_TEST(test_refusals)
{
	static const struct {
		const char *what;
		const char *raw;
		size_t len;
		enum httpparse_error e;
	} cases[] = {
#define C(what, lit, e) {what, lit, sizeof(lit) - 1, HTTPPARSE_E_##e}
	    C("space before the colon",
	      "GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n", NAME),
	    C("tab before the colon",
	      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length\t: 0\r\n\r\n", NAME),
	    C("space before the colon of Transfer-Encoding",
	      "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : "
	      "chunked\r\n\r\n",
	      NAME),
	    C("bare LF ends", "GET / HTTP/1.1\nHost: x\n\n", CRLF),
	    C("bare LF in the fields", "GET / HTTP/1.1\r\nHost: x\n\r\n", CRLF),
	    C("bare LF at the end", "GET / HTTP/1.1\r\nHost: x\r\n\n", CRLF),
	    C("bare CR in a value",
	      "GET / HTTP/1.1\r\nHost: x\r\nA: a\rb\r\n\r\n", VALUE),
	    C("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nA: a\r\n b\r\n\r\n",
	      FOLD),
	    C("obs-fold with a tab",
	      "GET / HTTP/1.1\r\nHost: x\r\nA: a\r\n\tb\r\n\r\n", FOLD),
	    C("Transfer-Encoding: chunked",
	      "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	      TE),
	    C("Transfer-Encoding: identity",
	      "GET / HTTP/1.1\r\nHost: x\r\ntransfer-encoding: "
	      "identity\r\n\r\n",
	      TE),
	    C("duplicate Content-Length",
	      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	      "Content-Length: 0\r\n\r\n",
	      LENGTH),
	    C("conflicting Content-Length",
	      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
	      "Content-Length: 5\r\n\r\n",
	      LENGTH),
	    C("Content-Length list",
	      "GET / HTTP/1.1\r\nHost: x\r\n"
	      "Content-Length: 5, 5\r\n\r\n",
	      LENGTH),
	    C("signed Content-Length",
	      "GET / HTTP/1.1\r\nHost: x\r\n"
	      "Content-Length: +5\r\n\r\n",
	      LENGTH),
	    C("empty Content-Length",
	      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", LENGTH),
	    C("NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nA: a\0b\r\n\r\n",
	      VALUE),
	    C("DEL in a value",
	      "GET / HTTP/1.1\r\nHost: x\r\nA: a\177b\r\n\r\n", VALUE),
	    C("NUL in a name", "GET / HTTP/1.1\r\nHost: x\r\nA\0B: 1\r\n\r\n",
	      NAME),
	    C("empty name", "GET / HTTP/1.1\r\nHost: x\r\n: 1\r\n\r\n", NAME),
	    C("no colon", "GET / HTTP/1.1\r\nHost: x\r\nA\r\n\r\n", NAME),
	    C("no Host on 1.1", "GET / HTTP/1.1\r\n\r\n", HOST),
	    C("two Hosts", "GET / HTTP/1.1\r\nHost: x\r\nhost: x\r\n\r\n",
	      HOST),
	    C("two Hosts on 1.0",
	      "GET / HTTP/1.0\r\nHost: x\r\nHost: y\r\n\r\n", HOST),
	    C("a Host with a slash", "GET / HTTP/1.1\r\nHost: x/y\r\n\r\n",
	      HOST),
	    C("HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", VERSION),
	    C("HTTP/1.9", "GET / HTTP/1.9\r\nHost: x\r\n\r\n", VERSION),
	    C("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", VERSION),
	    C("HTTP/1.10", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", VERSION),
	    C("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", BADVERSION),
	    C("http/1.1", "GET / http/1.1\r\nHost: x\r\n\r\n", BADVERSION),
	    C("HTTP/1", "GET / HTTP/1\r\nHost: x\r\n\r\n", BADVERSION),
	    C("no version", "GET /\r\n\r\n", LINE),
	    C("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", LINE),
	    C("a tab", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", LINE),
	    C("space after the version", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
	      LINE),
	    C("NUL after the version", "GET / HTTP/1.1\0x\r\nHost: x\r\n\r\n",
	      LINE),
	    C("a leading empty line", "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	      LINE),
	    C("binary", "\x16\x03\x01\x02\x00\r\n\r\n", LINE),
	    C("non-ASCII target",
	      "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", TARGET),
	    C("ESC in the target", "GET /a\033b HTTP/1.1\r\nHost: x\r\n\r\n",
	      TARGET),
	    C("absolute form", "GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
	      TARGET),
	    C("asterisk on a GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n",
	      ASTERISK),
#undef C
	};
	struct httpparse_req r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t scan = 0,
		       end = httpparse_end(cases[i].raw, cases[i].len, &scan);
		enum httpparse_error e;

		ck_assert_msg(end > 0, "%s: no end found", cases[i].what);
		e = httpparse_request(cases[i].raw, end, MAX, &r);
		ck_assert_msg(e == cases[i].e, "%s: error %d, not %d",
		              cases[i].what, (int)e, (int)cases[i].e);
		ck_assert_int_eq(httpparse_status(e),
		                 cases[i].e == HTTPPARSE_E_VERSION ? 505 : 400);
		ck_assert_ptr_nonnull(httpparse_text(e));
	}
}
END_TEST

/* The end of a head, found a byte at a time, is where it is at once. */
START_TEST(test_end_incremental)
{
	static const char *const heads[] = {
	    "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next",
	    "GET / HTTP/1.1\nHost: x\n\nrest",
	    "GET / HTTP/1.1\r\nHost: x\r\n\nrest",
	    "\r\nGET / HTTP/1.1\r\n\r\n",
	    "\n\n",
	    "GET / HTTP/1.1\r\nHost: x\r\n\r",
	};
	static const size_t ends[] = {27, 24, 26, 2, 1, 0};
	size_t h, i, scan, end;

	for (h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		size_t len = strlen(heads[h]);

		scan = 0;
		ck_assert_uint_eq(httpparse_end(heads[h], len, &scan), ends[h]);
		for (scan = 0, end = 0, i = 1; i <= len && end == 0; i++)
			end = httpparse_end(heads[h], i, &scan);
		ck_assert_msg(end == ends[h], "head %zu: %zu a byte at a time",
		              h, end);
	}
}
END_TEST

/* The limit is in bytes, every CRLF counted: 8192 is fine, 8193 not. */
START_TEST(test_limit_in_bytes)
{
	static char buf[20000];
	struct httpparse_req r;
	size_t n, pad, scan = 0;
	int i;

	n = (size_t)snprintf(buf, sizeof(buf),
	                     "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ");
	pad = MAX - n - 4; /* "\r\n\r\n" */
	memset(buf + n, 'a', pad);
	memcpy(buf + n + pad, "\r\n\r\n", 5); /* (and a NUL, not parsed) */
	ck_assert_uint_eq(httpparse_end(buf, MAX, &scan), MAX);
	ck_assert_int_eq(httpparse_request(buf, MAX, MAX, &r), HTTPPARSE_OK);
	/* one byte more */
	buf[n + pad] = 'a';
	memcpy(buf + n + pad + 1, "\r\n\r\n", 5);
	scan = 0;
	ck_assert_uint_eq(httpparse_end(buf, MAX + 1, &scan), MAX + 1);
	ck_assert_int_eq(httpparse_request(buf, MAX + 1, MAX, &r),
	                 HTTPPARSE_E_TOOBIG);

	/* 4000 empty "a:" lines: 16,034 bytes, refused though each line is
	 * short (issue 21: the limit is the head's bytes, not lines) */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 4000; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a:\r\n");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	scan = 0;
	ck_assert_uint_eq(httpparse_end(buf, n, &scan), n);
	ck_assert_int_eq(httpparse_request(buf, n, MAX, &r),
	                 HTTPPARSE_E_TOOBIG);
	/* but 100 headers are fine */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		                      "X-Header-%d: value %d\r\n", i, i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	ck_assert_int_eq(httpparse_request(buf, n, MAX, &r), HTTPPARSE_OK);
}
END_TEST

/* Truncated and arbitrary input is refused, never read past. */
START_TEST(test_truncated)
{
	static const char full[] = "GET /x HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\n";
	struct httpparse_req r;
	size_t i;

	for (i = 0; i < sizeof(full) - 1; i++) {
		char *copy = malloc(i + 1); /* exact, for valgrind/ASan */

		memcpy(copy, full, i);
		ck_assert_int_ne(httpparse_request(copy, i, MAX, &r),
		                 HTTPPARSE_OK);
		free(copy);
	}
}
END_TEST

SUP_MAIN("httpparse", NULL, NULL, 0, test_ab_request, test_keepalive_rules,
         test_fields_and_target, test_refusals, test_end_incremental,
         test_limit_in_bytes, test_truncated)
