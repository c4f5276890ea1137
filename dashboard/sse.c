/*
 * sse.c: the browsers on GET /events (Server-Sent Events).
 *
 * Every snapshot is formatted once (refbuf.c) and kept in a ring of the
 * last events (struct sse); each browser has its place in that ring (the
 * number of the next event it needs) and takes the events from there as
 * its socket takes them: sse_fill copies them to the socket through the
 * HTTP layer (common/httpserv.h), at once when nothing is queued before
 * them, so that a browser that keeps up costs one sendmsg per event and
 * no buffer.  What the socket does not take waits in the layer's buffers,
 * at most about SSE_FILL of them a browser: the rest of its backlog is
 * the ring's shared bytes.  Caps:
 * - SSE_CLIENTS_MAX streams at once; one more is answered 503 with
 *   Retry-After, and EventSource tries again by itself;
 * - a browser whose backlog (events not yet taken, and bytes unsent)
 *   passes SSE_OUTPUT_MAX (it reads slower than we write, or vanished
 *   without a FIN) is disconnected, so it never slows the others or
 *   grows our memory; it reconnects if it is alive.  Only these count as
 *   dropped; a browser that leaves (FIN, reset, a write error) is just
 *   forgotten;
 * - a browser sends nothing once its stream started (EventSource never
 *   does): the stream is "quiet" (httpserv_stream_quiet), closed on the
 *   first byte that comes in, and nothing it sends is kept;
 * - the layer closes a stream whose output does not move for
 *   WEB_TIMEOUT_MS.
 *
 * A stream's record (struct sse_client) is the request's cookie: the
 * layer hands it back when the connection goes, however it goes, and
 * sse_done forgets it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dashboard.h"
#include "httpserv.h"
#include "log.h"

#define SSE_FILL (8 << 10) /* events a fill copies, about */

static const char sse_fields[] = "Cache-Control: no-cache\r\n"
                                 "X-Accel-Buffering: no\r\n"
                                 "X-Content-Type-Options: nosniff\r\n";

struct sse_client {
	struct dash_stream stream; /* first: the cookie points here */
	TAILQ_ENTRY(sse_client) entry;
	struct sse *sse;
	struct httpserv_conn *conn;
	uint64_t next; /* the number of the next event it needs */
};

void
sse_init(struct sse *sse)
{
	memset(sse, 0, sizeof(*sse));
	TAILQ_INIT(&sse->clients);
}

/* The number of the oldest event the ring holds. */
static uint64_t
sse_first(const struct sse *sse)
{
	return sse->seq - sse->nring;
}

static size_t
sse_slot(uint64_t k)
{
	return (size_t)(k % SSE_RING_MAX);
}

/* Bytes of the events from number K on (K in the ring, or its end). */
static uint64_t
sse_backlog(const struct sse *sse, uint64_t k)
{
	if (k >= sse->seq)
		return 0;
	return sse->ring_end[sse_slot(sse->seq - 1)] -
	       (k > sse_first(sse)
	            ? sse->ring_end[sse_slot(k - 1)]
	            : sse->ring_end[sse_slot(k)] - sse->ring[sse_slot(k)]->len);
}

/* The layer is done with the stream: forget it. */
static void
sse_done(struct dash_stream *s)
{
	struct sse_client *c = (struct sse_client *)s;

	TAILQ_REMOVE(&c->sse->clients, c, entry);
	c->sse->n--;
	log_debug("event stream closed, %zu left", c->sse->n);
	free(c);
}

/* Cuts off a browser that fell SSE_OUTPUT_MAX behind. */
static void
sse_drop(struct sse_client *c)
{
	c->sse->dropped++;
	log_info("dropped a browser from the event stream: more than %d "
	         "bytes behind",
	         SSE_OUTPUT_MAX);
	httpserv_close(c->conn); /* sse_done */
}

/*
 * Copies C's next events to its socket while nothing is left unsent (so
 * a browser that does not read holds about SSE_FILL in buffers).  The
 * layer calls it whenever C's output drains; returns 1: the stream
 * never ends by itself.
 */
static int
sse_fill(void *arg, struct httpserv_conn *conn)
{
	struct sse_client *c = arg;
	struct sse *sse = c->sse;
	struct refbuf *rb;
	size_t wrote = 0;

	if (httpserv_unsent(conn) > 0)
		return 1;
	if (c->next < sse_first(sse)) {
		sse_drop(c); /* its events are gone */
		return 1;
	}
	while (c->next < sse->seq && wrote < SSE_FILL) {
		rb = sse->ring[sse_slot(c->next)];
		c->next++;
		if (httpserv_stream_write(conn, rb->buf, rb->len) == -1)
			return 1; /* it left: sse_done ran */
		wrote += rb->len;
	}
	return 1;
}

int
sse_open(struct sse *sse, struct httpserv_conn *conn, uint32_t ticket,
         uint64_t *cookie, struct refbuf *first)
{
	struct sse_client *c;

	if (sse->n >= SSE_CLIENTS_MAX)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	/* HTTP/1.1: chunked, each event a chunk; 1.0: until the close */
	if (httpserv_stream_start(conn, ticket, 200, "text/event-stream",
	                          sse_fields) == -1) {
		free(c); /* the layer answered (its output budget), or gone */
		return 0;
	}
	c->stream.done = sse_done;
	c->sse = sse;
	c->conn = conn;
	c->next = sse->seq;
	*cookie = (uint64_t)(uintptr_t)c;
	TAILQ_INSERT_TAIL(&sse->clients, c, entry);
	sse->n++;
	log_debug("event stream opened, %zu now", sse->n);
	httpserv_stream_quiet(conn);
	if (httpserv_stream_write(conn, "retry: 1000\n\n", 13) == -1 ||
	    (first != NULL &&
	     httpserv_stream_write(conn, first->buf, first->len) == -1))
		return 0; /* gone already: sse_done ran */
	httpserv_stream_producer(conn, sse_fill, c);
	return 0;
}

/* Adds RB to the ring, keeping at least SSE_OUTPUT_MAX bytes of the
 * events before it. */
static void
sse_add(struct sse *sse, struct refbuf *rb)
{
	uint64_t end =
	    (sse->nring > 0 ? sse->ring_end[sse_slot(sse->seq - 1)] : 0) +
	    rb->len;

	if (sse->nring == SSE_RING_MAX) {
		refbuf_unref(sse->ring[sse_slot(sse_first(sse))]);
		sse->nring--;
	}
	rb->refs++;
	sse->ring[sse_slot(sse->seq)] = rb;
	sse->ring_end[sse_slot(sse->seq)] = end;
	sse->seq++;
	sse->nring++;
	/* the oldest goes while the rest still make SSE_OUTPUT_MAX */
	while (sse->nring > 1 &&
	       sse_backlog(sse, sse_first(sse) + 1) >= SSE_OUTPUT_MAX) {
		refbuf_unref(sse->ring[sse_slot(sse_first(sse))]);
		sse->nring--;
	}
}

void
sse_broadcast(struct sse *sse, struct refbuf *rb)
{
	struct sse_client *c, *next;

	sse_add(sse, rb);
	for (c = TAILQ_FIRST(&sse->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->next < sse_first(sse) ||
		    sse_backlog(sse, c->next) + httpserv_unsent(c->conn) >
		        SSE_OUTPUT_MAX)
			sse_drop(c);
		else
			sse_fill(c, c->conn);
	}
	sse->last_ms = (double)clock_now_us() / 1000.0;
}

/* A comment to every stream that is not behind if nothing was sent for
 * DASH_KEEPALIVE_MS. */
void
sse_keepalive(struct sse *sse)
{
	struct sse_client *c, *next;
	double now = (double)clock_now_us() / 1000.0;

	if (now - sse->last_ms < DASH_KEEPALIVE_MS)
		return;
	for (c = TAILQ_FIRST(&sse->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->next == sse->seq && httpserv_unsent(c->conn) == 0)
			httpserv_stream_write(c->conn, ": keepalive\n\n", 13);
	}
	sse->last_ms = now;
}

/* Closes every stream (the layer forgets each: sse_done). */
void
sse_close_all(struct sse *sse)
{
	while (!TAILQ_EMPTY(&sse->clients))
		httpserv_close(TAILQ_FIRST(&sse->clients)->conn);
}

void
sse_free(struct sse *sse)
{
	sse_close_all(sse);
	while (sse->nring > 0) {
		refbuf_unref(sse->ring[sse_slot(sse_first(sse))]);
		sse->nring--;
	}
}
