/*
 * httpreq.h: what both HTTP servers (mockres-frontend, mockres-dashboard)
 * share about requests: the evhttp set-up, and the one check of a request
 * head (RFC 9112) and its method before a request is routed.
 *
 * Written for libevent 2.1.12 (Debian 12), whose evhttp:
 * - reads a body by the first Content-Length only, and by
 *   Transfer-Encoding only if it is exactly "chunked";
 * - reads no body at all for HEAD, TRACE and unknown methods;
 * - keeps "Content-Length " (space before the colon) as another field;
 * - stops a field at a NUL byte and accepts HTTP/1.2 .. HTTP/1.9;
 * - answers unknown methods 501 itself, unless allowed (httpreq_setup);
 * - takes an http:// target for a proxy request, and then neither sends
 *   nor honours "Connection: close";
 * - never closes after a CONNECT and sends its answer without a length.
 * Any of these lets a request hide behind another (smuggling) or a
 * client misread an answer; httpreq_check refuses them all.
 */
#ifndef MOCKRES_HTTPREQ_H
#define MOCKRES_HTTPREQ_H

#include <stddef.h>

#include <event2/http.h>

#define HTTPREQ_ALLOW "GET, HEAD" /* the methods both servers serve */
/*
 * Unread input kept per connection.  Past it evhttp stops reading that
 * connection (TCP then slows the client) until it has parsed what it
 * has: a client sending while its answer waits or is written cannot grow
 * us.  It is well over a whole request (8 KiB head + 4 KiB body).
 */
#define HTTPREQ_INPUT_MAX (64 << 10)

struct httpreq_limits {
	int timeout_s;            /* read, write and keep-alive idle */
	size_t headers_max;       /* request line and fields, bytes */
	size_t body_max;          /* request body, bytes */
	const char *content_type; /* of answers that set none */
};

/*
 * Sets up HTTP with LIMITS: every method reaches the server's callback
 * (which calls httpreq_check), and each connection's input is capped at
 * HTTPREQ_INPUT_MAX and has its NUL bytes made visible to the check.
 */
void httpreq_setup(struct evhttp *http, const struct httpreq_limits *limits);

/*
 * The bufferevent callback httpreq_setup installs (evhttp_set_bevcb): a
 * server that needs its own (the frontend's httpconn.c) calls this from it
 * to make each connection's bufferevent.
 */
struct bufferevent;
struct bufferevent *httpreq_bev_new(struct event_base *base, void *arg);

/* An answer httpreq_check decided on. */
struct httpreq_answer {
	int code;
	const char *reason;
	const char *text; /* the body: one line, without its newline */
};

/*
 * Checks REQ before it is routed.  Returns NULL when REQ is a GET or HEAD
 * with a sound head and no body: route it.  Otherwise returns the answer
 * to send (400, 405, 505, or 200 to "OPTIONS *"), and REQ's output
 * already carries the fields that go with it: "Allow" with 405 and
 * OPTIONS, "Connection: close" (see httpreq_close_after) when the head is
 * bad or announces a body evhttp may not have read.
 */
const struct httpreq_answer *httpreq_check(struct evhttp_request *req);

/*
 * As httpreq_check, for a route that also takes the methods in EXTRA (a
 * mask of EVHTTP_REQ_POST and EVHTTP_REQ_DELETE): a POST is let through
 * with its body (the route checks it; evhttp has read it, capped by the
 * server's body_max), a DELETE like a GET.  ALLOW is the Allow field of
 * a 405 ("GET, HEAD, POST, DELETE").  The dashboard's /api/guess.
 */
const struct httpreq_answer *httpreq_check_methods(struct evhttp_request *req,
                                                   unsigned extra,
                                                   const char *allow);

/*
 * Adds to an answer of LEN bytes of CTYPE what evhttp 2.1 leaves out: for
 * a HEAD request the Content-Type and Content-Length the GET answer would
 * carry (RFC 9110, 9.3.2).  Returns 0 when no body may be sent (HEAD),
 * else 1.
 */
int httpreq_head_fields(struct evhttp_request *req, const char *ctype,
                        size_t len);

/*
 * Makes REQ's connection close once its answer is written, and says so
 * with "Connection: close", whatever the request asked: for HTTP/1.0
 * keep-alive and absolute-form (proxy) requests too.
 */
void httpreq_close_after(struct evhttp_request *req);

#endif
