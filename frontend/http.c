/*
 * http.c: the HTTP surface of a worker.
 *
 * One catch-all callback routes every request, so that every answer,
 * errors included, goes through evhttp_send_reply and keeps the
 * connection alive (evhttp_send_error would close it).  The hot path,
 * /part1/serial and /part1/async, is: send a Use on the worker's mrclient,
 * reply when mockresd answers.  No logging and no formatting on it.
 *
 * A request waiting for mockresd stays valid until we answer it: evhttp
 * does not read from its connection meanwhile, so a client that hangs up
 * is only seen when the answer is written, and libevent then frees the
 * request.  Every waiting request gets exactly one answer: mockresd's,
 * 503 when the connection to mockresd is lost (mrclient calls back with
 * NULL), or 504 when --request-timeout passes first (pending.c).
 *
 * wk->active counts the requests not yet answered to the end.  A request
 * ends in one of two ways, and each is a libevent callback, so the count
 * cannot leak whatever the client does: its answer is written (the
 * completion callback), or its connection goes first (the close
 * callback, which httpconn.c owns: a reset, a write error or timeout, the
 * worker's exit).
 */
#include <errno.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "frontend.h"
#include "httpreq.h"
#include "httpstats.h"
#include "mrclient.h"

#define HTTP_STR(s) (s), sizeof(s) - 1

static void
http_request_end(void)
{
	wk->active--;
	worker_request_done();
}

/* The answer was written to the end: time it, count it; the connection's
 * next request has HTTP_HEAD_DEADLINE_MS from now. */
static void
http_complete_cb(struct evhttp_request *req, void *arg)
{
	httpconn_answered(req);
	timing_end(req, arg);
	http_request_end();
}

static void
http_reply(struct evhttp_request *req, int code, const char *reason,
           const char *body, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	if (evhttp_request_get_connection(req) == NULL) {
		/* The client went away (http_closed_cb counted it): this
		 * only frees REQ. */
		evhttp_send_reply(req, code, reason, NULL);
		return;
	}
	if (wk->draining)
		httpreq_close_after(req);
	if (code == 503)
		evhttp_add_header(out, "Retry-After", HTTP_RETRY_AFTER);
	if (httpreq_head_fields(req, HTTP_CONTENT_TYPE, len))
		evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	wk->served++;
	evhttp_send_reply(req, code, reason, NULL);
}

/* mockresd's error text is outside input: one printable line, capped. */
static void
http_reply_reason(struct evhttp_request *req, int code, const char *reason,
                  const char *text, const char *fallback)
{
	char line[HTTP_REASON_MAX];
	size_t i;

	if (text == NULL || text[0] == '\0')
		text = fallback;
	for (i = 0; i < sizeof(line) && text[i] != '\0'; i++)
		line[i] =
		    (char)((text[i] < ' ' || text[i] > '~') ? '?' : text[i]);
	http_reply(req, code, reason, line, i);
}

static void
http_use_cb(const Mockres__Response *resp, void *arg)
{
	struct pending *p = arg;
	struct evhttp_request *req = p->req;

	pending_free(p);
	wk->waiting--;
	if (resp == NULL) {
		http_reply(
		    req, 503, "Service Unavailable",
		    HTTP_STR("mockresd connection lost: outcome unknown, "
		             "retry later"));
		return;
	}
	wk->replies++;
	switch (resp->status) {
	case MOCKRES__STATUS__DONE:
	case MOCKRES__STATUS__ADMITTED:
		http_reply(req, 200, "OK", HTTP_STR("OK"));
		break;
	case MOCKRES__STATUS__BUSY:
		http_reply_reason(req, 500, "Internal Server Error",
		                  resp->error, "resource busy");
		break;
	case MOCKRES__STATUS__SHUTTING_DOWN:
		http_reply(req, 503, "Service Unavailable",
		           HTTP_STR("mockresd is shutting down, retry later"));
		break;
	case MOCKRES__STATUS__TIMEOUT:
		/* the use waited in the queue for its slot too long */
		http_reply_reason(req, 503, "Service Unavailable", resp->error,
		                  "timed out waiting for the resource");
		break;
	default:
		http_reply_reason(req, 500, "Internal Server Error",
		                  resp->error,
		                  "unexpected answer from mockresd");
		break;
	}
}

/* --request-timeout passed: mockresd's answer, if any, will be dropped. */
static void
http_use_expired(struct pending *p)
{
	struct evhttp_request *req = p->req;

	pending_free(p);
	wk->waiting--;
	http_reply(req, 504, "Gateway Timeout",
	           HTTP_STR("mockresd did not answer in time (see the "
	                    "frontend's --request-timeout); the use may still "
	                    "run"));
}

static void
http_use(struct evhttp_request *req, Mockres__UseMode mode)
{
	struct pending *p;
	uint64_t id;

	if (liveness_stalled() && mrclient_connected(wk->mc)) {
		http_reply(req, 503, "Service Unavailable",
		           HTTP_STR("mockresd is not answering, retry later"));
		return;
	}
	if ((p = pending_new(req)) == NULL) {
		http_reply(req, 503, "Service Unavailable",
		           HTTP_STR("out of memory, retry later"));
		return;
	}
	if ((id = mrclient_use(wk->mc, mode, -1, http_use_cb, p)) == 0) {
		pending_free(p);
		if (errno == ENOTCONN)
			http_reply(
			    req, 503, "Service Unavailable",
			    HTTP_STR("mockresd is unreachable, retrying in "
			             "the background; retry later"));
		else
			http_reply(req, 503, "Service Unavailable",
			           HTTP_STR("too many requests waiting for "
			                    "mockresd, retry later"));
		return;
	}
	pending_start(p, id);
	wk->waiting++;
}

static void
http_serial(struct evhttp_request *req)
{
	http_use(req, MOCKRES__USE_MODE__SERIAL);
}

static void
http_async(struct evhttp_request *req)
{
	http_use(req, MOCKRES__USE_MODE__ASYNC);
}

static void
http_dashboard(struct evhttp_request *req)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
	                  wk->conf->dashboard_url);
	http_reply(req, 303, "See Other",
	           HTTP_STR("see the dashboard at the Location header's URL"));
}

static void
http_healthz(struct evhttp_request *req)
{
	if (!mrclient_connected(wk->mc))
		http_reply(req, 503, "Service Unavailable",
		           HTTP_STR("mockresd is unreachable"));
	else if (liveness_stalled())
		http_reply(req, 503, "Service Unavailable",
		           HTTP_STR("mockresd is not answering"));
	else
		http_reply(req, 200, "OK", HTTP_STR("OK"));
}

/* The first HTTP_TIMED_ROUTES routes are timed apart, the rest as other. */
#define HTTP_TIMED_ROUTES 2
static const enum httpstats_route_id http_timed[HTTP_TIMED_ROUTES] = {
    HTTPSTATS_SERIAL, HTTPSTATS_ASYNC};

static const struct http_route {
	const char *path;
	void (*fn)(struct evhttp_request *);
} http_routes[] = {
    {"/part1/serial", http_serial}, {"/part1/async", http_async},
    {"/", http_dashboard},          {"/part1", http_dashboard},
    {"/healthz", http_healthz},
};

void
http_request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct httpreq_answer *a;
	size_t i;

	wk->active++;
	httpconn_request(req); /* its close callback ends REQ now */
	if (path == NULL || path[0] == '\0')
		path = "/";
	for (i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++)
		if (strcmp(path, http_routes[i].path) == 0)
			break;
	timing_begin(req,
	             i < HTTP_TIMED_ROUTES ? http_timed[i] : HTTPSTATS_OTHER,
	             http_complete_cb);
	if ((a = httpreq_check(req)) != NULL) {
		http_reply(req, a->code, a->reason, a->text, strlen(a->text));
		return;
	}
	if (i == sizeof(http_routes) / sizeof(http_routes[0])) {
		http_reply(req, 404, "Not Found", HTTP_STR("not found"));
		return;
	}
	http_routes[i].fn(req);
}

/*
 * The worker's evhttp server: the shared set-up (httpreq_setup), each
 * connection's record (httpconn.c, which wraps the shared bufferevent
 * callback) and the use deadline (pending.c).
 */
struct evhttp *
http_setup(struct event_base *base, uint64_t request_timeout_ms)
{
	const struct httpreq_limits limits = {HTTP_TIMEOUT_S, HTTP_HEADERS_MAX,
	                                      HTTP_BODY_MAX, HTTP_CONTENT_TYPE};
	struct evhttp *http;

	if (pending_init(base, request_timeout_ms, http_use_expired) == -1 ||
	    httpconn_init(base, http_request_end) == -1 ||
	    (http = evhttp_new(base)) == NULL)
		return NULL;
	httpreq_setup(http, &limits);
	evhttp_set_bevcb(http, httpconn_bevcb, NULL);
	evhttp_set_gencb(http, http_request_cb, NULL);
	return http;
}
