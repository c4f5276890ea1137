/*
 * conn.c: client connections of mockresd.
 *
 * A connection reads frames, hands each decoded Request to dispatch.c and
 * queues replies in its bufferevent.  Caps: CONN_MAX clients (more are
 * closed at accept), CONN_OUTPUT_MAX bytes of unread replies (a client that
 * does not read is disconnected).  A closed connection's struct lives on
 * while uses point to it, so that their end is still accounted to it; its
 * replies are dropped.
 *
 * Replies are written once per loop turn: conn_reply() queues the
 * connection on mrd->dirty, and conn_flush_all(), called by mockresd's
 * end-of-turn hook after every callback of the turn, writes each
 * connection's replies with one writev.  The bufferevent's EV_WRITE is enabled
 * only while a socket did not take everything; enabling it for every reply cost
 * two epoll_ctl calls per connection per turn (2 of the 5 syscalls of a
 * pipelined batch).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "clock.h"
#include "frame.h"
#include "log.h"
#include "mockresd.h"

/* The daemon's one state (see mockresd.h).  It is defined here, in the
 * layer every request comes in by, so that no part of the daemon's core
 * depends on mockresd.c, the program around it. */
struct mockresd *mrd;

static void conn_read_cb(struct bufferevent *, void *);
static void conn_write_cb(struct bufferevent *, void *);
static void conn_event_cb(struct bufferevent *, short, void *);

void
conn_init(struct mockresd *d, struct event_base *base)
{
	memset(d, 0, sizeof(*d));
	mrd = d;
	d->base = base;
	d->uid = geteuid();
	d->start_us = clock_now_us();
	TAILQ_INIT(&d->conns);
	TAILQ_INIT(&d->dirty);
	arena_init(&d->arena);
}

void
conn_accept(evutil_socket_t fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;

	if (mrd->nconns >= CONN_MAX) {
		log_warnx("refusing a client: %d clients connected already",
		          CONN_MAX);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("accept");
		close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(mrd->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->serial_no = ++mrd->conn_serial;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->admin = cred.uid == 0 || cred.uid == mrd->uid;
	c->role = MOCKRES__ROLE__ROLE_UNKNOWN;
	engine_owner_init(&c->owner);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	                  c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_READ_HIGH);
	bufferevent_disable(c->bev, EV_WRITE); /* on by default */
	bufferevent_enable(c->bev, EV_READ);
	TAILQ_INSERT_TAIL(&mrd->conns, c, entry);
	mrd->nconns++;
	log_debug("client %llu connected: pid %d uid %u",
	          (unsigned long long)c->serial_no, (int)c->pid,
	          (unsigned)c->uid);
}

/* A closed connection is freed once no use points to it and its read
 * callback, which may have closed it, has returned. */
static void
conn_maybe_free(struct conn *c)
{
	if (c->bev == NULL && c->owner.uses == 0 && !c->reading)
		free(c);
}

void
conn_close(struct conn *c, const char *why)
{
	if (c->bev == NULL)
		return;
	if (why != NULL)
		log_warnx("closing client %llu (pid %d): %s",
		          (unsigned long long)c->serial_no, (int)c->pid, why);
	else
		log_debug("client %llu (pid %d) disconnected",
		          (unsigned long long)c->serial_no, (int)c->pid);
	bufferevent_free(c->bev);
	c->bev = NULL;
	report_conn_closed(c);
	if (c->dirty) {
		TAILQ_REMOVE(&mrd->dirty, c, dirty_entry);
		c->dirty = 0;
	}
	if (c->watch_ev != NULL) {
		event_free(c->watch_ev);
		c->watch_ev = NULL;
	}
	TAILQ_REMOVE(&mrd->conns, c, entry);
	mrd->nconns--;
	/* Its waiting uses leave the queue; those in service run on. */
	engine_cancel_owner(&mrd->engine, clock_now_us(), &c->owner);
	resource_arm();
	conn_maybe_free(c);
}

void
conn_release(struct conn *c)
{
	conn_maybe_free(c);
}

int
conn_all_written(void)
{
	struct conn *c;

	TAILQ_FOREACH(c, &mrd->conns, entry)
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return 0;
	return 1;
}

void
conn_reply(struct conn *c, Mockres__Response *resp)
{
	struct evbuffer *out;

	if (c->bev == NULL)
		return; /* the client is gone: its replies are dropped */
	out = bufferevent_get_output(c->bev);
	if (frame_write(out, &resp->base) == -1) {
		conn_close(c, "cannot queue a reply");
		return;
	}
	if (!c->dirty) {
		c->dirty = 1;
		TAILQ_INSERT_TAIL(&mrd->dirty, c, dirty_entry);
	}
	if (evbuffer_get_length(out) > CONN_OUTPUT_MAX)
		conn_close(c, "over 1 MiB of replies unread (client not "
		              "reading)");
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	const unsigned char *body;
	Mockres__Request *req;
	uint64_t id;
	uint32_t len;
	int r;

	c->reading = 1;
	while (c->bev != NULL && (r = frame_peek(in, &body, &len)) != 0) {
		if (r == -1) {
			conn_close(c, "bad frame length (must be 1..65536)");
			break;
		}
		req =
		    mockres__request__unpack(&mrd->arena.allocator, len, body);
		if (req == NULL) {
			arena_reset(&mrd->arena);
			if (frame_peek_id(body, len, &id) == -1) {
				conn_close(c, "undecodable request");
				break;
			}
			frame_consume(in, len);
			dispatch_bad(c, id, "undecodable request");
			continue;
		}
		frame_consume(in, len);
		/* may close C (a reply over the output cap), not free it */
		dispatch_request(c, req);
		arena_reset(&mrd->arena);
	}
	c->reading = 0;
	conn_maybe_free(c);
}

static void
conn_write(struct conn *c)
{
	if (c->writing)
		return; /* the bufferevent is on it */
	switch (frame_flush(c->bev)) {
	case -1:
		conn_close(c, NULL); /* the read side sees the same */
		break;
	case 1:
		c->writing = 1;
		break;
	}
}

void
conn_flush_all(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&mrd->dirty)) != NULL) {
		TAILQ_REMOVE(&mrd->dirty, c, dirty_entry);
		c->dirty = 0;
		conn_write(c);
	}
}

/* The bufferevent wrote the rest: back to writing at the end of turns. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	c->writing = 0;
	bufferevent_disable(bev, EV_WRITE);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_ERROR)
		log_debug("client %llu: %s", (unsigned long long)c->serial_no,
		          strerror(EVUTIL_SOCKET_ERROR()));
	conn_close(c, NULL);
}
