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
 *               close), a Unix socket or TLS alike; defines mrd, the
 *               daemon's one state; hands each request up through
 *               mrd->handler, never by name
 *   trust.c     who may do what: the one place that turns a peer's
 *               identity (SO_PEERCRED's uid, a certificate's CN) into
 *               rights (steer, report)
 *   resource.c  the engine on the real clock, with one timer
 *   stats.c     the Stats snapshot of stats, watch and admin replies
 *   watch.c     the watch streams: one timer, one snapshot per tick
 *               shared by every watcher, and one budget for all of them
 *   reply.c     the replies: a status, BAD_REQUEST, the stats
 *   steer.c     the admin operations (limit, hold, model, peak)
 *   report.c    the frontend workers' HTTP reports, merged
 *   dispatch.c  protocol: one switch on the request's operation; a use to
 *               the engine and its end back into a reply; the handler
 *   listen.c    the listening sockets (the Unix one, TLS's TCP ones)
 *   gate.c      the TLS handshake budget: the TLS listeners held while
 *               it is spent
 *   config.c    the command line and the environment, checked once
 *   mockresd.c  the program: sockets, signals, and the loop (its
 *               priorities: MOCKRESD_PRI_*), whose end-of-turn hook
 *               (mockresd_turn_end) decides when a shutting-down daemon
 *               exits
 *
 * A request: conn.c reads a frame -> mrd->handler->request, that is
 * dispatch_request() -> reply_*() -> conn_reply() queues the answer ->
 * the flush event writes it once the connected clients' callbacks that
 * were ready have run (conn_flush_all).  Each file calls only the ones
 * above it in this list, and nothing calls mockresd.c, so tests and the
 * fuzzer run the core in their own loop (conn_init, dispatch_init, the
 * loop, dispatch_free).
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

#include "accept.h"
#include "arena.h"
#include "bucket.h"
#include "fconn.h"
#include "engine.h"
#include "ratelog.h"
#include "tlsconf.h"
#include "mockres.pb-c.h"
#include "mockres_limits.h"
#include "peerclock.h"

#define CONN_MAX        4096       /* connected clients */
#define CONN_OUTPUT_MAX (1u << 20) /* bytes queued to one client */
#define CONN_READ_HIGH  (256u << 10)
/*
 * Backpressure (conn.c).  A client's reading pauses while its replies not
 * yet taken by its socket, plus CONN_OWED_BYTES for each serial reply it
 * is owed (a DONE is at most 17 bytes, a TIMEOUT 80), reach
 * CONN_PAUSE_AT, and goes on below CONN_RESUME_AT.  So a client holds at
 * most CONN_PAUSE_AT + the replies of one request (a frame, 64 KiB) + a
 * watch push (64 KiB) + its owed replies past their reservation (8,192 x
 * 48 bytes) ~ 770 KiB: under CONN_OUTPUT_MAX, which no client reaches any
 * more, however many serial uses it had admitted.  And all of them
 * together at most CONN_OUTPUT_TOTAL_MAX unsent: once past it, any client
 * with a reply queued pauses after its request, and after the flush the
 * client that holds the most is disconnected until they are under it
 * again; so the total is at most CONN_OUTPUT_TOTAL_MAX + one request's
 * replies per client read in the meantime.
 */
#define CONN_PAUSE_AT         (256u << 10)
#define CONN_RESUME_AT        (128u << 10)
#define CONN_OWED_BYTES       32
#define CONN_OUTPUT_TOTAL_MAX (32u << 20)
#define WATCH_MIN_MS          MOCKRES_WATCH_MIN_MS
#define WATCH_MAX_MS          MOCKRES_WATCH_MAX_MS
#define STATS_CLIENTS_MAX     256
/* Watching (watch.c); the untrusted peers' budget is the protocol's
 * (MOCKRES_WATCH_UNTRUSTED_*). */
#define WATCH_UNTRUSTED_MAX    MOCKRES_WATCH_UNTRUSTED_MAX
#define WATCH_UNTRUSTED_MIN_MS MOCKRES_WATCH_UNTRUSTED_MIN_MS
#define WATCH_SHARE_US         1000     /* a snapshot serves this long */
#define WATCH_STALE_US         30000000 /* a watch not taken: closed */
#define NAME_MAX_LEN           MOCKRES_NAME_MAX
#define MOCKRESD_DRAIN_S       10 /* s: a shutdown waits for uses this long */

/*
 * The loop's priorities (mockresd.c's base; libevent runs the lower
 * numbers first, and a lower one only when no higher one is ready):
 * connected clients, the resource's and the watches' timers and the
 * flush of the replies; then whatever is made at the default (accepting,
 * signals, deadlines); then the clients in their TLS handshake, at most
 * MOCKRESD_LOW_MAX_US or MOCKRESD_LOW_MAX_CB callbacks of them at a time
 * (libevent tells the time by a 4 ms coarse clock: the count keeps it
 * near 1 ms, ~0.3 ms a handshake).  A base without priorities (the
 * tests' and the fuzzers') runs everything as one.
 */
#define MOCKRESD_PRIORITIES 3
#define MOCKRESD_PRI_HIGH   0
#define MOCKRESD_PRI_LOW    2
#define MOCKRESD_LOW_MAX_US 1000
#define MOCKRESD_LOW_MAX_CB 4

/* resource.c: the engine (engine.h) on the real clock and one timer. */
struct mockresd;
/* END answers the end of each use (dispatch_use_end). */
void resource_init(struct mockresd *, const struct model *, uint32_t limit,
                   engine_end_fn end);
void resource_free(struct mockresd *);
/* The model changed: remember which preset it is, if any. */
void resource_model_changed(void);
/* Re-arms the timer (the policy is in resource.c): call after anything
 * that may have changed what is due (a use, a model change, a cancel). */
void resource_arm(void);
/* Brings the engine up to now (engine_run: the quiet ends the timer let
 * wait) before its counts are read or its settings changed, and re-arms;
 * returns now.  Its callbacks may close connections other than one being
 * read. */
uint64_t resource_now(void);

/* A process's figures, as its own host read them (ProcUsage). */
struct conn_usage {
	int has;
	uint32_t pid;
	uint64_t cpu_ms, rss_kb;
};

/* conn.c */
struct conn {
	TAILQ_ENTRY(conn) entry;
	uint64_t number; /* 1, 2, ...: which client this is, for the logs */
	struct fconn fc; /* closed once the client is gone */
	int up;          /* opened (TLS: handshake done): identity known */
	/* The peer.  Unix: SO_PEERCRED's pid and uid, mockresd's host.
	 * TLS: the certificate's CN; pid and host from its hello (shown,
	 * never trusted); uid (uid_t)-1. */
	pid_t pid;
	uid_t uid;
	unsigned rights; /* TRUST_* (trust.c) */
	Mockres__Role role;
	char name[MOCKRES_NAME_MAX + 1];
	char host[MOCKRES_HOST_MAX + 1];
	char cn[FCONN_CN_MAX + 1];
	char addr[FCONN_ADDR_MAX];
	/* A frontend worker's own CPU and memory and its master's, from its
	 * latest report (report.c): a dashboard on another host has no
	 * other way to know them. */
	struct conn_usage usage, master;
	/* Its host's CLOCK_MONOTONIC in ours, from the send times of its
	 * reports (TLS: another host's, report.c). */
	struct peerclock clock;
	struct engine_owner owner; /* its uses and their counts */
	uint64_t owed; /* serial uses in the resource: replies to come */
	int pinned;    /* conn_pin: not freed, even closed, until unpinned */
	TAILQ_ENTRY(conn) paused_entry; /* on mrd->paused while paused */
	/* Its watch (watch.c), if watching. */
	TAILQ_ENTRY(conn) watch_entry;
	int watching;
	int watch_clients;
	uint32_t watch_ms;
	uint64_t watch_id;
	uint64_t watch_next_us;  /* the next push is due */
	uint64_t watch_stale_us; /* pushes skipped since (0: none) */
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
/* EV (not added yet) runs with the connected clients, before accepts and
 * handshakes (MOCKRESD_PRI_HIGH), if the base has priorities: the
 * resource's and the watches' timers.  0, or -1. */
int conn_event_high(struct event *ev);
/* FD from a listener whose connections use TP (with TP_ARG). */
void conn_accept(evutil_socket_t fd, const struct fconn_transport *tp,
                 void *tp_arg);
void conn_reply(struct conn *, Mockres__Response *);
/* A Response packed without its id, for ID (fconn_send_with_id).
 * Returns 0, or -1 if it closed the connection (which may be freed). */
int conn_reply_packed(struct conn *, uint64_t id, const unsigned char *body,
                      size_t len);
/* A whole frame written by hand (usewire.h), with conn_reply's caps. */
void conn_reply_frame(struct conn *, const unsigned char *frame, size_t len);
void conn_close(struct conn *, const char *why);
/*
 * Around a use's end: conn_pin keeps C allocated while its reply may
 * close it (conn_close frees a closed client nothing points to);
 * conn_unpin frees it then if it closed and no use points to it.
 */
void conn_pin(struct conn *);
void conn_unpin(struct conn *);
void conn_flush_all(void);  /* write the turn's replies */
int conn_all_written(void); /* no reply is waiting to be sent */
/* Closes every client and frees every connection, those closed with uses
 * still pointing to them too: for the teardown (dispatch_free), once
 * nothing will end a use again. */
void conn_free_all(void);

/* trust.c: who may do what.  Rights come from what the system verified,
 * never from a hello: on a Unix socket, uid 0 or mockresd's own may steer
 * and report; over TLS, a certificate CN named by --tls-admin may steer,
 * one named by --tls-frontend may report; anyone else may only use the
 * resource and read the stats. */
#define TRUST_STEER  0x1u /* limit, hold, model, peak, a use's own hold */
#define TRUST_REPORT 0x2u /* the frontend workers' HTTP reports */

/* The CNs of --tls-admin and --tls-frontend (NULL-terminated). */
void trust_init(const char *const *admins, const char *const *frontends);
/* C's rights, from its verified identity (conn.c calls it once, when C is
 * up). */
unsigned trust_rights(const struct conn *);
int trust_may_steer(const struct conn *);
int trust_may_report(const struct conn *);
/* May steer or report: a peer of the system itself (the client list,
 * fast watches). */
int trust_privileged(const struct conn *);
/* The DENIED reason for C: what it would take, for its kind of peer.
 * WHAT: "change the limit, ...". */
const char *trust_denied(const struct conn *, const char *what);
/* The role C shows in the client list: a frontend worker only if it may
 * report (issue: a hello alone proves nothing). */
Mockres__Role trust_role(const struct conn *);

/* dispatch.c */
void dispatch_init(uint32_t limit, const struct model *); /* after conn_init */
/* The core's teardown: every client, every use, the reports, the watches;
 * before the event base is freed (mockresd's exit, the tests' and the
 * fuzzers' in-process daemons). */
void dispatch_free(void);
void dispatch_request(struct conn *, const Mockres__Request *);
void dispatch_use_end(struct engine_owner *, uint64_t tag, int serial,
                      enum engine_end, uint64_t waited_us, void *arg);

/* reply.c: what dispatch.c and steer.c answer with. */
void reply_status(struct conn *, uint64_t id, Mockres__Status,
                  const char *error);
void reply_bad(struct conn *, uint64_t id, const char *why);
void reply_stats(struct conn *, uint64_t id, int with_clients);

/* steer.c: the admin operations (trust_may_steer) */
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

/* watch.c: op watch (a new one replaces the connection's own), and the
 * end of a connection's watch (it closes).  watch_free_all frees the
 * timer and the snapshots (before the event base goes). */
struct watch_snap { /* one packed snapshot, with or without the clients */
	unsigned char *buf;
	size_t len, cap;
	uint64_t built_us; /* 0: never */
};

struct watch_state {
	struct conn_list list; /* the watching connections */
	size_t n, untrusted;
	struct event *timer; /* armed for the earliest push due; NULL until
	                        the first watch */
	uint64_t timer_at_us;
	struct watch_snap snap[2];
};

void watch_start(struct conn *, uint64_t id, const Mockres__Watch *);
void watch_stop(struct conn *);
void watch_free_all(void);

/* gate.c: the TLS handshake budget: accepting on the TLS listeners is
 * held while it is spent.  gate_init once they listen; gate_pass for each
 * connection they accept; gate_free before they are freed. */
#define GATE_RATE  256 /* TLS connections accepted a second, on average */
#define GATE_BURST 64  /* ... and at once */

struct gate {
	struct bucket bucket;
	struct event *timer; /* releases the listeners */
	int held;
	uint64_t holds; /* times the budget was spent */
	struct ratelog log;
};

void gate_init(void);
void gate_pass(void);
void gate_free(void);

/* listen.c */
struct listen_file { /* the socket file we created, to remove only it */
	dev_t dev;
	ino_t ino;
};

int listen_unix(const char *path, struct listen_file *, char *err,
                size_t errlen);
void listen_unlink(const char *path, const struct listen_file *);
/* A TCP listener for TLS on ADDR ("0.0.0.0:4002", "[::]:4002"); the fd,
 * or -1 with ERR. */
int listen_inet(const char *addr, char *err, size_t errlen);
/* What a socket systemd passed is: AF_UNIX, AF_INET, AF_INET6, or -1. */
int listen_family(int fd);

/* config.c (the program's, not the core's): the command line and the
 * environment, read once. */
#define CONFIG_NAMES_MAX 64 /* --tls-admin and --tls-frontend names */

struct mockresd_config {
	const char *socket_flag;
	uint64_t limit;
	struct model model;
	int verbose;
	const char *listen_tls[MOCKRES_LISTEN_TLS_MAX + 1];
	size_t nlisten_tls;
	struct tlsconf_files tls;
	const char *admins[CONFIG_NAMES_MAX + 1]; /* NULL-terminated */
	size_t nadmins;
	const char *frontends[CONFIG_NAMES_MAX + 1];
	size_t nfrontends;
};

void config_defaults(struct mockresd_config *, uint32_t ncpu);
/* -1 to go on; else the exit code (0 after --help or --version, 2 for a
 * bad flag or variable, said on stderr). */
int config_parse(int argc, char *argv[], struct mockresd_config *);

/* The daemon's one state. */
struct mockresd {
	struct event_base *base;
	struct engine engine;
	struct event *timer; /* reads timer_fd (resource.c) */
	int timer_fd;        /* a timerfd armed for timer_at_us */
	uint64_t timer_at_us;
	uint32_t cores;         /* the machine's: the model's default */
	char preset[16];        /* the preset the model equals, or "" */
	uint64_t setup_changes; /* of the limit or the model (steer.c) */
	struct conn_list conns;
	struct conn_list closed;   /* closed, kept while uses point to them */
	TAILQ_HEAD(, conn) paused; /* reading paused (backpressure) */
	uint64_t pauses, evicted;  /* how often: paused, cut at the total */
	size_t unsent; /* replies unsent in all: at the last flush, plus those
	                  queued since */
	struct ratelog evict_log;
	struct fconn_queue replies; /* connections with replies this turn */
	int prioritised; /* the base has MOCKRESD_PRIORITIES (conn_init) */
	size_t nconns;
	uint64_t conn_number;            /* the last conn->number given */
	struct evconnlistener *listener; /* the Unix socket */
	struct evconnlistener *tls_listeners[MOCKRES_LISTEN_TLS_MAX];
	size_t ntls_listeners;
	struct tlsconf tls;         /* the TLS side, if any listener is TLS */
	struct ratelog tls_refused; /* failed handshakes, logged */
	struct gate gate;           /* the TLS handshake budget (gate.c) */
	const char *const *tls_admins;    /* CNs, NULL-terminated */
	const char *const *tls_frontends; /* CNs, NULL-terminated */
	char hostname[MOCKRES_HOST_MAX + 1];
	uid_t uid;
	uint64_t start_us;
	int shutting_down;
	struct event *drain; /* a shutdown's deadline for the uses in service */
	struct arena arena;
	struct watch_state watch;           /* watch.c's */
	const struct conn_handler *handler; /* dispatch.c's */
};

#endif
