/*
 * conn.c: client connections of mockresd.
 *
 * A connection is a framed connection (proto/fconn.h): each decoded
 * Request goes up to the protocol through mrd->handler (dispatch.c's),
 * replies are queued on it.  Caps: CONN_MAX
 * clients (more are closed at accept), CONN_OUTPUT_MAX bytes of unread
 * replies (a client that does not read is disconnected).  A closed
 * connection's struct lives on while uses point to it, so that their end
 * is still accounted to it; its replies are dropped.
 *
 * Replies are written once per loop turn: conn_reply() queues the
 * connection on mrd->replies, and conn_flush_all(), called by mockresd's
 * end-of-turn hook after every callback of the turn, writes each
 * connection's replies with one writev (see fconn.h for why EV_WRITE is
 * enabled only while a socket did not take everything).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "frame.h"
#include "log.h"
#include "mockresd.h"

/* The daemon's one state (see mockresd.h).  It is defined here, in the
 * layer every request comes in by, so that no part of the daemon's core
 * depends on mockresd.c, the program around it. */
struct mockresd *mrd;

static void conn_message(void *, ProtobufCMessage *);
static void conn_undecodable(void *, const unsigned char *, uint32_t);
static void conn_down(void *, int, const char *);
static void conn_maybe_free(void *);

static const struct fconn_ops conn_fconn_ops = {
    .desc = &mockres__request__descriptor,
    .message = conn_message,
    .undecodable = conn_undecodable,
    .down = conn_down,
    .closed = conn_maybe_free,
};

void
conn_init(struct mockresd *d, struct event_base *base)
{
	memset(d, 0, sizeof(*d));
	mrd = d;
	d->base = base;
	d->uid = geteuid();
	d->start_us = clock_now_us();
	TAILQ_INIT(&d->conns);
	fconn_queue_init(&d->replies, NULL); /* no event: cannot fail */
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
	if (fconn_open(&c->fc, mrd->base, fd, &conn_fconn_ops, c, &mrd->arena,
	               &mrd->replies, CONN_READ_HIGH, CONN_OUTPUT_MAX) == -1) {
		free(c);
		return;
	}
	c->number = ++mrd->conn_number;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->admin = cred.uid == 0 || cred.uid == mrd->uid;
	c->role = MOCKRES__ROLE__ROLE_UNKNOWN;
	engine_owner_init(&c->owner);
	TAILQ_INSERT_TAIL(&mrd->conns, c, entry);
	mrd->nconns++;
	log_debug("client %llu connected: pid %d uid %u",
	          (unsigned long long)c->number, (int)c->pid, (unsigned)c->uid);
}

/* A closed connection is freed once no use points to it and its read
 * callback, which may have closed it, has returned. */
static void
conn_maybe_free(void *arg)
{
	struct conn *c = arg;

	if (!fconn_is_open(&c->fc) && c->owner.uses == 0 &&
	    !fconn_reading(&c->fc))
		free(c);
}

void
conn_close(struct conn *c, const char *why)
{
	if (!fconn_is_open(&c->fc))
		return;
	if (why != NULL)
		log_warnx("closing client %llu (pid %d): %s",
		          (unsigned long long)c->number, (int)c->pid, why);
	else
		log_debug("client %llu (pid %d) disconnected",
		          (unsigned long long)c->number, (int)c->pid);
	fconn_close(&c->fc);
	if (c->watch_ev != NULL) {
		event_free(c->watch_ev);
		c->watch_ev = NULL;
	}
	TAILQ_REMOVE(&mrd->conns, c, entry);
	mrd->nconns--;
	mrd->handler->closed(c);
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
	if (fconn_output_len(&c->fc) > 0)
		return 0;
	return 1;
}

void
conn_reply(struct conn *c, Mockres__Response *resp)
{
	if (!fconn_is_open(&c->fc))
		return; /* the client is gone: its replies are dropped */
	if (fconn_send(&c->fc, &resp->base) == -1) {
		conn_close(c, "cannot queue a reply");
		return;
	}
	if (fconn_over_cap(&c->fc))
		conn_close(c, "over 1 MiB of replies unread (client not "
		              "reading)");
}

void
conn_flush_all(void)
{
	fconn_queue_flush(&mrd->replies);
}

/* One request; dispatching may close C (a reply over the output cap),
 * not free it. */
static void
conn_message(void *arg, ProtobufCMessage *msg)
{
	mrd->handler->request(arg, (const Mockres__Request *)msg);
}

/* An undecodable request is answered if its id can be read. */
static void
conn_undecodable(void *arg, const unsigned char *body, uint32_t len)
{
	struct conn *c = arg;
	uint64_t id;

	if (frame_peek_id(body, len, &id) == -1)
		conn_close(c, "undecodable request");
	else
		mrd->handler->undecodable(c, id);
}

static void
conn_down(void *arg, int error, const char *why)
{
	struct conn *c = arg;

	if (why == NULL && error != 0)
		log_debug("client %llu: %s", (unsigned long long)c->number,
		          strerror(error));
	conn_close(c, why);
}
