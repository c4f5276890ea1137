/*
 * dashboard.h: mockres-dashboard, the map.
 *
 * One watch stream from mockresd comes in (feed.c, every 20 ms); each push
 * updates the rolling average (average.c) and the process table
 * (procs.c), is formatted once as a JSON snapshot (snapshot.c) into a
 * reference-counted buffer (snap.c), and those same bytes are written to
 * every browser on the event stream (sse.c).  http.c routes the requests;
 * metrics.c formats the Prometheus text.
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

#include "mockres.pb-c.h"

#define DASH_LISTEN_DEFAULT "127.0.0.1:4001"
#define DASH_WATCH_MS       20    /* the original page's sampling period */
#define DASH_SLOW_MS        500   /* /proc sampling; snapshots when down */
#define DASH_KEEPALIVE_MS   15000 /* an SSE comment after this much quiet */

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

/* snapshot.c: the JSON snapshot, as in docs/design.md. */
void snapshot_json(struct evbuffer *out, const Mockres__Stats *s, int connected,
                   const struct average *, const struct procs *);

/* metrics.c: Prometheus text exposition format 0.0.4. */
void metrics_format(struct evbuffer *out, const Mockres__Stats *s,
                    int connected, const struct procs *, size_t sse_clients,
                    uint64_t sse_dropped);

/* snap.c: one formatted snapshot shared by every writer. */
struct snap {
	unsigned refs;
	size_t len;      /* of buf: "data: " JSON "\n\n" */
	size_t json_off; /* the JSON alone is buf[json_off .. +json_len) */
	size_t json_len;
	char buf[];
};

struct snap *snap_new(struct evbuffer *json);
void snap_unref(struct snap *);
int snap_add_event(struct snap *, struct evbuffer *out);
int snap_add_json(struct snap *, struct evbuffer *out);

/* sse.c: the browsers on GET /events. */
#define SSE_CLIENTS_MAX 1024        /* past it: 503 with Retry-After */
#define SSE_OUTPUT_MAX  (128 << 10) /* a browser this far behind is dropped */

int sse_open(struct evhttp_request *, struct snap *first);
void sse_broadcast(struct snap *);
void sse_keepalive(void);
size_t sse_count(void);
uint64_t sse_dropped(void);
void sse_close_all(void);

/* feed.c: the watch on mockresd and what each push becomes. */
struct feed {
	struct event_base *base;
	struct mrclient *mc;
	Mockres__Stats stats; /* the last push, without its clients */
	int connected;
	int reported_down;
	struct average avg;
	struct procs procs;
	struct snap *snap;  /* the latest snapshot */
	struct event *slow; /* every DASH_SLOW_MS */
	double last_event_ms;
};

void feed_init(struct feed *, struct event_base *, const char *sockpath);
void feed_free(struct feed *);
struct snap *feed_snapshot(struct feed *);

/* http.c: the HTTP surface. */
struct evconnlistener;
int http_init(struct event_base *, struct feed *, struct evconnlistener *);
void http_free(void);

/* page.c (generated from index.html at build time). */
extern const unsigned char page_html[];
extern const size_t page_html_len;

#endif
