/*
 * timing.c: every request of a worker timed, per route and status, and
 * reported to mockresd.
 *
 * A request is timed from the moment its whole head is in (timing_begin,
 * from the HTTP layer's begin callback) to the moment its last byte was
 * handed to the kernel (timing_end, from the layer's done callback).  The
 * start time and the route travel in the request's cookie (the route is
 * "other" until http.c routes it: timing_route), so the request path has
 * no lock, no allocation and no formatting: two clock reads, a few shifts
 * and adds (httpstats_add).
 *
 * Every TIMING_REPORT_MS, if something changed, the worker sends its
 * counts since it started (cumulative) over its mrclient as a report
 * (op report = 10); mockresd keeps each worker's latest one.  A report
 * lost with the connection is simply superseded by the next.  A worker
 * that exits cleanly (a drain) sends a last report first and waits for
 * mockresd to take it (timing_final, at most WORKER_REPORT_WAIT_MS), so
 * its every answer is counted; one that dies loses the answers given
 * after its last report: at most one report interval's worth.
 *
 * Each report also carries the frontend's client connections
 * (conncount.c): open now, and the most open at once since this worker's
 * burst began; a change in the connections open is a change to report.
 *
 * A request whose client hung up before the answer (no byte reached the
 * kernel) is not counted.  --no-http-timing turns all of this off, so that
 * bench/run can measure what it costs.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "frontend.h"
#include "httpstats.h"
#include "log.h"
#include "mrclient.h"
#include "procstat.h"

#define TIMING_REPORT_MS 250

static struct timing {
	struct wstate *ws;
	int on;
	struct httpstats stats;
	uint64_t started_us;
	uint64_t first_us; /* the current burst's first request */
	uint64_t last_us;  /* the end of the latest answer */
	uint64_t answers;  /* answers counted */
	uint64_t sent;     /* answers in the last report mockresd took */
	uint64_t sent_first;
	uint64_t sent_active;
	uint32_t sent_open, sent_peak; /* connections, in that report */
	int must_send; /* connected again: mockresd may not have it */
	int refused;   /* mockresd refused a report: logged once */
	struct event *ev;
	struct httpstats_wire wire;
} tm;

static void timing_tick(evutil_socket_t, short, void *);

void
timing_init(struct wstate *ws, int on)
{
	struct timeval tv = clock_tv(TIMING_REPORT_MS);

	tm.ws = ws;
	tm.on = on;
	httpstats_init(&tm.stats);
	tm.started_us = clock_now_us();
	if (!on)
		return;
	tm.ev = event_new(ws->base, -1, EV_PERSIST, timing_tick, NULL);
	if (tm.ev == NULL || event_add(tm.ev, &tv) == -1)
		fatalx("cannot start the report timer");
}

void
timing_free(void)
{
	if (tm.ev != NULL)
		event_free(tm.ev);
	tm.ev = NULL;
}

/*
 * Called for each request as its head is in: returns its cookie, the
 * start time and the route (other until timing_route), or 0 when timing
 * is off.
 */
uint64_t
timing_begin(void)
{
	uint64_t now;

	if (!tm.on)
		return 0;
	now = clock_now_us();
	/* ws->active counts this request already. */
	if (tm.ws->active <= 1 && now >= tm.last_us + HTTPSTATS_GAP_US) {
		tm.first_us = now;
		conncount_burst();
	}
	return now << 2 | (uint64_t)HTTPSTATS_OTHER;
}

void
timing_route(uint64_t *cookie, enum httpstats_route_id route)
{
	if (*cookie != 0)
		*cookie = (*cookie & ~(uint64_t)3) | (uint64_t)route;
}

/* The answer of status CODE to the request of COOKIE was written. */
void
timing_end(uint64_t cookie, int code)
{
	uint64_t now, start;

	if (!tm.on || cookie == 0)
		return;
	now = clock_now_us();
	start = cookie >> 2;
	httpstats_add(&tm.stats, (enum httpstats_route_id)(cookie & 3),
	              (unsigned)code, now > start ? now - start : 0);
	tm.last_us = now;
	tm.answers++;
}

static void
timing_reply_cb(const Mockres__Response *resp, void *arg)
{
	if (resp == NULL) {
		tm.must_send = 1; /* lost with the connection */
		return;
	}
	if (resp->status != MOCKRES__STATUS__OK && !tm.refused) {
		tm.refused = 1;
		log_warnx("mockresd refused our HTTP report (%s); the "
		          "dashboard will miss this worker's requests",
		          resp->error ? resp->error : "no reason given");
	}
}

/* PID's CPU and memory into PU (for a dashboard on another host); NULL if
 * /proc cannot tell. */
static Mockres__ProcUsage *
timing_usage(Mockres__ProcUsage *pu, pid_t pid)
{
	struct procstat ps;

	if (pid <= 1 || procstat_read(pid, &ps) == -1)
		return NULL;
	pu->has_pid = pu->has_cpu_ms = pu->has_rss_kb = 1;
	pu->pid = (uint32_t)pid;
	pu->cpu_ms = ps.cpu_ms;
	pu->rss_kb = ps.rss_kb;
	return pu;
}

/* Sends the report now, CB to take its answer; 0, or -1 if it could not
 * be queued.  It carries this worker's CPU and memory and its master's. */
static int
timing_send_with(mrclient_reply_cb cb, void *arg)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__HttpReport rep = MOCKRES__HTTP_REPORT__INIT;
	Mockres__HttpConns conns = MOCKRES__HTTP_CONNS__INIT;
	Mockres__ProcUsage self = MOCKRES__PROC_USAGE__INIT;
	Mockres__ProcUsage master = MOCKRES__PROC_USAGE__INIT;

	rep.usage = timing_usage(&self, getpid());
	rep.master = timing_usage(&master, getppid());
	if (conncount_get(&conns.frontend, &conns.open, &conns.peak) == 0) {
		conns.has_frontend = conns.has_open = conns.has_peak = 1;
		rep.conns = &conns;
	}
	rep.has_started_us = rep.has_first_us = rep.has_last_us = 1;
	rep.has_active = 1;
	rep.started_us = tm.started_us;
	rep.first_us = tm.first_us;
	rep.last_us = tm.last_us;
	rep.active = (uint32_t)tm.ws->active;
	rep.routes = httpstats_to_wire(&tm.stats, &tm.wire, &rep.n_routes);
	/* mockresd, on another host, reads our times in its clock by it */
	rep.has_sent_us = 1;
	rep.sent_us = clock_now_us();
	req.op_case = MOCKRES__REQUEST__OP_REPORT;
	req.report = &rep;
	if (mrclient_send(tm.ws->mc, &req, cb, arg, 0) == 0)
		return -1;
	tm.sent = tm.answers;
	tm.sent_first = tm.first_us;
	tm.sent_active = tm.ws->active;
	tm.sent_open = conns.open;
	tm.sent_peak = conns.peak;
	tm.must_send = 0;
	return 0;
}

static int
timing_send(void)
{
	return timing_send_with(timing_reply_cb, NULL);
}

/* Has anything changed since the last report mockresd took? */
static int
timing_unsent(void)
{
	uint64_t frontend;
	uint32_t open = 0, peak = 0;

	if (conncount_get(&frontend, &open, &peak) == -1)
		open = peak = 0;
	return tm.must_send || tm.answers != tm.sent ||
	       tm.first_us != tm.sent_first ||
	       tm.ws->active != tm.sent_active || open != tm.sent_open ||
	       peak != tm.sent_peak;
}

static void
timing_tick(evutil_socket_t fd, short what, void *arg)
{
	if (!mrclient_connected(tm.ws->mc))
		return;
	if (timing_unsent())
		timing_send();
}

/* The connection to mockresd is up (again): report at the next tick. */
void
timing_connected(void)
{
	tm.must_send = 1;
}

static void (*timing_final_done)(void);

static void
timing_final_cb(const Mockres__Response *resp, void *arg)
{
	timing_reply_cb(resp, arg);
	if (timing_final_done != NULL)
		timing_final_done();
	timing_final_done = NULL;
}

/*
 * The worker is about to exit: sends what mockresd does not have yet and
 * calls DONE when mockresd has answered it (or the connection is gone;
 * DONE runs from inside mrclient: it must not free it).  Returns 1 if
 * DONE will be called, 0 if there is nothing to send or no way to.
 */
int
timing_final(void (*done)(void))
{
	if (!tm.on || !mrclient_connected(tm.ws->mc) || !timing_unsent())
		return 0;
	timing_final_done = done;
	if (timing_send_with(timing_final_cb, NULL) == -1) {
		timing_final_done = NULL;
		return 0;
	}
	return 1;
}
