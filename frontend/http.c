/*
 * http.c: the HTTP surface of a worker, on the HTTP layer of common/
 * (httpserv.h), which parses, refuses what it must (400, 405, 413, 505),
 * keeps the connections and their deadlines and tells us when each
 * answer has been written.
 *
 * The hot path, /part1/serial and /part1/async, is: send a Use on the
 * worker's mrclient, answer when mockresd replies, from an answer
 * prebuilt at start-up (status line, fields and body; the layer adds the
 * Date and the Connection fields).  No logging, no formatting, no
 * allocation on it.
 *
 * A request waiting for mockresd is named by its connection and ticket
 * (in its pending.c record).  Every waiting request gets exactly one
 * answer: mockresd's, 503 when the connection to mockresd is lost
 * (mrclient calls back with NULL), or 504 when --request-timeout passes
 * first (pending.c).  If its client went away meanwhile, the layer drops
 * the answer.
 *
 * ws->active counts the requests not yet answered to the end, from the
 * layer's begin to its done: the answer written, or its connection gone
 * first (a reset, a write error or timeout, the worker's exit).  Every
 * request the layer sees, refused ones included, goes through both, so
 * the count cannot leak whatever the client does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "frontend.h"
#include "httpserv.h"
#include "httpstats.h"
#include "log.h"
#include "mrclient.h"

#define HTTP_STR(s) (s), sizeof(s) - 1

static struct wstate *hs;

/* The answers, prebuilt in http_setup. */
enum http_answer_id {
	A_OK,
	A_NOTFOUND,
	A_DASHBOARD,
	A_LOST,
	A_SHUTDOWN,
	A_STALLED,
	A_NOMEM,
	A_UNREACHABLE,
	A_TOOMANY,
	A_HEALTH_DOWN,
	A_HEALTH_STALLED,
	A_TIMEOUT,
	A_COUNT
};

static const struct {
	int code;
	int retry; /* with Retry-After */
	const char *text;
} http_texts[A_COUNT] = {
    [A_OK] = {200, 0, "OK"},
    [A_NOTFOUND] = {404, 0, "not found"},
    [A_DASHBOARD] = {303, 0, "see the dashboard at the Location header's URL"},
    [A_LOST] = {503, 1,
                "mockresd connection lost: outcome unknown, retry later"},
    [A_SHUTDOWN] = {503, 1, "mockresd is shutting down, retry later"},
    [A_STALLED] = {503, 1, "mockresd is not answering, retry later"},
    [A_NOMEM] = {503, 1, "out of memory, retry later"},
    [A_UNREACHABLE] = {503, 1,
                       "mockresd is unreachable, retrying in the "
                       "background; retry later"},
    [A_TOOMANY] = {503, 1,
                   "too many requests waiting for mockresd, retry later"},
    [A_HEALTH_DOWN] = {503, 1, "mockresd is unreachable"},
    [A_HEALTH_STALLED] = {503, 1, "mockresd is not answering"},
    [A_TIMEOUT] = {504, 0,
                   "mockresd did not answer in time (see the frontend's "
                   "--request-timeout); the use may still run"},
};

static struct httpserv_answer http_answers[A_COUNT];

static void
http_answer(struct httpserv_conn *c, uint32_t ticket, enum http_answer_id a)
{
	(void)httpserv_reply(c, ticket, &http_answers[a]);
}

/* mockresd's error text is outside input: one printable line, capped. */
static void
http_answer_reason(struct httpserv_conn *c, uint32_t ticket, int code,
                   const char *text, const char *fallback)
{
	char line[HTTP_REASON_MAX];
	size_t i;

	if (text == NULL || text[0] == '\0')
		text = fallback;
	for (i = 0; i < sizeof(line) && text[i] != '\0'; i++)
		line[i] =
		    (char)((text[i] < ' ' || text[i] > '~') ? '?' : text[i]);
	(void)httpserv_reply_body(c, ticket, code, NULL,
	                          code == 503 ? HTTP_RETRY_AFTER : NULL, line,
	                          i);
}

static void
http_use_cb(const Mockres__Response *resp, void *arg)
{
	struct pending *p = arg;
	struct httpserv_conn *c = p->conn;
	uint32_t ticket = p->ticket;

	pending_free(p);
	hs->waiting--;
	if (resp == NULL) {
		http_answer(c, ticket, A_LOST);
		return;
	}
	hs->replies++;
	switch (resp->status) {
	case MOCKRES__STATUS__DONE:
	case MOCKRES__STATUS__ADMITTED:
		http_answer(c, ticket, A_OK);
		break;
	case MOCKRES__STATUS__BUSY:
		http_answer_reason(c, ticket, 500, resp->error,
		                   "resource busy");
		break;
	case MOCKRES__STATUS__SHUTTING_DOWN:
		http_answer(c, ticket, A_SHUTDOWN);
		break;
	case MOCKRES__STATUS__TIMEOUT:
		/* the use waited in the queue for its slot too long */
		http_answer_reason(c, ticket, 503, resp->error,
		                   "timed out waiting for the resource");
		break;
	default:
		http_answer_reason(c, ticket, 500, resp->error,
		                   "unexpected answer from mockresd");
		break;
	}
}

/* --request-timeout passed: mockresd's answer, if any, will be dropped. */
static void
http_use_expired(struct pending *p)
{
	struct httpserv_conn *c = p->conn;
	uint32_t ticket = p->ticket;

	pending_free(p);
	hs->waiting--;
	http_answer(c, ticket, A_TIMEOUT);
}

static void
http_use(struct httpserv_conn *c, uint32_t ticket, Mockres__UseMode mode)
{
	struct pending *p;
	uint64_t id;

	if (liveness_stalled() && mrclient_connected(hs->mc)) {
		http_answer(c, ticket, A_STALLED);
		return;
	}
	if ((p = pending_new(c, ticket)) == NULL) {
		http_answer(c, ticket, A_NOMEM);
		return;
	}
	if ((id = mrclient_use(hs->mc, mode, -1, http_use_cb, p)) == 0) {
		pending_free(p);
		http_answer(c, ticket,
		            errno == ENOTCONN ? A_UNREACHABLE : A_TOOMANY);
		return;
	}
	pending_start(p, id);
	hs->waiting++;
}

static void
http_serial(struct httpserv_conn *c, uint32_t ticket)
{
	http_use(c, ticket, MOCKRES__USE_MODE__SERIAL);
}

static void
http_async(struct httpserv_conn *c, uint32_t ticket)
{
	http_use(c, ticket, MOCKRES__USE_MODE__ASYNC);
}

static void
http_dashboard(struct httpserv_conn *c, uint32_t ticket)
{
	http_answer(c, ticket, A_DASHBOARD);
}

static void
http_healthz(struct httpserv_conn *c, uint32_t ticket)
{
	if (!mrclient_connected(hs->mc))
		http_answer(c, ticket, A_HEALTH_DOWN);
	else if (liveness_stalled())
		http_answer(c, ticket, A_HEALTH_STALLED);
	else
		http_answer(c, ticket, A_OK);
}

/* The first HTTP_TIMED_ROUTES routes are timed apart, the rest as other. */
#define HTTP_TIMED_ROUTES 2
static const enum httpstats_route_id http_timed[HTTP_TIMED_ROUTES] = {
    HTTPSTATS_SERIAL, HTTPSTATS_ASYNC};

static const struct http_route {
	const char *path;
	size_t len;
	void (*fn)(struct httpserv_conn *, uint32_t);
} http_routes[] = {
    {HTTP_STR("/part1/serial"), http_serial},
    {HTTP_STR("/part1/async"), http_async},
    {HTTP_STR("/"), http_dashboard},
    {HTTP_STR("/part1"), http_dashboard},
    {HTTP_STR("/healthz"), http_healthz},
};

#define HTTP_NROUTES (sizeof(http_routes) / sizeof(http_routes[0]))

static void
http_request_cb(void *arg, struct httpserv_request *r)
{
	const char *path = r->head->target;
	size_t len = r->head->path_len, i;

	if (len == 0 || path[0] != '/') { /* OPTIONS *, CONNECT's host */
		path = "/";
		len = 1;
	}
	for (i = 0; i < HTTP_NROUTES; i++)
		if (len == http_routes[i].len &&
		    memcmp(path, http_routes[i].path, len) == 0)
			break;
	if (i < HTTP_TIMED_ROUTES)
		timing_route(r->cookie, http_timed[i]);
	if (i == HTTP_NROUTES)
		http_answer(r->conn, r->ticket, A_NOTFOUND);
	else
		http_routes[i].fn(r->conn, r->ticket);
}

/* A whole request head came in: it is counted and timed from here. */
static uint64_t
http_begin_cb(void *arg)
{
	hs->active++;
	return timing_begin();
}

/* Its answer was written (time it, count it), or it was lost with its
 * connection. */
static void
http_done_cb(void *arg, uint64_t cookie, int code, int written)
{
	if (written) {
		timing_end(cookie, code);
		hs->served++;
	}
	hs->active--;
	hs->request_done();
}

/* The frontend's client connections, all workers (conncount.c). */
static void
http_conn_cb(void *arg, int open)
{
	if (open)
		conncount_open();
	else
		conncount_close();
}

static const struct httpserv_ops http_ops = {
    .begin = http_begin_cb,
    .request = http_request_cb,
    .done = http_done_cb,
    .conn = http_conn_cb,
};

/*
 * The worker's HTTP server: the answers, the layer with the frontend's
 * methods and caps, and the use deadline (pending.c).  Its listening
 * socket is the caller's to add (httpserv_listen).
 */
struct httpserv *
http_setup(struct wstate *ws)
{
	static const struct httpserv_config cf = {
	    .methods = HTTPSERV_M(HTTPPARSE_GET) | HTTPSERV_M(HTTPPARSE_HEAD),
	    .allow = "GET, HEAD",
	    .body_max = HTTP_BODY_MAX,
	    .content_type = HTTP_CONTENT_TYPE,
	};
	char location[FRONTEND_URL_MAX + 16];
	struct httpserv *http;
	int i;

	hs = ws;
	if (pending_init(ws, ws->conf->request_timeout_ms, http_use_expired) ==
	        -1 ||
	    (http = httpserv_new(ws->base, &cf, &http_ops, NULL)) == NULL)
		return NULL;
	snprintf(location, sizeof(location), "Location: %s\r\n",
	         ws->conf->dashboard_url);
	for (i = 0; i < A_COUNT; i++)
		if (httpserv_answer_init(
		        &http_answers[i], http, http_texts[i].code, NULL,
		        i == A_DASHBOARD
		            ? location
		            : (http_texts[i].retry ? HTTP_RETRY_AFTER : NULL),
		        http_texts[i].text, strlen(http_texts[i].text)) == -1) {
			httpserv_free(http);
			return NULL;
		}
	return http;
}
