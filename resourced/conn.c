/*
 * conn.c: client connections of mockresd.
 *
 * A connection is a framed connection (proto/fconn.h), on a Unix socket
 * or over TLS: nothing here asks which.  It is up at once (Unix) or once
 * its TLS handshake is done, within MOCKRES_HANDSHAKE_MS; only then is
 * its identity known (conn_up: trust_rights) and do frames flow.  A
 * handshake that fails is logged with the peer's address and the reason,
 * at most one line per RATELOG_MS with the count of the others, and the
 * connection is freed: it costs nothing once closed.  Each decoded
 * Request goes up to the protocol through mrd->handler (dispatch.c's),
 * replies are queued on it.  Caps: CONN_MAX clients, opening ones
 * included (more are closed at accept), CONN_OUTPUT_MAX bytes of unread
 * replies (a client that does not read is disconnected).  A closed
 * connection's struct lives on while uses point to it, so that their end
 * is still accounted to it; its replies are dropped.
 *
 * Replies are written once per loop turn: conn_reply() queues the
 * connection on mrd->replies, whose event (of the first priority, with
 * the connected clients and the timers: MOCKRESD_PRI_HIGH) runs after the
 * callbacks that were ready when the first reply was queued, and writes
 * each connection's replies with one writev (see fconn.h for why EV_WRITE
 * is enabled only while a socket did not take everything).  It was
 * mockresd's end-of-turn hook; but libevent's loop returns only once no
 * callback of any priority is left, and under a flood of handshakes (the
 * lowest priority) that could take long.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "frame.h"
#include "log.h"
#include "mockresd.h"
#include "usewire.h"

/* The daemon's one state (see mockresd.h).  It is defined here, in the
 * layer every request comes in by, so that no part of the daemon's core
 * depends on mockresd.c, the program around it. */
struct mockresd *mrd;

static void conn_message(void *, ProtobufCMessage *);
static int conn_frame(void *, const unsigned char *, uint32_t);
static void conn_undecodable(void *, const unsigned char *, uint32_t);
static void conn_down(void *, int, const char *);
static void conn_maybe_free(void *);
static void conn_up(void *);
static void conn_drained(void *);
static void conn_flushed(void *);

static const struct fconn_ops conn_fconn_ops = {
    .desc = &mockres__request__descriptor,
    .message = conn_message,
    .frame = conn_frame,
    .undecodable = conn_undecodable,
    .down = conn_down,
    .closed = conn_maybe_free,
    .up = conn_up,
    .drained = conn_drained,
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
	TAILQ_INIT(&d->closed);
	TAILQ_INIT(&d->paused);
	/* The replies are flushed by an event of the first priority, run
	 * after the callbacks of that priority that were ready with the
	 * first reply: those of the connected clients and the timers, not
	 * those of the handshakes, which may wait (mockresd.h). */
	d->prioritised =
	    event_base_get_npriorities(base) >= MOCKRESD_PRIORITIES;
	if (fconn_queue_init(&d->replies, base) == -1 ||
	    (d->prioritised &&
	     event_priority_set(d->replies.ev, MOCKRESD_PRI_HIGH) == -1))
		fatalx("cannot create the event that writes the replies");
	d->replies.flushed = conn_flushed;
	arena_init(&d->arena);
	if (gethostname(d->hostname, sizeof(d->hostname)) == -1)
		d->hostname[0] = '\0';
	d->hostname[sizeof(d->hostname) - 1] = '\0';
}

int
conn_event_high(struct event *ev)
{
	if (!mrd->prioritised)
		return 0;
	return event_priority_set(ev, MOCKRESD_PRI_HIGH);
}

/* "client 7 (pid 812)" or "client 7 (10.0.0.2:51234, CN fe1)". */
static const char *
conn_label(const struct conn *c)
{
	static char buf[64 + FCONN_ADDR_MAX + FCONN_CN_MAX];

	if (c->addr[0] != '\0' && strcmp(c->addr, "local") != 0)
		snprintf(buf, sizeof(buf), "client %llu (%s%s%s)",
		         (unsigned long long)c->number, c->addr,
		         c->cn[0] ? ", CN " : "", c->cn);
	else
		snprintf(buf, sizeof(buf), "client %llu (pid %d)",
		         (unsigned long long)c->number, (int)c->pid);
	return buf;
}

/* C is open: who it is, and so what it may do. */
static void
conn_up(void *arg)
{
	struct conn *c = arg;
	struct fconn_peer p;

	fconn_peer(&c->fc, &p);
	c->up = 1;
	c->pid = p.has_cred ? p.pid : 0;
	c->uid = p.has_cred ? p.uid : (uid_t)-1;
	snprintf(c->cn, sizeof(c->cn), "%s", p.verified_cn ? p.cn : "");
	snprintf(c->addr, sizeof(c->addr), "%s", p.addr);
	/* On a Unix socket the peer is on this host, whatever it says. */
	if (p.has_cred)
		snprintf(c->host, sizeof(c->host), "%s", mrd->hostname);
	c->rights = trust_rights(c);
	log_debug("%s connected over %s: uid %d, rights%s%s%s", conn_label(c),
	          fconn_transport_name(&c->fc), p.has_cred ? (int)c->uid : -1,
	          c->rights == 0 ? " none" : "",
	          (c->rights & TRUST_STEER) ? " steer" : "",
	          (c->rights & TRUST_REPORT) ? " report" : "");
}

void
conn_accept(evutil_socket_t fd, const struct fconn_transport *tp, void *tp_arg)
{
	struct fconn_setup setup = {
	    .tp = tp,
	    .tp_arg = tp_arg,
	    .ops = &conn_fconn_ops,
	    .arena = &mrd->arena,
	    .queue = &mrd->replies,
	    .read_high = CONN_READ_HIGH,
	    .output_max = CONN_OUTPUT_MAX,
	    .prioritise = mrd->prioritised,
	    .pri_opening = MOCKRESD_PRI_LOW,
	    .pri_up = MOCKRESD_PRI_HIGH,
	};
	struct conn *c;
	int r;

	if (mrd->nconns >= CONN_MAX) {
		log_warnx("refusing a client: %d clients connected already",
		          CONN_MAX);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("accept");
		close(fd);
		return;
	}
	if ((r = fconn_open(&c->fc, mrd->base, fd, &setup, c)) == -1) {
		free(c);
		return;
	}
	c->number = ++mrd->conn_number;
	c->role = MOCKRES__ROLE__ROLE_UNKNOWN;
	c->uid = (uid_t)-1;
	engine_owner_init(&c->owner);
	TAILQ_INSERT_TAIL(&mrd->conns, c, entry);
	mrd->nconns++;
	if (r == 1) {
		conn_up(c);
	} else {
		struct fconn_peer p;

		fconn_peer(&c->fc, &p); /* its address, for the logs */
		snprintf(c->addr, sizeof(c->addr), "%s", p.addr);
	}
}

/* A closed connection (on mrd->closed) is freed once no use points to
 * it and its read callback, which may have closed it, has returned. */
static void
conn_maybe_free(void *arg)
{
	struct conn *c = arg;

	if (!fconn_is_open(&c->fc) && c->owner.uses == 0 && !c->pinned &&
	    !fconn_reading(&c->fc)) {
		TAILQ_REMOVE(&mrd->closed, c, entry);
		free(c);
	}
}

void
conn_close(struct conn *c, const char *why)
{
	if (!fconn_is_open(&c->fc))
		return;
	if (why != NULL)
		log_warnx("closing %s: %s", conn_label(c), why);
	else
		log_debug("%s disconnected", conn_label(c));
	if (fconn_paused(&c->fc))
		TAILQ_REMOVE(&mrd->paused, c, paused_entry);
	fconn_close(&c->fc);
	TAILQ_REMOVE(&mrd->conns, c, entry);
	TAILQ_INSERT_TAIL(&mrd->closed, c, entry);
	mrd->nconns--;
	mrd->handler->closed(c);
	conn_maybe_free(c);
}

void
conn_free_all(void)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&mrd->conns)) != NULL)
		conn_close(c, NULL);
	while ((c = TAILQ_FIRST(&mrd->closed)) != NULL) {
		TAILQ_REMOVE(&mrd->closed, c, entry);
		free(c);
	}
	fconn_queue_free(&mrd->replies);
	arena_reset(&mrd->arena);
}

void
conn_pin(struct conn *c)
{
	c->pinned = 1;
}

void
conn_unpin(struct conn *c)
{
	c->pinned = 0;
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

/* A reply was queued (or failed to be, ERROR): the bytes it added to the
 * replies not yet written, and the cap.  0, or -1 if C was closed. */
static int
conn_queued(struct conn *c, size_t before, int error)
{
	if (error) {
		conn_close(c, "cannot queue a reply");
		return -1;
	}
	mrd->unsent += fconn_output_len(&c->fc) - before;
	if (fconn_over_cap(&c->fc)) {
		conn_close(c, "over 1 MiB of replies unread (client not "
		              "reading)");
		return -1;
	}
	return 0;
}

void
conn_reply(struct conn *c, Mockres__Response *resp)
{
	size_t before = fconn_output_len(&c->fc);

	if (!fconn_is_open(&c->fc))
		return; /* the client is gone: its replies are dropped */
	(void)conn_queued(c, before, fconn_send(&c->fc, &resp->base) == -1);
}

int
conn_reply_packed(struct conn *c, uint64_t id, const unsigned char *body,
                  size_t len)
{
	size_t before = fconn_output_len(&c->fc);

	if (!fconn_is_open(&c->fc))
		return 0;
	return conn_queued(c, before,
	                   fconn_send_with_id(&c->fc, id, body, len) == -1);
}

void
conn_reply_frame(struct conn *c, const unsigned char *frame, size_t len)
{
	size_t before = fconn_output_len(&c->fc);

	if (!fconn_is_open(&c->fc))
		return;
	(void)conn_queued(c, before,
	                  fconn_send_frame(&c->fc, frame, len) == -1);
}

void
conn_flush_all(void)
{
	fconn_queue_flush(&mrd->replies);
}

/* ---- backpressure ----
 *
 * What weighs on reading C: its replies not yet taken by its socket, and
 * room for the serial replies it is owed, which will come whether it
 * reads or not.  Past CONN_PAUSE_AT its reading pauses (the rest of what
 * it sent stays in its socket, and its sends back up); below
 * CONN_RESUME_AT it goes on.  A client that reads its replies (a frontend
 * worker) has none unsent after the flush, so it pauses only with more
 * than 8,192 serial uses in the resource at once, and goes on as they
 * end. */
static size_t
conn_pending(const struct conn *c)
{
	return fconn_output_len(&c->fc) + (size_t)c->owed * CONN_OWED_BYTES;
}

/* After each request: pause C's reading if it weighs too much, or if
 * the clients hold more than CONN_OUTPUT_TOTAL_MAX in all and C holds
 * anything (until the flush has made room). */
static void
conn_pause_check(struct conn *c)
{
	if (!fconn_is_open(&c->fc) || fconn_paused(&c->fc))
		return;
	if (conn_pending(c) < CONN_PAUSE_AT &&
	    (mrd->unsent < CONN_OUTPUT_TOTAL_MAX ||
	     fconn_output_len(&c->fc) == 0))
		return;
	fconn_pause(&c->fc);
	TAILQ_INSERT_TAIL(&mrd->paused, c, paused_entry);
	mrd->pauses++;
	log_debug("%s: reading paused: %zu bytes of replies unsent or owed",
	          conn_label(c), conn_pending(c));
}

/* C read again if it weighs little enough now (it reads from a callback
 * of its own: nothing is closed or freed here). */
static void
conn_resume_check(struct conn *c)
{
	if (!fconn_paused(&c->fc) || conn_pending(c) >= CONN_RESUME_AT)
		return;
	TAILQ_REMOVE(&mrd->paused, c, paused_entry);
	fconn_resume(&c->fc);
}

/* The bufferevent wrote what C's socket had not taken. */
static void
conn_drained(void *arg)
{
	conn_resume_check(arg);
}

/*
 * After every flush: the paused clients that may read again, and the
 * total budget.  Past CONN_OUTPUT_TOTAL_MAX unsent in all, the client that
 * holds the most (one that does not read: a client that reads holds
 * nothing after a flush) is disconnected, until the total is under it
 * (Redis's maxmemory-clients does the same); logged one line per 10 s.
 * The paused are resumed first: resuming only schedules their reading.
 */
static void
conn_flushed(void *arg)
{
	struct conn *c, *next;
	struct fconn *big;
	uint64_t held;
	size_t total, n;

	for (c = TAILQ_FIRST(&mrd->paused); c != NULL; c = next) {
		next = TAILQ_NEXT(c, paused_entry);
		conn_resume_check(c);
	}
	while ((total = fconn_queue_backlog(&mrd->replies, &big)) >
	           CONN_OUTPUT_TOTAL_MAX &&
	       big != NULL) {
		c = (struct conn *)(void *)((char *)big -
		                            offsetof(struct conn, fc));
		n = fconn_output_len(big);
		mrd->evicted++;
		if (ratelog_allow(&mrd->evict_log, clock_now_ms(), &held))
			log_warnx("closing %s: %zu KiB of replies unread, the "
			          "most of any client, while mockresd holds "
			          "%zu KiB unsent in all (its cap: %u MiB); "
			          "%llu more closed so in the last %d s",
			          conn_label(c), n >> 10, total >> 10,
			          CONN_OUTPUT_TOTAL_MAX >> 20,
			          (unsigned long long)held, RATELOG_MS / 1000);
		conn_close(c, NULL);
	}
	mrd->unsent = total;
}

/* One request; dispatching may close C (a reply over the output cap),
 * not free it. */
static void
conn_message(void *arg, ProtobufCMessage *msg)
{
	mrd->handler->request(arg, (const Mockres__Request *)msg);
	conn_pause_check(arg);
}

/*
 * A use read straight off the wire (usewire.h), without protobuf-c: the
 * request of every HTTP request at the frontends.  It is dispatched as
 * the decoder would have given it; anything the scanner is not sure of
 * is left to the decoder (returns 0).
 */
static int
conn_frame(void *arg, const unsigned char *body, uint32_t len)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Use use = MOCKRES__USE__INIT;
	struct usewire_request r;

	if (usewire_scan_use(body, len, &r) != 0)
		return 0;
	use.has_mode = r.has_mode;
	use.mode = (Mockres__UseMode)r.mode;
	use.has_hold_ms = r.has_hold_ms;
	use.hold_ms = r.hold_ms;
	req.has_id = r.has_id;
	req.id = r.id;
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	conn_message(arg, &req.base);
	return 1;
}

/* An undecodable request is answered if its id can be read. */
static void
conn_undecodable(void *arg, const unsigned char *body, uint32_t len)
{
	struct conn *c = arg;
	uint64_t id;

	if (frame_peek_id(body, len, &id) == -1) {
		conn_close(c, "undecodable request");
		return;
	}
	mrd->handler->undecodable(c, id);
	conn_pause_check(c);
}

/* A TLS handshake failed: one line per RATELOG_MS, with a count. */
static void
conn_refused(struct conn *c, int error)
{
	char why[384];
	uint64_t held;

	if (!ratelog_allow(&mrd->tls_refused, clock_now_ms(), &held))
		return;
	fconn_describe(&c->fc, error, why, sizeof(why));
	if (held > 0)
		log_warnx("%s (and %llu more failed handshakes not logged in "
		          "the last %d s)",
		          why, (unsigned long long)held, RATELOG_MS / 1000);
	else
		log_warnx("%s", why);
}

static void
conn_down(void *arg, int error, const char *why)
{
	struct conn *c = arg;
	char reason[256];

	if (!c->up) {
		conn_refused(c, error);
		conn_close(c, NULL);
		return;
	}
	if (why == NULL && error != 0) {
		fconn_describe(&c->fc, error, reason, sizeof(reason));
		log_debug("%s: %s", conn_label(c), reason);
	}
	conn_close(c, why);
}
