/*
 * httpreq.c: the request checks and evhttp set-up shared by
 * mockres-frontend and mockres-dashboard (see httpreq.h for the evhttp
 * 2.1.12 behaviour they guard against).
 *
 * The rules, RFC 9112 and 9110, applied to every request before routing:
 * - version: HTTP/1.0 and HTTP/1.1 only (others 505, answered HTTP/1.1);
 * - target: origin-form ("/..."), or "*" for OPTIONS; bytes 0x21..0x7e;
 *   absolute-form and anything else 400;
 * - field names: tokens (no whitespace before the colon, no empty name);
 *   field values: no control byte but HTAB (NUL included, see
 *   httpreq_input_cb);
 * - Host: exactly one on HTTP/1.1, at most one on 1.0, a host[:port];
 * - framing: no Transfer-Encoding at all (we take no request body, and
 *   evhttp reads only an exact "chunked"), at most one Content-Length,
 *   digits only;
 * - a GET or HEAD with a body 400; any other method 405.
 * A bad head is answered 400 (or 505) and its connection closed: what
 * follows it on the connection cannot be trusted to be a request.  A
 * request with a body is answered and its connection closed too, since
 * evhttp may have left the body unread (HEAD, TRACE, unknown methods).
 *
 * This file reaches into struct evhttp_request (event2/http_struct.h) in
 * three places, each to undo an evhttp 2.1 behaviour that has no API: the
 * version of a 505 answer, the proxy flag and the CONNECT method.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "httpreq.h"

/* libevent 2.1's EVHTTP_REQ_UNKNOWN_ (http-internal.h): the type of a
 * request whose method evhttp does not know. */
#define HTTPREQ_METHODS_ALL 0xffff

/* What a NUL byte in a connection's input becomes (httpreq_input_cb). */
#define HTTPREQ_NUL_MARK '\177'

#define A(name, c, r, t) static const struct httpreq_answer name = {c, r, t}
A(httpreq_version, 505, "HTTP Version Not Supported",
  "HTTP version not supported: use HTTP/1.1 or HTTP/1.0");
A(httpreq_target, 400, "Bad Request",
  "bad request target: send the path only, in printable ASCII");
A(httpreq_asterisk, 400, "Bad Request",
  "bad request target: '*' is for OPTIONS only");
A(httpreq_name, 400, "Bad Request",
  "bad header field name: a token, with no whitespace before the colon");
A(httpreq_value, 400, "Bad Request",
  "bad header field value: a control byte in it");
A(httpreq_host, 400, "Bad Request",
  "bad Host: HTTP/1.1 needs exactly one Host field, a host[:port]");
A(httpreq_te, 400, "Bad Request",
  "Transfer-Encoding is not accepted: this server takes no request body");
A(httpreq_length, 400, "Bad Request",
  "bad Content-Length: one field, digits only");
A(httpreq_body, 400, "Bad Request",
  "a GET or HEAD request must not carry a body");
A(httpreq_method, 405, "Method Not Allowed",
  "method not allowed: use GET or HEAD");
A(httpreq_method_listed, 405, "Method Not Allowed",
  "method not allowed here: use one the Allow field lists");
A(httpreq_options, 200, "OK", "");
#undef A

/* RFC 9110 5.6.2 tchar */
static int
httpreq_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static int
httpreq_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!httpreq_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* RFC 9110 5.5: VCHAR, obs-text, SP and HTAB; no other control byte. */
static int
httpreq_value_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

/* uri-host [":" port] (RFC 3986 reg-name, IPv4, IP-literal); may be
 * empty (RFC 9112 3.2). */
static int
httpreq_host_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') ||
		      strchr("-._~!$&'()*+,;=:[]%", c)))
			return 0;
	}
	return 1;
}

/* 1*DIGIT; *ZERO is set when the value is 0. */
static int
httpreq_length_ok(const char *s, int *zero)
{
	*zero = 1;
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		if (*s != '0')
			*zero = 0;
	}
	return 1;
}

/* The target: printable ASCII, no space (a NUL shows as DEL). */
static int
httpreq_target_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static const struct httpreq_answer *
httpreq_refuse(struct evhttp_request *req, const struct httpreq_answer *a)
{
	httpreq_close_after(req);
	return a;
}

const struct httpreq_answer *
httpreq_check(struct evhttp_request *req)
{
	return httpreq_check_methods(req, 0, HTTPREQ_ALLOW);
}

const struct httpreq_answer *
httpreq_check_methods(struct evhttp_request *req, unsigned extra,
                      const char *allow)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *uri = evhttp_request_get_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *host = NULL;
	int hosts = 0, lengths = 0, body = 0, zero;
	struct evkeyval *h;

	if (cmd == EVHTTP_REQ_CONNECT)
		/* evhttp would send the answer without a Content-Length and
		 * never close after it, expecting a tunnel: we open none, so
		 * it is answered as any other request. */
		req->type = EVHTTP_REQ_GET;
	if (req->major != 1 || req->minor > 1) {
		req->major = 1; /* evhttp would echo "HTTP/1.9" back */
		req->minor = 1;
		return httpreq_refuse(req, &httpreq_version);
	}
	if (uri == NULL || !httpreq_target_ok(uri))
		return httpreq_refuse(req, &httpreq_target);

	TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
	{
		if (!httpreq_token(h->key))
			return httpreq_refuse(req, &httpreq_name);
		if (!httpreq_value_ok(h->value))
			return httpreq_refuse(req, &httpreq_value);
		if (strcasecmp(h->key, "Transfer-Encoding") == 0)
			return httpreq_refuse(req, &httpreq_te);
		if (strcasecmp(h->key, "Content-Length") == 0) {
			if (++lengths > 1 ||
			    !httpreq_length_ok(h->value, &zero))
				return httpreq_refuse(req, &httpreq_length);
			body = !zero;
		} else if (strcasecmp(h->key, "Host") == 0) {
			hosts++;
			host = h->value;
		}
	}
	if (hosts > 1 || (hosts == 0 && req->minor == 1) ||
	    (host != NULL && !httpreq_host_ok(host)))
		return httpreq_refuse(req, &httpreq_host);

	/* origin-form; "*" (asterisk-form) for OPTIONS; authority-form for
	 * CONNECT, refused below; absolute-form is a proxy request */
	if (strcmp(uri, "*") == 0 && cmd != EVHTTP_REQ_OPTIONS)
		return httpreq_refuse(req, &httpreq_asterisk);
	if (uri[0] != '/' && strcmp(uri, "*") != 0 && cmd != EVHTTP_REQ_CONNECT)
		return httpreq_refuse(req, &httpreq_target);

	if (cmd == EVHTTP_REQ_POST && (extra & EVHTTP_REQ_POST))
		return NULL; /* the body is the route's to check */
	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD ||
	    (cmd == EVHTTP_REQ_DELETE && (extra & EVHTTP_REQ_DELETE)))
		return body ? httpreq_refuse(req, &httpreq_body) : NULL;

	evhttp_add_header(out, "Allow", allow);
	if (body)
		httpreq_close_after(req);
	if (cmd == EVHTTP_REQ_OPTIONS && strcmp(uri, "*") == 0)
		return &httpreq_options;
	return extra ? &httpreq_method_listed : &httpreq_method;
}

int
httpreq_head_fields(struct evhttp_request *req, const char *ctype, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char num[24];

	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		return 1;
	if (ctype != NULL && evhttp_find_header(out, "Content-Type") == NULL)
		evhttp_add_header(out, "Content-Type", ctype);
	if (evhttp_find_header(out, "Content-Length") == NULL) {
		snprintf(num, sizeof(num), "%zu", len);
		evhttp_add_header(out, "Content-Length", num);
	}
	return 0;
}

void
httpreq_close_after(struct evhttp_request *req)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	/* Without its Connection header an HTTP/1.0 request is not
	 * keep-alive. */
	evhttp_remove_header(evhttp_request_get_input_headers(req),
	                     "Connection");
	/* A proxy request would have evhttp drop our Connection: close. */
	req->flags &= ~EVHTTP_PROXY_REQUEST;
	evhttp_remove_header(out, "Connection");
	evhttp_add_header(out, "Connection", "close");
}

/*
 * evhttp parses fields as C strings, so a NUL byte ends a field value
 * (or the request line) early and hides the rest from every check.  As
 * bytes arrive, before evhttp parses them, each NUL becomes DEL, a byte
 * that the checks above refuse wherever it lands.  Bodies are never used,
 * so changing a byte in one is harmless.
 */
static void
httpreq_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
                 void *arg)
{
	size_t len = evbuffer_get_length(buf);
	struct evbuffer_iovec v;
	struct evbuffer_ptr p;

	if (info->n_added == 0)
		return;
	if (evbuffer_ptr_set(buf, &p,
	                     info->n_added < len ? len - info->n_added : 0,
	                     EVBUFFER_PTR_SET) == -1)
		return;
	for (;;) {
		p = evbuffer_search(buf, "", 1, &p);
		if (p.pos == -1 || evbuffer_peek(buf, 1, &p, &v, 1) < 1)
			break;
		*(char *)v.iov_base = HTTPREQ_NUL_MARK;
		if (evbuffer_ptr_set(buf, &p, 1, EVBUFFER_PTR_ADD) == -1)
			break;
	}
}

/* Each connection's bufferevent, as evhttp would make it, plus the NUL
 * marking and the input cap. */
struct bufferevent *
httpreq_bev_new(struct event_base *base, void *arg)
{
	struct bufferevent *bev;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL;
	if (evbuffer_add_cb(bufferevent_get_input(bev), httpreq_input_cb,
	                    NULL) == NULL) {
		/* Out of memory: evhttp then makes a plain bufferevent, on
		 * which a NUL ends a field early, as it does without us. */
		bufferevent_free(bev);
		return NULL;
	}
	bufferevent_setwatermark(bev, EV_READ, 0, HTTPREQ_INPUT_MAX);
	return bev;
}

void
httpreq_setup(struct evhttp *http, const struct httpreq_limits *l)
{
	struct timeval tv = {l->timeout_s, 0};

	evhttp_set_timeout_tv(http, &tv);
	evhttp_set_max_headers_size(http, (ev_ssize_t)l->headers_max);
	evhttp_set_max_body_size(http, (ev_ssize_t)l->body_max);
	if (l->content_type != NULL)
		evhttp_set_default_content_type(http, l->content_type);
	/* Every method, unknown ones included, reaches the server's
	 * callback, which answers 405 with Allow (evhttp would answer 501
	 * text/html and close). */
	evhttp_set_allowed_methods(http, HTTPREQ_METHODS_ALL);
	evhttp_set_bevcb(http, httpreq_bev_new, NULL);
}
