/*
 * dashboard.h: mockres-dashboard, the map.
 *
 * One object, struct dash (below), made in main() and passed to every
 * part; no part keeps state of its own in file statics.
 *
 * The parts that keep and format the data are in core.h (the
 * dashboard_core library); they know nothing of this file.  Above them:
 * one watch stream from mockresd comes in (feed.c, every 20 ms); the feed
 * hands each push down to the rolling average, the process table and the
 * history, formats it once as a JSON snapshot into a reference-counted
 * buffer (refbuf.c), and sse.c writes those same bytes to every browser.
 * Every DASH_HTTP_MS the feed also asks mockresd for the frontend
 * workers' merged HTTP stats and hands them to traffic.c, then, with the
 * latest push and the history, to runs.c.  web.c routes the requests
 * (thin handlers: check the input, then a core function formats the
 * answer into a buffer); dashboard.c starts it all.
 *
 * Memory policy: allocation failure during a request fails that request
 * (500) or drops that browser; at start-up it is fatal.
 */
#ifndef MOCKRES_DASHBOARD_H
#define MOCKRES_DASHBOARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "core.h"
#include "mockres.pb-c.h"

#define DASH_LISTEN_DEFAULT "127.0.0.1:4001"
#define DASH_KEEPALIVE_MS   15000 /* an SSE comment after this much quiet */
#define DASH_HTTP_MS        200   /* asking for the merged HTTP stats */
#define DASH_STALL_MS       1000  /* no push this long: "not answering" */

/* sse.c: the browsers on GET /events. */
#define SSE_CLIENTS_MAX 1024        /* past it: 503 with Retry-After */
#define SSE_OUTPUT_MAX  (128 << 10) /* a browser this far behind is dropped */

struct sse_client;
struct sse {
	TAILQ_HEAD(, sse_client) clients;
	size_t n;
	uint64_t dropped;
	double last_ms;
};

void sse_init(struct sse *);
int sse_open(struct sse *, struct evhttp_request *, struct refbuf *first);
void sse_broadcast(struct sse *, struct refbuf *);
void sse_keepalive(struct sse *);
void sse_close_all(struct sse *);

/* feed.c: the watch on mockresd and what each push becomes. */
struct feed {
	struct mrclient *mc;
	Mockres__Stats stats; /* the last push, without its clients */
	Mockres__Model model; /* copies of its parts, owned here */
	Mockres__Percentiles wait_ms, service_ms;
	struct model mdl; /* the model decoded, when have_mdl */
	int have_mdl;
	char host[RUN_HOST_LEN]; /* this machine's name */
	char preset[64];
	int connected;
	int answering; /* a push came within DASH_STALL_MS */
	int reported_down;
	int reported_stall;
	/* mockresd refused the watch every DASH_WATCH_MS with the client
	 * list (a peer it does not trust): every
	 * MOCKRES_WATCH_UNTRUSTED_MIN_MS without it */
	int limited;
	int reported_limited;
	uint64_t watch_id;
	struct average avg;
	struct procs procs;
	struct refbuf *snap;   /* the latest snapshot */
	struct event *slow;    /* every DASH_SLOW_MS */
	struct event *http_ev; /* every DASH_HTTP_MS */
	int http_pending;
	uint64_t http_gen; /* traffic.gen in the last snapshot */
	uint64_t last_push_ms;
	struct evbuffer *json;
};

struct dash;
struct tlsconf;
/* TARGET: mockresd's address; TLS: its TLS side (NULL for a Unix socket),
 * kept by the caller while the feed lives. */
void feed_init(struct dash *, const char *target, const struct tlsconf *tls);
void feed_free(struct dash *);

/* web.c: the HTTP surface. */
struct evconnlistener;
int web_init(struct dash *, struct evconnlistener *);
void web_free(struct dash *);

/* The dashboard: everything above, in one object. */
struct dash {
	struct event_base *base;
	struct feed feed;
	struct history history;
	struct traffic traffic;
	struct runs runs;
	struct sse sse;
	struct evhttp *web;
};

/* page_*.c (generated at build time from index.html, app.js, app.css). */
extern const unsigned char page_html[], page_js[], page_css[];
extern const size_t page_html_len, page_js_len, page_css_len;

#endif
