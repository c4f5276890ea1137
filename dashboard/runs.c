/*
 * runs.c: the runs, as docs/design.md defines them: a run starts at the first
 * HTTP request after 2 s with none and ends after 2 s with none
 * (HTTPSTATS_GAP_US), so one ab invocation is one run.
 *
 * Fed by the feed at every answer to the HTTP stats request (runs_update,
 * with the traffic, the history and the latest watch push).  Between runs
 * the totals stand still; the first answer whose totals moved (or with
 * requests in progress) starts a run.  Its start is the earliest burst
 * start any worker reported after the last run's end, its end the latest
 * answer (both on the shared monotonic clock, to the microsecond), and it
 * ends once no request is in progress and 2 s have passed since that end.
 * Its requests, codes and latencies are the totals then minus the totals
 * when the last run ended; its CPU and memory come from the history over
 * [start, end] (a run longer than the history is measured over its last
 * 10 minutes: "clipped").
 *
 * A run is an experiment, so it also keeps:
 * - its setup as it began (the model, limit, frontend workers, hosts),
 *   and a note of the first change seen while requests came (mockresd's
 *   setup_changes moved, or the workers reporting did);
 * - its clients: the most client connections open at once at the
 *   frontends (traffic's conns_peak, asked for the bursts after the last
 *   run's end, so this run's);
 * - its peaks: the history's samples (every 20 ms), raised to mockresd's
 *   own peak when that rose during the run (a peak between two samples
 *   is then exact); mockresd's peaks never fall but by a setup change,
 *   which is a new experiment (steer.c);
 * - the guess pending when it began (runs_guess_set), taken by it;
 * - what its model's formula predicts (predict.c), with whether the
 *   history shows ab's lone first request;
 * - its own chart: the highest in_flight and waiting in each of RUN_SPARK
 *   steps from its start to its end (plus the 2 s after, the holds that
 *   outlive an async run).
 *
 * After a reset (mockresd restarted: the workers' reports arrive again
 * over the next moments), the base is retaken for 1 s before runs are cut
 * again.  The last RUNS_MAX runs are kept, about 2.5 KB each.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "core.h"

#define RUNS_SETTLE_US 1000000
#define RUNS_TAIL_MS   (HTTPSTATS_GAP_US / 1000)

void
runs_init(struct runs *rs)
{
	memset(rs, 0, sizeof(*rs));
	httpstats_init(&rs->base);
}

const struct run *
runs_get(const struct runs *rs, size_t i)
{
	if (i >= rs->n)
		return NULL;
	return &rs->done[(rs->next + RUNS_MAX - 1 - i) % RUNS_MAX];
}

void
runs_guess_set(struct runs *rs, const struct guess *g)
{
	rs->guess = *g;
}

void
runs_guess_clear(struct runs *rs)
{
	memset(&rs->guess, 0, sizeof(rs->guess));
}

static int64_t
runs_unix_ms(uint64_t mono_us, uint64_t now_us)
{
	struct timespec ts;
	int64_t now_ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return now_ms - (int64_t)((now_us - mono_us) / 1000);
}

void
runs_setup_line(const struct run_setup *su, char *buf, size_t len)
{
	const struct model *m = &su->model;
	char room[48], lim[24], cont[48] = "";
	size_t off;

	if (!su->known) {
		snprintf(buf, len,
		         "model unknown (mockresd unreachable) · %u "
		         "workers",
		         su->workers);
		return;
	}
	if (m->slots > 0)
		snprintf(room, sizeof(room), "%u slots%s", m->slots,
		         m->queue_discipline == MODEL_QUEUE_CODEL ? " CoDel"
		                                                  : "");
	else
		snprintf(room, sizeof(room), "unlimited");
	if (m->contention == MODEL_CONTENTION_CPU)
		snprintf(cont, sizeof(cont), " · cpu %u cores", m->cores);
	else if (m->contention == MODEL_CONTENTION_USL)
		snprintf(cont, sizeof(cont), " · usl");
	if (su->limit > 0)
		snprintf(lim, sizeof(lim), "limit %u", su->limit);
	else
		snprintf(lim, sizeof(lim), "limit none");
	off = (size_t)snprintf(buf, len,
	                       "%s · %s %u ms · %s%s · %s · %u "
	                       "worker%s",
	                       su->preset[0] ? su->preset : "custom",
	                       model_dist_name(m->hold_dist), m->hold_ms, room,
	                       cont, lim, su->workers,
	                       su->workers == 1 ? "" : "s");
	if (su->nhosts > 1 && off < len)
		snprintf(buf + off, len - off, " · %u hosts", su->nhosts);
}

/* The setup now, as the feed handed it. */
static void
runs_setup_now(struct run_setup *su, const struct runs_input *in)
{
	uint32_t i;

	memset(su, 0, sizeof(*su));
	su->workers = in->traffic->reporters;
	if (in->stats != NULL && in->model != NULL) {
		su->known = 1;
		su->model = *in->model;
		su->limit = in->stats->limit;
		su->changes = in->stats->setup_changes;
		if (in->stats->preset != NULL)
			snprintf(su->preset, sizeof(su->preset), "%s",
			         in->stats->preset);
	}
	for (i = 0; i < in->nhosts && i < RUN_HOSTS_MAX; i++)
		snprintf(su->hosts[i], RUN_HOST_LEN, "%s", in->hosts[i]);
	su->nhosts = i;
}

/* Notes the first change of the setup seen while requests come. */
static void
runs_watch_setup(struct run *run, const struct runs_input *in, uint64_t now_us)
{
	const struct traffic *t = in->traffic;
	struct run_setup now;
	const struct run_setup *was = &run->setup;

	if (run->changed[0] != '\0')
		return;
	if (t->active == 0 && now_us > t->last_us + 500000)
		return; /* after its last answer: the next run's business */
	runs_setup_now(&now, in);
	if (now.known && was->known && now.changes != was->changes) {
		if (now.limit != was->limit)
			snprintf(run->changed, sizeof(run->changed),
			         "limit %u -> %u during the run", was->limit,
			         now.limit);
		else if (!model_equal(&now.model, &was->model))
			snprintf(run->changed, sizeof(run->changed),
			         "model %s -> %s during the run",
			         was->preset[0] ? was->preset : "custom",
			         now.preset[0] ? now.preset : "custom");
		else
			snprintf(run->changed, sizeof(run->changed),
			         "the model or the limit was set (to the same) "
			         "during the run");
	} else if (now.known != was->known)
		snprintf(run->changed, sizeof(run->changed),
		         "mockresd %s during the run",
		         now.known ? "came back" : "went away");
	else if (now.workers != was->workers && now.workers > 0)
		snprintf(run->changed, sizeof(run->changed),
		         "frontend workers %u -> %u during the run",
		         was->workers, now.workers);
}

/* mockresd's peak P, if it was reached during the run, else 0. */
static uint64_t
runs_daemon_peak(const struct runs *rs, const Mockres__Stats *s, uint64_t p,
                 uint64_t idle)
{
	if (s->setup_changes != rs->idle_changes)
		return p; /* restarted from the counts since the change */
	return p > idle ? p : 0;
}

/* The lab route with requests (serial or async), and how many have
 * some; other paths (a /healthz, a favicon) do not make a run mixed. */
static int
runs_route_of(const struct run *run, enum httpstats_route_id *route)
{
	int n = 0;

	*route = HTTPSTATS_OTHER;
	if (run->route[HTTPSTATS_ASYNC].requests > 0) {
		*route = HTTPSTATS_ASYNC;
		n++;
	}
	if (run->route[HTTPSTATS_SERIAL].requests > 0) {
		*route = HTTPSTATS_SERIAL;
		n++;
	}
	return n;
}

/* Was one use alone in the resource for most of the run's first hold?
 * (ab sends one request and opens its other connections once it is
 * answered.) */
static int
runs_lone_first(const struct run *run, const struct history *h)
{
	const struct model *m = &run->setup.model;
	uint64_t from = run->start_us / 1000, win, inf, wait;

	if (!run->setup.known || m->hold_dist != MODEL_DIST_FIXED ||
	    run->clients < 2)
		return 0;
	win = (uint64_t)m->hold_ms * 6 / 10;
	if (win < (uint64_t)3 * DASH_WATCH_MS ||
	    run->end_us / 1000 < from + m->hold_ms)
		return 0;
	history_peaks(h, from, from + win, &inf, &wait);
	return inf + wait == 1;
}

static void
runs_predict(struct run *run)
{
	struct predict_in pi;

	memset(&pi, 0, sizeof(pi));
	pi.model = run->setup.known ? &run->setup.model : NULL;
	pi.limit = run->setup.limit;
	pi.clients = run->clients;
	pi.routes = runs_route_of(run, &pi.route);
	pi.requests = run->route[pi.route].requests;
	pi.changed = run->changed[0] != '\0';
	pi.lone_first = run->lone_first;
	predict_run(&pi, &run->predicted);
}

/* The run's counts and latencies from D; with IN, its peaks, roles,
 * chart and lone first request from the history and mockresd's peaks. */
static void
runs_measure(const struct runs *rs, struct run *run, const struct httpstats *d,
             const struct runs_input *in, uint64_t now_us)
{
	uint64_t from = run->start_us / 1000, to = run->end_us / 1000;
	uint64_t inf, wait, p;
	int r;

	run->requests = 0;
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct httpstats_route *s = &d->route[r];
		struct run_route *rr = &run->route[r];

		rr->requests = s->latency.count;
		rr->ncodes = s->ncodes;
		memcpy(rr->code, s->code, sizeof(rr->code));
		memcpy(rr->count, s->count, sizeof(rr->count));
		rr->p50_us = hist_quantile_us(&s->latency, 0.5);
		rr->p90_us = hist_quantile_us(&s->latency, 0.9);
		rr->p99_us = hist_quantile_us(&s->latency, 0.99);
		rr->max_us = hist_quantile_us(&s->latency, 1.0);
		rr->mean_us = hist_mean_us(&s->latency);
		run->requests += rr->requests;
	}
	if (in != NULL && in->history != NULL) {
		const struct history *h = in->history;

		history_peaks(h, from, to + DASH_WATCH_MS, &inf, &wait);
		run->peak_in_flight = inf;
		run->peak_waiting = wait;
		history_roles(h, from, to, run->cpu_s, run->peak_rss_kb);
		run->clipped = history_clipped(h, from);
		run->spark_from_ms = from;
		run->spark_to_ms = now_us / 1000 < to + RUNS_TAIL_MS
		                       ? now_us / 1000
		                       : to + RUNS_TAIL_MS;
		history_series(h, run->spark_from_ms, run->spark_to_ms,
		               RUN_SPARK, run->spark_in, run->spark_wait);
		run->lone_first = runs_lone_first(run, h);
	}
	if (in != NULL && in->stats != NULL) {
		p = runs_daemon_peak(rs, in->stats, in->stats->peak,
		                     rs->idle_peak);
		if (p > run->peak_in_flight)
			run->peak_in_flight = p;
		p = runs_daemon_peak(rs, in->stats, in->stats->peak_waiting,
		                     rs->idle_peak_waiting);
		if (p > run->peak_waiting)
			run->peak_waiting = p;
	}
	runs_predict(run);
}

static void
runs_end(struct runs *rs, const struct runs_input *in, uint64_t now_us)
{
	const struct traffic *t = in->traffic;

	httpstats_diff(&rs->diff, &t->total, &rs->base);
	runs_measure(rs, &rs->cur, &rs->diff, in, now_us);
	if (rs->cur.requests > 0) {
		rs->done[rs->next] = rs->cur;
		rs->next = (rs->next + 1) % RUNS_MAX;
		if (rs->n < RUNS_MAX)
			rs->n++;
	}
	rs->in_run = 0;
	rs->base = t->total;
	rs->since_us =
	    t->last_us > rs->cur.end_us ? t->last_us : rs->cur.end_us;
}

/* Between runs: mockresd's peaks and changes, to tell a run's own. */
static void
runs_idle(struct runs *rs, const struct runs_input *in)
{
	if (in->stats == NULL)
		return;
	rs->idle_peak = in->stats->peak;
	rs->idle_peak_waiting = in->stats->peak_waiting;
	rs->idle_changes = in->stats->setup_changes;
}

static void
runs_begin(struct runs *rs, const struct runs_input *in, uint64_t now_us)
{
	const struct traffic *t = in->traffic;
	uint64_t start;

	memset(&rs->cur, 0, sizeof(rs->cur));
	rs->cur.id = ++rs->next_id;
	rs->in_run = 1;
	rs->polls = 0;
	start = t->first_us > rs->since_us ? t->first_us : t->last_us;
	if (start == 0 || start > now_us)
		start = now_us;
	rs->cur.start_us = start;
	rs->cur.start_unix_ms = runs_unix_ms(start, now_us);
	/* As it is now: a change made just before the run (mockresctl
	 * model ... && ab ...) is what the run ran under. */
	runs_setup_now(&rs->cur.setup, in);
	if (rs->guess.set) {
		rs->cur.guess = rs->guess;
		runs_guess_clear(rs);
	}
}

void
runs_update(struct runs *rs, const struct runs_input *in, uint64_t now_us)
{
	const struct traffic *t = in->traffic;

	if (!t->valid)
		return;
	if (t->reset) {
		if (rs->in_run)
			rs->in_run = 0; /* its counts are gone with mockresd */
		rs->settle_until_us = now_us + RUNS_SETTLE_US;
	}
	if (!rs->have_base || now_us < rs->settle_until_us) {
		rs->base = t->total;
		rs->since_us = t->last_us;
		rs->have_base = 1;
		runs_idle(rs, in);
		return;
	}
	if (!rs->in_run) {
		if (httpstats_requests(&t->total) ==
		        httpstats_requests(&rs->base) &&
		    t->active == 0) {
			runs_idle(rs, in);
			return;
		}
		runs_begin(rs, in, now_us);
	}
	if (t->first_us > rs->since_us && t->first_us < rs->cur.start_us) {
		rs->cur.start_us = t->first_us;
		rs->cur.start_unix_ms = runs_unix_ms(t->first_us, now_us);
	}
	rs->cur.end_us =
	    t->last_us > rs->cur.start_us ? t->last_us : rs->cur.start_us;
	runs_watch_setup(&rs->cur, in, now_us);
	if (t->conns_peak > rs->cur.clients)
		rs->cur.clients = t->conns_peak;
	if (t->active == 0 && now_us >= t->last_us + HTTPSTATS_GAP_US) {
		runs_end(rs, in, now_us);
		return;
	}
	/* The run so far, for the page: counts at every answer, the
	 * history's peaks, CPU and chart every 5th (1 s). */
	httpstats_diff(&rs->diff, &t->total, &rs->base);
	runs_measure(rs, &rs->cur, &rs->diff, rs->polls++ % 5 == 0 ? in : NULL,
	             now_us);
}
