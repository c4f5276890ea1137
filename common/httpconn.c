/*
 * httpconn.c: the connection records of the HTTP server layer
 * (httpserv.h; its insides in httpserv_int.h), at the bottom of it.
 *
 * Records come from a free list, allocated HTTPSERV_CHUNK at a time and
 * never given back to malloc (a stale pointer stays safe to pass).
 * Closing one ends what it had in progress: the answers not written and
 * the request not answered are done with written 0.  A connection that
 * queued output goes on the server's dirty list, and one event, made
 * active when the list stops being empty, runs it at the end of the
 * loop turn (httpserv.c writes it).
 *
 * Deadlines: three FIFOs of connections, one per duration (the whole
 * head, output that does not move, lingering), each served by one timer
 * armed for its oldest entry: O(1) per request, no timer per connection.
 * A connection is in at most one.
 *
 * It calls no other file of the layer.
 */
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "httpbuf.h"
#include "httpserv_int.h"

/* ---- deadlines ---------------------------------------------------- */

static void
httpconn_fifo_arm(struct httpserv_fifo *f, uint64_t deadline, uint64_t now)
{
	struct timeval tv = clock_tv(deadline > now ? deadline - now : 0);

	evtimer_add(f->ev, &tv);
}

/* Moves C to the tail of FIFO WHICH (a new deadline), or out of all. */
void
httpconn_timer(struct httpserv_conn *c, enum httpserv_fifo_id which)
{
	struct httpserv *srv = c->srv;
	struct httpserv_fifo *f;
	uint64_t now;
	int was_empty;

	if (c->fifo != FIFO_NONE)
		TAILQ_REMOVE(&srv->fifo[c->fifo].q, c, tlink);
	c->fifo = which;
	if (which == FIFO_NONE)
		return;
	f = &srv->fifo[which];
	now = clock_now_ms();
	was_empty = TAILQ_EMPTY(&f->q);
	c->deadline_ms = now + f->ms;
	TAILQ_INSERT_TAIL(&f->q, c, tlink);
	/* Otherwise it is armed already, for an earlier deadline. */
	if (was_empty)
		httpconn_fifo_arm(f, c->deadline_ms, now);
}

void
httpconn_fifo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpserv_fifo *f = arg;
	uint64_t now = clock_now_ms();
	struct httpserv_conn *c;

	while ((c = TAILQ_FIRST(&f->q)) != NULL && c->deadline_ms <= now)
		httpconn_close(c); /* leaves the FIFO */
	if (c != NULL)
		httpconn_fifo_arm(f, c->deadline_ms, now);
}

/* ---- connection records ------------------------------------------- */

struct httpserv_conn *
httpconn_get(struct httpserv *srv)
{
	struct httpserv_chunk *ch;
	struct httpserv_conn *c;
	int i;

	if (srv->free == NULL) {
		if ((ch = calloc(1, sizeof(*ch))) == NULL)
			return NULL;
		ch->next = srv->chunks;
		srv->chunks = ch;
		for (i = 0; i < HTTPSERV_CHUNK; i++) {
			ch->c[i].next_free = srv->free;
			srv->free = &ch->c[i];
		}
	}
	c = srv->free;
	srv->free = c->next_free;
	return c;
}

/* Ends C now: the answers not written and the request in progress are
 * lost (done with written 0); the socket is closed. */
void
httpconn_close(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;
	const struct httpserv_ops *ops = srv->ops;

	if (!c->open)
		return;
	c->open = 0;
	if (c->reading)
		event_del(&c->rev);
	if (c->writing)
		event_del(&c->wev);
	c->reading = c->writing = 0;
	httpconn_timer(c, FIFO_NONE);
	if (c->dirty)
		TAILQ_REMOVE(&srv->dirty, c, dlink);
	c->dirty = 0;
	if (c->starved)
		TAILQ_REMOVE(&srv->starved, c, slink);
	c->starved = 0;
	close(c->fd);
	c->fd = -1;
	if (c->in != NULL)
		httpbuf_put(&srv->inpool, c->in);
	c->in = NULL;
	httpout_clear(&c->out, &srv->outpool);
	TAILQ_REMOVE(&srv->all, c, alink);
	srv->nconns--;
	if (ops->conn != NULL && !srv->freeing)
		ops->conn(srv->arg, 0);
	while (c->ndone > 0) {
		struct httpserv_done *d = &c->done[c->done_first];

		c->done_first = (c->done_first + 1) % HTTPSERV_DONE_MAX;
		c->ndone--;
		if (ops->done != NULL)
			ops->done(srv->arg, d->cookie, d->code, 0);
	}
	if (c->busy) {
		c->busy = 0;
		if (ops->done != NULL)
			ops->done(srv->arg, c->cookie,
			          c->streaming ? c->code : 0, 0);
	}
	c->streaming = 0;
	c->next_free = srv->free;
	srv->free = c;
}

void
httpserv_close(struct httpserv_conn *c)
{
	httpconn_close(c);
}

/* C has output to write at the end of this turn. */
void
httpconn_dirty(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;

	if (c->dirty || !c->open)
		return;
	c->dirty = 1;
	TAILQ_INSERT_TAIL(&srv->dirty, c, dlink);
	if (!srv->flush_armed) {
		srv->flush_armed = 1;
		event_active(srv->flush_ev, EV_TIMEOUT, 1);
	}
}
