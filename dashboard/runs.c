/*
 * runs.c: the runs, as docs/design.md defines them: a run starts at the first
 * HTTP request after 2 s with none and ends after 2 s with none
 * (HTTPSTATS_GAP_US), so one ab invocation is one run.
 *
 * Fed by every answer to the HTTP stats request (runs_update).  Between
 * runs the totals stand still; the first answer whose totals moved (or
 * with requests in progress) starts a run.  Its start is the earliest
 * burst start any worker reported after the last run's end, its end the
 * latest answer (both on the shared monotonic clock, to the microsecond),
 * and it ends once no request is in progress and 2 s have passed since
 * that end.  Its requests, codes and latencies are the totals then minus
 * the totals when the last run ended; its peaks, CPU and memory come from
 * the history over [start, end] (a run longer than the history is
 * measured over its last 10 minutes: "clipped").
 *
 * After a reset (mockresd restarted: the workers' reports arrive again
 * over the next moments), the base is retaken for 1 s before runs are cut
 * again.  The last RUNS_MAX runs are kept, about 1.2 KB each.
 */
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dashboard.h"

#define RUNS_SETTLE_US 1000000

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

static int64_t
runs_unix_ms(uint64_t mono_us, uint64_t now_us)
{
	struct timespec ts;
	int64_t now_ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return now_ms - (int64_t)((now_us - mono_us) / 1000);
}

/* The run's counts and latencies from D, its peaks and roles from H. */
static void
runs_measure(struct run *run, const struct httpstats *d,
             const struct history *h)
{
	uint64_t from = run->start_us / 1000, to = run->end_us / 1000;
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
	if (h == NULL)
		return;
	history_peaks(h, from, to + DASH_WATCH_MS, &run->peak_in_flight,
	              &run->peak_waiting);
	history_roles(h, from, to, run->cpu_s, run->peak_rss_kb);
	run->clipped = history_clipped(h, from);
}

static void
runs_end(struct runs *rs, const struct traffic *t, const struct history *h)
{
	httpstats_diff(&rs->diff, &t->total, &rs->base);
	runs_measure(&rs->cur, &rs->diff, h);
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

void
runs_update(struct runs *rs, const struct traffic *t, uint64_t now_us,
            const struct history *h)
{
	uint64_t start;

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
		return;
	}
	if (!rs->in_run) {
		if (httpstats_requests(&t->total) ==
		        httpstats_requests(&rs->base) &&
		    t->active == 0)
			return;
		memset(&rs->cur, 0, sizeof(rs->cur));
		rs->cur.id = ++rs->next_id;
		rs->in_run = 1;
		rs->polls = 0;
		start = t->first_us > rs->since_us ? t->first_us : t->last_us;
		if (start == 0 || start > now_us)
			start = now_us;
		rs->cur.start_us = start;
		rs->cur.start_unix_ms = runs_unix_ms(start, now_us);
	}
	if (t->first_us > rs->since_us && t->first_us < rs->cur.start_us) {
		rs->cur.start_us = t->first_us;
		rs->cur.start_unix_ms = runs_unix_ms(t->first_us, now_us);
	}
	rs->cur.end_us =
	    t->last_us > rs->cur.start_us ? t->last_us : rs->cur.start_us;
	if (t->active == 0 && now_us >= t->last_us + HTTPSTATS_GAP_US) {
		runs_end(rs, t, h);
		return;
	}
	/* The run so far, for the page: counts at every answer, the
	 * history's peaks and CPU every 5th (1 s). */
	httpstats_diff(&rs->diff, &t->total, &rs->base);
	runs_measure(&rs->cur, &rs->diff, rs->polls++ % 5 == 0 ? h : NULL);
}

static void
runs_ms(struct evbuffer *out, const char *key, uint64_t us)
{
	evbuffer_add_printf(out, ",\"%s\":%.3f", key, (double)us / 1000.0);
}

void
runs_run_json(struct evbuffer *out, const struct run *run, int running)
{
	uint64_t dur = run->end_us - run->start_us;
	uint32_t c;
	int r;

	evbuffer_add_printf(
	    out,
	    "{\"id\":%llu,\"running\":%s,\"start_unix_ms\":%lld,"
	    "\"start_ms\":%llu,\"end_ms\":%llu,\"duration_ms\":%.3f,"
	    "\"requests\":%llu,\"req_per_s\":%.1f,\"peak_in_flight\":%llu,"
	    "\"peak_waiting\":%llu,\"clipped\":%s,\"routes\":{",
	    (unsigned long long)run->id, running ? "true" : "false",
	    (long long)run->start_unix_ms,
	    (unsigned long long)(run->start_us / 1000),
	    (unsigned long long)(run->end_us / 1000), (double)dur / 1000.0,
	    (unsigned long long)run->requests,
	    dur > 0 ? (double)run->requests * 1e6 / (double)dur : 0.0,
	    (unsigned long long)run->peak_in_flight,
	    (unsigned long long)run->peak_waiting,
	    run->clipped ? "true" : "false");
	for (r = 0, c = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct run_route *rr = &run->route[r];
		uint32_t k;

		if (rr->requests == 0)
			continue;
		evbuffer_add_printf(
		    out,
		    "%s\"%s\":{\"requests\":%llu,\"req_per_s\":%.1f,"
		    "\"codes\":{",
		    c++ ? "," : "",
		    httpstats_route_name((enum httpstats_route_id)r),
		    (unsigned long long)rr->requests,
		    dur > 0 ? (double)rr->requests * 1e6 / (double)dur : 0.0);
		for (k = 0; k < rr->ncodes; k++)
			evbuffer_add_printf(out, "%s\"%u\":%llu", k ? "," : "",
			                    rr->code[k],
			                    (unsigned long long)rr->count[k]);
		evbuffer_add(out, "},\"latency_ms\":{", 16);
		evbuffer_add_printf(out, "\"mean\":%.3f", rr->mean_us / 1000.0);
		runs_ms(out, "p50", rr->p50_us);
		runs_ms(out, "p90", rr->p90_us);
		runs_ms(out, "p99", rr->p99_us);
		runs_ms(out, "max", rr->max_us);
		evbuffer_add(out, "}}", 2);
	}
	evbuffer_add(out, "},\"roles\":{", 11);
	for (r = 0; r < PROC_ROLES; r++)
		evbuffer_add_printf(
		    out, "%s\"%s\":{\"cpu_s\":%.2f,\"peak_rss_kb\":%llu}",
		    r ? "," : "", procs_role_name((enum proc_role)r),
		    run->cpu_s[r], (unsigned long long)run->peak_rss_kb[r]);
	evbuffer_add(out, "}}", 2);
}

/* GET /api/runs: the run in progress (or null), then the last RUNS_MAX,
 * newest first. */
void
runs_json(struct evbuffer *out, const struct runs *rs)
{
	size_t i;

	evbuffer_add(out, "{\"current\":", 11);
	if (rs->in_run)
		runs_run_json(out, &rs->cur, 1);
	else
		evbuffer_add(out, "null", 4);
	evbuffer_add(out, ",\"runs\":[", 9);
	for (i = 0; i < rs->n; i++) {
		if (i > 0)
			evbuffer_add(out, ",", 1);
		runs_run_json(out, runs_get(rs, i), 0);
	}
	evbuffer_add(out, "]}\n", 3);
}
