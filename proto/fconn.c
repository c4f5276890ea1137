/*
 * fconn.c: a framed connection: the read loop, the once-per-turn flush
 * and the output cap (see fconn.h).
 */
#include <errno.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "fconn.h"
#include "frame.h"
#include "mockres_limits.h"

static void fconn_read_cb(struct bufferevent *, void *);
static void fconn_write_cb(struct bufferevent *, void *);
static void fconn_event_cb(struct bufferevent *, short, void *);

static void
fconn_queue_cb(evutil_socket_t fd, short what, void *arg)
{
	fconn_queue_flush(arg);
}

int
fconn_queue_init(struct fconn_queue *q, struct event_base *base)
{
	TAILQ_INIT(&q->dirty);
	q->armed = 0;
	q->ev = NULL;
	if (base != NULL &&
	    (q->ev = event_new(base, -1, 0, fconn_queue_cb, q)) == NULL)
		return -1;
	return 0;
}

void
fconn_queue_free(struct fconn_queue *q)
{
	if (q->ev != NULL)
		event_free(q->ev);
	q->ev = NULL;
}

/*
 * Writes BEV's queued frames now, with one writev, instead of waiting for
 * the bufferevent's EV_WRITE.  Returns 0 when all was written, 1 when the
 * socket took only part (EV_WRITE is then enabled: the bufferevent writes
 * the rest, and fconn_write_cb disables it again), -1 on a socket error.
 */
static int
fconn_write_now(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	int n;

	if (evbuffer_get_length(out) == 0)
		return 0;
	/* A socket bufferevent keeps its output frozen to all but itself;
	 * it unfreezes it around its own writes in just this way. */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(bev));
	evbuffer_freeze(out, 1);
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		return -1;
	if (evbuffer_get_length(out) == 0)
		return 0;
	bufferevent_enable(bev, EV_WRITE);
	return 1;
}

void
fconn_queue_flush(struct fconn_queue *q)
{
	struct fconn *fc;

	q->armed = 0;
	while ((fc = TAILQ_FIRST(&q->dirty)) != NULL) {
		TAILQ_REMOVE(&q->dirty, fc, dirty_entry);
		fc->dirty = 0;
		if (fc->writing)
			continue; /* the bufferevent is on it */
		switch (fconn_write_now(fc->bev)) {
		case -1:
			fc->ops->down(fc->arg, errno, NULL);
			break;
		case 1:
			fc->writing = 1;
			break;
		}
	}
}

int
fconn_open(struct fconn *fc, struct event_base *base, evutil_socket_t fd,
           const struct fconn_ops *ops, void *arg, struct arena *arena,
           struct fconn_queue *q, size_t read_high, size_t output_max)
{
	fc->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (fc->bev == NULL) {
		close(fd);
		return -1;
	}
	fc->ops = ops;
	fc->arg = arg;
	fc->arena = arena;
	fc->queue = q;
	fc->output_max = output_max;
	fc->dirty = 0;
	fc->writing = 0;
	fc->reading = 0;
	bufferevent_setcb(fc->bev, fconn_read_cb, fconn_write_cb,
	                  fconn_event_cb, fc);
	bufferevent_setwatermark(fc->bev, EV_READ, 0, read_high);
	bufferevent_disable(fc->bev, EV_WRITE); /* on by default */
	bufferevent_enable(fc->bev, EV_READ);
	return 0;
}

void
fconn_close(struct fconn *fc)
{
	if (fc->bev == NULL)
		return;
	bufferevent_free(fc->bev);
	fc->bev = NULL;
	fc->writing = 0;
	if (fc->dirty) {
		TAILQ_REMOVE(&fc->queue->dirty, fc, dirty_entry);
		fc->dirty = 0;
	}
}

int
fconn_send(struct fconn *fc, const ProtobufCMessage *msg)
{
	struct evbuffer *out;
	struct fconn_queue *q = fc->queue;

	if (fc->bev == NULL) {
		errno = ENOTCONN;
		return -1;
	}
	out = bufferevent_get_output(fc->bev);
	if (evbuffer_get_length(out) > fc->output_max) {
		errno = ENOBUFS;
		return -1;
	}
	if (frame_write(out, msg) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	if (!fc->dirty) {
		fc->dirty = 1;
		TAILQ_INSERT_TAIL(&q->dirty, fc, dirty_entry);
		if (q->ev != NULL && !q->armed) {
			q->armed = 1;
			event_active(q->ev, EV_TIMEOUT, 1);
		}
	}
	return 0;
}

int
fconn_is_open(const struct fconn *fc)
{
	return fc->bev != NULL;
}

int
fconn_reading(const struct fconn *fc)
{
	return fc->reading;
}

size_t
fconn_output_len(const struct fconn *fc)
{
	if (fc->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(fc->bev));
}

int
fconn_over_cap(const struct fconn *fc)
{
	return fconn_output_len(fc) > fc->output_max;
}

/*
 * Every complete frame, in order, until the input runs out or the owner
 * closes the connection (or closes and reopens it: BEV is checked, not
 * just fc->bev).
 */
static void
fconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct fconn *fc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const unsigned char *body;
	ProtobufCMessage *msg;
	uint32_t len;
	int r;

	fc->reading = 1;
	while (fc->bev == bev && (r = frame_peek(in, &body, &len)) != 0) {
		if (r == -1) {
			fc->ops->down(
			    fc->arg, EPROTO,
			    "bad frame length (must be "
			    "1.." MOCKRES_STR(MOCKRES_FRAME_BODY_MAX) ")");
			break;
		}
		msg = protobuf_c_message_unpack(
		    fc->ops->desc, &fc->arena->allocator, len, body);
		if (msg == NULL) {
			arena_reset(fc->arena);
			fc->ops->undecodable(fc->arg, body, len);
			if (fc->bev == bev)
				frame_consume(in, len);
			continue;
		}
		frame_consume(in, len);
		fc->ops->message(fc->arg, msg);
		arena_reset(fc->arena);
	}
	fc->reading = 0;
	if (fc->bev != bev && fc->ops->closed != NULL)
		fc->ops->closed(fc->arg);
}

/* The bufferevent wrote the rest: back to writing at the end of turns. */
static void
fconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct fconn *fc = arg;

	fc->writing = 0;
	bufferevent_disable(bev, EV_WRITE);
}

static void
fconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fconn *fc = arg;
	int error = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;

	fc->ops->down(fc->arg, error, NULL);
}
