/*
 * chaos.h: the map of mockres-chaos, the chaos soak (scripts/chaos).
 *
 * main.c runs the soak: epochs of load, each with one fault from a seeded
 * random schedule, the load paused between epochs so that each epoch's
 * HTTP outcomes can be held against mockresd's counters; then the final
 * checks.  system.c starts, stops and finds the processes of the system
 * under test; traffic.c is the load (forked HTTP clients, a reader of the
 * dashboard's event stream), counting every request's outcome in shared
 * memory; faults.c injects the faults; attack.c (attack.h) is the
 * unprivileged attacker that runs alongside; checks.c holds the assertions:
 * every sample of mockresd's counters, every epoch's accounting, and the
 * state of every process at the end.
 */
#ifndef MOCKRES_CHAOS_H
#define MOCKRES_CHAOS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attack.h"

#define CHAOS_REQUEST_TIMEOUT_MS 5000 /* the frontend's --request-timeout */
#define CHAOS_SLACK_MS           1000 /* the latency bound's margin */
#define CHAOS_STOP_MAX_MS        5000 /* longest SIGSTOP */
#define CHAOS_NOFILE             512  /* RLIMIT_NOFILE of every server */
#define CHAOS_FLOOD              800  /* connections a flood opens */
#define CHAOS_WORKERS            2
#define CHAOS_LIMIT              15 /* mockresd's --limit at start */
#define CHAOS_HOLD_MS            100
#define CHAOS_RECOVER_MS         20000 /* healthy again after a fault */
/* The attacker (attack.c), as an unprivileged user, all run long. */
#define CHAOS_ATTACK_WATCHERS  100 /* half asking what it may not */
#define CHAOS_ATTACK_REOPEN_MS 1500
#define CHAOS_ATTACK_FORGE_MS  2000
#define CHAOS_ATTACK_REPORTERS 32
#define CHAOS_ATTACK_HISTORY   100 /* /api/history left unread */

/* ---- traffic.c ---- */

enum chaos_outcome {
	OUT_200,
	OUT_500,         /* BUSY: limit reached, queue full */
	OUT_TIMEOUT,     /* the use waited its queue timeout (admitted) */
	OUT_UNREACHABLE, /* 503, not sent to mockresd */
	OUT_STALLED,     /* 503 "not answering", not sent */
	OUT_TOOMANY,     /* 503 "too many waiting", not sent */
	OUT_SHUTDOWN,    /* 503 "shutting down" */
	OUT_UNKNOWN,     /* 503 "outcome unknown": sent, maybe admitted */
	OUT_504,         /* --request-timeout passed: sent, maybe admitted */
	OUT_LOST,        /* connection closed or reset without an answer */
	OUT_HUNG,        /* no answer within the latency bound + 5 s */
	OUT_OTHER,       /* any other answer: always a failure */
	OUT_HEALTHZ,     /* GET /healthz answered (200 or 503): no use */
	OUT_N
};

extern const char *const chaos_outcome_names[OUT_N];

#define TR_CLIENTS_MAX 16
#define TR_SLOW_MAX    16

struct tr_slow { /* a request over the latency bound */
	uint64_t t0_us, t1_us;
	int outcome;
};

struct tr_slot { /* one client's counters */
	atomic_uint_fast64_t sent, connects, connect_err;
	atomic_uint_fast64_t out[OUT_N];
	atomic_uint_fast64_t max_us;
	atomic_uint_fast64_t nslow;
	struct tr_slow slow[TR_SLOW_MAX];
	atomic_int parked;
	atomic_int alive;
};

struct tr_counts { /* the sum over the clients */
	uint64_t sent, connects, connect_err, out[OUT_N], max_us, nslow;
};

int traffic_start(int port, int dash_port);
void traffic_pause(void);
/* Waits until every client is parked (no request under way); 0, or -1
 * after TIMEOUT_MS. */
int traffic_wait_parked(int timeout_ms);
void traffic_resume(void);
void traffic_counts(struct tr_counts *);
int traffic_clients(void);
const struct tr_slot *traffic_slot(int i);
uint64_t traffic_sse_events(void);
uint64_t traffic_sse_connects(void);
/* The longest time between two events of the dashboard's stream since
 * the last reset. */
void traffic_sse_gap_reset(void);
uint64_t traffic_sse_max_gap_us(void);
/* Stops and reaps every child; the number that did not exit cleanly. */
int traffic_stop(void);
/* Are all clients and the SSE reader still running? */
int traffic_alive(void);
/* The first unexpected answer seen, or NULL. */
const char *traffic_other(void);

/* ---- system.c ---- */

enum chaos_role { ROLE_MOCKRESD, ROLE_MASTER, ROLE_WORKER, ROLE_DASHBOARD };

struct chaos_system {
	char sock[256];
	int port, dash_port;
	pid_t mockresd, master, dashboard, watch;
	pid_t workers[CHAOS_WORKERS];
	int watch_fd; /* mockresctl --json watch's stdout */
	int mockresd_starts, master_starts, dashboard_starts;
};

extern struct chaos_system sys;

void system_init(void);
pid_t system_start_mockresd(void);
pid_t system_start_master(void);
pid_t system_start_dashboard(void);
pid_t system_start_watch(void);
/* Refreshes sys.workers from the master's children; how many there are. */
int system_workers(void);
/* The pid of ROLE as last known (for ROLE_WORKER, sys.workers[WORKER]). */
pid_t system_pid(enum chaos_role role, int worker);
/* Waits until the frontend (healthz 200 through the port, both workers
 * connected), the dashboard (/api/stats) and mockresd (status) answer.
 * 0, or -1 after TIMEOUT_MS with a reason in WHY. */
int system_wait_healthy(int timeout_ms, char *why, size_t len);
/* Waits for PID, a child of ours, to exit; its wait status or -1. */
int system_wait_exit(pid_t pid, int timeout_ms);
/* Waits until PID (not ours: a worker) is gone; 0, or -1. */
int system_wait_gone(pid_t pid, int timeout_ms);
/* mockresctl --socket SOCK ARGS; exit code, stdout into OUT. */
int system_ctl(const char *const args[], char *out, size_t len);
/* Does PID catch or ignore SIGHUP (so that sending it is no kill)? */
int system_handles_hup(pid_t pid);
/* SIGTERM to everything, in order; the number that did not exit 0. */
int system_stop_all(void);

/* ---- faults.c ---- */

struct chaos_fault {
	char what[160];
	int mockresd_restarted; /* a new mockresd instance */
	int frontend_died;      /* a master or worker killed or stopped */
	int limit_changed;
};

/* Draws a fault with RNG and injects it (it may take seconds). */
void fault_inject(uint64_t *rng, struct chaos_fault *f);
int fault_model_available(void);

/* ---- checks.c ---- */

struct chaos_snap { /* mockresd's counters */
	int ok;
	uint64_t pid, uptime_ms, admitted, rejected, completed, timed_out,
	    cancelled, in_flight, waiting, limit, peak;
};

extern int chaos_failures;
void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int check_snap(struct chaos_snap *);
/* Reads and checks every sample mockresctl watch has printed so far. */
void check_samples(void);
uint64_t check_nsamples(void);
/* The limit the orchestrator set (0 = none); peak <= limit is checked on
 * samples from now on (after RESET-PEAK, done here once in_flight <=
 * limit). */
void check_limit_set(uint64_t limit);
void check_mockresd_restarted(void);
/* The accounting of one epoch: its outcomes against mockresd's deltas. */
void check_epoch(int n, const char *what, const struct chaos_snap *a,
                 const struct chaos_snap *b, const struct tr_counts *c0,
                 const struct tr_counts *c1, const struct chaos_fault *f);
void check_latency(void);
void check_baseline(void);
void check_events_gaps(void);
void check_final(void);
void check_attacker(const struct attack_counts *, int unprivileged);
void check_report(void);
/* Waits MS, reading samples meanwhile. */
void chaos_wait(int ms);

/* ---- main.c ---- */
uint64_t chaos_rand(uint64_t *rng);
double chaos_elapsed_s(void);
void chaos_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The SIGSTOP windows of frontend processes: requests overlapping one may
 * take that much longer. */
#define CHAOS_WINDOWS_MAX 4096
void chaos_stop_window(uint64_t t0_us, uint64_t t1_us);
uint64_t chaos_stop_overlap_us(uint64_t t0_us, uint64_t t1_us);

#endif
