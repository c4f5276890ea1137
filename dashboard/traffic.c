/*
 * traffic.c: the frontend workers' HTTP stats as mockresd merges them
 * (asked for every DASH_HTTP_MS), and what the page shows of them live:
 * per route, requests/s over the last TRAFFIC_RATE_S seconds, the counts
 * by status since mockresd has the reports, and the latency percentiles
 * of the last TRAFFIC_LIVE_S seconds (the totals minus a mark taken then).
 *
 * Why 10 s for the rate: models that finish uses in batches answer in
 * bursts one response time apart: under cpu (100 ms of work, 2 cores) 50
 * clients are answered together every 2.5 s, under overloaded-db every
 * 1.5 s.  A 1 s window is empty most of the time there and reads 0; 10 s
 * holds four such batches or more, so the rate moves by a batch in four
 * at most, and is exact for steady traffic.
 *
 * The marks are kept one a second in a ring of TRAFFIC_LIVE_S + 1 (six
 * struct httpstats, 170 KB).  The JSON ("http":{...}) is formatted once per
 * answer and copied into every snapshot.
 *
 * Stats that do not read (httpstats_from_wire refuses them) are not kept
 * as the last good ones frozen: the view starts again from zero, as after
 * a restart of mockresd, with an "error" in the JSON, and from the next
 * good answer on; they are logged one line per 10 s with a count (not per
 * answer, 5 a second).  A time in the future (first_us, last_us) counts
 * as now, so that no run waits for it.
 *
 * mockresd's times are its host's CLOCK_MONOTONIC, and it may be on
 * another host: each answer carries its clock at the snapshot
 * (Stats.now_us), and first_us and last_us are read in ours with a
 * peerclock (common/peerclock.h), at most one delay late.
 */
#include <string.h>

#include "core.h"
#include "log.h"

int
traffic_init(struct traffic *t)
{
	memset(t, 0, sizeof(*t));
	httpstats_init(&t->total);
	httpstats_init(&t->live);
	if ((t->json = evbuffer_new()) == NULL)
		return -1;
	return 0;
}

void
traffic_free(struct traffic *t)
{
	if (t->json != NULL)
		evbuffer_free(t->json);
	t->json = NULL;
}

void
traffic_down(struct traffic *t)
{
	t->nmarks = 0;
	t->next_mark = 0;
	t->ncounts = 0;
	t->next_count = 0;
	t->clock.has = 0; /* the next mockresd may be on another host */
}

uint64_t
traffic_daemon_us(const struct traffic *t, uint64_t us)
{
	return peerclock_to_peer(&t->clock, us);
}

/* One count a second; the rate is over the oldest one kept (up to
 * TRAFFIC_RATE_S ago). */
static void
traffic_rate(struct traffic *t, uint64_t now_us)
{
	const size_t ring = TRAFFIC_RATE_S + 1;
	const struct traffic_count *last = NULL, *oldest;
	struct traffic_count *c = NULL;
	uint64_t from;
	size_t i;
	int r;

	if (t->ncounts > 0)
		last = &t->counts[(t->next_count + ring - 1) % ring];
	if (last == NULL || now_us >= last->t_us + 1000000) {
		c = &t->counts[t->next_count];
		c->t_us = now_us;
		for (r = 0; r < HTTPSTATS_ROUTES; r++)
			c->n[r] = t->total.route[r].latency.count;
		t->next_count = (t->next_count + 1) % ring;
		if (t->ncounts < ring)
			t->ncounts++;
	}
	oldest = &t->counts[(t->next_count + ring - t->ncounts) % ring];
	from = oldest->t_us;
	/* A run that began in the window: over its time only (nothing was
	 * answered between the count before its start and its start). */
	if (t->first_us > oldest->t_us && t->first_us < now_us) {
		for (i = t->ncounts; i-- > 0;) {
			c = &t->counts[(t->next_count + ring - t->ncounts + i) %
			               ring];
			if (c->t_us <= t->first_us)
				break;
		}
		if (c != NULL)
			oldest = c;
		from = t->first_us;
	}
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		t->rate[r] = 0;
		if (now_us > from &&
		    t->total.route[r].latency.count >= oldest->n[r])
			t->rate[r] = (double)(t->total.route[r].latency.count -
			                      oldest->n[r]) *
			             1e6 / (double)(now_us - from);
	}
}

/* The mark taken about SECONDS ago (the oldest if none is that old). */
static const struct traffic_mark *
traffic_mark_ago(const struct traffic *t, uint64_t now_us, uint64_t us)
{
	const struct traffic_mark *m, *best = NULL;
	size_t i;

	for (i = 0; i < t->nmarks; i++) {
		m = &t->marks[(t->next_mark + TRAFFIC_LIVE_S + 1 - t->nmarks +
		               i) %
		              (TRAFFIC_LIVE_S + 1)];
		if (best == NULL || m->t_us + us <= now_us)
			best = m;
	}
	return best;
}

static void
traffic_mark(struct traffic *t, uint64_t now_us)
{
	const struct traffic_mark *last = NULL;

	if (t->nmarks > 0)
		last = &t->marks[(t->next_mark + TRAFFIC_LIVE_S) %
		                 (TRAFFIC_LIVE_S + 1)];
	if (last != NULL && now_us < last->t_us + 1000000)
		return;
	t->marks[t->next_mark].t_us = now_us;
	t->marks[t->next_mark].hs = t->total;
	t->next_mark = (t->next_mark + 1) % (TRAFFIC_LIVE_S + 1);
	if (t->nmarks < TRAFFIC_LIVE_S + 1)
		t->nmarks++;
}

void
traffic_latency_json(struct evbuffer *out, const struct hist *h)
{
	evbuffer_add_printf(
	    out,
	    "{\"count\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
	    "\"max_ms\":%.3f,\"mean_ms\":%.3f}",
	    (unsigned long long)h->count,
	    (double)hist_quantile_us(h, 0.5) / 1000.0,
	    (double)hist_quantile_us(h, 0.9) / 1000.0,
	    (double)hist_quantile_us(h, 0.99) / 1000.0,
	    (double)hist_quantile_us(h, 1.0) / 1000.0,
	    hist_mean_us(h) / 1000.0);
}

static void
traffic_format(struct traffic *t)
{
	struct evbuffer *out = t->json;
	uint32_t c;
	int r;

	evbuffer_drain(out, evbuffer_get_length(out));
	evbuffer_add_printf(out,
	                    "{\"reporters\":%u,\"departed\":%u,\"active\":%u,"
	                    "\"conns_open\":%u,\"live_s\":%d,\"rate_s\":%d,",
	                    t->reporters, t->departed, t->active, t->conns_open,
	                    TRAFFIC_LIVE_S, TRAFFIC_RATE_S);
	if (t->bad != NULL) /* a constant of httpstats.c: no quote in it */
		evbuffer_add_printf(out,
		                    "\"error\":\"mockresd sent bad HTTP stats: "
		                    "%s\",",
		                    t->bad);
	evbuffer_add(out, "\"routes\":{", 10);
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct httpstats_route *rt = &t->total.route[r];

		evbuffer_add_printf(
		    out,
		    "%s\"%s\":{\"requests\":%llu,\"rate\":%.1f,\"codes\":{",
		    r ? "," : "",
		    httpstats_route_name((enum httpstats_route_id)r),
		    (unsigned long long)rt->latency.count, t->rate[r]);
		for (c = 0; c < rt->ncodes; c++)
			evbuffer_add_printf(out, "%s\"%u\":%llu", c ? "," : "",
			                    rt->code[c],
			                    (unsigned long long)rt->count[c]);
		evbuffer_add(out, "},\"live\":", 9);
		traffic_latency_json(out, &t->live.route[r].latency);
		evbuffer_add(out, "}", 1);
	}
	evbuffer_add(out, "}}", 2);
}

/*
 * Merged stats that do not read: the view starts again from zero (a
 * reset, as when mockresd restarts) with the reason in the JSON, instead
 * of showing the last good figures for as long as mockresd sends bad
 * ones; logged one line per 10 s.
 */
static void
traffic_bad(struct traffic *t, const Mockres__Stats *s, const char *why,
            uint64_t now_us)
{
	uint64_t more;
	int r;

	if (ratelog_allow(&t->bad_log, now_us / 1000, &more))
		log_warnx("mockresd sent bad HTTP stats (%s); the HTTP view "
		          "starts again from zero (%llu more in the last 10 s)",
		          why, (unsigned long long)more);
	httpstats_init(&t->total);
	httpstats_init(&t->live);
	for (r = 0; r < HTTPSTATS_ROUTES; r++)
		t->rate[r] = 0;
	traffic_down(t);
	t->reset = 1;
	t->bad = why;
	t->valid = 1;
	t->gen++;
	t->daemon_pid = s->daemon_pid;
	t->t_us = now_us;
	t->first_us = t->last_us = 0;
	t->active = 0;
	traffic_format(t);
}

/* An answer to stats with http.  A daemon that restarted, or counts that
 * went back, make a reset: the marks start again. */
void
traffic_update(struct traffic *t, const Mockres__Stats *s, uint64_t now_us)
{
	const Mockres__HttpStats *hs = s->http;
	const struct traffic_mark *m;
	const char *why = NULL;
	struct httpstats prev;
	uint64_t first, last;

	if (hs == NULL)
		return;
	prev = t->total;
	if (httpstats_from_wire(&t->total, hs->routes, hs->n_routes, &why) ==
	    -1) {
		traffic_bad(t, s, why, now_us);
		return;
	}
	t->reset =
	    t->valid && (t->bad != NULL || s->daemon_pid != t->daemon_pid ||
	                 httpstats_diff(&t->live, &t->total, &prev) == -1);
	if (t->reset)
		traffic_down(t);
	t->bad = NULL;
	t->valid = 1;
	t->gen++;
	t->daemon_pid = s->daemon_pid;
	t->t_us = now_us;
	if (s->has_now_us)
		peerclock_sample(&t->clock, s->now_us, now_us);
	first = peerclock_to_local(&t->clock, hs->first_us);
	last = peerclock_to_local(&t->clock, hs->last_us);
	t->first_us = first < now_us ? first : now_us;
	t->last_us = last < now_us ? last : now_us;
	t->active = hs->active;
	t->reporters = hs->reporters;
	t->departed = hs->departed;
	t->reports = hs->reports;
	t->conns_open = hs->conns_open;
	t->conns_peak = hs->conns_peak;
	traffic_mark(t, now_us);

	traffic_rate(t, now_us);
	m = traffic_mark_ago(t, now_us, (uint64_t)TRAFFIC_LIVE_S * 1000000);
	if (m == NULL || httpstats_diff(&t->live, &t->total, &m->hs) == -1)
		httpstats_init(&t->live);
	traffic_format(t);
}
