/*
 * httpstats.c: per-route HTTP latency and status counts (httpstats.h).
 */
#include <string.h>

#include "httpstats.h"

void
httpstats_init(struct httpstats *hs)
{
	int r;

	memset(hs, 0, sizeof(*hs));
	for (r = 0; r < HTTPSTATS_ROUTES; r++)
		hist_init(&hs->route[r].latency);
}

const char *
httpstats_route_name(enum httpstats_route_id r)
{
	switch (r) {
	case HTTPSTATS_SERIAL:
		return "serial";
	case HTTPSTATS_ASYNC:
		return "async";
	default:
		return "other";
	}
}

/* The slot of CODE in RT, made if needed; code 0 takes the overflow. */
static int
httpstats_slot(struct httpstats_route *rt, unsigned code)
{
	uint32_t i;

	for (i = 0; i < rt->ncodes; i++)
		if (rt->code[i] == code)
			return (int)i;
	if (code != 0 && rt->ncodes >= HTTPSTATS_CODES - 1)
		return httpstats_slot(rt, 0);
	if (rt->ncodes >= HTTPSTATS_CODES)
		return -1; /* only with 16 distinct codes from the wire */
	rt->code[rt->ncodes] = code;
	rt->count[rt->ncodes] = 0;
	return (int)rt->ncodes++;
}

void
httpstats_add(struct httpstats *hs, enum httpstats_route_id r, unsigned code,
              uint64_t us)
{
	struct httpstats_route *rt = &hs->route[r];
	int i;

	/* The usual case first: the same status as the first one. */
	i = 0;
	if ((rt->ncodes == 0 || rt->code[0] != code) &&
	    (i = httpstats_slot(rt, code)) < 0)
		i = 0;
	rt->count[i]++;
	hist_add(&rt->latency, us);
}

uint64_t
httpstats_requests(const struct httpstats *hs)
{
	uint64_t n = 0;
	int r;

	for (r = 0; r < HTTPSTATS_ROUTES; r++)
		n += hs->route[r].latency.count;
	return n;
}

uint64_t
httpstats_code_count(const struct httpstats_route *rt, unsigned code)
{
	uint32_t i;

	for (i = 0; i < rt->ncodes; i++)
		if (rt->code[i] == code)
			return rt->count[i];
	return 0;
}

static void
httpstats_add_count(struct httpstats_route *rt, unsigned code, uint64_t n)
{
	int i;

	if (n == 0)
		return;
	if ((i = httpstats_slot(rt, code)) < 0)
		i = 0;
	rt->count[i] += n;
}

void
httpstats_merge(struct httpstats *dst, const struct httpstats *src)
{
	uint32_t i;
	int r;

	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct httpstats_route *s = &src->route[r];

		hist_merge(&dst->route[r].latency, &s->latency);
		for (i = 0; i < s->ncodes; i++)
			httpstats_add_count(&dst->route[r], s->code[i],
			                    s->count[i]);
	}
}

/* Is every count of OLD at most NEW's? */
static int
httpstats_ge(const struct httpstats *newer, const struct httpstats *older)
{
	uint32_t i;
	int r;

	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct hist *n = &newer->route[r].latency;
		const struct hist *o = &older->route[r].latency;
		const struct httpstats_route *ort = &older->route[r];

		if (o->count == 0)
			continue;
		if (n->count < o->count || n->sum_us < o->sum_us)
			return 0;
		for (i = o->lo; i <= o->hi; i++)
			if (n->buckets[i] < o->buckets[i])
				return 0;
		for (i = 0; i < ort->ncodes; i++)
			if (httpstats_code_count(&newer->route[r],
			                         ort->code[i]) < ort->count[i])
				return 0;
	}
	return 1;
}

/* Adds the buckets of NEW - OLD to H (OLD <= NEW checked). */
static void
httpstats_add_diff(struct hist *h, const struct hist *n, const struct hist *o)
{
	uint32_t i;

	if (n->count == 0)
		return;
	for (i = n->lo; i <= n->hi; i++)
		hist_add_bucket(h, i, n->buckets[i] - o->buckets[i]);
}

int
httpstats_diff(struct httpstats *d, const struct httpstats *newer,
               const struct httpstats *older)
{
	uint32_t i;
	int r;

	if (!httpstats_ge(newer, older)) {
		*d = *newer;
		return -1;
	}
	httpstats_init(d);
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct httpstats_route *n = &newer->route[r];
		const struct httpstats_route *o = &older->route[r];
		struct hist *h = &d->route[r].latency;

		httpstats_add_diff(h, &n->latency, &o->latency);
		if (h->count > 0) {
			h->sum_us = n->latency.sum_us - o->latency.sum_us;
			if (h->max_us > n->latency.max_us)
				h->max_us = n->latency.max_us;
			if (h->min_us < n->latency.min_us)
				h->min_us = n->latency.min_us;
		}
		for (i = 0; i < n->ncodes; i++)
			httpstats_add_count(
			    &d->route[r], n->code[i],
			    n->count[i] - httpstats_code_count(o, n->code[i]));
	}
	return 0;
}

/* Would TOTAL += NEW - OLD (OLD <= NEW) pass 2^64 anywhere?  Every bucket
 * and status count of a route is at most its count, so the count and the
 * sum of durations are the only sums to check. */
static int
httpstats_would_overflow(const struct httpstats *total,
                         const struct httpstats *newer,
                         const struct httpstats *older)
{
	int r;

	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct hist *t = &total->route[r].latency;
		const struct hist *n = &newer->route[r].latency;
		const struct hist *o = &older->route[r].latency;

		if (n->count - o->count > UINT64_MAX - t->count ||
		    n->sum_us - o->sum_us > UINT64_MAX - t->sum_us)
			return 1;
	}
	return 0;
}

int
httpstats_advance(struct httpstats *total, const struct httpstats *newer,
                  const struct httpstats *older, const char **why)
{
	uint64_t min, max;
	uint32_t i;
	int r;

	if (!httpstats_ge(newer, older)) {
		*why = "a count went back (reports are cumulative)";
		return -1;
	}
	if (httpstats_would_overflow(total, newer, older)) {
		*why = "the merged counts would pass 2^64";
		return -1;
	}
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct httpstats_route *n = &newer->route[r];
		const struct httpstats_route *o = &older->route[r];
		struct hist *h = &total->route[r].latency;

		if (n->latency.count == o->latency.count)
			continue;
		/* hist_add_bucket widens min and max to the buckets' bounds;
		 * the reports carry the exact ones. */
		min = h->min_us;
		max = h->max_us;
		httpstats_add_diff(h, &n->latency, &o->latency);
		h->sum_us += n->latency.sum_us - o->latency.sum_us;
		h->min_us = min < n->latency.min_us ? min : n->latency.min_us;
		h->max_us = max > n->latency.max_us ? max : n->latency.max_us;
		for (i = 0; i < n->ncodes; i++)
			httpstats_add_count(
			    &total->route[r], n->code[i],
			    n->count[i] - httpstats_code_count(o, n->code[i]));
	}
	return 0;
}

Mockres__HttpRouteStats **
httpstats_to_wire(const struct httpstats *hs, struct httpstats_wire *w,
                  size_t *n)
{
	uint32_t i, prev, k, c;
	size_t nr = 0;
	int r;

	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct httpstats_route *rt = &hs->route[r];
		const struct hist *h = &rt->latency;
		Mockres__HttpRouteStats *rs = &w->routes[nr];
		Mockres__Histogram *wh = &w->hist[nr];

		if (h->count == 0)
			continue;
		mockres__http_route_stats__init(rs);
		mockres__histogram__init(wh);
		rs->has_route = 1;
		rs->route = (Mockres__HttpRoute)r;
		rs->latency = wh;
		wh->has_count = wh->has_sum_us = wh->has_min_us = 1;
		wh->has_max_us = 1;
		wh->count = h->count;
		wh->sum_us = h->sum_us;
		wh->min_us = h->min_us;
		wh->max_us = h->max_us;
		k = 0;
		prev = 0;
		for (i = h->lo; i <= h->hi; i++) {
			if (h->buckets[i] == 0)
				continue;
			w->skip[nr][k] = i - prev;
			w->bcount[nr][k] = h->buckets[i];
			prev = i;
			k++;
		}
		wh->n_bucket_skip = wh->n_bucket_count = k;
		wh->bucket_skip = w->skip[nr];
		wh->bucket_count = w->bcount[nr];
		for (c = 0; c < rt->ncodes; c++) {
			mockres__http_code__init(&w->codes[nr][c]);
			w->codes[nr][c].has_code = w->codes[nr][c].has_count =
			    1;
			w->codes[nr][c].code = rt->code[c];
			w->codes[nr][c].count = rt->count[c];
			w->codep[nr][c] = &w->codes[nr][c];
		}
		rs->n_codes = rt->ncodes;
		rs->codes = w->codep[nr];
		w->routep[nr] = rs;
		nr++;
	}
	*n = nr;
	return w->routep;
}

static int
httpstats_hist_from_wire(struct hist *h, const Mockres__Histogram *wh,
                         const char **why)
{
	uint64_t sum = 0;
	uint32_t i = 0, first = 0;
	size_t k;

	hist_init(h);
	if (wh == NULL)
		return 0;
	if (wh->n_bucket_skip != wh->n_bucket_count ||
	    wh->n_bucket_skip > HIST_BUCKETS) {
		*why = "histogram: bucket_skip and bucket_count must pair up, "
		       "at most 1152 of them";
		return -1;
	}
	for (k = 0; k < wh->n_bucket_skip; k++) {
		if ((k > 0 && wh->bucket_skip[k] == 0) ||
		    wh->bucket_skip[k] >= HIST_BUCKETS ||
		    i + wh->bucket_skip[k] >= HIST_BUCKETS) {
			*why = "histogram: bucket index out of order or out of "
			       "range";
			return -1;
		}
		i += wh->bucket_skip[k];
		if (k == 0)
			first = i;
		if (wh->bucket_count[k] == 0 ||
		    sum + wh->bucket_count[k] < sum) {
			*why = "histogram: a bucket count is zero or the "
			       "counts overflow";
			return -1;
		}
		sum += wh->bucket_count[k];
		hist_add_bucket(h, i, wh->bucket_count[k]);
	}
	if (sum != wh->count) {
		*why = "histogram: the bucket counts do not add up to count";
		return -1;
	}
	if (sum == 0)
		return 0;
	if (wh->min_us > wh->max_us || hist_bucket(wh->min_us) != first ||
	    hist_bucket(wh->max_us) != i) {
		*why = "histogram: min and max must lie in the first and last "
		       "buckets";
		return -1;
	}
	if (wh->max_us > HIST_VALUE_MAX) {
		*why = "histogram: max_us past 2^40 (12.7 days)";
		return -1;
	}
	/* count x min <= sum_us <= count x max, without overflowing */
	if (wh->sum_us / sum < wh->min_us ||
	    wh->sum_us / sum + (wh->sum_us % sum != 0) > wh->max_us) {
		*why = "histogram: sum_us must lie between count x min_us and "
		       "count x max_us";
		return -1;
	}
	h->sum_us = wh->sum_us;
	h->min_us = wh->min_us;
	h->max_us = wh->max_us;
	return 0;
}

int
httpstats_from_wire(struct httpstats *hs,
                    Mockres__HttpRouteStats *const *routes, size_t n,
                    const char **why)
{
	unsigned seen = 0;
	uint64_t sum;
	size_t i, c, j;

	httpstats_init(hs);
	if (n > HTTPSTATS_ROUTES) {
		*why = "http stats: more than 3 routes";
		return -1;
	}
	for (i = 0; i < n; i++) {
		const Mockres__HttpRouteStats *rs = routes[i];
		struct httpstats_route *rt;

		if (!rs->has_route || (unsigned)rs->route >= HTTPSTATS_ROUTES ||
		    (seen & (1u << rs->route))) {
			*why = "http stats: unknown or repeated route";
			return -1;
		}
		seen |= 1u << rs->route;
		rt = &hs->route[rs->route];
		if (httpstats_hist_from_wire(&rt->latency, rs->latency, why) ==
		    -1)
			return -1;
		if (rs->n_codes > HTTPSTATS_CODES) {
			*why = "http stats: more than 16 status codes";
			return -1;
		}
		sum = 0;
		for (c = 0; c < rs->n_codes; c++) {
			const Mockres__HttpCode *hc = rs->codes[c];

			for (j = 0; j < c; j++)
				if (rs->codes[j]->code == hc->code)
					break;
			if (j < c || (hc->code != 0 && hc->code < 100) ||
			    hc->code > 599 || hc->count == 0 ||
			    sum + hc->count < sum) {
				*why = "http stats: a status code repeated, "
				       "out of range or with a zero count";
				return -1;
			}
			sum += hc->count;
			rt->code[c] = hc->code;
			rt->count[c] = hc->count;
		}
		rt->ncodes = (uint32_t)rs->n_codes;
		if (sum != rt->latency.count) {
			*why = "http stats: the status counts do not add up to "
			       "the requests timed";
			return -1;
		}
	}
	return 0;
}
