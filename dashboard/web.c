/*
 * web.c: the HTTP surface of the dashboard (docs/design.md):
 *   GET /            the page, embedded at build time, with its script
 *                    (/app.js) and style sheet (/app.css): the CSP allows
 *                    no inline script or style
 *   GET /events      Server-Sent Events, one snapshot per watch push
 *   GET /api/stats   a snapshot, with every field
 *   GET /api/history ?seconds=N (1..600, default 600) &step=MS (20..60000,
 *                    default 20) &format=objects|columns (default objects)
 *   GET /api/runs    the run in progress and the last 50, newest first
 *   GET /metrics     Prometheus text
 * Anything else 404; every request first goes through httpreq_check
 * (bad heads 400 or 505, methods other than GET and HEAD 405).  Errors are
 * answered with evhttp_send_reply from the catch-all handler so a
 * keep-alive connection stays open (evhttp_send_error closes it).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "clock.h"
#include "dashboard.h"
#include "httpreq.h"
#include "log.h"
#include "parse.h"

#define WEB_TIMEOUT_S   30
#define WEB_MAX_HEADERS 8192
#define WEB_MAX_BODY    4096

static const char web_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

/* Answers REQ with BODY (moved out), or with TEXT if BODY is NULL. */
static void
web_reply(struct evhttp_request *req, int code, const char *reason,
          const char *ctype, struct evbuffer *body, const char *text)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = body;

	if (b == NULL && (b = evbuffer_new()) != NULL && text != NULL)
		evbuffer_add(b, text, strlen(text));
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	/* evhttp 2.1 would send the body of a HEAD reply too. */
	if (b != NULL &&
	    !httpreq_head_fields(req, ctype, evbuffer_get_length(b)))
		evbuffer_drain(b, evbuffer_get_length(b));
	evhttp_send_reply(req, code, reason, b);
	if (body == NULL && b != NULL)
		evbuffer_free(b);
}

/* A file embedded at build time: the page, its script, its style. */
static void
web_asset(struct evhttp_request *req, const unsigned char *data, size_t len,
          const char *ctype)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	if (b == NULL ||
	    evbuffer_add_reference(b, data, len, NULL, NULL) == -1) {
		if (b != NULL)
			evbuffer_free(b);
		web_reply(req, 500, "Internal Server Error", "text/plain", NULL,
		          "out of memory\n");
		return;
	}
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "Content-Security-Policy", web_csp);
	web_reply(req, 200, "OK", ctype, b, NULL);
	evbuffer_free(b);
}

/* A 500 for want of memory, and B freed. */
static void
web_oom(struct evhttp_request *req, struct evbuffer *b)
{
	if (b != NULL)
		evbuffer_free(b);
	web_reply(req, 500, "Internal Server Error", "text/plain", NULL,
	          "out of memory\n");
}

/* Answers a JSON body B (freed). */
static void
web_json(struct evhttp_request *req, struct evbuffer *b)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Cache-Control", "no-store");
	web_reply(req, 200, "OK", "application/json", b, NULL);
	evbuffer_free(b);
}

static void
web_stats(struct evhttp_request *req, struct dash *d)
{
	struct evbuffer *b = evbuffer_new();
	struct snapshot_extra x;

	if (b == NULL) {
		web_oom(req, b);
		return;
	}
	x.t_ms = clock_now_ms();
	x.answering = d->feed.answering;
	x.http = d->traffic.valid ? d->traffic.json : NULL;
	x.runs = &d->runs;
	snapshot_json(b, &d->feed.stats, d->feed.connected, &d->feed.avg,
	              &d->feed.procs, &x);
	if (evbuffer_add(b, "\n", 1) == -1) {
		web_oom(req, b);
		return;
	}
	web_json(req, b);
}

static void
web_bad_query(struct evhttp_request *req, const char *why)
{
	char body[256];

	snprintf(body, sizeof(body), "bad query: %s\n", why);
	web_reply(req, 400, "Bad Request", "text/plain", NULL, body);
}

static void
web_history(struct evhttp_request *req, struct dash *d)
{
	const char *q =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	struct evkeyval *kv;
	enum history_format fmt = HISTORY_OBJECTS;
	uint64_t seconds = HISTORY_WINDOW_S, step = DASH_WATCH_MS;
	struct evbuffer *b;
	int bad = 0;

	TAILQ_INIT(&params);
	if (q != NULL && evhttp_parse_query_str(q, &params) == -1) {
		web_bad_query(req, "cannot parse the query string");
		return;
	}
	TAILQ_FOREACH(kv, &params, next)
	{
		if (strcmp(kv->key, "seconds") == 0)
			bad = parse_u64(kv->value, 1, HISTORY_WINDOW_S,
			                &seconds) == -1;
		else if (strcmp(kv->key, "step") == 0)
			bad = parse_u64(kv->value, DASH_WATCH_MS,
			                HISTORY_STEP_MAX, &step) == -1;
		else if (strcmp(kv->key, "format") == 0) {
			if (strcmp(kv->value, "objects") == 0)
				fmt = HISTORY_OBJECTS;
			else if (strcmp(kv->value, "columns") == 0)
				fmt = HISTORY_COLUMNS;
			else
				bad = 1;
		} else
			bad = 1;
		if (bad)
			break;
	}
	evhttp_clear_headers(&params);
	if (bad) {
		web_bad_query(req, "/api/history takes seconds=1..600, "
		                   "step=20..60000 (ms) and "
		                   "format=objects|columns");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		web_oom(req, b);
		return;
	}
	history_json(b, &d->history, clock_now_ms(), (unsigned)seconds,
	             (unsigned)step, fmt);
	web_json(req, b);
}

static void
web_runs(struct evhttp_request *req, struct dash *d)
{
	const char *q =
	    evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq params;
	struct evkeyval *kv;
	struct evbuffer *b;
	int bad = 0, csv = 0;

	TAILQ_INIT(&params);
	if (q != NULL && evhttp_parse_query_str(q, &params) == -1)
		bad = 1;
	TAILQ_FOREACH(kv, &params, next)
	{
		if (strcmp(kv->key, "format") == 0 &&
		    strcmp(kv->value, "csv") == 0)
			csv = 1;
		else if (strcmp(kv->key, "format") != 0 ||
		         strcmp(kv->value, "json") != 0)
			bad = 1;
	}
	evhttp_clear_headers(&params);
	if (bad) {
		web_bad_query(req, "/api/runs takes format=json or format=csv");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		web_oom(req, b);
		return;
	}
	if (!csv) {
		runs_json(b, &d->runs);
		web_json(req, b);
		return;
	}
	runs_csv(b, &d->runs);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Disposition",
	                  "attachment; filename=\"mockres-runs.csv\"");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Cache-Control", "no-store");
	web_reply(req, 200, "OK", "text/csv; charset=utf-8; header=present", b,
	          NULL);
	evbuffer_free(b);
}

/* No Origin (curl, a script), or the dashboard's own: "http://" or
 * "https://" and the Host the request was sent to. */
static int
web_same_origin(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");
	const char *host = evhttp_find_header(in, "Host");
	const char *rest;

	if (origin == NULL)
		return 1;
	if (host == NULL || *host == '\0')
		return 0;
	if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return 0;
	return strcasecmp(rest, host) == 0;
}

static int
web_is_json(struct evhttp_request *req)
{
	const char *ct = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	size_t n = sizeof("application/json") - 1;

	return ct != NULL && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The guess as JSON (or null), with a newline. */
static void
web_guess_reply(struct evhttp_request *req, const struct guess *g)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		web_oom(req, b);
		return;
	}
	guess_json(b, g);
	evbuffer_add(b, "\n", 1);
	web_json(req, b);
}

/* POST: checks, then keeps the guess for the next run that begins. */
static void
web_guess_post(struct evhttp_request *req, struct dash *d)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char why[160], body[224];
	struct guess g;

	if (!web_same_origin(req)) {
		web_reply(req, 403, "Forbidden", "text/plain", NULL,
		          "a guess is taken only from the dashboard's own "
		          "page (the Origin must be this server)\n");
		return;
	}
	if (!web_is_json(req)) {
		web_reply(
		    req, 415, "Unsupported Media Type", "text/plain", NULL,
		    "a guess is sent as Content-Type: application/json\n");
		return;
	}
	if (len > GUESS_BODY_MAX) {
		httpreq_close_after(req);
		web_reply(req, 413, "Payload Too Large", "text/plain", NULL,
		          "a guess is at most 1024 bytes\n");
		return;
	}
	if (guess_parse(&g, (const char *)evbuffer_pullup(in, -1), len, why,
	                sizeof(why)) == -1) {
		snprintf(body, sizeof(body), "bad guess: %s\n", why);
		web_reply(req, 400, "Bad Request", "text/plain", NULL, body);
		return;
	}
	runs_guess_set(&d->runs, &g);
	web_guess_reply(req, &d->runs.guess);
}

static void
web_guess(struct evhttp_request *req, struct dash *d)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_POST:
		web_guess_post(req, d);
		break;
	case EVHTTP_REQ_DELETE:
		if (!web_same_origin(req)) {
			web_reply(req, 403, "Forbidden", "text/plain", NULL,
			          "a guess is dropped only from the "
			          "dashboard's own page\n");
			return;
		}
		runs_guess_clear(&d->runs);
		web_guess_reply(req, NULL);
		break;
	default:
		web_guess_reply(req, &d->runs.guess);
		break;
	}
}

static void
web_metrics(struct evhttp_request *req, struct dash *d)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		web_oom(req, b);
		return;
	}
	metrics_format(b, &d->feed.stats, d->feed.connected, &d->feed.procs,
	               d->sse.n, d->sse.dropped);
	metrics_engine(b, &d->feed.stats);
	metrics_http(b, &d->traffic);
	web_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b,
	          NULL);
	evbuffer_free(b);
}

static void
web_events(struct evhttp_request *req, struct dash *d)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char body[128];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		evhttp_add_header(h, "Cache-Control", "no-cache");
		web_reply(req, 200, "OK", "text/event-stream", NULL, NULL);
		return;
	}
	if (sse_open(&d->sse, req, d->feed.snap) == 0)
		return;
	log_warnx("refused a browser on the event stream: %zu already "
	          "(the most is %d)",
	          d->sse.n, SSE_CLIENTS_MAX);
	snprintf(body, sizeof(body),
	         "too many browsers on the event stream "
	         "(%d); try again later\n",
	         SSE_CLIENTS_MAX);
	evhttp_add_header(h, "Retry-After", "5");
	web_reply(req, 503, "Service Unavailable", "text/plain", NULL, body);
}

static void
web_route(struct evhttp_request *req, void *arg)
{
	struct dash *d = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const struct httpreq_answer *a;
	char line[160];

	if (path != NULL && strcmp(path, "/api/guess") == 0)
		a = httpreq_check_methods(req,
		                          EVHTTP_REQ_POST | EVHTTP_REQ_DELETE,
		                          "GET, HEAD, POST, DELETE");
	else
		a = httpreq_check(req);
	if (a != NULL) {
		snprintf(line, sizeof(line), "%s%s", a->text,
		         a->text[0] != '\0' ? "\n" : "");
		web_reply(req, a->code, a->reason, "text/plain", NULL, line);
		return;
	}
	if (path == NULL || *path == '\0' || strcmp(path, "/") == 0)
		web_asset(req, page_html, page_html_len,
		          "text/html; charset=utf-8");
	else if (strcmp(path, "/app.js") == 0)
		web_asset(req, page_js, page_js_len,
		          "text/javascript; charset=utf-8");
	else if (strcmp(path, "/app.css") == 0)
		web_asset(req, page_css, page_css_len,
		          "text/css; charset=utf-8");
	else if (strcmp(path, "/events") == 0)
		web_events(req, d);
	else if (strcmp(path, "/api/stats") == 0)
		web_stats(req, d);
	else if (strcmp(path, "/api/history") == 0)
		web_history(req, d);
	else if (strcmp(path, "/api/runs") == 0)
		web_runs(req, d);
	else if (strcmp(path, "/api/guess") == 0)
		web_guess(req, d);
	else if (strcmp(path, "/metrics") == 0)
		web_metrics(req, d);
	else
		web_reply(req, 404, "Not Found", "text/plain", NULL,
		          "not found: the dashboard serves /, /events, "
		          "/api/stats, /api/history, /api/runs, /api/guess "
		          "and /metrics\n");
}

int
web_init(struct dash *d, struct evconnlistener *l)
{
	const struct httpreq_limits limits = {WEB_TIMEOUT_S, WEB_MAX_HEADERS,
	                                      WEB_MAX_BODY, "text/plain"};

	if ((d->web = evhttp_new(d->base)) == NULL)
		return -1;
	httpreq_setup(d->web, &limits);
	evhttp_set_gencb(d->web, web_route, d);
	if (evhttp_bind_listener(d->web, l) == NULL)
		return -1;
	return 0;
}

void
web_free(struct dash *d)
{
	sse_close_all(&d->sse);
	if (d->web != NULL)
		evhttp_free(d->web);
	d->web = NULL;
}
