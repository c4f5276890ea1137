/*
 * httpans.c: answer heads (see httpans.h).
 *
 * A head is composed by copying a handful of prebuilt pieces into the
 * connection's output: no printf, no allocation.  The Date is formatted
 * once per second, when the first answer of that second asks for it.
 */
#include <stdio.h>
#include <string.h>

#include "httpans.h"

static const struct {
	int code;
	const char *reason;
	size_t len;
} httpans_reasons[] = {
#define R(code, reason)                                                        \
	{                                                                      \
		code, reason, sizeof(reason) - 1                               \
	}
    R(100, "Continue"),
    R(200, "OK"),
    R(303, "See Other"),
    R(400, "Bad Request"),
    R(404, "Not Found"),
    R(405, "Method Not Allowed"),
    R(413, "Request Entity Too Large"),
    R(500, "Internal Server Error"),
    R(503, "Service Unavailable"),
    R(504, "Gateway Timeout"),
    R(505, "HTTP Version Not Supported"),
    R(201, "Created"),
    R(204, "No Content"),
    R(301, "Moved Permanently"),
    R(302, "Found"),
    R(304, "Not Modified"),
    R(401, "Unauthorized"),
    R(403, "Forbidden"),
    R(408, "Request Timeout"),
    R(409, "Conflict"),
    R(411, "Length Required"),
    R(415, "Unsupported Media Type"),
    R(429, "Too Many Requests"),
    R(431, "Request Header Fields Too Large"),
    R(502, "Bad Gateway"),
#undef R
};

/* The reason phrase of CODE and its length. */
static const char *
httpans_reason_len(int code, size_t *len)
{
	size_t i;

	for (i = 0; i < sizeof(httpans_reasons) / sizeof(httpans_reasons[0]);
	     i++)
		if (httpans_reasons[i].code == code) {
			*len = httpans_reasons[i].len;
			return httpans_reasons[i].reason;
		}
	*len = sizeof("Unknown") - 1;
	return "Unknown";
}

const char *
httpans_reason(int code)
{
	size_t len;

	return httpans_reason_len(code, &len);
}

/* FIELDS is empty, or lines "name: value" each ending in CRLF. */
static int
httpans_fields_ok(const char *f)
{
	size_t n = strlen(f);

	return n == 0 || (n >= 2 && f[n - 2] == '\r' && f[n - 1] == '\n' &&
	                  strstr(f, "\r\n\r\n") == NULL && f[0] != '\r');
}

int
httpans_mid(char *buf, long long len, const char *ctype, const char *fields)
{
	int n;

	if (fields == NULL)
		fields = "";
	if (!httpans_fields_ok(fields))
		return -1;
	if (len >= 0)
		n = snprintf(buf, HTTPANS_MID_MAX,
		             "Content-Length: %lld\r\nContent-Type: %s\r\n%s",
		             len, ctype, fields);
	else if (len == -1)
		n = snprintf(buf, HTTPANS_MID_MAX,
		             "Transfer-Encoding: chunked\r\nContent-Type: "
		             "%s\r\n%s",
		             ctype, fields);
	else
		n = snprintf(buf, HTTPANS_MID_MAX, "Content-Type: %s\r\n%s",
		             ctype, fields);
	return n < 0 || n >= HTTPANS_MID_MAX ? -1 : n;
}

/* "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n", for second NOW. */
#define HTTPANS_DATE_LEN 37

static const char *
httpans_date(time_t now)
{
	static char line[HTTPANS_DATE_LEN + 1];
	static time_t at = -1;
	struct tm tm;

	if (now != at && gmtime_r(&now, &tm) != NULL &&
	    strftime(line, sizeof(line), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n",
	             &tm) == HTTPANS_DATE_LEN)
		at = now;
	return line;
}

#define HTTPANS_ADD(p, lit) (memcpy(p, lit, sizeof(lit) - 1), sizeof(lit) - 1)

int
httpans_head(struct httpout *out, struct httpbuf_pool *pool, int code,
             int minor, const char *mid, size_t mid_len, enum httpans_conn conn,
             time_t now)
{
	size_t rlen;
	const char *reason = httpans_reason_len(code, &rlen);
	/* status line 13 + reason + 2; 24 + mid + date + 19 + 2 */
	size_t max = 17 + rlen + 24 + mid_len + HTTPANS_DATE_LEN + 21;
	char *p, *start;

	if ((start = p = httpout_reserve(out, pool, max)) == NULL)
		return -1;
	p += HTTPANS_ADD(p, "HTTP/1.");
	*p++ = (char)('0' + (minor == 0 ? 0 : 1));
	*p++ = ' ';
	*p++ = (char)('0' + code / 100 % 10);
	*p++ = (char)('0' + code / 10 % 10);
	*p++ = (char)('0' + code % 10);
	*p++ = ' ';
	memcpy(p, reason, rlen);
	p += rlen;
	p += HTTPANS_ADD(p, "\r\n");
	if (conn == HTTPANS_KEEP10)
		p += HTTPANS_ADD(p, "Connection: keep-alive\r\n");
	memcpy(p, mid, mid_len);
	p += mid_len;
	memcpy(p, httpans_date(now), HTTPANS_DATE_LEN);
	p += HTTPANS_DATE_LEN;
	if (conn == HTTPANS_CLOSE)
		p += HTTPANS_ADD(p, "Connection: close\r\n");
	p += HTTPANS_ADD(p, "\r\n");
	httpout_commit(out, (size_t)(p - start));
	return 0;
}
