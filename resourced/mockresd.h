/*
 * mockresd.h: the map of mockresd, the daemon that owns the mock resource.
 *
 * One process, one libevent loop.  Layout, from the bottom up:
 *
 *   engine.c    the resource itself: the model, admission, the queue and
 *               the uses in service, pure logic on an explicit clock
 *               (engine.h; with heap.c, rng.c and proto/model.c, unit-
 *               tested alone)
 *   conn.c      transport: client connections on proto/fconn.c (accept,
 *               read frames, queue replies, write them once per turn,
 *               close); defines mrd, the daemon's one state; hands each
 *               request up through mrd->handler, never by name
 *   resource.c  the engine on the real clock, with one timer
 *   stats.c     the Stats snapshot of stats, watch and admin replies
 *   reply.c     the replies: a status, BAD_REQUEST, the stats
 *   steer.c     the admin operations (limit, hold, model, peak)
 *   report.c    the frontend workers' HTTP reports, merged
 *   dispatch.c  protocol: one switch on the request's operation; a use to
 *               the engine and its end back into a reply; the handler
 *   listen.c    the listening socket
 *   mockresd.c  the program: flags, signals, and the loop, whose
 *               end-of-turn hook (mockresd_turn_end) writes the turn's
 *               replies and decides when a shutting-down daemon exits
 *
 * A request: conn.c reads a frame -> mrd->handler->request, that is
 * dispatch_request() -> reply_*() -> conn_reply() queues the answer ->
 * the end-of-turn hook writes it (conn_flush_all).  Each file calls only
 * the ones above it in this list, and nothing calls mockresd.c, so tests
 * and the fuzzer run the core in their own loop (conn_init, dispatch_init,
 * conn_flush_all after each turn).
 */
#ifndef MOCKRESD_H
#define MOCKRESD_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>

#include "arena.h"
#include "fconn.h"
#include "engine.h"
#include "mockres.pb-c.h"
#include "mockres_limits.h"

#define CONN_MAX          4096       /* connected clients */
#define CONN_OUTPUT_MAX   (1u << 20) /* bytes queued to one client */
#define CONN_READ_HIGH    (256u << 10)
#define WATCH_MIN_MS      MOCKRES_WATCH_MIN_MS
#define WATCH_MAX_MS      MOCKRES_WATCH_MAX_MS
#define STATS_CLIENTS_MAX 256
#define NAME_MAX_LEN      MOCKRES_NAME_MAX
#define MOCKRESD_DRAIN_S  10 /* s: a shutdown waits for uses this long */

/* resource.c: the engine (engine.h) on the real clock and one timer. */
struct mockresd;
/* END answers the end of each use (dispatch_use_end). */
void resource_init(struct mockresd *, const struct model *, uint32_t limit,
                   engine_end_fn end);
void resource_free(struct mockresd *);
/* The model changed: remember which preset it is, if any. */
void resource_model_changed(void);
/* Re-arms the timer for engine_next(): call after anything that may have
 * changed it (a use, a model change, a cancel). */
void resource_arm(void);

/* conn.c */
struct conn {
	TAILQ_ENTRY(conn) entry;
	uint64_t number; /* 1, 2, ...: which client this is, for the logs */
	struct fconn fc; /* closed once the client is gone */
	pid_t pid;
	uid_t uid;
	int admin;
	Mockres__Role role;
	char name[MOCKRES_NAME_MAX + 1];
	struct engine_owner owner; /* its uses and their counts */
	struct event *watch_ev;
	uint64_t watch_id;
	int watch_clients;
};
TAILQ_HEAD(conn_list, conn);

extern struct mockresd *mrd; /* the daemon's one state, defined in conn.c */

/* What a connection hands up to the protocol; dispatch_init() sets
 * mrd->handler, so that conn.c calls no part of the protocol by name. */
struct conn_handler {
	void (*request)(struct conn *, const Mockres__Request *);
	/* an undecodable request whose id could be read */
	void (*undecodable)(struct conn *, uint64_t id);
	/* the client is gone (called once, before it may be freed) */
	void (*closed)(struct conn *);
};

/* Zeroes D and makes it the state (mrd); call first. */
void conn_init(struct mockresd *d, struct event_base *);
void conn_accept(evutil_socket_t fd);
void conn_reply(struct conn *, Mockres__Response *);
void conn_close(struct conn *, const char *why);
void conn_release(struct conn *); /* a use pointing here ended */
void conn_flush_all(void);        /* write the turn's replies */
int conn_all_written(void);       /* no reply is waiting to be sent */

/* dispatch.c */
void dispatch_init(uint32_t limit, const struct model *); /* after conn_init */
void dispatch_request(struct conn *, const Mockres__Request *);
void dispatch_use_end(struct engine_owner *, uint64_t tag, int serial,
                      enum engine_end, uint64_t waited_us, void *arg);

/* reply.c: what dispatch.c and steer.c answer with. */
void reply_status(struct conn *, uint64_t id, Mockres__Status,
                  const char *error);
void reply_bad(struct conn *, uint64_t id, const char *why);
void reply_stats(struct conn *, uint64_t id, int with_clients);

/* steer.c: the admin operations (uid 0 or mockresd's own) */
void steer_limit(struct conn *, uint64_t id, const Mockres__SetLimit *);
void steer_hold(struct conn *, uint64_t id, const Mockres__SetHold *);
void steer_model(struct conn *, uint64_t id, const Mockres__SetModel *);
void steer_reset_peak(struct conn *, uint64_t id);

/* report.c: the frontend workers' HTTP reports, merged. */
void report_take(struct conn *, uint64_t id, const Mockres__HttpReport *);
void report_conn_closed(struct conn *);
void report_stats(struct conn *, uint64_t id, const Mockres__StatsRequest *);
void report_free_all(void);

/* stats.c */
void stats_fill(Mockres__Stats *, int with_clients);

/* listen.c */
struct listen_file { /* the socket file we created, to remove only it */
	dev_t dev;
	ino_t ino;
};

int listen_unix(const char *path, struct listen_file *, char *err,
                size_t errlen);
void listen_unlink(const char *path, const struct listen_file *);

/* The daemon's one state. */
struct mockresd {
	struct event_base *base;
	struct engine engine;
	struct event *timer; /* armed for engine_next() */
	uint64_t timer_at_us;
	uint32_t cores;         /* the machine's: the model's default */
	char preset[16];        /* the preset the model equals, or "" */
	uint64_t setup_changes; /* of the limit or the model (steer.c) */
	struct conn_list conns;
	struct fconn_queue replies; /* connections with replies this turn */
	size_t nconns;
	uint64_t conn_number; /* the last conn->number given */
	struct evconnlistener *listener;
	uid_t uid;
	uint64_t start_us;
	int shutting_down;
	struct event *drain; /* a shutdown's deadline for the uses in service */
	struct arena arena;
	const struct conn_handler *handler; /* dispatch.c's */
};

#endif
