/*
 * fconn.c: a framed connection: the read loop, the once-per-turn flush
 * and the output cap, over a transport (see fconn.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "fconn.h"
#include "frame.h"
#include "mockres_limits.h"

static void fconn_read_cb(struct bufferevent *, void *);
static void fconn_write_cb(struct bufferevent *, void *);
static void fconn_event_cb(struct bufferevent *, short, void *);
static void fconn_sock_read_cb(evutil_socket_t, short, void *);

static void
fconn_queue_cb(evutil_socket_t fd, short what, void *arg)
{
	fconn_queue_flush(arg);
}

int
fconn_queue_init(struct fconn_queue *q, struct event_base *base)
{
	TAILQ_INIT(&q->dirty);
	TAILQ_INIT(&q->backlog);
	q->armed = 0;
	q->flushed = NULL;
	q->flushed_arg = NULL;
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

/* Puts FC on its queue, for the end of the turn. */
static void
fconn_mark(struct fconn *fc)
{
	struct fconn_queue *q = fc->queue;

	if (fc->dirty)
		return;
	fc->dirty = 1;
	TAILQ_INSERT_TAIL(&q->dirty, fc, dirty_entry);
	if (q->ev != NULL && !q->armed) {
		q->armed = 1;
		event_active(q->ev, EV_TIMEOUT, 1);
	}
}

/* FC's socket did not take everything (ON), or has taken the rest. */
static void
fconn_set_writing(struct fconn *fc, int on)
{
	if (on == fc->writing)
		return;
	fc->writing = on;
	if (on)
		TAILQ_INSERT_TAIL(&fc->queue->backlog, fc, backlog_entry);
	else
		TAILQ_REMOVE(&fc->queue->backlog, fc, backlog_entry);
}

size_t
fconn_queue_backlog(const struct fconn_queue *q, struct fconn **biggest)
{
	struct fconn *fc, *big = NULL;
	size_t total = 0, n, most = 0;

	TAILQ_FOREACH(fc, &q->backlog, backlog_entry)
	{
		n = fconn_output_len(fc);
		total += n;
		if (n > most) {
			most = n;
			big = fc;
		}
	}
	if (biggest != NULL)
		*biggest = big;
	return total;
}

void
fconn_queue_flush(struct fconn_queue *q)
{
	struct fconn *fc;

	q->armed = 0;
	while ((fc = TAILQ_FIRST(&q->dirty)) != NULL) {
		TAILQ_REMOVE(&q->dirty, fc, dirty_entry);
		fc->dirty = 0;
		if (fc->writing || !fc->up)
			continue; /* the bufferevent is on it, or not yet */
		switch (fc->tp->write_now(fc)) {
		case -1:
			fc->ops->down(fc->arg, errno, NULL);
			break;
		case 1:
			fconn_set_writing(fc, 1);
			break;
		}
	}
	if (q->flushed != NULL)
		q->flushed(q->flushed_arg);
}

int
fconn_open(struct fconn *fc, struct event_base *base, evutil_socket_t fd,
           const struct fconn_setup *s, void *arg)
{
	int r;

	fc->bev = NULL;
	fc->in = NULL;
	fc->out = NULL;
	fc->rev = NULL;
	fc->tp = s->tp;
	fc->ops = s->ops;
	fc->arg = arg;
	fc->arena = s->arena;
	fc->queue = s->queue;
	fc->read_high = s->read_high;
	fc->output_max = s->output_max;
	fc->tls = NULL;
	fc->dirty = 0;
	fc->writing = 0;
	fc->reading = 0;
	fc->paused = 0;
	fc->up = 0;
	fc->heard = 0;
	fc->pri_up = s->prioritise ? s->pri_up : -1;
	if ((r = fc->tp->open(fc, base, fd, s->tp_arg)) == -1)
		return -1;
	if (fc->tp->read == NULL) {
		fc->in = bufferevent_get_input(fc->bev);
	} else if ((fc->in = evbuffer_new()) == NULL ||
	           (fc->rev = event_new(base, bufferevent_getfd(fc->bev),
	                                EV_READ | EV_PERSIST,
	                                fconn_sock_read_cb, fc)) == NULL ||
	           /* the bufferevent's priority, set below: up at once */
	           (s->prioritise &&
	            event_priority_set(fc->rev, s->pri_up) == -1) ||
	           event_add(fc->rev, NULL) == -1) {
		fconn_close(fc);
		return -1;
	}
	bufferevent_setcb(fc->bev, fconn_read_cb, fconn_write_cb,
	                  fconn_event_cb, fc);
	fc->up = r == 1;
	if (s->prioritise)
		(void)bufferevent_priority_set(
		    fc->bev, fc->up ? s->pri_up : s->pri_opening);
	return r;
}

/* The read event and the input of a transport that reads itself. */
static void
fconn_free_reader(struct fconn *fc)
{
	if (fc->rev == NULL && (fc->tp == NULL || fc->tp->read == NULL))
		return;
	if (fc->rev != NULL)
		event_free(fc->rev);
	if (fc->in != NULL)
		evbuffer_free(fc->in);
	fc->rev = NULL;
	fc->in = NULL;
}

static void
fconn_unqueue(struct fconn *fc)
{
	fconn_set_writing(fc, 0);
	fc->up = 0;
	fc->paused = 0;
	if (fc->dirty) {
		TAILQ_REMOVE(&fc->queue->dirty, fc, dirty_entry);
		fc->dirty = 0;
	}
}

void
fconn_close(struct fconn *fc)
{
	if (fc->bev == NULL)
		return;
	fconn_free_reader(fc);
	fc->tp->close(fc, 0);
	fc->bev = NULL;
	fc->in = NULL;
	fc->out = NULL;
	fconn_unqueue(fc);
}

void
fconn_close_graceful(struct fconn *fc)
{
	if (fc->bev == NULL)
		return;
	fconn_free_reader(fc);
	fc->tp->close(fc, fc->up);
	fc->bev = NULL;
	fc->in = NULL;
	fc->out = NULL;
	fconn_unqueue(fc);
}

/* Where a frame goes, or NULL with errno (ENOTCONN, ENOBUFS). */
static struct evbuffer *
fconn_out(struct fconn *fc)
{
	if (fc->bev == NULL) {
		errno = ENOTCONN;
		return NULL;
	}
	if (evbuffer_get_length(fc->out) > fc->output_max) {
		errno = ENOBUFS;
		return NULL;
	}
	return fc->out;
}

int
fconn_send(struct fconn *fc, const ProtobufCMessage *msg)
{
	struct evbuffer *out = fconn_out(fc);

	if (out == NULL)
		return -1;
	if (frame_write(out, msg) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	fconn_mark(fc);
	return 0;
}

int
fconn_send_frame(struct fconn *fc, const unsigned char *frame, size_t len)
{
	struct evbuffer *out = fconn_out(fc);

	if (out == NULL)
		return -1;
	if (evbuffer_add(out, frame, len) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	fconn_mark(fc);
	return 0;
}

int
fconn_send_with_id(struct fconn *fc, uint64_t id, const unsigned char *body,
                   size_t len)
{
	struct evbuffer *out = fconn_out(fc);

	if (out == NULL)
		return -1;
	if (frame_write_with_id(out, id, body, len) == -1) {
		errno = EMSGSIZE;
		return -1;
	}
	fconn_mark(fc);
	return 0;
}

void
fconn_pause(struct fconn *fc)
{
	if (fc->bev == NULL || fc->paused)
		return;
	fc->paused = 1;
	if (fc->rev != NULL)
		(void)event_del(fc->rev);
	else
		bufferevent_disable(fc->bev, EV_READ);
}

void
fconn_resume(struct fconn *fc)
{
	if (fc->bev == NULL || !fc->paused)
		return;
	fc->paused = 0;
	/* (a transport that reads itself: its event; the bufferevent's
	 * reading stays off) */
	if (fc->rev != NULL) {
		/* (it fails only when epoll does: the end of the stream,
		 * from a callback as well) */
		if (event_add(fc->rev, NULL) == -1) {
			bufferevent_trigger_event(fc->bev, BEV_EVENT_ERROR,
			                          BEV_TRIG_DEFER_CALLBACKS);
			return;
		}
	} else {
		bufferevent_enable(fc->bev, EV_READ);
	}
	/* What was read before the pause (the input, and for TLS what
	 * OpenSSL holds) has no socket event to bring it: the read callback
	 * (fconn_read_cb, the frames of fc->in whoever read them) runs as a
	 * callback of its own, at the connection's priority. */
	bufferevent_trigger(fc->bev, EV_READ,
	                    BEV_TRIG_IGNORE_WATERMARKS |
	                        BEV_TRIG_DEFER_CALLBACKS);
}

int
fconn_paused(const struct fconn *fc)
{
	return fc->paused;
}

int
fconn_backlogged(const struct fconn *fc)
{
	return fc->bev != NULL && fc->writing;
}

int
fconn_is_open(const struct fconn *fc)
{
	return fc->bev != NULL;
}

int
fconn_is_up(const struct fconn *fc)
{
	return fc->bev != NULL && fc->up;
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
	return evbuffer_get_length(fc->out);
}

int
fconn_over_cap(const struct fconn *fc)
{
	return fconn_output_len(fc) > fc->output_max;
}

const char *
fconn_transport_name(const struct fconn *fc)
{
	return fc->tp != NULL ? fc->tp->name : "none";
}

void
fconn_peer(const struct fconn *fc, struct fconn_peer *p)
{
	memset(p, 0, sizeof(*p));
	if (fc->bev != NULL)
		fc->tp->peer(fc, p);
}

void
fconn_describe(const struct fconn *fc, int error, char *buf, size_t len)
{
	if (fc->tp != NULL && fc->bev != NULL)
		fc->tp->describe(fc, error, buf, len);
	else
		snprintf(buf, len, "%s",
		         error ? strerror(error) : "connection closed");
}

/*
 * Every complete frame, in order, until the input runs out or the owner
 * closes the connection (or closes and reopens it: BEV is checked, not
 * just fc->bev; IN is not touched once it was closed, it may be freed).
 */
static void
fconn_frames(struct fconn *fc, struct bufferevent *bev)
{
	struct evbuffer *in = fc->in;
	const unsigned char *body;
	ProtobufCMessage *msg;
	uint32_t len;
	int r;

	fc->reading = 1;
	if (evbuffer_get_length(in) > 0)
		fc->heard = 1;
	while (fc->bev == bev && !fc->paused) {
		if ((r = frame_peek(in, &body, &len)) == 0) {
			/* The input is done; does the transport hold more? */
			if (fc->tp->more == NULL || (r = fc->tp->more(fc)) == 0)
				break;
			if (r == -1) {
				fc->ops->down(fc->arg, errno, NULL);
				break;
			}
			fc->heard = 1;
			continue;
		}
		if (r == -1) {
			fc->ops->down(
			    fc->arg, EPROTO,
			    "bad frame length (must be "
			    "1.." MOCKRES_STR(MOCKRES_FRAME_BODY_MAX) ")");
			break;
		}
		if (fc->ops->frame != NULL &&
		    fc->ops->frame(fc->arg, body, len)) {
			if (fc->bev == bev)
				frame_consume(in, len);
			continue;
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

/* The bufferevent read (TLS). */
static void
fconn_read_cb(struct bufferevent *bev, void *arg)
{
	fconn_frames(arg, bev);
}

/*
 * The socket is readable and the transport reads it itself (Unix): one
 * read, then the frames.  The end of the stream, or an error, is told
 * last: the owner may free FC then.
 */
static void
fconn_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fconn *fc = arg;
	ssize_t n = fc->tp->read(fc);

	if (n > 0) {
		fconn_frames(fc, fc->bev);
		return;
	}
	if (n == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	fc->ops->down(fc->arg, n == 0 ? 0 : errno, NULL);
}

/* The bufferevent wrote the rest: back to writing at the end of turns. */
static void
fconn_write_cb(struct bufferevent *bev, void *arg)
{
	struct fconn *fc = arg;

	if (!fc->writing)
		return;
	fconn_set_writing(fc, 0);
	fc->tp->written(fc);
	if (fc->ops->drained != NULL)
		fc->ops->drained(fc->arg);
}

static void
fconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct fconn *fc = arg;
	int error = 0;

	if (fc->tp->event(fc, what, &error)) {
		if (fc->up)
			return; /* CONNECTED again: nothing new */
		fc->up = 1;
		/* The transport set its events up anew, at the default
		 * priority (bufferevent_openssl's set_open_callbacks). */
		if (fc->pri_up >= 0)
			(void)bufferevent_priority_set(bev, fc->pri_up);
		if (evbuffer_get_length(fc->out) > 0)
			fconn_mark(fc); /* what was sent while opening */
		if (fc->ops->up != NULL)
			fc->ops->up(fc->arg);
		/* Frames that came with the handshake's last flight may wait
		 * inside the transport, the socket quiet: read them now. */
		if (fc->bev == bev && fc->tp->more != NULL)
			fconn_read_cb(bev, fc);
		return;
	}
	fc->ops->down(fc->arg, error, NULL);
}
