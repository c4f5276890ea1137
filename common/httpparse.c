/*
 * httpparse.c: the request head parser (see httpparse.h for the rules).
 *
 * One pass over the head, byte classes from tables; nothing is copied or
 * allocated, the request points into the caller's bytes.
 */
#include <string.h>

#include "httpparse.h"

/* Byte classes. */
#define C_TCHAR 0x01 /* RFC 9110 5.6.2 token */
#define C_VALUE 0x02 /* field-vchar, SP, HTAB (RFC 9110 5.5) */
#define C_HOST  0x04 /* uri-host [":" port] (RFC 3986) */
#define C_PATH  0x08 /* what a target may hold: 0x21..0x7e */

static unsigned char httpparse_class[256];
static unsigned char httpparse_lc[256]; /* ASCII lower case */

static void
httpparse_init(void)
{
	static const char tspecial[] = "!#$%&'*+-.^_`|~";
	static const char hspecial[] = "-._~!$&'()*+,;=:[]%";
	int c;

	for (c = 0; c < 256; c++) {
		unsigned char k = 0;
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9');

		if (alnum || (c != 0 && strchr(tspecial, c) != NULL))
			k |= C_TCHAR;
		if ((c >= 0x20 && c != 0x7f) || c == '\t')
			k |= C_VALUE;
		if (alnum || (c != 0 && strchr(hspecial, c) != NULL))
			k |= C_HOST;
		if (c > 0x20 && c < 0x7f)
			k |= C_PATH;
		httpparse_class[c] = k;
		httpparse_lc[c] =
		    (unsigned char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
}

#define IS(c, k) (httpparse_class[(unsigned char)(c)] & (k))

static const struct {
	int status;
	const char *text;
} httpparse_errors[HTTPPARSE_E_COUNT_] = {
    [HTTPPARSE_OK] = {200, ""},
    [HTTPPARSE_E_LINE] = {400, "bad request line: send METHOD /path "
                               "HTTP/1.1, single spaces, CRLF"},
    [HTTPPARSE_E_CRLF] = {400, "bad line end: every line of a request "
                               "head ends in CRLF"},
    [HTTPPARSE_E_VERSION] = {505, "HTTP version not supported: use "
                                  "HTTP/1.1 or HTTP/1.0"},
    [HTTPPARSE_E_BADVERSION] = {400, "bad HTTP version: use HTTP/1.1 or "
                                     "HTTP/1.0"},
    [HTTPPARSE_E_TARGET] = {400, "bad request target: send the path "
                                 "only, in printable ASCII"},
    [HTTPPARSE_E_ASTERISK] = {400, "bad request target: '*' is for "
                                   "OPTIONS only"},
    [HTTPPARSE_E_NAME] = {400, "bad header field name: a token, with no "
                               "whitespace before the colon"},
    [HTTPPARSE_E_VALUE] = {400, "bad header field value: a control byte "
                                "in it"},
    [HTTPPARSE_E_FOLD] = {400, "bad header field: a line folded onto "
                               "the next (obs-fold)"},
    [HTTPPARSE_E_HOST] = {400, "bad Host: HTTP/1.1 needs exactly one "
                               "Host field, a host[:port]"},
    [HTTPPARSE_E_TE] = {400, "Transfer-Encoding is not accepted: this "
                             "server takes no chunked request body"},
    [HTTPPARSE_E_LENGTH] = {400, "bad Content-Length: one field, digits "
                                 "only"},
    [HTTPPARSE_E_TOOBIG] = {400, "request head too large: at most 8192 "
                                 "bytes of request line and fields"},
};

int
httpparse_status(enum httpparse_error e)
{
	return e > 0 && e < HTTPPARSE_E_COUNT_ ? httpparse_errors[e].status
	                                       : 400;
}

const char *
httpparse_text(enum httpparse_error e)
{
	return e > 0 && e < HTTPPARSE_E_COUNT_ ? httpparse_errors[e].text
	                                       : "bad request";
}

size_t
httpparse_end(const char *buf, size_t len, size_t *scan)
{
	size_t i = *scan;
	const char *lf;

	while (i < len && (lf = memchr(buf + i, '\n', len - i)) != NULL) {
		i = (size_t)(lf - buf);
		/* an empty line: LF right after the previous line's LF, or
		 * after CR LF; or an empty first line */
		if (i == 0 || buf[i - 1] == '\n' ||
		    (buf[i - 1] == '\r' && (i == 1 || buf[i - 2] == '\n'))) {
			*scan = 0;
			return i + 1;
		}
		i++;
	}
	*scan = len;
	return 0;
}

/* A, of ALEN bytes, equals B, ignoring ASCII case. */
static int
httpparse_iequal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++)
		if (httpparse_lc[(unsigned char)a[i]] !=
		    httpparse_lc[(unsigned char)b[i]])
			return 0;
	return 1;
}

#define IEQ(a, alen, lit) httpparse_iequal(a, alen, lit, sizeof(lit) - 1)

static enum httpparse_method
httpparse_method_of(const char *m, size_t len)
{
	static const struct {
		const char *s;
		size_t len;
		enum httpparse_method m;
	} known[] = {
#define M(s, m) {s, sizeof(s) - 1, m}
	    M("GET", HTTPPARSE_GET),         M("HEAD", HTTPPARSE_HEAD),
	    M("POST", HTTPPARSE_POST),       M("PUT", HTTPPARSE_PUT),
	    M("DELETE", HTTPPARSE_DELETE),   M("OPTIONS", HTTPPARSE_OPTIONS),
	    M("CONNECT", HTTPPARSE_CONNECT), M("TRACE", HTTPPARSE_TRACE),
	    M("PATCH", HTTPPARSE_PATCH),
#undef M
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].len == len && memcmp(known[i].s, m, len) == 0)
			return known[i].m;
	return HTTPPARSE_OTHER;
}

/* "HTTP/" DIGIT "." DIGIT; sets r->minor, or says what is wrong. */
static enum httpparse_error
httpparse_version(const char *p, size_t len, struct httpparse_req *r)
{
	size_t d1 = 0, d2 = 0;

	if (len < 5 || memcmp(p, "HTTP/", 5) != 0)
		return HTTPPARSE_E_BADVERSION;
	p += 5;
	len -= 5;
	while (d1 < len && p[d1] >= '0' && p[d1] <= '9')
		d1++;
	if (d1 == 0 || d1 == len || p[d1] != '.')
		return HTTPPARSE_E_BADVERSION;
	while (d1 + 1 + d2 < len && p[d1 + 1 + d2] >= '0' &&
	       p[d1 + 1 + d2] <= '9')
		d2++;
	if (d2 == 0 || d1 + 1 + d2 != len)
		return HTTPPARSE_E_BADVERSION;
	/* HTTP/0.x and HTTP/1.x are HTTP/1's syntax: we know it and do not
	 * serve it (505); anything else is not a request we can read. */
	if (d1 != 1 || p[0] > '1')
		return HTTPPARSE_E_BADVERSION;
	if (d2 != 1 || p[0] != '1' || p[2] > '1')
		return HTTPPARSE_E_VERSION;
	r->minor = p[2] - '0';
	return HTTPPARSE_OK;
}

/* The request line, up to and including its CRLF; *P moves past it. */
static enum httpparse_error
httpparse_line(const char **pp, const char *end, struct httpparse_req *r)
{
	const char *p = *pp, *v;
	enum httpparse_error e;
	size_t i;

	r->method_str = p;
	while (p < end && IS(*p, C_TCHAR))
		p++;
	r->method_len = (size_t)(p - r->method_str);
	if (r->method_len == 0 || p == end || *p != ' ')
		return HTTPPARSE_E_LINE;
	r->method = httpparse_method_of(r->method_str, r->method_len);

	r->target = ++p;
	while (p < end && IS(*p, C_PATH))
		p++;
	r->target_len = (size_t)(p - r->target);
	if (p == end)
		return HTTPPARSE_E_LINE;
	if (*p != ' ')
		/* a control byte or obs-text in the target, or no version
		 * (HTTP/0.9's "GET /") */
		return *p == '\r' || *p == '\n' ? HTTPPARSE_E_LINE
		                                : HTTPPARSE_E_TARGET;
	if (r->target_len == 0)
		return HTTPPARSE_E_LINE; /* two spaces */

	v = ++p;
	while (p < end && *p != '\r' && *p != '\n' && *p != ' ')
		p++;
	if (p == end)
		return HTTPPARSE_E_LINE;
	if ((e = httpparse_version(v, (size_t)(p - v), r)) != HTTPPARSE_OK) {
		/* a byte no version has (a control byte, ...) first */
		for (i = 0; v + i < p; i++)
			if (!IS(v[i], C_PATH))
				return HTTPPARSE_E_LINE;
		return e;
	}
	if (*p == '\n')
		return HTTPPARSE_E_CRLF;
	if (*p != '\r')
		return HTTPPARSE_E_LINE; /* whitespace after the version */
	if (p + 1 == end || p[1] != '\n')
		return HTTPPARSE_E_CRLF;

	/* origin form; "*" for OPTIONS; authority form for CONNECT (which
	 * no server here serves); absolute form is a proxy request */
	if (r->target[0] == '*' && r->target_len == 1) {
		if (r->method != HTTPPARSE_OPTIONS)
			return HTTPPARSE_E_ASTERISK;
	} else if (r->target[0] != '/' && r->method != HTTPPARSE_CONNECT) {
		return HTTPPARSE_E_TARGET;
	}
	for (i = 0; i < r->target_len; i++)
		if (r->target[i] == '?' || r->target[i] == '#')
			break;
	r->path_len = i;
	*pp = p + 2;
	return HTTPPARSE_OK;
}

/* Connection: a comma-separated list of options. */
static void
httpparse_connection(const char *v, size_t len, int *close, int *ka)
{
	size_t i = 0, start, end;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (IEQ(v + start, end - start, "close"))
			*close = 1;
		else if (IEQ(v + start, end - start, "keep-alive"))
			*ka = 1;
	}
}

/* Content-Length: 1*DIGIT. */
static int
httpparse_length(const char *v, size_t len, uint64_t *n)
{
	size_t i;

	if (len == 0)
		return -1;
	*n = 0;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (*n > (UINT64_MAX - 9) / 10)
			*n = UINT64_MAX; /* stays: larger than any cap */
		else
			*n = *n * 10 + (uint64_t)(v[i] - '0');
	}
	return 0;
}

struct httpparse_seen {
	int hosts, lengths, close, ka;
};

/* One field whose name and (trimmed) value are known. */
static enum httpparse_error
httpparse_one(const char *n, size_t nlen, const char *v, size_t vlen,
              struct httpparse_req *r, struct httpparse_seen *s)
{
	size_t i;

	switch (nlen) {
	case 4:
		if (!IEQ(n, nlen, "host"))
			break;
		if (++s->hosts > 1)
			return HTTPPARSE_E_HOST;
		for (i = 0; i < vlen; i++)
			if (!IS(v[i], C_HOST))
				return HTTPPARSE_E_HOST;
		r->host = v;
		r->host_len = vlen;
		break;
	case 6:
		if (IEQ(n, nlen, "expect") && IEQ(v, vlen, "100-continue"))
			r->flags |= HTTPPARSE_CONTINUE;
		break;
	case 10:
		if (IEQ(n, nlen, "connection"))
			httpparse_connection(v, vlen, &s->close, &s->ka);
		break;
	case 14:
		if (!IEQ(n, nlen, "content-length"))
			break;
		if (++s->lengths > 1 ||
		    httpparse_length(v, vlen, &r->content_length) == -1)
			return HTTPPARSE_E_LENGTH;
		r->flags |= HTTPPARSE_LENGTH;
		break;
	case 17:
		if (IEQ(n, nlen, "transfer-encoding"))
			return HTTPPARSE_E_TE;
		break;
	}
	return HTTPPARSE_OK;
}

/* The field lines, up to and including the blank line. */
static enum httpparse_error
httpparse_fields(const char *p, const char *end, struct httpparse_req *r,
                 struct httpparse_seen *s)
{
	const char *name, *v, *vend;
	enum httpparse_error e;
	size_t nlen;

	r->fields = p;
	for (;;) {
		if (p == end)
			return HTTPPARSE_E_LINE; /* no blank line */
		if (*p == '\r') {
			if (p + 1 == end || p[1] != '\n')
				return HTTPPARSE_E_CRLF;
			if (p + 2 != end)
				return HTTPPARSE_E_LINE; /* past the blank line
				                          */
			r->fields_len = (size_t)(p - r->fields);
			return HTTPPARSE_OK;
		}
		if (*p == '\n')
			return HTTPPARSE_E_CRLF;
		if (*p == ' ' || *p == '\t')
			return HTTPPARSE_E_FOLD;
		name = p;
		while (p < end && IS(*p, C_TCHAR))
			p++;
		nlen = (size_t)(p - name);
		if (nlen == 0 || p == end || *p != ':')
			return HTTPPARSE_E_NAME;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		v = p;
		while (p < end && IS(*p, C_VALUE))
			p++;
		if (p == end)
			return HTTPPARSE_E_LINE;
		if (*p == '\n')
			return HTTPPARSE_E_CRLF;
		if (*p != '\r' || p + 1 == end || p[1] != '\n')
			return HTTPPARSE_E_VALUE; /* a control byte, bare CR */
		vend = p;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		p += 2;
		if ((e = httpparse_one(name, nlen, v, (size_t)(vend - v), r,
		                       s)) != HTTPPARSE_OK)
			return e;
	}
}

enum httpparse_error
httpparse_request(const char *buf, size_t len, size_t max,
                  struct httpparse_req *r)
{
	struct httpparse_seen s = {0, 0, 0, 0};
	const char *p = buf, *end = buf + len;
	enum httpparse_error e;

	if (httpparse_class['a'] == 0)
		httpparse_init();
	memset(r, 0, sizeof(*r));
	if (len > max)
		return HTTPPARSE_E_TOOBIG;
	r->head_len = len;
	if ((e = httpparse_line(&p, end, r)) != HTTPPARSE_OK ||
	    (e = httpparse_fields(p, end, r, &s)) != HTTPPARSE_OK)
		return e;
	if (s.hosts == 0 && r->minor == 1)
		return HTTPPARSE_E_HOST;
	if (r->minor == 1 ? s.close : (s.close || !s.ka))
		r->flags |= HTTPPARSE_CLOSE;
	else if (r->minor == 0)
		r->flags |= HTTPPARSE_KEEPALIVE;
	return HTTPPARSE_OK;
}

const char *
httpparse_field(const struct httpparse_req *r, const char *name, size_t *len)
{
	const char *p = r->fields, *end = r->fields + r->fields_len;
	size_t nlen = strlen(name);

	if (httpparse_class['a'] == 0)
		httpparse_init();
	while (p < end) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		const char *v;

		if (colon == NULL || eol == NULL)
			return NULL;
		if (httpparse_iequal(p, (size_t)(colon - p), name, nlen)) {
			for (v = colon + 1;
			     v < eol && (*v == ' ' || *v == '\t'); v++)
				;
			while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t'))
				eol--;
			*len = (size_t)(eol - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}
