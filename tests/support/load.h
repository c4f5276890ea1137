/*
 * load.h: an HTTP load generator for the fault tests.
 *
 * Up to LOAD_CLIENTS_MAX forked children each run one HTTP/1.1 keep-alive
 * connection to 127.0.0.1:PORT, sending GET PATH in a loop until told to
 * stop.  Every outcome lands in shared memory, per phase: the test sets the
 * phase (0..LOAD_PHASES-1) around the fault it injects, and each request is
 * counted in the phase current when it was sent.  Nothing is retried in
 * secret: a request that was not answered is counted as such, and the next
 * request goes on a fresh connection.
 *
 * Outcomes of a request:
 * - status 200, 500, 503 or other: a whole response was read;
 * - reuse_lost: the connection had already carried a response and closed
 *   (or was reset) with no byte of this one: either the keep-alive race
 *   (the server closed an idle connection as the request left) or a server
 *   that died with the request; a client cannot tell them apart, and HTTP
 *   clients retry such an idempotent GET on a fresh connection;
 * - dropped: a fresh connection closed with no response, or a response
 *   was cut off midway;
 * - hung: no whole response within timeout_ms.
 * A connect that fails counts as connect_err (no request was sent).
 */
#ifndef MOCKRES_TEST_LOAD_H
#define MOCKRES_TEST_LOAD_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define LOAD_CLIENTS_MAX 64
#define LOAD_PHASES      8
#define LOAD_HIST_MS     2000 /* 1 ms buckets; one more for "longer" */

enum load_status { LOAD_200, LOAD_500, LOAD_503, LOAD_OTHER, LOAD_NSTATUS };

struct load_opts {
	int port;
	const char *path;
	int clients;       /* 1..LOAD_CLIENTS_MAX */
	int pace_us;       /* pause after each answer; 0 = none */
	int timeout_ms;    /* per request; 0 = 10000 */
	int one_conn;      /* a client ends when its connection closes */
	uint64_t max_sent; /* 0 = until load_stop() */
};

struct load_phase {
	atomic_uint_fast64_t sent;
	atomic_uint_fast64_t status[LOAD_NSTATUS];
	atomic_uint_fast64_t reuse_lost, dropped, hung, connect_err;
	atomic_uint_fast64_t conns;     /* connections opened */
	atomic_uint_fast64_t conn_fail; /* reuse_lost + dropped + hung on
	                                   connections opened in this phase */
	atomic_uint_fast64_t max_us[LOAD_NSTATUS];
	atomic_uint_fast64_t first_us[LOAD_NSTATUS]; /* monotonic time an */
	atomic_uint_fast64_t last_us[LOAD_NSTATUS];  /* answer arrived */
	atomic_uint_fast64_t hist[LOAD_NSTATUS][LOAD_HIST_MS + 1];
};

struct load_shared {
	atomic_int phase;
	atomic_int stop;
	atomic_uint_fast64_t total_sent;
	atomic_int running; /* children not yet finished */
	struct load_phase ph[LOAD_PHASES];
};

struct load {
	struct load_opts o;
	struct load_shared *sh;
	pid_t kids[LOAD_CLIENTS_MAX];
	int nkids;
	double t0_ms;
};

/* Forks the clients; NULL on error. */
struct load *load_start(const struct load_opts *);
/* From now on requests count in phase P. */
void load_set_phase(struct load *, int p);
/* Waits until every request sent in phase P has an outcome; 0, or -1
 * after TIMEOUT_MS. */
int load_wait_phase(struct load *, int p, int timeout_ms);
/* Waits until TOTAL requests were sent in all; 0, or -1 on timeout. */
int load_wait_sent(struct load *, uint64_t total, int timeout_ms);
/* Stops the clients (each finishes its request in progress, bounded by
 * its timeout) and reaps them.  0 if all exited cleanly. */
int load_stop(struct load *);
void load_free(struct load *);

/* Requests sent in phase P (or all phases if P < 0) that have an
 * outcome, and the sums of the counters. */
uint64_t load_answered(const struct load *, int p);
uint64_t load_sum_status(const struct load *, int p, enum load_status);
uint64_t load_sum_failed(const struct load *, int p); /* lost+dropped+hung */
/* Latency (ms, upper bound of its 1 ms bucket) under which a fraction Q
 * of the answers of status S in phase P came; -1 if there were none. */
double load_quantile_ms(const struct load *, int p, enum load_status, double q);
double load_max_ms(const struct load *, int p, enum load_status);
/* One line per phase into F. */
void load_print(const struct load *, const char *title, FILE *f);

#endif
