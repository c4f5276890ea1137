/*
 * httpparse.h: the HTTP/1.x request head parser of both servers.
 *
 * A pure function of bytes: no allocation, no libevent, no state kept
 * between calls, so that it is unit-tested and fuzzed alone.  It takes
 * only what RFC 9112 allows and refuses the rest, every leniency that
 * lets a request hide behind another (smuggling) included:
 *
 * - request line: method SP request-target SP HTTP-version CRLF, single
 *   spaces, nothing before the method (not even an empty line) or after
 *   the version; the method a token (case matters: "get" is an unknown
 *   method); the target bytes 0x21..0x7e in origin form ("/..."), "*" for
 *   OPTIONS or authority form for CONNECT; absolute form is refused (we
 *   are no proxy);
 * - version: HTTP/1.0 and HTTP/1.1; another HTTP/0.x or HTTP/1.x is 505,
 *   anything else 400;
 * - every line ends in CRLF: a bare LF or a bare CR is refused;
 * - fields: a token, the colon at once (no whitespace before it), a value
 *   of VCHAR, obs-text, SP and HTAB (no other control byte, NUL included);
 *   obs-fold (a line starting with SP or HTAB) is refused;
 * - Host: exactly one on HTTP/1.1, at most one on HTTP/1.0, a
 *   host[:port] (it may be empty);
 * - framing: Transfer-Encoding is refused whatever its value (neither
 *   server takes a chunked body), Content-Length at most once, digits
 *   only;
 * - the head (request line, fields and the blank line, CRLFs counted) at
 *   most the limit the caller gives.
 *
 * httpparse_end() finds where a head ends, incrementally, so that a
 * client sending one byte at a time costs O(n), not O(n^2);
 * httpparse_request() then parses the whole head at once.
 */
#ifndef MOCKRES_HTTPPARSE_H
#define MOCKRES_HTTPPARSE_H

#include <stddef.h>
#include <stdint.h>

enum httpparse_method {
	HTTPPARSE_GET,
	HTTPPARSE_HEAD,
	HTTPPARSE_POST,
	HTTPPARSE_PUT,
	HTTPPARSE_DELETE,
	HTTPPARSE_OPTIONS,
	HTTPPARSE_CONNECT,
	HTTPPARSE_TRACE,
	HTTPPARSE_PATCH,
	HTTPPARSE_OTHER,
};

/* Flags of a parsed request. */
#define HTTPPARSE_CLOSE     0x01 /* Connection: close (or 1.0 without ka) */
#define HTTPPARSE_KEEPALIVE 0x02 /* a 1.0 request asked for keep-alive */
#define HTTPPARSE_CONTINUE  0x04 /* Expect: 100-continue */
#define HTTPPARSE_LENGTH    0x08 /* a Content-Length field was sent */

/* Why a head is refused: each has its status and its one-line text. */
enum httpparse_error {
	HTTPPARSE_OK = 0,
	HTTPPARSE_E_LINE,       /* malformed request line: 400 */
	HTTPPARSE_E_CRLF,       /* a bare LF or CR: 400 */
	HTTPPARSE_E_VERSION,    /* 505 */
	HTTPPARSE_E_BADVERSION, /* not HTTP/1.x or HTTP/0.x at all: 400 */
	HTTPPARSE_E_TARGET,     /* 400 */
	HTTPPARSE_E_ASTERISK,   /* "*" on a method other than OPTIONS: 400 */
	HTTPPARSE_E_NAME,       /* not a token, or space before the colon */
	HTTPPARSE_E_VALUE,      /* a control byte */
	HTTPPARSE_E_FOLD,       /* obs-fold */
	HTTPPARSE_E_HOST,
	HTTPPARSE_E_TE,
	HTTPPARSE_E_LENGTH,
	HTTPPARSE_E_TOOBIG, /* the head is over the limit */
	HTTPPARSE_E_COUNT_
};

struct httpparse_req {
	size_t head_len; /* bytes of the head, its blank line included */
	enum httpparse_method method;
	const char *method_str; /* as sent (for OTHER) */
	size_t method_len;
	const char *target; /* the request-target as sent */
	size_t target_len;
	size_t path_len;         /* of target, up to '?' or '#' */
	int minor;               /* HTTP/1.minor, 0 or 1 */
	unsigned flags;          /* HTTPPARSE_* above */
	uint64_t content_length; /* UINT64_MAX if too large to tell */
	const char *host;        /* NULL when none was sent */
	size_t host_len;
	const char *fields; /* the field lines, for httpparse_field() */
	size_t fields_len;
};

/*
 * Looks for the end of a head (its blank line) in BUF[0..LEN), starting
 * where the last call stopped (*SCAN, 0 at first; keep it while the
 * buffer's start stays put).  Returns the head's length, its blank line
 * included, or 0 when it is not complete yet.
 */
size_t httpparse_end(const char *buf, size_t len, size_t *scan);

/*
 * Parses the head BUF[0..LEN), LEN as httpparse_end() returned it, into
 * R, whose pointers point into BUF.  Returns HTTPPARSE_OK or why the
 * head is refused.  (A LEN with no blank line at its end is refused as a
 * malformed head: E_TOOBIG if LEN > MAX, else E_LINE or what is wrong
 * first.)
 */
enum httpparse_error httpparse_request(const char *buf, size_t len, size_t max,
                                       struct httpparse_req *r);

/*
 * The value of field NAME (case-insensitive) of a parsed request, its
 * surrounding whitespace trimmed, or NULL.  With several such fields,
 * the first.
 */
const char *httpparse_field(const struct httpparse_req *r, const char *name,
                            size_t *len);

/* The status (400, 505) and one-line text of a refusal. */
int httpparse_status(enum httpparse_error e);
const char *httpparse_text(enum httpparse_error e);

#endif
