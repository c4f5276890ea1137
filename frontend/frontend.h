/*
 * frontend.h: the map of mockres-frontend, the pre-forked HTTP frontend.
 *
 * One master and N worker processes.  frontend.c reads the command line;
 * listen.c makes one SO_REUSEPORT listening socket per worker slot (the
 * kernel spreads connections across them, and a socket outlives the
 * workers that serve it, so connections queued on it while its worker is
 * replaced are not refused); master.c forks, respawns, reloads and stops
 * the workers; worker.c is a worker's life (event base, HTTP server, one
 * mrclient to mockresd, drain on SIGTERM); http.c answers requests, on
 * the HTTP layer of common/ (httpserv.h: parsing, connections, the head
 * and write deadlines, caps); timing.c times them and reports the counts
 * to mockresd; conncount.c counts the client connections open across all
 * the workers, in memory the master maps before it forks.  The deadlines
 * of a use: pending.c (one mockresd has not answered within
 * --request-timeout gets 504), liveness.c (a mockresd that stops
 * answering is dropped and reported).
 *
 * Files call down: worker.c -> http.c -> pending.c, timing.c,
 * liveness.c, conncount.c; the state they share is struct wstate below,
 * handed down.
 */
#ifndef MOCKRES_FRONTEND_H
#define MOCKRES_FRONTEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>

#include "endpoint.h"

#define FRONTEND_LISTEN_DEFAULT    "127.0.0.1:4000"
#define FRONTEND_DASHBOARD_DEFAULT "http://127.0.0.1:4001/"
#define FRONTEND_WORKERS_MAX       256
#define FRONTEND_URL_MAX           512
#define FRONTEND_BACKLOG           4096

#define FRONTEND_REQUEST_TIMEOUT_DEFAULT 30000    /* ms */
#define FRONTEND_REQUEST_TIMEOUT_MAX     86400000 /* ms: a day */

#define HTTP_BODY_MAX     4096 /* bytes of request body (413 past it) */
#define HTTP_REASON_MAX   200  /* bytes of mockresd's error text kept */
#define HTTP_CONTENT_TYPE "text/plain; charset=utf-8"
#define HTTP_RETRY_AFTER  "Retry-After: 1\r\n" /* on every 503 */

#define LIVENESS_TICK_MS  100  /* how often liveness.c looks */
#define LIVENESS_PING_MS  1000 /* no reply this long: ping mockresd */
#define LIVENESS_STALL_MS 3000 /* no reply this long: stalled */

#define WORKER_DRAIN_MS       10000 /* in-flight requests after SIGTERM */
#define WORKER_LINGER_MS      1000  /* keep-alive clients' last request */
#define WORKER_REPORT_WAIT_MS 500   /* mockresd taking the last report */
#define WORKER_EXIT_NORESPAWN 2     /* exit code: broken setup, do not retry */

#define MASTER_KILL_MS     15000 /* SIGTERM to SIGKILL for workers */
#define MASTER_READY_MS    5000  /* a reloaded worker must be ready by */
#define MASTER_BACKOFF_MIN 100   /* ms before respawning a crash loop */
#define MASTER_BACKOFF_MAX 10000
#define MASTER_STABLE_MS   2000 /* a worker that lived this long is fine */

struct frontend_config {
	struct sockaddr_storage listen_ss;
	socklen_t listen_len;
	const char *listen_str;
	unsigned workers;
	const char *socket_path; /* mockresd's address as given (ep.text) */
	struct endpoint ep;      /* a Unix socket or tls://HOST:PORT */
	struct tlsconf tls;      /* for a tls:// one: made once, here */
	const char *dashboard_url;
	int http_timing; /* 0 with the hidden --no-http-timing (bench/run) */
	uint64_t request_timeout_ms;
	int verbose;
};

/* listen.c */
int listen_check_free(const struct sockaddr_storage *, socklen_t, char *err,
                      size_t errlen);
int listen_tcp(const struct sockaddr_storage *, socklen_t, char *err,
               size_t errlen);

/* master.c */
int master_run(const struct frontend_config *, const int *fds);

/*
 * The state a worker's files share, lifted here so that none of them
 * calls up into worker.c: worker.c (or the fuzzer) makes it and hands it
 * down to each file's init; the files below keep the pointer.
 */
struct wstate {
	struct event_base *base;
	struct mrclient *mc;
	const struct frontend_config *conf;
	struct httpserv *http;
	int draining;     /* every answer closes its connection */
	uint64_t waiting; /* requests waiting for mockresd */
	uint64_t active;  /* requests not yet fully answered */
	uint64_t served;  /* answers written, for the exit log */
	uint64_t replies; /* from mockresd: signs of life (liveness.c) */
	/* A request ended (called from inside the HTTP layer: defer any
	 * real work to the loop). */
	void (*request_done)(void);
};

/* worker.c */
void worker_main(const struct frontend_config *, unsigned slot, int fd,
                 int ready_fd) __attribute__((noreturn));

/* http.c */
struct httpserv *http_setup(struct wstate *);

/* timing.c */
enum httpstats_route_id;
void timing_init(struct wstate *, int on);
void timing_free(void);
uint64_t timing_begin(void);
void timing_route(uint64_t *cookie, enum httpstats_route_id);
void timing_end(uint64_t cookie, int code);
void timing_connected(void);
int timing_final(void (*done)(void));

/* pending.c */
struct httpserv_conn;
struct pending {
	TAILQ_ENTRY(pending) link;
	struct httpserv_conn *conn; /* the request: its connection, */
	uint32_t ticket;            /* ... and ticket */
	uint64_t id;                /* mrclient's */
	uint64_t deadline_ms;
	int linked;
	struct pending *next_free;
};

int pending_init(struct wstate *, uint64_t timeout_ms,
                 void (*expire)(struct pending *));
struct pending *pending_new(struct httpserv_conn *, uint32_t ticket);
void pending_start(struct pending *, uint64_t id);
void pending_free(struct pending *);

/* liveness.c */
int liveness_init(struct wstate *);
void liveness_up(void);
int liveness_stalled(void);

/* conncount.c: the frontend's open client connections, all workers. */
int conncount_init(void);        /* master, before the first fork */
int conncount_take(void);        /* master: a cell for a new worker, or -1 */
void conncount_give(int cell);   /* master: that worker is reaped */
void conncount_worker(int cell); /* the worker, first thing */
void conncount_open(void);       /* a client connection opened */
void conncount_close(void);      /* ... and closed */
void conncount_burst(void);      /* a burst begins: the peak restarts */
int conncount_get(uint64_t *frontend, uint32_t *open, uint32_t *peak);

#endif
