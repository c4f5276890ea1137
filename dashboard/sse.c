/*
 * sse.c: the browsers on GET /events (Server-Sent Events).
 *
 * Every snapshot is formatted once (refbuf.c); here those same bytes are
 * written to each browser's socket (sse_send).  Caps:
 * - SSE_CLIENTS_MAX streams at once; one more is answered 503 with
 *   Retry-After, and EventSource tries again by itself;
 * - a browser whose output buffer passes SSE_OUTPUT_MAX (it reads slower
 *   than we write, or vanished without a FIN) is disconnected, so it never
 *   slows the others or grows our memory; it reconnects if it is alive.
 *   Only these count as dropped; a browser that leaves (FIN, reset, a
 *   write error) is just forgotten;
 * - a browser sends nothing once its stream started (EventSource never
 *   does): the stream is closed on the first byte that comes in, instead
 *   of evhttp keeping whatever arrives (it reads on to see a close).
 *
 * Ownership (libevent 2.1, http.c): while we stream, the request is ours.
 * If the peer goes away, libevent detaches the request from the
 * connection (evcon = NULL) before the close callback runs, and
 * evhttp_send_reply_end then frees it; if we free the connection
 * ourselves, the connection frees the still-attached request.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "clock.h"
#include "dashboard.h"
#include "log.h"

#define SSE_WRITE_TIMEOUT_S 30 /* a browser that takes nothing this long */
#define SSE_SNDBUF          (64 << 10) /* the kernel doubles it */

struct sse_client {
	TAILQ_ENTRY(sse_client) entry;
	struct sse *sse;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	int chunked; /* HTTP/1.1: each event goes out as one chunk */
};

void
sse_init(struct sse *sse)
{
	memset(sse, 0, sizeof(*sse));
	TAILQ_INIT(&sse->clients);
}

static void
sse_closed(struct evhttp_connection *evcon, void *arg)
{
	struct sse_client *c = arg;

	TAILQ_REMOVE(&c->sse->clients, c, entry);
	c->sse->n--;
	if (evhttp_request_get_connection(c->req) == NULL)
		evhttp_send_reply_end(c->req); /* frees the detached request */
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
	evhttp_connection_free(c->evcon); /* runs sse_closed */
}

/*
 * Something came in on a stream.  The callback arguments are evhttp's:
 * sse_open kept its write and event callbacks, whose argument is the
 * connection.
 */
static void
sse_input_cb(struct bufferevent *bev, void *evcon)
{
	log_debug("a browser sent data on its event stream; closing it");
	evhttp_connection_free(evcon); /* runs sse_closed */
}

/*
 * Sends LEN bytes at P to C as one event (a chunk on HTTP/1.1).
 *
 * The usual case, nothing queued, is one writev straight to the socket:
 * going through evhttp_send_reply_chunk costs two epoll_ctl calls and a
 * loop turn per browser per event, which is most of the work at 200
 * browsers x 50 events/s.  Whatever the socket does not take is queued on
 * the connection's bufferevent, which evhttp flushes as usual; once
 * something is queued, later events queue behind it to keep the order.
 */
static int
sse_send(struct sse_client *c, const char *p, size_t len)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
	struct evbuffer *out = bufferevent_get_output(bev);
	struct iovec iov[3];
	char hdr[24];
	size_t total = 0, skip;
	ssize_t n = 0;
	int i, cnt = 0;

	if (evbuffer_get_length(out) > SSE_OUTPUT_MAX) {
		sse_drop(c);
		return -1;
	}
	if (c->chunked) {
		iov[cnt].iov_base = hdr;
		iov[cnt++].iov_len =
		    (size_t)snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
	}
	iov[cnt].iov_base = (void *)p;
	iov[cnt++].iov_len = len;
	if (c->chunked) {
		iov[cnt].iov_base = (void *)"\r\n";
		iov[cnt++].iov_len = 2;
	}
	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;

	if (evbuffer_get_length(out) == 0) {
		n = writev(bufferevent_getfd(bev), iov, cnt);
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			/* it left (reset, or gone): not "dropped" */
			log_debug("event stream: %s", strerror(errno));
			evhttp_connection_free(c->evcon); /* sse_closed */
			return -1;
		}
		if (n == (ssize_t)total)
			return 0;
		if (n < 0)
			n = 0;
	}
	/* Queue the rest; the bufferevent writes it when the socket can. */
	skip = (size_t)n;
	for (i = 0; i < cnt; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (evbuffer_add(out, (char *)iov[i].iov_base + skip,
		                 iov[i].iov_len - skip) == -1) {
			log_warnx("out of memory for a browser's event "
			          "stream; closing it");
			evhttp_connection_free(c->evcon); /* sse_closed */
			return -1;
		}
		skip = 0;
	}
	bufferevent_enable(bev, EV_WRITE);
	return 0;
}

/*
 * Starts an event stream on REQ and sends FIRST at once.  Returns -1 when
 * SSE_CLIENTS_MAX streams are open or memory is short: the caller answers.
 * Once started, REQ is never answered otherwise, whatever happens.
 */
int
sse_open(struct sse *sse, struct evhttp_request *req, struct refbuf *first)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct timeval wtv = {SSE_WRITE_TIMEOUT_S, 0};
	int sndbuf = SSE_SNDBUF;
	struct sse_client *c;
	struct bufferevent *bev;
	bufferevent_data_cb wcb;
	bufferevent_event_cb ecb;
	void *cbarg;

	if (sse->n >= SSE_CLIENTS_MAX)
		return -1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	c->sse = sse;
	c->req = req;
	c->evcon = evhttp_request_get_connection(req);

	/* An HTTP/1.0 keep-alive request would get Content-Length: 0. */
	evhttp_remove_header(evhttp_request_get_input_headers(req),
	                     "Connection");
	evhttp_add_header(out, "Content-Type", "text/event-stream");
	evhttp_add_header(out, "Cache-Control", "no-cache");
	evhttp_add_header(out, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	c->chunked = evhttp_find_header(out, "Transfer-Encoding") != NULL;

	/* A stream is quiet inbound: no read timeout, a write one only;
	 * evhttp still reads, to see a close, and our read callback closes
	 * the stream on any input. */
	bev = evhttp_connection_get_bufferevent(c->evcon);
	bufferevent_set_timeouts(bev, NULL, &wtv);
	bufferevent_getcb(bev, NULL, &wcb, &ecb, &cbarg);
	bufferevent_setcb(bev, sse_input_cb, wcb, ecb, cbarg);
	evbuffer_drain(bufferevent_get_input(bev),
	               evbuffer_get_length(bufferevent_get_input(bev)));
	/* A fixed kernel buffer (no autotuning up to megabytes) bounds what
	 * a stalled browser costs and lets our cap see it soon. */
	setsockopt(bufferevent_getfd(bev), SOL_SOCKET, SO_SNDBUF, &sndbuf,
	           sizeof(sndbuf));

	evhttp_connection_set_closecb(c->evcon, sse_closed, c);
	TAILQ_INSERT_TAIL(&sse->clients, c, entry);
	sse->n++;
	log_debug("event stream opened, %zu now", sse->n);

	/* Dropped here only for want of memory: the request is gone. */
	if (sse_send(c, "retry: 1000\n\n", 13) == 0 && first != NULL)
		sse_send(c, first->buf, first->len);
	return 0;
}

void
sse_broadcast(struct sse *sse, struct refbuf *rb)
{
	struct sse_client *c, *next;

	for (c = TAILQ_FIRST(&sse->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		sse_send(c, rb->buf, rb->len);
	}
	sse->last_ms = (double)clock_now_us() / 1000.0;
}

/* A comment to every stream if nothing was sent for DASH_KEEPALIVE_MS. */
void
sse_keepalive(struct sse *sse)
{
	struct sse_client *c, *next;
	double now = (double)clock_now_us() / 1000.0;

	if (now - sse->last_ms < DASH_KEEPALIVE_MS)
		return;
	for (c = TAILQ_FIRST(&sse->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		sse_send(c, ": keepalive\n\n", 13);
	}
	sse->last_ms = now;
}

void
sse_close_all(struct sse *sse)
{
	while (!TAILQ_EMPTY(&sse->clients))
		evhttp_connection_free(TAILQ_FIRST(&sse->clients)->evcon);
}
