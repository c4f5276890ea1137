/*
 * mockresd.h: the map of mockresd, the daemon that owns the mock resource.
 *
 * One process, one libevent loop.  resource.c is the admission logic (no
 * I/O, unit-tested alone); hold.c runs the holds; conn.c owns client
 * connections; dispatch.c answers requests; stats.c builds snapshots;
 * listen.c creates the socket; mockresd.c ties them together.
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
#include "mockres_limits.h"
#include "mockres.pb-c.h"

#define HOLD_MS_DEFAULT   500
#define LIMIT_DEFAULT     15
#define HOLD_MAX          1000000u   /* holds in flight at once */
#define HOLD_QUEUES_MAX   64         /* distinct durations in flight */
#define CONN_MAX          4096       /* connected clients */
#define CONN_OUTPUT_MAX   (1u << 20) /* bytes queued to one client */
#define CONN_READ_HIGH    (256u << 10)
#define STATS_CLIENTS_MAX 256

/* resource.c: the in-flight count, the limit and the counters. */
struct resource {
	uint32_t limit; /* 0 = none */
	uint32_t hold_ms;
	uint64_t in_flight;
	uint64_t peak;
	uint64_t admitted;
	uint64_t rejected;
	uint64_t completed;
};

void resource_init(struct resource *, uint32_t limit, uint32_t hold_ms);
int resource_admit(struct resource *); /* 0 admitted, -1 busy (counted) */
void resource_unadmit(struct resource *);
void resource_release(struct resource *);
void resource_set_limit(struct resource *, uint32_t limit);
void resource_reset_peak(struct resource *);
int resource_check(const struct resource *); /* 0 if invariants hold */

/* hold.c: holds of one duration in one FIFO, one timer per duration. */
struct hold {
	struct hold *next;
	uint64_t deadline_us;
	void *owner;
	uint64_t tag;
	int serial;
};

typedef void (*hold_expire_cb)(struct hold *, void *arg);

struct hold_queue;

struct holds {
	struct event_base *base;
	hold_expire_cb expire;
	void *arg;
	struct hold_queue *queues[HOLD_QUEUES_MAX];
	int nqueues;
	struct hold *free_list;
	void **chunks;
	size_t nchunks;
	size_t count;
	size_t max;
};

void holds_init(struct holds *, struct event_base *, size_t max, hold_expire_cb,
                void *arg);
void holds_free(struct holds *);
/* Returns 0, or -1 if the hold table or the duration table is full. */
int holds_start(struct holds *, uint32_t hold_ms, void *owner, uint64_t tag,
                int serial);

/* conn.c */
struct conn {
	TAILQ_ENTRY(conn) entry;
	uint64_t serial_no;
	struct bufferevent *bev; /* NULL once closed */
	pid_t pid;
	uid_t uid;
	int admin;
	Mockres__Role role;
	char name[MOCKRES_NAME_MAX + 1];
	uint64_t in_flight;
	uint64_t admitted;
	uint64_t rejected;
	uint64_t completed;
	uint64_t holds;                /* holds that still point here */
	int reading;                   /* in conn_read_cb: not freed yet */
	TAILQ_ENTRY(conn) dirty_entry; /* replies queued, not yet written */
	int dirty;
	int writing; /* the bufferevent writes what the socket did not take */
	struct event *watch_ev;
	uint64_t watch_id;
	int watch_clients;
};
TAILQ_HEAD(conn_list, conn);

void conn_accept(evutil_socket_t fd);
void conn_reply(struct conn *, Mockres__Response *);
void conn_close(struct conn *, const char *why);
void conn_release(struct conn *); /* a hold pointing here ended */
int conn_output_empty(const struct conn *);
void conn_flush(evutil_socket_t, short, void *);

/* dispatch.c */
void dispatch_request(struct conn *, const Mockres__Request *);
void dispatch_bad(struct conn *, uint64_t id, const char *why);
void dispatch_hold_end(struct hold *, void *arg);

/* stats.c */
void stats_fill(Mockres__Stats *, int with_clients);

/* listen.c */
int listen_unix(const char *path, char *err, size_t errlen);

/* The daemon's one state. */
struct mockresd {
	struct event_base *base;
	struct resource res;
	struct holds holds;
	struct conn_list conns;
	struct conn_list dirty; /* written once per loop turn by flush_ev */
	struct event flush_ev;
	int flush_armed;
	size_t nconns;
	uint64_t conn_serial;
	struct evconnlistener *listener;
	uid_t uid;
	uint64_t start_us;
	int shutting_down;
	struct arena arena;
};

/* daemon.c */
extern struct mockresd *mrd;

void daemon_init(struct mockresd *, struct event_base *, uint32_t limit,
                 uint32_t hold_ms);
void daemon_check_exit(void);

#endif
