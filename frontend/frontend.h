/*
 * frontend.h: the map of mockres-frontend, the pre-forked HTTP frontend.
 *
 * One master and N worker processes.  frontend.c reads the command line;
 * listen.c makes one SO_REUSEPORT listening socket per worker slot (the
 * kernel spreads connections across them, and a socket outlives the
 * workers that serve it, so connections queued on it while its worker is
 * replaced are not refused); master.c forks, respawns, reloads and stops
 * the workers; worker.c is a worker's life (event base, evhttp, one
 * mrclient to mockresd, drain on SIGTERM); http.c answers requests;
 * timing.c times them and reports the counts to mockresd; conncount.c
 * counts the client connections open across all the workers, in memory
 * the master maps before it forks.
 * The deadlines: pending.c (a use mockresd has not answered within
 * --request-timeout gets 504), liveness.c (a mockresd that stops answering
 * is dropped and reported), httpconn.c (a connection must send a whole
 * request within HTTP_HEAD_DEADLINE_MS).
 */
#ifndef MOCKRES_FRONTEND_H
#define MOCKRES_FRONTEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/http.h>

#include "endpoint.h"

#define FRONTEND_LISTEN_DEFAULT    "127.0.0.1:4000"
#define FRONTEND_DASHBOARD_DEFAULT "http://127.0.0.1:4001/"
#define FRONTEND_WORKERS_MAX       256
#define FRONTEND_URL_MAX           512
#define FRONTEND_BACKLOG           4096

#define FRONTEND_REQUEST_TIMEOUT_DEFAULT 30000    /* ms */
#define FRONTEND_REQUEST_TIMEOUT_MAX     86400000 /* ms: a day */

#define HTTP_TIMEOUT_S        15   /* read, write and keep-alive idle */
#define HTTP_HEADERS_MAX      8192 /* bytes of request line and headers */
#define HTTP_BODY_MAX         4096 /* bytes of request body */
#define HTTP_REASON_MAX       200  /* bytes of mockresd's error text kept */
#define HTTP_CONTENT_TYPE     "text/plain; charset=utf-8"
#define HTTP_RETRY_AFTER      "1"   /* seconds, on every 503 */
#define HTTP_HEAD_DEADLINE_MS 10000 /* to send a whole request */

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

/* worker.c */
struct worker {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct mrclient *mc;
	const struct frontend_config *conf;
	unsigned slot;
	int draining;
	int mrd_warned;   /* "cannot reach mockresd" logged once */
	uint64_t waiting; /* requests waiting for mockresd */
	uint64_t active;  /* requests not yet fully answered */
	uint64_t served;  /* requests answered, for the exit log */
	uint64_t replies; /* from mockresd: signs of life (liveness.c) */
	struct event *drain_ev;
	struct event *linger_ev;
	struct event *done_ev;   /* a request ended: may a drain be over? */
	struct event *report_ev; /* the wait for the last report's answer */
	int lingered;
	int reporting; /* the last report is sent, its answer awaited */
	int reported;  /* ... and it came (or the connection went) */
	struct event *sig_ev[2];
};

extern struct worker *wk;

void worker_main(const struct frontend_config *, unsigned slot, int fd,
                 int ready_fd) __attribute__((noreturn));
void worker_request_done(void);

/* http.c */
struct evhttp *http_setup(struct event_base *, uint64_t request_timeout_ms);
void http_request_cb(struct evhttp_request *, void *);

/* timing.c */
enum httpstats_route_id;
void timing_init(struct event_base *, int on);
void timing_free(void);
void timing_begin(struct evhttp_request *, enum httpstats_route_id,
                  void (*cb)(struct evhttp_request *, void *));
void timing_end(struct evhttp_request *, void *arg);
void timing_connected(void);
int timing_final(void (*done)(void));

/* pending.c */
struct pending {
	TAILQ_ENTRY(pending) link;
	struct evhttp_request *req;
	uint64_t id; /* mrclient's */
	uint64_t deadline_ms;
	int linked;
	struct pending *next_free;
};

int pending_init(struct event_base *, uint64_t timeout_ms,
                 void (*expire)(struct pending *));
struct pending *pending_new(struct evhttp_request *);
void pending_start(struct pending *, uint64_t id);
void pending_free(struct pending *);

/* liveness.c */
int liveness_init(struct event_base *);
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

/* httpconn.c */
int httpconn_init(struct event_base *, void (*lost)(void));
struct bufferevent *httpconn_bevcb(struct event_base *, void *);
void httpconn_request(struct evhttp_request *);  /* reached http.c */
void httpconn_answered(struct evhttp_request *); /* answer written */
size_t httpconn_connections(void);               /* open, with a record */

#endif
