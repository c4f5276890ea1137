/*
 * core.h: the parts of mockres-dashboard that keep and format the data
 * (the dashboard_core library, unit-tested alone).
 *
 * They know nothing above them: not the feed, the web server, the
 * browsers nor struct dash (dashboard.h, the program's map, includes this
 * file and adds those).  The feed (feed.c) hands each push and each HTTP
 * answer down to the pieces that keep them, in this order of dependence:
 *
 *   average.c  the rolling average of in_flight
 *   procs.c    the process table, keyed by host and pid, from the
 *              watch's clients and /proc (this host's processes) or the
 *              figures mockresd passes on (another host's)
 *   history.c  10 minutes of samples and process frames
 *   traffic.c  the frontend workers' merged HTTP stats, live
 *   predict.c  what the formula of a run's model predicts (pure)
 *   guess.c    the student's guess for the next run: parsed, kept
 *   runs.c     the runs, cut from the traffic and measured from the
 *              history; runsout.c writes them as JSON and CSV
 *   snapshot.c, metrics.c, refbuf.c  what goes out
 *
 * Each file calls only those above it in this list.
 */
#ifndef MOCKRES_DASHBOARD_CORE_H
#define MOCKRES_DASHBOARD_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/buffer.h>

#include "httpstats.h"
#include "mockres.pb-c.h"
#include "model.h"
#include "peerclock.h"
#include "ratelog.h"

#define DASH_WATCH_MS 20  /* the original page's sampling period */
#define DASH_SLOW_MS  500 /* /proc sampling; snapshots when down */

/* average.c: the mean of the last AVERAGE_SAMPLES in-flight samples. */
#define AVERAGE_SAMPLES 11

struct average {
	uint64_t samples[AVERAGE_SAMPLES];
	size_t n;    /* samples held, <= AVERAGE_SAMPLES */
	size_t next; /* where the next sample goes */
};

void average_reset(struct average *);
void average_add(struct average *, uint64_t sample);
uint64_t average_hundredths(const struct average *);
void average_format(const struct average *, char *buf, size_t len);

/* procs.c: the process table, from the watch's clients and /proc (on
 * this host) or the figures mockresd passes on (on another host). */
#define PROCS_MAX   300 /* mockresd + masters + the 256 listed clients */
#define PROCS_HOST  64  /* bytes of a host name (MOCKRES_HOST_MAX) */
#define PROCS_LOCAL 8   /* masters of this host's frontends */

enum proc_role {
	PROC_DAEMON,
	PROC_FRONTEND_MASTER,
	PROC_FRONTEND_WORKER,
	PROC_BENCH,
	PROC_DASHBOARD,
};
#define PROC_ROLES 5

struct proc {
	char host[PROCS_HOST + 1]; /* its host's name */
	int local;                 /* on this host: /proc has it */
	pid_t pid;
	enum proc_role role;
	uint64_t in_flight;
	int seen;    /* listed in the current update */
	int sampled; /* cpu/rss below are valid */
	pid_t ppid;
	unsigned long long ticks; /* utime + stime at the last sample */
	double sample_ms;         /* monotonic time of that sample */
	double cpu_percent;       /* over the last sampling period */
	uint64_t rss_kb;
	/* Another host's process: its latest figures as mockresd passed
	 * them on (from a worker's report, or mockresd's own). */
	int has_remote;
	uint64_t remote_cpu_ms, remote_rss_kb;
};

struct procs {
	struct proc p[PROCS_MAX];
	size_t n;
	char self_host[PROCS_HOST + 1]; /* this host's name */
	/* The masters of this host's frontends: the parents of verified
	 * local workers, if named mockres-frontend. */
	pid_t masters[PROCS_LOCAL];
	size_t nmasters;
	double last_sample_ms;
	long clk_tck;
};

void procs_init(struct procs *);
void procs_begin(struct procs *);
/* Lists (HOST, PID) in this update; HOST NULL or "" is this host.  USAGE
 * (may be NULL): its figures, used for a process of another host. */
void procs_put(struct procs *, const char *host, pid_t, enum proc_role,
               uint64_t in_flight, const Mockres__ProcUsage *usage);
void procs_end(struct procs *, double now_ms);
void procs_from_stats(struct procs *, const Mockres__Stats *, pid_t self,
                      double now_ms);
void procs_sample(struct procs *, double now_ms);
const char *procs_role_name(enum proc_role);
double procs_cpu_seconds(const struct procs *, const struct proc *);
/* The hosts of the table's processes, in its order, at most MAX into
 * OUT; returns how many. */
size_t procs_hosts(const struct procs *, char (*out)[PROCS_HOST + 1],
                   size_t max);

/* history.c: the last 10 minutes, for the chart and the runs. */
#define HISTORY_WINDOW_S    600
#define HISTORY_SLACK_S     60 /* kept past the window for answers */
#define HISTORY_FRAME_PROCS 64 /* per frame, in the table's order */
#define HISTORY_STEP_MAX    60000
#define HISTORY_PIDS_MAX    128  /* distinct processes in one answer */
#define HISTORY_PIECE_MIN   1024 /* a buffer history_cursor_read fills */

struct history_sample {
	uint64_t t_ms; /* the dashboard's monotonic clock */
	uint32_t in_flight, waiting;
	uint32_t admitted, rejected, timed_out; /* since the previous sample */
};

struct history_proc {
	pid_t pid;
	uint16_t role;
	uint16_t host;  /* index in history.hosts */
	uint32_t ticks; /* utime + stime, clock ticks (497 days at 100 Hz) */
	uint32_t rss_kb;
};

#define HISTORY_HOSTS_MAX 64 /* distinct hosts; more share the last */

struct history_frame {
	uint64_t t_ms;
	uint32_t n;
	struct history_proc p[HISTORY_FRAME_PROCS];
};

/*
 * The rings hold the window and HISTORY_SLACK_S more: what lies past the
 * window is seen by nothing but the answers that began before it aged
 * out (struct history_cursor), so that an answer is the same whole
 * however slowly it is read, for that long.
 */
struct history {
	unsigned window_s; /* HISTORY_WINDOW_S, or less for tests */
	size_t max_samples, max_frames; /* what the window holds */
	size_t cap_s, cap_f;            /* the rings' sizes: and the slack */
	struct history_sample *samples; /* rings */
	size_t ns;        /* samples in the window, <= max_samples */
	uint64_t added_s; /* samples ever added (the next one's number) */
	struct history_frame *frames;
	size_t nf;
	uint64_t added_f;
	long clk_tck;
	/* The hosts the frames name, in the order first seen. */
	char hosts[HISTORY_HOSTS_MAX][PROCS_HOST + 1];
	size_t nhosts;
	int have_prev; /* the counters of the previous push, for deltas */
	uint64_t prev_admitted, prev_rejected, prev_timed_out;
};

int history_init(struct history *, unsigned window_s, long clk_tck);
void history_free(struct history *);
void history_add(struct history *, uint64_t t_ms, const Mockres__Stats *);
void history_gap(struct history *); /* mockresd gone: no deltas across */
void history_prefill(struct history *, uint64_t now_ms); /* tests */
void history_add_procs(struct history *, uint64_t t_ms, const struct procs *);
const struct history_sample *history_sample_at(const struct history *,
                                               size_t i); /* 0 = oldest */
const struct history_frame *history_frame_at(const struct history *, size_t i);

enum history_format { HISTORY_OBJECTS, HISTORY_COLUMNS };

struct history_pid {
	pid_t pid;
	uint16_t host;
	uint32_t role;
	uint32_t first, last; /* ticks */
};

/*
 * GET /api/history, written a piece at a time as the client takes it
 * (history_cursor_read), from the rings themselves: what an answer holds
 * is this cursor (~2.5 KB), never the answer.  The samples and frames it
 * covers are fixed when it starts, by their numbers (history.added_*);
 * it reads them while the rings still hold them: for HISTORY_SLACK_S
 * after they left the window.
 */
struct history_cursor {
	uint64_t now_ms;
	unsigned step; /* of the samples; the processes' is >= DASH_SLOW_MS */
	enum history_format fmt;
	int ncols;
	uint64_t s_first, s_end; /* samples [s_first, s_end) */
	uint64_t f_first, f_end; /* frames [f_first, f_end) */
	int phase;
	int col;    /* columns: the one being written (-1: dt_ms) */
	uint64_t s; /* the next sample */
	size_t n;   /* items written in the current array */
	uint64_t prev_t, t0;
	struct history_pid ids[HISTORY_PIDS_MAX];
	size_t nids, id; /* the processes, and the one being written */
	int pass;        /* columns: dt_ms, cpu_percent, rss_kb */
	uint64_t f;      /* the next frame */
	uint64_t pkey;
	uint32_t prev_ticks;
	int have_prev;
};

/* Starts the answer for the last SECONDS before NOW_MS in steps of
 * STEP_MS (>= 20). */
void history_cursor_start(struct history_cursor *, const struct history *,
                          uint64_t now_ms, unsigned seconds, unsigned step_ms,
                          enum history_format);
/*
 * Writes the next piece of the answer into BUF (LEN >=
 * HISTORY_PIECE_MIN).  Returns the bytes written, 0 when the answer is
 * whole, or -1 if the rings no longer hold what is still to be written
 * (read for more than HISTORY_SLACK_S): it cannot be finished.
 */
long history_cursor_read(struct history_cursor *, const struct history *,
                         char *buf, size_t len);
/* GET /api/history at once: the last SECONDS in steps of STEP_MS. */
void history_json(struct evbuffer *out, const struct history *, uint64_t now_ms,
                  unsigned seconds, unsigned step_ms, enum history_format);
/* Highest in_flight and waiting over [from_ms, to_ms]. */
void history_peaks(const struct history *, uint64_t from_ms, uint64_t to_ms,
                   uint64_t *in_flight, uint64_t *waiting);
/* CPU seconds and peak resident memory (sum over its processes) of each
 * role over [from_ms, to_ms], from the frames around it. */
void history_roles(const struct history *, uint64_t from_ms, uint64_t to_ms,
                   double cpu_s[PROC_ROLES], uint64_t rss_kb[PROC_ROLES]);
int history_clipped(const struct history *, uint64_t from_ms);
/* The highest in_flight and waiting in each of N equal steps of [from_ms,
 * to_ms] (0 where no sample falls). */
void history_series(const struct history *, uint64_t from_ms, uint64_t to_ms,
                    size_t n, uint32_t *in_flight, uint32_t *waiting);

/* traffic.c: the frontend workers' HTTP stats, as mockresd merges them. */
#define TRAFFIC_LIVE_S 5  /* percentiles over the last 5 s */
#define TRAFFIC_RATE_S 10 /* requests/s over the last 10 s */

struct traffic_mark {
	uint64_t t_us;
	struct httpstats hs;
};

struct traffic_count { /* the requests of each route at a moment */
	uint64_t t_us;
	uint64_t n[HTTPSTATS_ROUTES];
};

struct traffic {
	int valid;       /* an answer came */
	int reset;       /* the counts went back (mockresd restarted) */
	const char *bad; /* the last answer did not read: why (else NULL) */
	struct ratelog bad_log;
	uint32_t daemon_pid;
	uint64_t t_us; /* when it came */
	uint64_t gen;  /* answers taken */
	/* mockresd's clock in ours, from Stats.now_us: it may be on another
	 * host.  first_us and last_us are kept in ours. */
	struct peerclock clock;
	struct httpstats total;
	uint64_t first_us, last_us, reports;
	uint32_t active, reporters, departed;
	uint32_t conns_open, conns_peak; /* client connections (runs.c) */
	struct traffic_mark marks[TRAFFIC_LIVE_S + 1]; /* one a second */
	size_t nmarks, next_mark;
	struct traffic_count counts[TRAFFIC_RATE_S + 1]; /* one a second */
	size_t ncounts, next_count;
	struct httpstats live;         /* total - the oldest mark */
	double rate[HTTPSTATS_ROUTES]; /* requests/s, TRAFFIC_RATE_S */
	struct evbuffer *json;         /* "http":{...}, formatted once */
};

int traffic_init(struct traffic *);
void traffic_free(struct traffic *);
void traffic_update(struct traffic *, const Mockres__Stats *, uint64_t now_us);
void traffic_down(struct traffic *);
/* Our time US in mockresd's clock (StatsRequest.http_since_us). */
uint64_t traffic_daemon_us(const struct traffic *, uint64_t us);
/* JSON object of one route's percentiles (ms) over H. */
void traffic_latency_json(struct evbuffer *out, const struct hist *h);

/* predict.c: what the formula of a run's model predicts for a closed loop
 * of N clients sending n requests; or why no closed form applies. */
struct predict_in {
	const struct model *model; /* the run's, as it began */
	uint32_t limit;            /* 0 = none */
	uint64_t clients;          /* N, measured at the frontends */
	uint64_t requests;         /* n, on ROUTE */
	enum httpstats_route_id route;
	int routes;     /* routes with requests in the run */
	int changed;    /* the setup changed during the run */
	int lone_first; /* ab's lone first request, seen in the history */
};

#define PREDICT_TEXT 256

struct prediction {
	int ok;                     /* 0: no closed form; see why */
	char formula[PREDICT_TEXT]; /* one line, when ok */
	char why[PREDICT_TEXT];     /* when not */
	/* Each < 0 when the formula says nothing about it. */
	double duration_ms, req_per_s, mean_ms;
	double peak_in_flight, peak_waiting, failed;
};

void predict_run(const struct predict_in *, struct prediction *);

/* guess.c: the student's guess for the next run (POST /api/guess). */
#define GUESS_BODY_MAX 1024 /* bytes of a POSTed guess */

struct guess {
	int set;
	int64_t made_unix_ms;
	int route; /* an enum httpstats_route_id, or -1: not said */
	/* Each < 0 when not guessed. */
	double duration_ms, req_per_s, peak_in_flight, failed;
};

/* Parses a JSON object of at most GUESS_BODY_MAX bytes into G (made
 * now).  0, or -1 with a one-line reason in WHY and G unchanged. */
int guess_parse(struct guess *g, const char *json, size_t len, char *why,
                size_t whylen);
void guess_json(struct evbuffer *out, const struct guess *g); /* or null */

/* runs.c: a run starts at the first request after 2 s with none, and
 * ends after 2 s with none (HTTPSTATS_GAP_US); the last RUNS_MAX kept. */
#define RUNS_MAX       50
#define RUN_SPARK      48  /* points of a run's own chart */
#define RUN_HOSTS_MAX  8   /* hosts named in a setup */
#define RUN_HOST_LEN   65  /* a host name and its NUL */
#define RUN_CHANGE_LEN 120 /* the note of what changed during a run */

struct run_route {
	uint64_t requests;
	uint32_t ncodes;
	uint32_t code[HTTPSTATS_CODES];
	uint64_t count[HTTPSTATS_CODES];
	uint64_t p50_us, p90_us, p99_us, max_us;
	double mean_us;
};

/* What a run ran under, as it began. */
struct run_setup {
	int known; /* mockresd had sent its model */
	struct model model;
	char preset[16]; /* the preset the model equals, or "" */
	uint32_t limit;
	uint32_t workers; /* frontend workers reporting */
	uint32_t nhosts;
	char hosts[RUN_HOSTS_MAX][RUN_HOST_LEN];
	uint64_t changes; /* mockresd's setup_changes */
};

struct run {
	uint64_t id;
	uint64_t start_us, end_us; /* monotonic */
	int64_t start_unix_ms;     /* wall clock, for people */
	uint64_t requests;
	struct run_route route[HTTPSTATS_ROUTES];
	uint64_t peak_in_flight, peak_waiting;
	uint32_t clients; /* most client connections open at once */
	double cpu_s[PROC_ROLES];
	uint64_t peak_rss_kb[PROC_ROLES];
	int clipped; /* longer than the history: peaks and CPU of its end */
	struct run_setup setup;
	char changed[RUN_CHANGE_LEN]; /* "" if nothing did */
	int lone_first;               /* one use alone in its first hold */
	struct guess guess;           /* the guess it took, if any */
	struct prediction predicted;
	uint64_t spark_from_ms, spark_to_ms; /* its chart: max per step */
	uint32_t spark_in[RUN_SPARK], spark_wait[RUN_SPARK];
};

/* What the feed hands the runs at each HTTP answer. */
struct runs_input {
	const struct traffic *traffic;
	const struct history *history;
	const Mockres__Stats *stats; /* the latest watch push, or NULL */
	const struct model *model;   /* decoded from it, or NULL */
	uint32_t nhosts;
	const char (*hosts)[RUN_HOST_LEN];
};

struct runs {
	struct run done[RUNS_MAX]; /* a ring, newest at next - 1 */
	size_t n, next;
	struct run cur;
	int in_run;
	int have_base;
	struct httpstats base; /* the totals when the last run ended */
	uint64_t since_us;     /* the end of the last run */
	uint64_t next_id;
	unsigned polls;
	uint64_t settle_until_us; /* after a reset, re-baseline until then */
	struct httpstats diff;
	/* mockresd's peaks and setup changes at the last poll between runs */
	uint64_t idle_peak, idle_peak_waiting, idle_changes;
	struct guess guess; /* for the next run that begins */
};

void runs_init(struct runs *);
void runs_update(struct runs *, const struct runs_input *, uint64_t now_us);
const struct run *runs_get(const struct runs *, size_t i); /* 0 = newest */
void runs_guess_set(struct runs *, const struct guess *);
void runs_guess_clear(struct runs *);
/* runs.c: the one-line setup ("pool · 10 slots · limit none · 2 workers") */
void runs_setup_line(const struct run_setup *, char *buf, size_t len);

/* runsout.c: the runs as JSON (GET /api/runs, the snapshot's "run") and
 * CSV (GET /api/runs?format=csv: one row per run and route). */
void runs_json(struct evbuffer *out, const struct runs *);
void runs_run_json(struct evbuffer *out, const struct run *, int running);
void runs_csv(struct evbuffer *out, const struct runs *);

/* snapshot.c: the JSON snapshot, as in docs/design.md. */
struct snapshot_extra {
	uint64_t t_ms;           /* on the history's clock */
	int answering;           /* pushes arrive (0: mockresd stalled) */
	struct evbuffer *http;   /* traffic's JSON, or NULL: left out */
	const struct runs *runs; /* NULL: left out */
};

void snapshot_json(struct evbuffer *out, const Mockres__Stats *s, int connected,
                   const struct average *, const struct procs *,
                   const struct snapshot_extra *);

/* metrics.c: Prometheus text exposition format 0.0.4. */
void metrics_format(struct evbuffer *out, const Mockres__Stats *s,
                    int connected, const struct procs *, size_t sse_clients,
                    uint64_t sse_dropped);
void metrics_http(struct evbuffer *out, const struct traffic *);
void metrics_engine(struct evbuffer *out, const Mockres__Stats *);

/* refbuf.c: one formatted snapshot shared by every writer. */
struct refbuf {
	unsigned refs;
	size_t len;      /* of buf: "data: " JSON "\n\n" */
	size_t json_off; /* the JSON alone is buf[json_off .. +json_len) */
	size_t json_len;
	char buf[];
};

struct refbuf *refbuf_new(struct evbuffer *json);
void refbuf_unref(struct refbuf *);
int refbuf_add_event(struct refbuf *, struct evbuffer *out);
int refbuf_add_json(struct refbuf *, struct evbuffer *out);

#endif
