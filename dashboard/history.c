/*
 * history.c: the last 10 minutes, so that a page opened after a run still
 * shows it, and so that runs can be measured after the fact.
 *
 * Two fixed rings, allocated once at start-up:
 * - a sample per watch push (20 ms): in_flight, waiting, and the admitted,
 *   rejected and timed-out counts since the previous push: 30,000 samples
 *   of 32 bytes, 960 KB;
 * - a frame per process-table sample (500 ms): each process's pid, role,
 *   host (an index into a table of the hosts seen), CPU ticks and RSS, at
 *   most HISTORY_FRAME_PROCS (64) processes per frame in the table's order
 *   (role, host, then pid): 1,200 frames of 1 KB, 1.2 MB.
 * The oldest entry is overwritten when a ring is full; nothing else grows.
 * --history-seconds (hidden, for tests) shortens both.
 *
 * GET /api/history (history_json) reads them, at full resolution or in
 * coarser steps (each step: the highest and lowest in_flight and waiting,
 * and the sums of the counts), as objects (docs/design.md's shape) or as
 * columns (the page's compact form).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "statsjson.h"

int
history_init(struct history *h, unsigned window_s, long clk_tck)
{
	memset(h, 0, sizeof(*h));
	if (window_s == 0 || window_s > HISTORY_WINDOW_S)
		window_s = HISTORY_WINDOW_S;
	h->window_s = window_s;
	h->max_samples = (size_t)window_s * 1000 / DASH_WATCH_MS;
	h->max_frames = (size_t)window_s * 1000 / DASH_SLOW_MS;
	h->clk_tck = clk_tck > 0 ? clk_tck : 100;
	h->samples = calloc(h->max_samples, sizeof(*h->samples));
	h->frames = calloc(h->max_frames, sizeof(*h->frames));
	if (h->samples == NULL || h->frames == NULL) {
		history_free(h);
		return -1;
	}
	return 0;
}

void
history_free(struct history *h)
{
	free(h->samples);
	free(h->frames);
	h->samples = NULL;
	h->frames = NULL;
	h->ns = h->nf = 0;
}

static uint32_t
history_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* NEW - OLD of a counter, 0 if it went back (mockresd restarted). */
static uint32_t
history_delta(uint64_t newer, uint64_t older)
{
	return newer >= older ? history_u32(newer - older) : 0;
}

void
history_add(struct history *h, uint64_t t_ms, const Mockres__Stats *s)
{
	struct history_sample *sm = &h->samples[h->next_s];
	uint64_t waiting = s->waiting, timed_out = s->timed_out;

	memset(sm, 0, sizeof(*sm));
	sm->t_ms = t_ms;
	sm->in_flight = history_u32(s->in_flight);
	sm->waiting = history_u32(waiting);
	if (h->have_prev) {
		sm->admitted = history_delta(s->admitted, h->prev_admitted);
		sm->rejected = history_delta(s->rejected, h->prev_rejected);
		sm->timed_out = history_delta(timed_out, h->prev_timed_out);
	}
	h->prev_admitted = s->admitted;
	h->prev_rejected = s->rejected;
	h->prev_timed_out = timed_out;
	h->have_prev = 1;
	h->next_s = (h->next_s + 1) % h->max_samples;
	if (h->ns < h->max_samples)
		h->ns++;
}

void
history_gap(struct history *h)
{
	h->have_prev = 0;
}

/* HOST's index in h->hosts, added if new; past HISTORY_HOSTS_MAX hosts
 * the last entry stands for the rest. */
static uint16_t
history_host(struct history *h, const char *host)
{
	size_t i;

	for (i = 0; i < h->nhosts; i++)
		if (strcmp(h->hosts[i], host) == 0)
			return (uint16_t)i;
	if (h->nhosts == HISTORY_HOSTS_MAX) {
		snprintf(h->hosts[HISTORY_HOSTS_MAX - 1], sizeof(h->hosts[0]),
		         "other hosts");
		return HISTORY_HOSTS_MAX - 1;
	}
	snprintf(h->hosts[h->nhosts], sizeof(h->hosts[0]), "%s", host);
	return (uint16_t)h->nhosts++;
}

void
history_add_procs(struct history *h, uint64_t t_ms, const struct procs *ps)
{
	struct history_frame *fr = &h->frames[h->next_f];
	size_t i;

	fr->t_ms = t_ms;
	fr->n = 0;
	for (i = 0; i < ps->n && fr->n < HISTORY_FRAME_PROCS; i++) {
		const struct proc *p = &ps->p[i];
		struct history_proc *hp;

		if (!p->sampled)
			continue;
		hp = &fr->p[fr->n++];
		hp->pid = p->pid;
		hp->role = (uint16_t)p->role;
		hp->host = history_host(h, p->host);
		hp->ticks = (uint32_t)p->ticks;
		hp->rss_kb = history_u32(p->rss_kb);
	}
	h->next_f = (h->next_f + 1) % h->max_frames;
	if (h->nf < h->max_frames)
		h->nf++;
}

/*
 * For tests (--history-prefill): the whole window before NOW_MS filled
 * with made-up samples (a load that comes and goes) and empty frames, so
 * that an answer of 10 minutes is at hand without waiting 10 minutes.
 */
void
history_prefill(struct history *h, uint64_t now_ms)
{
	size_t n = h->max_samples, k;
	Mockres__Stats s = MOCKRES__STATS__INIT;
	uint64_t t;

	for (k = 0; k < n; k++) {
		t = (n - k) * DASH_WATCH_MS;
		t = now_ms > t ? now_ms - t : 0;
		s.in_flight = (k / 50) % 40;
		s.waiting = (k / 75) % 20;
		s.admitted += k % 7;
		s.rejected += k % 11 == 0;
		s.timed_out += k % 13 == 0;
		history_add(h, t, &s);
	}
	for (k = 0; k < h->max_frames; k++) {
		struct history_frame *fr = &h->frames[h->next_f];

		t = (h->max_frames - k) * DASH_SLOW_MS;
		fr->t_ms = now_ms > t ? now_ms - t : 0;
		fr->n = 0;
		h->next_f = (h->next_f + 1) % h->max_frames;
		if (h->nf < h->max_frames)
			h->nf++;
	}
	history_gap(h); /* no delta from the made-up past */
}

const struct history_sample *
history_sample_at(const struct history *h, size_t i)
{
	return &h->samples[(h->next_s + h->max_samples - h->ns + i) %
	                   h->max_samples];
}

const struct history_frame *
history_frame_at(const struct history *h, size_t i)
{
	return &h->frames[(h->next_f + h->max_frames - h->nf + i) %
	                  h->max_frames];
}

/* The first sample with t_ms >= FROM (ns if none). */
static size_t
history_first_sample(const struct history *h, uint64_t from)
{
	size_t lo = 0, hi = h->ns, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (history_sample_at(h, mid)->t_ms < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t
history_first_frame(const struct history *h, uint64_t from)
{
	size_t lo = 0, hi = h->nf, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (history_frame_at(h, mid)->t_ms < from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
history_peaks(const struct history *h, uint64_t from_ms, uint64_t to_ms,
              uint64_t *in_flight, uint64_t *waiting)
{
	const struct history_sample *sm;
	size_t i;

	*in_flight = *waiting = 0;
	for (i = history_first_sample(h, from_ms); i < h->ns; i++) {
		sm = history_sample_at(h, i);
		if (sm->t_ms > to_ms)
			break;
		if (sm->in_flight > *in_flight)
			*in_flight = sm->in_flight;
		if (sm->waiting > *waiting)
			*waiting = sm->waiting;
	}
}

void
history_series(const struct history *h, uint64_t from_ms, uint64_t to_ms,
               size_t n, uint32_t *in_flight, uint32_t *waiting)
{
	const struct history_sample *sm;
	uint64_t span = to_ms > from_ms ? to_ms - from_ms : 1;
	size_t i, k;

	memset(in_flight, 0, n * sizeof(*in_flight));
	memset(waiting, 0, n * sizeof(*waiting));
	if (n == 0)
		return;
	for (i = history_first_sample(h, from_ms); i < h->ns; i++) {
		sm = history_sample_at(h, i);
		if (sm->t_ms > to_ms)
			break;
		k = (size_t)((sm->t_ms - from_ms) * n / (span + 1));
		if (sm->in_flight > in_flight[k])
			in_flight[k] = sm->in_flight;
		if (sm->waiting > waiting[k])
			waiting[k] = sm->waiting;
	}
}

int
history_clipped(const struct history *h, uint64_t from_ms)
{
	return h->ns == h->max_samples &&
	       history_sample_at(h, 0)->t_ms > from_ms;
}

#define HISTORY_PIDS_MAX 128 /* distinct processes in one answer */

struct history_pid {
	pid_t pid;
	uint16_t host;
	uint32_t role;
	uint32_t first, last; /* ticks */
};

/* A process is its host and its pid. */
static struct history_pid *
history_pid_find(struct history_pid *ids, size_t *n,
                 const struct history_proc *p)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (ids[i].pid == p->pid && ids[i].host == p->host)
			return &ids[i];
	if (*n == HISTORY_PIDS_MAX)
		return NULL;
	ids[*n].pid = p->pid;
	ids[*n].host = p->host;
	return &ids[(*n)++];
}

/*
 * The frames that cover [FROM, TO]: from the last one at or before FROM
 * (the base the CPU is counted from) to the first one at or after TO.
 */
static void
history_frame_span(const struct history *h, uint64_t from, uint64_t to,
                   size_t *first, size_t *end)
{
	size_t a = history_first_frame(h, from), b;

	if (a > 0 && (a == h->nf || history_frame_at(h, a)->t_ms > from))
		a--;
	b = history_first_frame(h, to);
	*first = a;
	*end = b < h->nf ? b + 1 : h->nf;
}

void
history_roles(const struct history *h, uint64_t from_ms, uint64_t to_ms,
              double cpu_s[PROC_ROLES], uint64_t rss_kb[PROC_ROLES])
{
	struct history_pid ids[HISTORY_PIDS_MAX], *id;
	uint64_t sum[PROC_ROLES];
	size_t n = 0, a, b, i, j, r;

	memset(cpu_s, 0, sizeof(double) * PROC_ROLES);
	memset(rss_kb, 0, sizeof(uint64_t) * PROC_ROLES);
	history_frame_span(h, from_ms, to_ms, &a, &b);
	for (i = a; i < b; i++) {
		const struct history_frame *fr = history_frame_at(h, i);

		memset(sum, 0, sizeof(sum));
		for (j = 0; j < fr->n; j++) {
			const struct history_proc *p = &fr->p[j];
			size_t before = n;

			if (p->role >= PROC_ROLES)
				continue;
			sum[p->role] += p->rss_kb;
			if ((id = history_pid_find(ids, &n, p)) == NULL)
				continue;
			if (n > before) {
				id->role = p->role;
				id->first = p->ticks;
			}
			id->last = p->ticks;
		}
		for (r = 0; r < PROC_ROLES; r++)
			if (sum[r] > rss_kb[r])
				rss_kb[r] = sum[r];
	}
	for (i = 0; i < n; i++)
		if (ids[i].last >= ids[i].first)
			cpu_s[ids[i].role] +=
			    (double)(ids[i].last - ids[i].first) /
			    (double)h->clk_tck;
}

/* ---- GET /api/history ---------------------------------------------- */

/* One output row: the samples of one step. */
struct history_row {
	uint64_t t_ms;
	uint32_t in_flight, in_flight_min, waiting, waiting_min;
	uint64_t admitted, rejected, timed_out;
};

struct history_iter {
	const struct history *h;
	size_t i;
	unsigned step;
};

static void
history_iter_start(struct history_iter *it, const struct history *h,
                   uint64_t from, unsigned step)
{
	it->h = h;
	it->i = history_first_sample(h, from);
	it->step = step;
}

/* The next row; 0 when done.  A step of DASH_WATCH_MS or less is one
 * sample per row. */
static int
history_iter_next(struct history_iter *it, struct history_row *row)
{
	const struct history_sample *sm;
	uint64_t key;

	if (it->i >= it->h->ns)
		return 0;
	sm = history_sample_at(it->h, it->i++);
	key = sm->t_ms / it->step;
	row->t_ms = it->step <= DASH_WATCH_MS ? sm->t_ms : key * it->step;
	row->in_flight = row->in_flight_min = sm->in_flight;
	row->waiting = row->waiting_min = sm->waiting;
	row->admitted = sm->admitted;
	row->rejected = sm->rejected;
	row->timed_out = sm->timed_out;
	if (it->step <= DASH_WATCH_MS)
		return 1;
	while (it->i < it->h->ns) {
		sm = history_sample_at(it->h, it->i);
		if (sm->t_ms / it->step != key)
			break;
		it->i++;
		if (sm->in_flight > row->in_flight)
			row->in_flight = sm->in_flight;
		if (sm->in_flight < row->in_flight_min)
			row->in_flight_min = sm->in_flight;
		if (sm->waiting > row->waiting)
			row->waiting = sm->waiting;
		if (sm->waiting < row->waiting_min)
			row->waiting_min = sm->waiting;
		row->admitted += sm->admitted;
		row->rejected += sm->rejected;
		row->timed_out += sm->timed_out;
	}
	return 1;
}

enum history_col {
	HC_IN_FLIGHT,
	HC_WAITING,
	HC_ADMITTED,
	HC_REJECTED,
	HC_TIMED_OUT,
	HC_IN_FLIGHT_MIN,
	HC_WAITING_MIN,
	HC_NCOLS
};

static const char *const history_cols[HC_NCOLS] = {
    "in_flight", "waiting",       "admitted",    "rejected",
    "timed_out", "in_flight_min", "waiting_min",
};

static unsigned long long
history_col(const struct history_row *r, int c)
{
	switch (c) {
	case HC_IN_FLIGHT:
		return r->in_flight;
	case HC_WAITING:
		return r->waiting;
	case HC_ADMITTED:
		return r->admitted;
	case HC_REJECTED:
		return r->rejected;
	case HC_TIMED_OUT:
		return r->timed_out;
	case HC_IN_FLIGHT_MIN:
		return r->in_flight_min;
	default:
		return r->waiting_min;
	}
}

static void
history_samples_objects(struct evbuffer *out, const struct history *h,
                        uint64_t from, unsigned step, int ncols)
{
	struct history_iter it;
	struct history_row row;
	int c, first = 1;

	evbuffer_add(out, "[", 1);
	history_iter_start(&it, h, from, step);
	while (history_iter_next(&it, &row)) {
		evbuffer_add_printf(out, "%s{\"t_ms\":%llu", first ? "" : ",",
		                    (unsigned long long)row.t_ms);
		for (c = 0; c < ncols; c++)
			evbuffer_add_printf(out, ",\"%s\":%llu",
			                    history_cols[c],
			                    history_col(&row, c));
		evbuffer_add(out, "}", 1);
		first = 0;
	}
	evbuffer_add(out, "]", 1);
}

static void
history_samples_columns(struct evbuffer *out, const struct history *h,
                        uint64_t from, unsigned step, int ncols)
{
	struct history_iter it;
	struct history_row row;
	uint64_t prev = 0, t0 = 0;
	int c, n;

	history_iter_start(&it, h, from, step);
	evbuffer_add(out, "{\"dt_ms\":[", 10);
	for (n = 0; history_iter_next(&it, &row); n++) {
		evbuffer_add_printf(
		    out, "%s%llu", n ? "," : "",
		    (unsigned long long)(n ? row.t_ms - prev : 0));
		if (n == 0)
			t0 = row.t_ms;
		prev = row.t_ms;
	}
	evbuffer_add_printf(out, "],\"t0_ms\":%llu", (unsigned long long)t0);
	for (c = 0; c < ncols; c++) {
		evbuffer_add_printf(out, ",\"%s\":[", history_cols[c]);
		history_iter_start(&it, h, from, step);
		for (n = 0; history_iter_next(&it, &row); n++)
			evbuffer_add_printf(out, "%s%llu", n ? "," : "",
			                    history_col(&row, c));
		evbuffer_add(out, "]", 1);
	}
	evbuffer_add(out, "}", 1);
}

/* One process's series: a point per step, from the last frame of the
 * step that lists it; CPU % over the time since the previous point. */
static void
history_proc_series(struct evbuffer *out, const struct history *h,
                    const struct history_pid *id, size_t a, size_t b,
                    unsigned step, enum history_format fmt)
{
	struct evbuffer *cols[2] = {NULL, NULL};
	uint64_t prev_t = 0, t0 = 0, key, pkey = UINT64_MAX;
	uint32_t prev_ticks = 0;
	int have_prev = 0, n = 0;
	size_t i, j;

	if (fmt == HISTORY_COLUMNS) {
		cols[0] = evbuffer_new();
		cols[1] = evbuffer_new();
		if (cols[0] == NULL || cols[1] == NULL)
			goto out;
	}
	evbuffer_add_printf(
	    out, "{\"pid\":%d,\"role\":\"%s\",\"host\":", (int)id->pid,
	    procs_role_name((enum proc_role)id->role));
	statsjson_string(out, id->host < h->nhosts ? h->hosts[id->host] : "");
	evbuffer_add(out, ",", 1);
	evbuffer_add_printf(out, fmt == HISTORY_COLUMNS ? "\"dt_ms\":["
	                                                : "\"samples\":[");
	for (i = a; i < b; i++) {
		const struct history_frame *fr = history_frame_at(h, i);
		const struct history_proc *p = NULL;
		double cpu = 0;

		for (j = 0; j < fr->n; j++)
			if (fr->p[j].pid == id->pid &&
			    fr->p[j].host == id->host) {
				p = &fr->p[j];
				break;
			}
		if (p == NULL)
			continue;
		key = fr->t_ms / step;
		/* Is a later frame of this step going to list it? */
		if (i + 1 < b && history_frame_at(h, i + 1)->t_ms / step == key)
			continue;
		if (key == pkey)
			continue;
		pkey = key;
		if (have_prev && fr->t_ms > prev_t && p->ticks >= prev_ticks)
			cpu =
			    (double)(p->ticks - prev_ticks) * 1000.0 * 100.0 /
			    ((double)h->clk_tck * (double)(fr->t_ms - prev_t));
		if (fmt == HISTORY_COLUMNS) {
			if (n == 0)
				t0 = fr->t_ms;
			evbuffer_add_printf(
			    out, "%s%llu", n ? "," : "",
			    (unsigned long long)(n ? fr->t_ms - prev_t : 0));
			evbuffer_add_printf(cols[0], "%s%.1f", n ? "," : "",
			                    cpu);
			evbuffer_add_printf(cols[1], "%s%u", n ? "," : "",
			                    p->rss_kb);
		} else
			evbuffer_add_printf(
			    out,
			    "%s{\"t_ms\":%llu,\"cpu_percent\":%.1f,"
			    "\"rss_kb\":%u}",
			    n ? "," : "", (unsigned long long)fr->t_ms, cpu,
			    p->rss_kb);
		prev_t = fr->t_ms;
		prev_ticks = p->ticks;
		have_prev = 1;
		n++;
	}
	evbuffer_add(out, "]", 1);
	if (fmt == HISTORY_COLUMNS) {
		evbuffer_add_printf(out, ",\"t0_ms\":%llu,\"cpu_percent\":[",
		                    (unsigned long long)t0);
		evbuffer_add_buffer(out, cols[0]);
		evbuffer_add(out, "],\"rss_kb\":[", 12);
		evbuffer_add_buffer(out, cols[1]);
		evbuffer_add(out, "]", 1);
	}
	evbuffer_add(out, "}", 1);
out:
	if (cols[0] != NULL)
		evbuffer_free(cols[0]);
	if (cols[1] != NULL)
		evbuffer_free(cols[1]);
}

static void
history_processes(struct evbuffer *out, const struct history *h, uint64_t from,
                  unsigned step, enum history_format fmt)
{
	struct history_pid ids[HISTORY_PIDS_MAX], *id;
	size_t n = 0, a, b, i, j;

	if (step < DASH_SLOW_MS)
		step = DASH_SLOW_MS;
	/* One frame before FROM: the first point's CPU needs a base. */
	a = history_first_frame(h, from);
	if (a > 0)
		a--;
	b = h->nf;
	for (i = a; i < b; i++) {
		const struct history_frame *fr = history_frame_at(h, i);

		for (j = 0; j < fr->n; j++) {
			size_t before = n;

			id = history_pid_find(ids, &n, &fr->p[j]);
			if (id != NULL && n > before)
				id->role = fr->p[j].role;
		}
	}
	evbuffer_add(out, "[", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			evbuffer_add(out, ",", 1);
		history_proc_series(out, h, &ids[i], a, b, step, fmt);
	}
	evbuffer_add(out, "]", 1);
}

void
history_json(struct evbuffer *out, const struct history *h, uint64_t now_ms,
             unsigned seconds, unsigned step_ms, enum history_format fmt)
{
	uint64_t from;
	int ncols = step_ms > DASH_WATCH_MS ? HC_NCOLS : HC_IN_FLIGHT_MIN;

	if (step_ms < DASH_WATCH_MS)
		step_ms = DASH_WATCH_MS;
	from = now_ms > (uint64_t)seconds * 1000
	           ? now_ms - (uint64_t)seconds * 1000
	           : 0;
	evbuffer_add_printf(out,
	                    "{\"interval_ms\":%d,\"step_ms\":%u,"
	                    "\"window_s\":%u,\"now_ms\":%llu,\"format\":\"%s\","
	                    "\"samples\":",
	                    DASH_WATCH_MS, step_ms, h->window_s,
	                    (unsigned long long)now_ms,
	                    fmt == HISTORY_COLUMNS ? "columns" : "objects");
	if (fmt == HISTORY_COLUMNS)
		history_samples_columns(out, h, from, step_ms, ncols);
	else
		history_samples_objects(out, h, from, step_ms, ncols);
	evbuffer_add(out, ",\"processes\":", 13);
	history_processes(out, h, from, step_ms, fmt);
	evbuffer_add(out, "}\n", 2);
}
