/*
 * sse.c: the browsers on GET /events (Server-Sent Events).
 *
 * Every snapshot is formatted once (snap.c); here each browser's output
 * buffer gets a reference to those same bytes.  Caps:
 * - SSE_CLIENTS_MAX streams at once; one more is answered 503 with
 *   Retry-After, and EventSource tries again by itself;
 * - a browser whose output buffer passes SSE_OUTPUT_MAX (it reads slower
 *   than we write, or vanished without a FIN) is disconnected, so it never
 *   slows the others or grows our memory; it reconnects if it is alive.
 *
 * Ownership (libevent 2.1, http.c): while we stream, the request is ours.
 * If the peer goes away, libevent detaches the request from the
 * connection (evcon = NULL) before the close callback runs, and
 * evhttp_send_reply_end then frees it; if we free the connection
 * ourselves, the connection frees the still-attached request.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "dashboard.h"
#include "log.h"

#define SSE_WRITE_TIMEOUT_S 30 /* a browser that takes nothing this long */

struct sse_client {
	TAILQ_ENTRY(sse_client) entry;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
};

static TAILQ_HEAD(,
                  sse_client) sse_clients = TAILQ_HEAD_INITIALIZER(sse_clients);
static size_t sse_n;
static uint64_t sse_ndropped;
static struct evbuffer *sse_scratch;
static double sse_last_ms;

void
sse_init(struct event_base *base)
{
	if ((sse_scratch = evbuffer_new()) == NULL)
		fatalx("sse: out of memory");
}

size_t
sse_count(void)
{
	return sse_n;
}

uint64_t
sse_dropped(void)
{
	return sse_ndropped;
}

static void
sse_closed(struct evhttp_connection *evcon, void *arg)
{
	struct sse_client *c = arg;

	TAILQ_REMOVE(&sse_clients, c, entry);
	sse_n--;
	if (evhttp_request_get_connection(c->req) == NULL)
		evhttp_send_reply_end(c->req); /* frees the detached request */
	log_debug("event stream closed, %zu left", sse_n);
	free(c);
}

static void
sse_drop(struct sse_client *c, const char *why)
{
	sse_ndropped++;
	log_debug("dropping a browser on the event stream: %s", why);
	evhttp_connection_free(c->evcon); /* runs sse_closed */
}

/* Sends SN (or, if NULL, a keepalive comment) to C. */
static void
sse_send(struct sse_client *c, struct snap *sn)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);

	if (evbuffer_get_length(bufferevent_get_output(bev)) > SSE_OUTPUT_MAX) {
		sse_drop(c, "too far behind");
		return;
	}
	if (sn != NULL) {
		if (snap_add_event(sn, sse_scratch) == -1) {
			sse_drop(c, "out of memory");
			return;
		}
	} else
		evbuffer_add(sse_scratch, ": keepalive\n\n", 13);
	evhttp_send_reply_chunk(c->req, sse_scratch);
	evbuffer_drain(sse_scratch, evbuffer_get_length(sse_scratch));
}

/*
 * Starts an event stream on REQ and sends FIRST at once.  Returns -1 when
 * SSE_CLIENTS_MAX streams are open or memory is short: the caller answers.
 */
int
sse_open(struct evhttp_request *req, struct snap *first)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct timeval wtv = {SSE_WRITE_TIMEOUT_S, 0};
	struct sse_client *c;
	struct bufferevent *bev;

	if (sse_n >= SSE_CLIENTS_MAX)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->req = req;
	c->evcon = evhttp_request_get_connection(req);

	/* An HTTP/1.0 keep-alive request would get Content-Length: 0. */
	evhttp_remove_header(evhttp_request_get_input_headers(req),
	                     "Connection");
	evhttp_add_header(out, "Content-Type", "text/event-stream");
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");

	/* A stream is quiet inbound: no read timeout, a write one only. */
	bev = evhttp_connection_get_bufferevent(c->evcon);
	bufferevent_set_timeouts(bev, NULL, &wtv);

	evhttp_connection_set_closecb(c->evcon, sse_closed, c);
	TAILQ_INSERT_TAIL(&sse_clients, c, entry);
	sse_n++;
	log_debug("event stream opened, %zu now", sse_n);

	evbuffer_add(sse_scratch, "retry: 1000\n\n", 13);
	evhttp_send_reply_chunk(req, sse_scratch);
	if (first != NULL)
		sse_send(c, first);
	return 0;
}

void
sse_broadcast(struct snap *sn)
{
	struct sse_client *c, *next;

	for (c = TAILQ_FIRST(&sse_clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		sse_send(c, sn);
	}
	sse_last_ms = feed_now_ms();
}

/* A comment to every stream if nothing was sent for DASH_KEEPALIVE_MS. */
void
sse_keepalive(void)
{
	struct sse_client *c, *next;
	double now = feed_now_ms();

	if (now - sse_last_ms < DASH_KEEPALIVE_MS)
		return;
	for (c = TAILQ_FIRST(&sse_clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		sse_send(c, NULL);
	}
	sse_last_ms = now;
}

void
sse_close_all(void)
{
	while (!TAILQ_EMPTY(&sse_clients))
		evhttp_connection_free(TAILQ_FIRST(&sse_clients)->evcon);
	if (sse_scratch != NULL) {
		evbuffer_free(sse_scratch);
		sse_scratch = NULL;
	}
}
