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
 * that the HTTP layer of common/ (httpserv.h) hands it (thin handlers:
 * check the input, then a core function formats the answer into a
 * buffer, or, for /api/history, a cursor writes it as the client reads);
 * dashboard.c starts it all.
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

#include "core.h"
#include "mockres.pb-c.h"

#define DASH_LISTEN_DEFAULT "127.0.0.1:4001"
#define DASH_KEEPALIVE_MS   15000 /* an SSE comment after this much quiet */
#define DASH_HTTP_MS        200   /* asking for the merged HTTP stats */
#define DASH_STALL_MS       1000  /* no push this long: "not answering" */
/*
 * glibc serves an allocation below its mmap threshold from the heap, and
 * gives heap memory back only from the heap's top: what clients took
 * (the HTTP layer's 16 and 64 KiB buffers, formatted answers), freed
 * under something still live, stays resident.  And its threshold moves
 * up to the largest block freed (up to 32 MB), so that, once a 2.8 MB
 * answer was freed, every later one came from the heap too (issue 21:
 * 311 MB stayed after 100 clients left).  A fixed threshold of 16 KiB
 * (which also stops it moving) gives each such block its own mapping,
 * unmapped when freed; the heap keeps the small, long-lived things.
 */
#define DASH_MMAP_THRESHOLD (16 << 10)

/*
 * A streamed answer's record (an event stream, an /api/history being
 * written): the HTTP layer gives it back, as the request's cookie, when
 * the answer ends or its connection goes, and DONE frees it.
 */
struct dash_stream {
	void (*done)(struct dash_stream *);
};

/* sse.c: the browsers on GET /events. */
#define SSE_CLIENTS_MAX 1024        /* past it: 503 with Retry-After */
#define SSE_OUTPUT_MAX  (128 << 10) /* a browser this far behind is dropped */
#define SSE_RING_MAX    4096        /* events kept, at most */

struct sse_client;
struct httpserv_conn;
struct sse {
	TAILQ_HEAD(, sse_client) clients;
	size_t n;
	uint64_t dropped;
	double last_ms;
	/*
	 * The last events, shared by every stream: each is written to a
	 * browser's socket from here as that browser takes it.  At least
	 * SSE_OUTPUT_MAX bytes of them are kept (fewer at first), so a
	 * browser whose next event is gone is that far behind.
	 */
	struct refbuf *ring[SSE_RING_MAX];
	uint64_t ring_end[SSE_RING_MAX]; /* bytes of the stream through it */
	uint64_t seq;                    /* events ever added */
	size_t nring;
};

void sse_init(struct sse *);
/*
 * Starts the event stream answering request C, TICKET (COOKIE: the
 * request's, for the stream's record) with FIRST at once.  Returns 0
 * (started, or the request is gone), or -1 when SSE_CLIENTS_MAX streams
 * are open or memory is short: the caller answers.
 */
int sse_open(struct sse *, struct httpserv_conn *c, uint32_t ticket,
             uint64_t *cookie, struct refbuf *first);
void sse_broadcast(struct sse *, struct refbuf *);
void sse_keepalive(struct sse *);
void sse_close_all(struct sse *);
void sse_free(struct sse *);

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

/* web.c: the HTTP surface, on common/httpserv. */
#define WEB_TIMEOUT_MS 30000      /* a request's head; output not moving */
#define WEB_BODY_MAX   4096       /* of a request: 413 past it */
#define WEB_OUTPUT_MAX (32 << 20) /* answers held unsent: 503 past it */
#define WEB_PIECE      8192       /* of /api/history, written at once */
/* A fixed kernel buffer per connection (no autotuning up to 4 MB on
 * loopback; the kernel doubles it) bounds what a client that does not
 * read costs the kernel, and lets the event stream's cap see it soon. */
#define WEB_SNDBUF (64 << 10)

struct web_history;
struct web {
	struct httpserv *srv;
	struct evbuffer *buf;                /* an answer being formatted */
	TAILQ_HEAD(, web_history) histories; /* being written */
	struct ratelog cut_log;
	char piece[WEB_PIECE];
};

/* Serves the listening socket FD (LISTEN: its address, for the logs).
 * Returns 0 or -1. */
int web_init(struct dash *, int fd, const char *listen);
void web_free(struct dash *);

/* The dashboard: everything above, in one object. */
struct dash {
	struct event_base *base;
	struct feed feed;
	struct history history;
	struct traffic traffic;
	struct runs runs;
	struct sse sse;
	struct web web;
};

/* page_*.c (generated at build time from index.html, app.js, app.css). */
extern const unsigned char page_html[], page_js[], page_css[];
extern const size_t page_html_len, page_js_len, page_css_len;

#endif
