/*
 * http.c: the HTTP surface of the dashboard (docs/design.md):
 *   GET /            the page, embedded at build time
 *   GET /events      Server-Sent Events, one snapshot per watch push
 *   GET /api/stats   the latest snapshot
 *   GET /metrics     Prometheus text
 * Anything else 404; a method other than GET or HEAD 405.  Errors are
 * answered with evhttp_send_reply from the catch-all handler so a
 * keep-alive connection stays open (evhttp_send_error closes it).
 */
#include <stdio.h>
#include <string.h>

#include <event2/listener.h>

#include "dashboard.h"
#include "httpreq.h"
#include "log.h"

#define HTTP_TIMEOUT_S   30
#define HTTP_MAX_HEADERS 8192
#define HTTP_MAX_BODY    4096

static struct evhttp *http_srv;
static struct feed *http_feed;

static const char http_csp[] =
    "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src data:";

/* Answers REQ with BODY (moved out), or with TEXT if BODY is NULL. */
static void
http_reply(struct evhttp_request *req, int code, const char *reason,
           const char *ctype, struct evbuffer *body, const char *text)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = body;

	if (b == NULL && (b = evbuffer_new()) != NULL && text != NULL)
		evbuffer_add(b, text, strlen(text));
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (b != NULL && evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* evhttp 2.1 would send the body of a HEAD reply too. */
		char len[32];

		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(b));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(b, evbuffer_get_length(b));
	}
	evhttp_send_reply(req, code, reason, b);
	if (body == NULL && b != NULL)
		evbuffer_free(b);
}

static void
http_page(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || evbuffer_add_reference(b, page_html, page_html_len,
	                                        NULL, NULL) == -1) {
		if (b != NULL)
			evbuffer_free(b);
		http_reply(req, 500, "Internal Server Error", "text/plain",
		           NULL, "out of memory\n");
		return;
	}
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "Content-Security-Policy", http_csp);
	http_reply(req, 200, "OK", "text/html; charset=utf-8", b, NULL);
	evbuffer_free(b);
}

static void
http_stats(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	if (b == NULL || snap_add_json(feed_snapshot(http_feed), b) == -1 ||
	    evbuffer_add(b, "\n", 1) == -1) {
		if (b != NULL)
			evbuffer_free(b);
		http_reply(req, 500, "Internal Server Error", "text/plain",
		           NULL, "out of memory\n");
		return;
	}
	evhttp_add_header(h, "Cache-Control", "no-store");
	http_reply(req, 200, "OK", "application/json", b, NULL);
	evbuffer_free(b);
}

static void
http_metrics(struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		http_reply(req, 500, "Internal Server Error", "text/plain",
		           NULL, "out of memory\n");
		return;
	}
	metrics_format(b, &http_feed->stats, http_feed->connected,
	               &http_feed->procs, sse_count(), sse_dropped());
	http_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
	           b, NULL);
	evbuffer_free(b);
}

static void
http_events(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char body[128];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Cache-Control", "no-cache");
		http_reply(req, 200, "OK", "text/event-stream", NULL, NULL);
		return;
	}
	if (sse_open(req, feed_snapshot(http_feed)) == 0)
		return;
	log_warnx("refused a browser on the event stream: %zu already "
	          "(the most is %d)",
	          sse_count(), SSE_CLIENTS_MAX);
	snprintf(body, sizeof(body),
	         "too many browsers on the event stream "
	         "(%d); try again later\n",
	         SSE_CLIENTS_MAX);
	evhttp_add_header(h, "Retry-After", "5");
	http_reply(req, 503, "Service Unavailable", "text/plain", NULL, body);
}

static void
http_route(struct evhttp_request *req, void *arg)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Allow", "GET, HEAD");
		http_reply(req, 405, "Method Not Allowed", "text/plain", NULL,
		           "method not allowed: use GET or HEAD\n");
		return;
	}
	if (httpreq_has_body(req)) {
		httpreq_close_after(req);
		http_reply(req, 400, "Bad Request", "text/plain", NULL,
		           "a GET or HEAD request must not carry a body\n");
		return;
	}
	if (path == NULL || *path == '\0' || strcmp(path, "/") == 0)
		http_page(req);
	else if (strcmp(path, "/events") == 0)
		http_events(req);
	else if (strcmp(path, "/api/stats") == 0)
		http_stats(req);
	else if (strcmp(path, "/metrics") == 0)
		http_metrics(req);
	else
		http_reply(
		    req, 404, "Not Found", "text/plain", NULL,
		    "not found: the dashboard serves /, /events, /api/stats "
		    "and /metrics\n");
}

int
http_init(struct event_base *base, struct feed *f, struct evconnlistener *l)
{
	http_feed = f;
	if ((http_srv = evhttp_new(base)) == NULL)
		return -1;
	/* Let every method reach http_route, which answers 405 itself. */
	evhttp_set_allowed_methods(
	    http_srv, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                  EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                  EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_timeout(http_srv, HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(http_srv, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http_srv, HTTP_MAX_BODY);
	evhttp_set_gencb(http_srv, http_route, NULL);
	if (evhttp_bind_listener(http_srv, l) == NULL)
		return -1;
	return 0;
}

void
http_free(void)
{
	sse_close_all();
	if (http_srv != NULL)
		evhttp_free(http_srv);
	http_srv = NULL;
}
