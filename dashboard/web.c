/*
 * web.c: the HTTP surface of the dashboard (docs/design.md), on the HTTP
 * layer of common/ (httpserv.h), which refuses what is not HTTP/1.1 as
 * RFC 9112 has it (400, 505, 413, with the connection closed) before a
 * request gets here:
 *   GET /            the page, embedded at build time, with its script
 *                    (/app.js) and style sheet (/app.css): the CSP allows
 *                    no inline script or style
 *   GET /events      Server-Sent Events, one snapshot per watch push
 *                    (sse.c)
 *   GET /api/stats   a snapshot, with every field
 *   GET /api/history ?seconds=N (1..600, default 600) &step=MS (20..60000,
 *                    default 20) &format=objects|columns (default objects),
 *                    written as the client reads it (history_cursor)
 *   GET /api/runs    the run in progress and the last 50, newest first
 *                    (&format=csv: the runs as CSV)
 *   GET, POST, DELETE /api/guess  the guess for the next run
 *   GET /metrics     Prometheus text
 * HEAD wherever GET goes; other methods 405 with the route's Allow (the
 * connection closes if the request carried a body); "OPTIONS *" 200;
 * anything else 404.  A POST's body is refused from its head when it can
 * be (web_check), before the layer waits for it or says 100 Continue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "dashboard.h"
#include "httpserv.h"
#include "log.h"
#include "parse.h"

#define WEB_QUERY_MAX 64 /* bytes of a query key or value, decoded */

#define WEB_NOSNIFF "X-Content-Type-Options: nosniff\r\n"

/* The page's: no inline script or style, nothing from elsewhere. */
#define WEB_CSP                                                                \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"connect-src 'self'; img-src data:; base-uri 'none'; "                 \
	"form-action 'none'; frame-ancestors 'none'"

static const char web_asset_fields[] =
    "Cache-Control: no-cache\r\n"
    "Content-Security-Policy: " WEB_CSP "\r\n" WEB_NOSNIFF;

static const char web_json_fields[] = "Cache-Control: no-store\r\n" WEB_NOSNIFF;

/* An /api/history being written: the request's cookie points here. */
struct web_history {
	struct dash_stream stream; /* first */
	TAILQ_ENTRY(web_history) entry;
	struct dash *d;
	struct httpserv_conn *conn;
	struct history_cursor cur;
};

/* The routes; each allows GET and HEAD, /api/guess POST and DELETE too. */
enum web_route {
	R_PAGE,
	R_JS,
	R_CSS,
	R_EVENTS,
	R_STATS,
	R_HISTORY,
	R_RUNS,
	R_GUESS,
	R_METRICS,
	R_NONE,
};

static const struct {
	const char *path;
	enum web_route route;
} web_paths[] = {
    {"/", R_PAGE},         {"/app.js", R_JS},       {"/app.css", R_CSS},
    {"/events", R_EVENTS}, {"/api/stats", R_STATS}, {"/api/history", R_HISTORY},
    {"/api/runs", R_RUNS}, {"/api/guess", R_GUESS}, {"/metrics", R_METRICS},
};

static enum web_route
web_route_of(const struct httpparse_req *h)
{
	size_t i, n;

	for (i = 0; i < sizeof(web_paths) / sizeof(web_paths[0]); i++) {
		n = strlen(web_paths[i].path);
		if (h->path_len == n &&
		    memcmp(h->target, web_paths[i].path, n) == 0)
			return web_paths[i].route;
	}
	return R_NONE;
}

/* Answers a one-line TEXT (a newline added) with CODE. */
static void
web_text(const struct httpserv_request *r, int code, const char *fields,
         const char *text)
{
	char body[512], all[HTTPSERV_FIELDS_MAX];
	int n = snprintf(body, sizeof(body), "%s\n", text);

	snprintf(all, sizeof(all), "%s" WEB_NOSNIFF, fields ? fields : "");
	(void)httpserv_reply_body(
	    r->conn, r->ticket, code, "text/plain", all, body,
	    n < (int)sizeof(body) ? (size_t)n : sizeof(body) - 1);
}

/* Answers B (then emptied) as CTYPE with FIELDS. */
static void
web_buf(struct dash *d, const struct httpserv_request *r, const char *ctype,
        const char *fields)
{
	struct evbuffer *b = d->web.buf;
	size_t len = evbuffer_get_length(b);
	const void *p = evbuffer_pullup(b, -1);

	if (p == NULL && len > 0)
		web_text(r, 500, NULL, "out of memory");
	else
		(void)httpserv_reply_body(r->conn, r->ticket, 200, ctype,
		                          fields, p, len);
	evbuffer_drain(b, len);
}

/* A file embedded at build time: the page, its script, its style. */
static void
web_asset(const struct httpserv_request *r, const unsigned char *data,
          size_t len, const char *ctype)
{
	(void)httpserv_reply_body(r->conn, r->ticket, 200, ctype,
	                          web_asset_fields, data, len);
}

/* The value of hex digit C, or -1. */
static int
web_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The next "key=value" of the query at *Q (up to END) into KEY and VAL,
 * %XX and '+' decoded.  Returns 1, 0 at the end, -1 if it is malformed
 * (no '=', an empty key, a bad escape, too long).
 */
static int
web_query_next(const char **q, const char *end, char *key, char *val)
{
	char *out = key;
	size_t n = 0;
	int in_val = 0;
	const char *p = *q;

	if (p >= end)
		return 0;
	for (; p < end && *p != '&'; p++) {
		char ch = *p;

		if (ch == '=' && !in_val) {
			out[n] = '\0';
			if (n == 0)
				return -1;
			out = val;
			n = 0;
			in_val = 1;
			continue;
		}
		if (ch == '+')
			ch = ' ';
		else if (ch == '%') {
			int hi, lo;

			if (end - p < 3 || (hi = web_hex(p[1])) < 0 ||
			    (lo = web_hex(p[2])) < 0 || (hi | lo) == 0)
				return -1;
			ch = (char)(hi << 4 | lo);
			p += 2;
		}
		if (n + 1 >= WEB_QUERY_MAX)
			return -1;
		out[n++] = ch;
	}
	out[n] = '\0';
	*q = p < end ? p + 1 : p;
	return in_val ? 1 : -1;
}

/* The query of H (after '?', up to '#'), as [*Q, *END). */
static void
web_query(const struct httpparse_req *h, const char **q, const char **end)
{
	const char *t = h->target, *e = h->target + h->target_len;

	*q = *end = e;
	if (h->path_len < h->target_len && t[h->path_len] == '?') {
		*q = t + h->path_len + 1;
		*end = memchr(*q, '#', (size_t)(e - *q));
		if (*end == NULL)
			*end = e;
	}
}

static void
web_bad_query(const struct httpserv_request *r, const char *why)
{
	char body[256];

	snprintf(body, sizeof(body), "bad query: %s", why);
	web_text(r, 400, NULL, body);
}

static void
web_stats(struct dash *d, const struct httpserv_request *r)
{
	struct snapshot_extra x;

	x.t_ms = clock_now_ms();
	x.answering = d->feed.answering;
	x.http = d->traffic.valid ? d->traffic.json : NULL;
	x.runs = &d->runs;
	snapshot_json(d->web.buf, &d->feed.stats, d->feed.connected,
	              &d->feed.avg, &d->feed.procs, &x);
	evbuffer_add(d->web.buf, "\n", 1);
	web_buf(d, r, "application/json", web_json_fields);
}

/* The layer is done with an /api/history: free its cursor. */
static void
web_history_done(struct dash_stream *s)
{
	struct web_history *wh = (struct web_history *)s;

	TAILQ_REMOVE(&wh->d->web.histories, wh, entry);
	free(wh);
}

/*
 * The next piece of an /api/history (the layer calls it as the client
 * drains the answer).  A reader too slow for the history's slack cannot
 * have the answer whole: its connection is closed without the answer's
 * end (no last chunk), so it knows.
 */
static int
web_history_fill(void *arg, struct httpserv_conn *c)
{
	struct web_history *wh = arg;
	struct web *w = &wh->d->web;
	uint64_t more;
	long n;

	n = history_cursor_read(&wh->cur, &wh->d->history, w->piece,
	                        sizeof(w->piece));
	if (n > 0) {
		(void)httpserv_stream_write(c, w->piece, (size_t)n);
		return 1;
	}
	if (n == 0)
		return 0;
	if (ratelog_allow(&w->cut_log, clock_now_ms(), &more))
		log_info("cut an /api/history answer short: its client read "
		         "it for more than %d s, and the history moved on "
		         "(%llu more not logged)",
		         HISTORY_SLACK_S, (unsigned long long)more);
	httpserv_close(c); /* web_history_done */
	return 0;
}

static void
web_history(struct dash *d, struct httpserv_request *r)
{
	enum history_format fmt = HISTORY_OBJECTS;
	uint64_t seconds = HISTORY_WINDOW_S, step = DASH_WATCH_MS;
	char key[WEB_QUERY_MAX], val[WEB_QUERY_MAX];
	const char *q, *end;
	struct web_history *wh;
	int k, bad = 0;

	web_query(r->head, &q, &end);
	while (!bad && (k = web_query_next(&q, end, key, val)) != 0) {
		if (k == 1 && strcmp(key, "seconds") == 0)
			bad =
			    parse_u64(val, 1, HISTORY_WINDOW_S, &seconds) == -1;
		else if (k == 1 && strcmp(key, "step") == 0)
			bad = parse_u64(val, DASH_WATCH_MS, HISTORY_STEP_MAX,
			                &step) == -1;
		else if (k == 1 && strcmp(key, "format") == 0 &&
		         strcmp(val, "objects") == 0)
			fmt = HISTORY_OBJECTS;
		else if (k == 1 && strcmp(key, "format") == 0 &&
		         strcmp(val, "columns") == 0)
			fmt = HISTORY_COLUMNS;
		else
			bad = 1;
	}
	if (bad) {
		web_bad_query(r, "/api/history takes seconds=1..600, "
		                 "step=20..60000 (ms) and "
		                 "format=objects|columns");
		return;
	}
	if (r->head->method == HTTPPARSE_HEAD) {
		(void)httpserv_stream_start(r->conn, r->ticket, 200,
		                            "application/json",
		                            web_json_fields);
		return;
	}
	if ((wh = malloc(sizeof(*wh))) == NULL) {
		web_text(r, 500, NULL, "out of memory");
		return;
	}
	if (httpserv_stream_start(r->conn, r->ticket, 200, "application/json",
	                          web_json_fields) == -1) {
		free(wh); /* the layer answered (its output budget), or gone */
		return;
	}
	history_cursor_start(&wh->cur, &d->history, clock_now_ms(),
	                     (unsigned)seconds, (unsigned)step, fmt);
	wh->stream.done = web_history_done;
	wh->d = d;
	wh->conn = r->conn;
	TAILQ_INSERT_TAIL(&d->web.histories, wh, entry);
	*r->cookie = (uint64_t)(uintptr_t)wh;
	httpserv_stream_producer(r->conn, web_history_fill, wh);
}

static void
web_runs(struct dash *d, const struct httpserv_request *r)
{
	char key[WEB_QUERY_MAX], val[WEB_QUERY_MAX];
	const char *q, *end;
	int k, bad = 0, csv = 0;

	web_query(r->head, &q, &end);
	while ((k = web_query_next(&q, end, key, val)) != 0) {
		if (k == 1 && strcmp(key, "format") == 0 &&
		    strcmp(val, "csv") == 0)
			csv = 1;
		else if (k == -1 || strcmp(key, "format") != 0 ||
		         strcmp(val, "json") != 0)
			bad = 1;
	}
	if (bad) {
		web_bad_query(r, "/api/runs takes format=json or format=csv");
		return;
	}
	if (!csv) {
		runs_json(d->web.buf, &d->runs);
		web_buf(d, r, "application/json", web_json_fields);
		return;
	}
	runs_csv(d->web.buf, &d->runs);
	web_buf(d, r, "text/csv; charset=utf-8; header=present",
	        "Content-Disposition: attachment; "
	        "filename=\"mockres-runs.csv\"\r\n"
	        "Cache-Control: no-store\r\n" WEB_NOSNIFF);
}

/* No Origin (curl, a script), or the dashboard's own: "http://" or
 * "https://" and the Host the request was sent to. */
static int
web_same_origin(const struct httpparse_req *h)
{
	size_t olen, hlen;
	const char *origin = httpparse_field(h, "Origin", &olen);
	const char *host = h->host;

	if (origin == NULL)
		return 1;
	hlen = host != NULL ? h->host_len : 0;
	if (hlen == 0)
		return 0;
	if (olen > 7 && strncasecmp(origin, "http://", 7) == 0) {
		origin += 7;
		olen -= 7;
	} else if (olen > 8 && strncasecmp(origin, "https://", 8) == 0) {
		origin += 8;
		olen -= 8;
	} else
		return 0;
	return olen == hlen && strncasecmp(origin, host, hlen) == 0;
}

static int
web_is_json(const struct httpparse_req *h)
{
	size_t len, n = sizeof("application/json") - 1;
	const char *ct = httpparse_field(h, "Content-Type", &len);

	return ct != NULL && len >= n &&
	       strncasecmp(ct, "application/json", n) == 0 &&
	       (len == n || ct[n] == ';' || ct[n] == ' ');
}

/* The guess as JSON (or null), with a newline. */
static void
web_guess_reply(struct dash *d, const struct httpserv_request *r,
                const struct guess *g)
{
	guess_json(d->web.buf, g);
	evbuffer_add(d->web.buf, "\n", 1);
	web_buf(d, r, "application/json", web_json_fields);
}

/*
 * What refuses a POSTed guess from its head alone: a foreign Origin, a
 * type other than JSON, a body over GUESS_BODY_MAX.  Answers R and
 * returns 1, or returns 0.  The refusals close the connection.
 */
static int
web_guess_refuse(const struct httpserv_request *r)
{
	const struct httpparse_req *h = r->head;
	const char *why;
	int code;

	if (!web_same_origin(h)) {
		code = 403;
		why = "a guess is taken only from the dashboard's own page "
		      "(the Origin must be this server)";
	} else if (!web_is_json(h)) {
		code = 415;
		why = "a guess is sent as Content-Type: application/json";
	} else if (h->content_length > GUESS_BODY_MAX) {
		code = 413;
		why = "a guess is at most 1024 bytes";
	} else
		return 0;
	(void)httpserv_close_after_reply(r->conn, r->ticket);
	web_text(r, code, NULL, why);
	return 1;
}

/* POST: checks, then keeps the guess for the next run that begins. */
static void
web_guess_post(struct dash *d, const struct httpserv_request *r)
{
	char why[160], body[224];
	struct guess g;

	if (web_guess_refuse(r))
		return;
	if (guess_parse(&g, r->body ? r->body : "", r->body_len, why,
	                sizeof(why)) == -1) {
		snprintf(body, sizeof(body), "bad guess: %s", why);
		web_text(r, 400, NULL, body);
		return;
	}
	runs_guess_set(&d->runs, &g);
	web_guess_reply(d, r, &d->runs.guess);
}

static void
web_guess(struct dash *d, const struct httpserv_request *r)
{
	switch (r->head->method) {
	case HTTPPARSE_POST:
		web_guess_post(d, r);
		break;
	case HTTPPARSE_DELETE:
		if (!web_same_origin(r->head)) {
			web_text(r, 403, NULL,
			         "a guess is dropped only from the dashboard's "
			         "own page");
			return;
		}
		runs_guess_clear(&d->runs);
		web_guess_reply(d, r, NULL);
		break;
	default:
		web_guess_reply(d, r, &d->runs.guess);
		break;
	}
}

static void
web_metrics(struct dash *d, const struct httpserv_request *r)
{
	metrics_format(d->web.buf, &d->feed.stats, d->feed.connected,
	               &d->feed.procs, d->sse.n, d->sse.dropped);
	metrics_engine(d->web.buf, &d->feed.stats);
	metrics_http(d->web.buf, &d->traffic);
	web_buf(d, r, "text/plain; version=0.0.4; charset=utf-8", WEB_NOSNIFF);
}

static void
web_events(struct dash *d, struct httpserv_request *r)
{
	char body[128];

	if (r->head->method == HTTPPARSE_HEAD) {
		(void)httpserv_stream_start(r->conn, r->ticket, 200,
		                            "text/event-stream",
		                            "Cache-Control: no-cache\r\n");
		return;
	}
	if (sse_open(&d->sse, r->conn, r->ticket, r->cookie, d->feed.snap) == 0)
		return;
	log_warnx("refused a browser on the event stream: %zu already "
	          "(the most is %d)",
	          d->sse.n, SSE_CLIENTS_MAX);
	snprintf(body, sizeof(body),
	         "too many browsers on the event stream (%d); try again later",
	         SSE_CLIENTS_MAX);
	web_text(r, 503, "Retry-After: 5\r\n", body);
}

/*
 * A method ROUTE does not take: 405 with its Allow, or, for "OPTIONS *",
 * 200 with what the server takes.  Returns 1 if it answered.  A request
 * that carried a body is answered with "Connection: close".
 */
static int
web_method(const struct httpserv_request *r, enum web_route route)
{
	const struct httpparse_req *h = r->head;
	int guess = route == R_GUESS;
	char fields[128];

	if (h->method == HTTPPARSE_GET || h->method == HTTPPARSE_HEAD ||
	    (guess &&
	     (h->method == HTTPPARSE_POST || h->method == HTTPPARSE_DELETE)))
		return 0;
	if (h->method == HTTPPARSE_OPTIONS && h->target_len == 1 &&
	    h->target[0] == '*') {
		(void)httpserv_reply_body(r->conn, r->ticket, 200, NULL,
		                          "Allow: GET, HEAD\r\n", "", 0);
		return 1;
	}
	snprintf(fields, sizeof(fields), "Allow: %s\r\n",
	         guess ? "GET, HEAD, POST, DELETE" : "GET, HEAD");
	if (h->content_length > 0)
		(void)httpserv_close_after_reply(r->conn, r->ticket);
	web_text(r, 405, fields,
	         guess ? "method not allowed here: use one the Allow field "
	                 "lists"
	               : "method not allowed: use GET or HEAD");
	return 1;
}

/* The layer's check of a head whose body has not come: everything that
 * refuses it from the head alone, before any 100 Continue. */
static void
web_check(void *arg, struct httpserv_request *r)
{
	enum web_route route = web_route_of(r->head);

	if (!web_method(r, route) && route == R_GUESS &&
	    r->head->method == HTTPPARSE_POST)
		(void)web_guess_refuse(r);
}

static void
web_request(void *arg, struct httpserv_request *r)
{
	struct dash *d = arg;
	enum web_route route = web_route_of(r->head);

	if (web_method(r, route))
		return;
	switch (route) {
	case R_PAGE:
		web_asset(r, page_html, page_html_len,
		          "text/html; charset=utf-8");
		break;
	case R_JS:
		web_asset(r, page_js, page_js_len,
		          "text/javascript; charset=utf-8");
		break;
	case R_CSS:
		web_asset(r, page_css, page_css_len, "text/css; charset=utf-8");
		break;
	case R_EVENTS:
		web_events(d, r);
		break;
	case R_STATS:
		web_stats(d, r);
		break;
	case R_HISTORY:
		web_history(d, r);
		break;
	case R_RUNS:
		web_runs(d, r);
		break;
	case R_GUESS:
		web_guess(d, r);
		break;
	case R_METRICS:
		web_metrics(d, r);
		break;
	default:
		web_text(r, 404, NULL,
		         "not found: the dashboard serves /, /events, "
		         "/api/stats, /api/history, /api/runs, /api/guess "
		         "and /metrics");
		break;
	}
}

/* A streamed answer ended, or its connection went: its record goes. */
static void
web_done(void *arg, uint64_t cookie, int code, int written)
{
	struct dash_stream *s = (struct dash_stream *)(uintptr_t)cookie;

	if (s != NULL)
		s->done(s);
}

static const struct httpserv_ops web_ops = {
    .request = web_request,
    .done = web_done,
    .check = web_check,
};

int
web_init(struct dash *d, int fd, const char *listen)
{
	/* Every method reaches web_request, which answers 405 with the
	 * route's Allow (the layer's would name one for every route). */
	static const struct httpserv_config cf = {
	    .methods = ~0u,
	    .allow = "GET, HEAD",
	    .body_max = WEB_BODY_MAX,
	    .content_type = "text/plain",
	    .head_ms = WEB_TIMEOUT_MS,
	    .io_ms = WEB_TIMEOUT_MS,
	    .output_max = WEB_OUTPUT_MAX,
	    .sndbuf = WEB_SNDBUF,
	};
	char what[96];

	TAILQ_INIT(&d->web.histories);
	if ((d->web.buf = evbuffer_new()) == NULL ||
	    (d->web.srv = httpserv_new(d->base, &cf, &web_ops, d)) == NULL)
		return -1;
	snprintf(what, sizeof(what), "HTTP on %s", listen);
	return httpserv_listen(d->web.srv, fd, what);
}

void
web_free(struct dash *d)
{
	struct web_history *wh;

	sse_close_all(&d->sse);
	while ((wh = TAILQ_FIRST(&d->web.histories)) != NULL)
		httpserv_close(wh->conn); /* web_history_done */
	httpserv_free(d->web.srv);
	d->web.srv = NULL;
	if (d->web.buf != NULL)
		evbuffer_free(d->web.buf);
	d->web.buf = NULL;
}
