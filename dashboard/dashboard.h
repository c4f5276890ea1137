/*
 * dashboard.h: mockres-dashboard, the map.
 *
 * One object, struct dash (below), made in main() and passed to every
 * part; no part keeps state of its own in file statics.
 *
 * One watch stream from mockresd comes in (feed.c, every 20 ms); each push
 * updates the rolling average (average.c), the process table (procs.c)
 * and the history (history.c: 10 minutes of samples), is formatted once
 * as a JSON snapshot (snapshot.c) into a reference-counted buffer
 * (refbuf.c), and those same bytes are written to every browser on the
 * event stream (sse.c).  Every DASH_HTTP_MS feed.c also asks mockresd for
 * the frontend workers' merged HTTP stats (traffic.c: totals, live rates
 * and percentiles), from which runs.c cuts the runs.  web.c routes the
 * requests; metrics.c formats the Prometheus text.
 *
 * Memory policy: allocation failure during a request fails that request
 * (500) or drops that browser; at start-up it is fatal.
 */
#ifndef MOCKRES_DASHBOARD_H
#define MOCKRES_DASHBOARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "httpstats.h"
#include "mockres.pb-c.h"

#define DASH_LISTEN_DEFAULT "127.0.0.1:4001"
#define DASH_WATCH_MS       20    /* the original page's sampling period */
#define DASH_SLOW_MS        500   /* /proc sampling; snapshots when down */
#define DASH_KEEPALIVE_MS   15000 /* an SSE comment after this much quiet */
#define DASH_HTTP_MS        200   /* asking for the merged HTTP stats */
#define DASH_STALL_MS       1000  /* no push this long: "not answering" */

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

/* procs.c: the process table, from the watch's clients and /proc. */
#define PROCS_MAX 300 /* mockresd + master + the 256 listed clients */

enum proc_role {
	PROC_DAEMON,
	PROC_FRONTEND_MASTER,
	PROC_FRONTEND_WORKER,
	PROC_BENCH,
	PROC_DASHBOARD,
};
#define PROC_ROLES 5

struct proc {
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
};

struct procs {
	struct proc p[PROCS_MAX];
	size_t n;
	pid_t master; /* the workers' parent if it is mockres-frontend */
	double last_sample_ms;
	long clk_tck;
	long page_kb;
};

void procs_init(struct procs *);
void procs_begin(struct procs *);
void procs_put(struct procs *, pid_t, enum proc_role, uint64_t in_flight);
void procs_end(struct procs *, double now_ms);
void procs_from_stats(struct procs *, const Mockres__Stats *, pid_t self,
                      double now_ms);
void procs_sample(struct procs *, double now_ms);
const char *procs_role_name(enum proc_role);
int procs_parse_stat(const char *buf, pid_t *ppid, unsigned long long *ticks);
double procs_cpu_seconds(const struct procs *, const struct proc *);

/* history.c: the last 10 minutes, for the chart and the runs. */
#define HISTORY_WINDOW_S    600
#define HISTORY_FRAME_PROCS 64 /* per frame, in the table's order */
#define HISTORY_STEP_MAX    60000

struct history_sample {
	uint64_t t_ms; /* the dashboard's monotonic clock */
	uint32_t in_flight, waiting;
	uint32_t admitted, rejected, timed_out; /* since the previous sample */
};

struct history_proc {
	pid_t pid;
	uint32_t role;
	uint32_t ticks; /* utime + stime, clock ticks (497 days at 100 Hz) */
	uint32_t rss_kb;
};

struct history_frame {
	uint64_t t_ms;
	uint32_t n;
	struct history_proc p[HISTORY_FRAME_PROCS];
};

struct history {
	unsigned window_s; /* HISTORY_WINDOW_S, or less for tests */
	size_t max_samples, max_frames;
	struct history_sample *samples; /* rings */
	size_t ns, next_s;
	struct history_frame *frames;
	size_t nf, next_f;
	long clk_tck;
	int have_prev; /* the counters of the previous push, for deltas */
	uint64_t prev_admitted, prev_rejected, prev_timed_out;
};

int history_init(struct history *, unsigned window_s, long clk_tck);
void history_free(struct history *);
void history_add(struct history *, uint64_t t_ms, const Mockres__Stats *);
void history_gap(struct history *); /* mockresd gone: no deltas across */
void history_add_procs(struct history *, uint64_t t_ms, const struct procs *);
const struct history_sample *history_sample_at(const struct history *,
                                               size_t i); /* 0 = oldest */
const struct history_frame *history_frame_at(const struct history *, size_t i);

enum history_format { HISTORY_OBJECTS, HISTORY_COLUMNS };
/* GET /api/history: the last SECONDS in steps of STEP_MS (>= 20). */
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

/* traffic.c: the frontend workers' HTTP stats, as mockresd merges them. */
#define TRAFFIC_LIVE_S 5 /* percentiles over the last 5 s */

struct traffic_mark {
	uint64_t t_us;
	struct httpstats hs;
};

struct traffic {
	int valid; /* an answer came */
	int reset; /* the counts went back (mockresd restarted) */
	uint32_t daemon_pid;
	uint64_t t_us; /* when it came */
	uint64_t gen;  /* answers taken */
	struct httpstats total;
	uint64_t first_us, last_us, reports;
	uint32_t active, reporters, departed;
	uint32_t conns_open, conns_peak; /* client connections (runs.c) */
	struct traffic_mark marks[TRAFFIC_LIVE_S + 1]; /* one a second */
	size_t nmarks, next_mark;
	struct httpstats live;         /* total - the oldest mark */
	double rate[HTTPSTATS_ROUTES]; /* requests/s over the last ~1 s */
	struct evbuffer *json;         /* "http":{...}, formatted once */
};

int traffic_init(struct traffic *);
void traffic_free(struct traffic *);
void traffic_update(struct traffic *, const Mockres__Stats *, uint64_t now_us);
void traffic_down(struct traffic *);
/* JSON object of one route's percentiles (ms) over H. */
void traffic_latency_json(struct evbuffer *out, const struct hist *h);

/* runs.c: a run starts at the first request after 2 s with none, and
 * ends after 2 s with none (HTTPSTATS_GAP_US); the last RUNS_MAX kept. */
#define RUNS_MAX 50

struct run_route {
	uint64_t requests;
	uint32_t ncodes;
	uint32_t code[HTTPSTATS_CODES];
	uint64_t count[HTTPSTATS_CODES];
	uint64_t p50_us, p90_us, p99_us, max_us;
	double mean_us;
};

struct run {
	uint64_t id;
	uint64_t start_us, end_us; /* monotonic */
	int64_t start_unix_ms;     /* wall clock, for people */
	uint64_t requests;
	struct run_route route[HTTPSTATS_ROUTES];
	uint64_t peak_in_flight, peak_waiting;
	double cpu_s[PROC_ROLES];
	uint64_t peak_rss_kb[PROC_ROLES];
	int clipped; /* longer than the history: peaks and CPU of its end */
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
};

void runs_init(struct runs *);
void runs_update(struct runs *, const struct traffic *, uint64_t now_us,
                 const struct history *);
const struct run *runs_get(const struct runs *, size_t i); /* 0 = newest */
void runs_json(struct evbuffer *out, const struct runs *);
void runs_run_json(struct evbuffer *out, const struct run *, int running);

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

/* sse.c: the browsers on GET /events. */
#define SSE_CLIENTS_MAX 1024        /* past it: 503 with Retry-After */
#define SSE_OUTPUT_MAX  (128 << 10) /* a browser this far behind is dropped */

struct sse_client;
struct sse {
	TAILQ_HEAD(, sse_client) clients;
	size_t n;
	uint64_t dropped;
	double last_ms;
};

void sse_init(struct sse *);
int sse_open(struct sse *, struct evhttp_request *, struct refbuf *first);
void sse_broadcast(struct sse *, struct refbuf *);
void sse_keepalive(struct sse *);
void sse_close_all(struct sse *);

/* feed.c: the watch on mockresd and what each push becomes. */
struct feed {
	struct mrclient *mc;
	Mockres__Stats stats; /* the last push, without its clients */
	Mockres__Model model; /* copies of its parts, owned here */
	Mockres__Percentiles wait_ms, service_ms;
	char preset[64];
	int connected;
	int answering; /* a push came within DASH_STALL_MS */
	int reported_down;
	int reported_stall;
	struct average avg;
	struct procs procs;
	struct refbuf *snap;   /* the latest snapshot */
	struct event *slow;    /* every DASH_SLOW_MS */
	struct event *http_ev; /* every DASH_HTTP_MS */
	int http_pending;
	uint64_t http_gen; /* traffic.gen in the last snapshot */
	uint64_t last_push_ms;
	struct evbuffer *json;
};

struct dash;
struct tlsconf;
/* TARGET: mockresd's address; TLS: its TLS side (NULL for a Unix socket),
 * kept by the caller while the feed lives. */
void feed_init(struct dash *, const char *target, const struct tlsconf *tls);
void feed_free(struct dash *);

/* web.c: the HTTP surface. */
struct evconnlistener;
int web_init(struct dash *, struct evconnlistener *);
void web_free(struct dash *);

/* The dashboard: everything above, in one object. */
struct dash {
	struct event_base *base;
	struct feed feed;
	struct history history;
	struct traffic traffic;
	struct runs runs;
	struct sse sse;
	struct evhttp *web;
};

/* page.c (generated from index.html at build time). */
extern const unsigned char page_html[];
extern const size_t page_html_len;

#endif
