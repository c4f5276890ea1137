/*
 * httpans.h: the bytes of an HTTP answer's head, for httpserv.c: the
 * status line, the fields every answer carries (Content-Length,
 * Content-Type, Date, Connection) and the cached Date.
 *
 * The head of an answer is, in this order:
 *   HTTP/1.x CODE REASON          (1.x: the request's version)
 *   Connection: keep-alive        (HTTP/1.0 keep-alive only)
 *   Content-Length, Content-Type  (or Transfer-Encoding: chunked)
 *   the answer's own fields       (Allow, Location, Retry-After, ...)
 *   Date
 *   Connection: close             (when the connection closes after it)
 * The middle part is prebuilt per answer (httpans_mid); the rest is
 * copied in around it per request.
 */
#ifndef MOCKRES_HTTPANS_H
#define MOCKRES_HTTPANS_H

#include <stddef.h>
#include <time.h>

#include "httpbuf.h"

#define HTTPANS_MID_MAX 768 /* Content-Length/Type and the fields */

/* How the answer's connection goes on. */
enum httpans_conn {
	HTTPANS_KEEP,   /* HTTP/1.1 keep-alive: nothing to say */
	HTTPANS_KEEP10, /* HTTP/1.0 keep-alive: say it */
	HTTPANS_CLOSE,  /* "Connection: close" */
};

/* The reason phrase of CODE ("OK"), "Unknown" for codes we never send. */
const char *httpans_reason(int code);

/*
 * Writes the middle part into BUF (HTTPANS_MID_MAX bytes): the body's
 * length (LEN; -1: a chunked stream; -2: none, closed at the end), CTYPE
 * and FIELDS (lines ending in CRLF).  Returns its length, or -1 if it
 * does not fit or FIELDS is not CRLF-terminated lines.
 */
int httpans_mid(char *buf, long long len, const char *ctype,
                const char *fields);

/*
 * Appends a head to OUT: CODE on HTTP/1.MINOR, the prebuilt MID, the Date
 * of second NOW and the CONN fields.  Returns 0, or -1 (out of memory,
 * nothing appended).
 */
int httpans_head(struct httpout *out, struct httpbuf_pool *pool, int code,
                 int minor, const char *mid, size_t mid_len,
                 enum httpans_conn conn, time_t now);

#endif
