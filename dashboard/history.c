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
 * Each ring holds HISTORY_SLACK_S (60 s) more than the window, seen only
 * by answers in progress (below).  The oldest entry is overwritten when a
 * ring is full; nothing else grows.  --history-seconds (hidden, for
 * tests) shortens both.
 *
 * GET /api/history reads them, at full resolution or in coarser steps
 * (each step: the highest and lowest in_flight and waiting, and the sums
 * of the counts), as objects (docs/design.md's shape) or as columns (the
 * page's compact form).  It is written a piece at a time as the client
 * takes it (history_cursor_read): a state machine over the rings, which
 * names samples and frames by their number, so that it sees when the
 * rings have moved past what it still has to write.  An answer is what
 * the history held when it was asked for, exactly, if it is read within
 * HISTORY_SLACK_S; a reader slower than that cannot have it whole (the
 * caller cuts the connection).
 */
#include <stdarg.h>
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
	h->cap_s = h->max_samples + HISTORY_SLACK_S * 1000 / DASH_WATCH_MS;
	h->cap_f = h->max_frames + HISTORY_SLACK_S * 1000 / DASH_SLOW_MS;
	h->clk_tck = clk_tck > 0 ? clk_tck : 100;
	h->samples = calloc(h->cap_s, sizeof(*h->samples));
	h->frames = calloc(h->cap_f, sizeof(*h->frames));
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
	struct history_sample *sm = &h->samples[h->added_s % h->cap_s];
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
	h->added_s++;
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
	struct history_frame *fr = &h->frames[h->added_f % h->cap_f];
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
	h->added_f++;
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
		struct history_frame *fr = &h->frames[h->added_f % h->cap_f];

		t = (h->max_frames - k) * DASH_SLOW_MS;
		fr->t_ms = now_ms > t ? now_ms - t : 0;
		fr->n = 0;
		h->added_f++;
		if (h->nf < h->max_frames)
			h->nf++;
	}
	history_gap(h); /* no delta from the made-up past */
}

const struct history_sample *
history_sample_at(const struct history *h, size_t i)
{
	return &h->samples[(h->added_s - h->ns + i) % h->cap_s];
}

const struct history_frame *
history_frame_at(const struct history *h, size_t i)
{
	return &h->frames[(h->added_f - h->nf + i) % h->cap_f];
}

/* Sample number K, or NULL if the ring no longer (or not yet) holds it. */
static const struct history_sample *
history_sample_no(const struct history *h, uint64_t k)
{
	uint64_t held = h->added_s < h->cap_s ? h->added_s : h->cap_s;

	if (k >= h->added_s || k < h->added_s - held)
		return NULL;
	return &h->samples[k % h->cap_s];
}

static const struct history_frame *
history_frame_no(const struct history *h, uint64_t k)
{
	uint64_t held = h->added_f < h->cap_f ? h->added_f : h->cap_f;

	if (k >= h->added_f || k < h->added_f - held)
		return NULL;
	return &h->frames[k % h->cap_f];
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

#define HISTORY_ITEM_MAX 512 /* the longest piece written at once */

/* One output row: the samples of one step. */
struct history_row {
	uint64_t t_ms;
	uint32_t in_flight, in_flight_min, waiting, waiting_min;
	uint64_t admitted, rejected, timed_out;
};

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

/* What a cursor writes next. */
enum history_phase {
	HP_HEAD,       /* the fields before "samples" */
	HP_ROWS,       /* the samples: as objects, or one column at a time */
	HP_ROWS_END,   /* the end of an array of rows (of the samples) */
	HP_PROCS,      /* the processes' ids, then their array opens */
	HP_PROC_HEAD,  /* a process: pid, role, host */
	HP_PROC_POINT, /* its points, in one of its passes */
	HP_PROC_END,   /* the end of a pass, and of the process */
	HP_TAIL,
	HP_DONE,
	HP_GONE, /* the rings moved past what is to be written */
};

/* A piece of output: BUF[0..n) of LEN, never more than LEN. */
struct history_out {
	char *buf;
	size_t len, n;
};

static int
history_room(const struct history_out *o)
{
	return o->len - o->n >= HISTORY_ITEM_MAX;
}

static void __attribute__((format(printf, 2, 3)))
history_put(struct history_out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->n, o->len - o->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n +=
		    (size_t)k < o->len - o->n ? (size_t)k : o->len - o->n - 1;
}

/* The N bytes at P (a literal: the room is checked per item). */
static void
history_put_lit(struct history_out *o, const char *p, size_t n)
{
	memcpy(o->buf + o->n, p, n);
	o->n += n;
}

#define HISTORY_LIT(o, lit) history_put_lit(o, lit, sizeof(lit) - 1)

/* V in decimal, without printf: the rows are most of an answer. */
static void
history_put_u64(struct history_out *o, unsigned long long v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	history_put_lit(o, tmp + n, sizeof(tmp) - n);
}

/* S as a JSON string, as statsjson_string writes it (a host name: at
 * most PROCS_HOST bytes, 6 each escaped). */
static void
history_put_string(struct history_out *o, const char *s)
{
	const unsigned char *p;

	history_put(o, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			history_put(o, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			history_put(o, "\\u%04x", *p);
		else
			history_put(o, "%c", *p);
	}
	history_put(o, "\"");
}

/*
 * The next row from sample C->s on (moved past it); 0 when the samples
 * are done, -1 if one is gone.  A step of DASH_WATCH_MS or less is one
 * sample per row.
 */
static int
history_row_next(struct history_cursor *c, const struct history *h,
                 struct history_row *row)
{
	const struct history_sample *sm;
	uint64_t key;

	if (c->s >= c->s_end)
		return 0;
	if ((sm = history_sample_no(h, c->s)) == NULL)
		return -1;
	c->s++;
	key = sm->t_ms / c->step;
	row->t_ms = c->step <= DASH_WATCH_MS ? sm->t_ms : key * c->step;
	row->in_flight = row->in_flight_min = sm->in_flight;
	row->waiting = row->waiting_min = sm->waiting;
	row->admitted = sm->admitted;
	row->rejected = sm->rejected;
	row->timed_out = sm->timed_out;
	if (c->step <= DASH_WATCH_MS)
		return 1;
	for (; c->s < c->s_end; c->s++) {
		if ((sm = history_sample_no(h, c->s)) == NULL)
			return -1;
		if (sm->t_ms / c->step != key)
			break;
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

/* One row into O, as the phase wants it. */
static void
history_put_row(struct history_cursor *c, struct history_out *o,
                const struct history_row *row)
{
	int k;

	if (c->n > 0)
		HISTORY_LIT(o, ",");
	if (c->fmt == HISTORY_OBJECTS) {
		HISTORY_LIT(o, "{\"t_ms\":");
		history_put_u64(o, row->t_ms);
		for (k = 0; k < c->ncols; k++) {
			HISTORY_LIT(o, ",\"");
			history_put_lit(o, history_cols[k],
			                strlen(history_cols[k]));
			HISTORY_LIT(o, "\":");
			history_put_u64(o, history_col(row, k));
		}
		HISTORY_LIT(o, "}");
	} else if (c->col < 0) {
		history_put_u64(o, c->n ? row->t_ms - c->prev_t : 0);
		if (c->n == 0)
			c->t0 = row->t_ms;
		c->prev_t = row->t_ms;
	} else {
		history_put_u64(o, history_col(row, c->col));
	}
	c->n++;
}

/* The processes in the frames [f_first, f_end); 0, or -1 if one is
 * gone. */
static int
history_cursor_ids(struct history_cursor *c, const struct history *h)
{
	const struct history_frame *fr;
	struct history_pid *id;
	uint64_t i;
	size_t j;

	c->nids = 0;
	for (i = c->f_first; i < c->f_end; i++) {
		if ((fr = history_frame_no(h, i)) == NULL)
			return -1;
		for (j = 0; j < fr->n; j++) {
			size_t before = c->nids;

			id = history_pid_find(c->ids, &c->nids, &fr->p[j]);
			if (id != NULL && c->nids > before)
				id->role = fr->p[j].role;
		}
	}
	return 0;
}

/*
 * The next point of process C->id from frame C->f on, into O: one per
 * step, from the last frame of the step that lists it, CPU % over the
 * time since the previous point.  0 when its frames are done, 1 if one
 * was written, -1 if a frame is gone.
 */
static int
history_put_point(struct history_cursor *c, const struct history *h,
                  struct history_out *o)
{
	const struct history_pid *id = &c->ids[c->id];
	const struct history_frame *fr, *next;
	const struct history_proc *p;
	unsigned step = c->step < DASH_SLOW_MS ? DASH_SLOW_MS : c->step;
	uint64_t key;
	double cpu = 0;
	size_t j;

	for (; c->f < c->f_end; c->f++) {
		if ((fr = history_frame_no(h, c->f)) == NULL)
			return -1;
		for (p = NULL, j = 0; j < fr->n; j++)
			if (fr->p[j].pid == id->pid &&
			    fr->p[j].host == id->host) {
				p = &fr->p[j];
				break;
			}
		if (p == NULL)
			continue;
		key = fr->t_ms / step;
		/* Is a later frame of this step going to list it? */
		if (c->f + 1 < c->f_end) {
			if ((next = history_frame_no(h, c->f + 1)) == NULL)
				return -1;
			if (next->t_ms / step == key)
				continue;
		}
		if (key == c->pkey)
			continue;
		c->pkey = key;
		if (c->have_prev && fr->t_ms > c->prev_t &&
		    p->ticks >= c->prev_ticks)
			cpu = (double)(p->ticks - c->prev_ticks) * 1000.0 *
			      100.0 /
			      ((double)h->clk_tck *
			       (double)(fr->t_ms - c->prev_t));
		if (c->fmt == HISTORY_OBJECTS)
			history_put(o,
			            "%s{\"t_ms\":%llu,\"cpu_percent\":%.1f,"
			            "\"rss_kb\":%u}",
			            c->n ? "," : "",
			            (unsigned long long)fr->t_ms, cpu,
			            p->rss_kb);
		else if (c->pass == 0) {
			if (c->n == 0)
				c->t0 = fr->t_ms;
			history_put(
			    o, "%s%llu", c->n ? "," : "",
			    (unsigned long long)(c->n ? fr->t_ms - c->prev_t
			                              : 0));
		} else if (c->pass == 1)
			history_put(o, "%s%.1f", c->n ? "," : "", cpu);
		else
			history_put(o, "%s%u", c->n ? "," : "", p->rss_kb);
		c->prev_t = fr->t_ms;
		c->prev_ticks = p->ticks;
		c->have_prev = 1;
		c->n++;
		c->f++;
		return 1;
	}
	return 0;
}

/* A pass over process C->id's frames begins. */
static void
history_pass_start(struct history_cursor *c)
{
	c->f = c->f_first;
	c->pkey = UINT64_MAX;
	c->prev_t = 0;
	c->prev_ticks = 0;
	c->have_prev = 0;
	c->n = 0;
}

void
history_cursor_start(struct history_cursor *c, const struct history *h,
                     uint64_t now_ms, unsigned seconds, unsigned step_ms,
                     enum history_format fmt)
{
	uint64_t from;
	size_t a;

	memset(c, 0, sizeof(*c));
	c->ncols = step_ms > DASH_WATCH_MS ? HC_NCOLS : HC_IN_FLIGHT_MIN;
	c->step = step_ms < DASH_WATCH_MS ? DASH_WATCH_MS : step_ms;
	c->fmt = fmt;
	c->now_ms = now_ms;
	from = now_ms > (uint64_t)seconds * 1000
	           ? now_ms - (uint64_t)seconds * 1000
	           : 0;
	c->s_first = h->added_s - h->ns + history_first_sample(h, from);
	c->s_end = h->added_s;
	/* One frame before FROM: the first point's CPU needs a base. */
	a = history_first_frame(h, from);
	if (a > 0)
		a--;
	c->f_first = h->added_f - h->nf + a;
	c->f_end = h->added_f;
	c->phase = HP_HEAD;
}

/* The samples' array (objects) or column C->col opens. */
static void
history_rows_start(struct history_cursor *c, struct history_out *o)
{
	if (c->fmt == HISTORY_OBJECTS)
		history_put(o, "[");
	else if (c->col < 0)
		history_put(o, "{\"dt_ms\":[");
	else
		history_put(o, ",\"%s\":[", history_cols[c->col]);
	c->s = c->s_first;
	c->n = 0;
	c->phase = HP_ROWS;
}

/* One step of C into O; 0 once it is done or gone. */
static int
history_cursor_step(struct history_cursor *c, const struct history *h,
                    struct history_out *o)
{
	const struct history_pid *id;
	struct history_row row;
	int r;

	switch (c->phase) {
	case HP_HEAD:
		history_put(o,
		            "{\"interval_ms\":%d,\"step_ms\":%u,"
		            "\"window_s\":%u,\"now_ms\":%llu,\"format\":\"%s\","
		            "\"samples\":",
		            DASH_WATCH_MS, c->step, h->window_s,
		            (unsigned long long)c->now_ms,
		            c->fmt == HISTORY_COLUMNS ? "columns" : "objects");
		c->col = -1;
		history_rows_start(c, o);
		return 1;
	case HP_ROWS:
		if ((r = history_row_next(c, h, &row)) == 1)
			history_put_row(c, o, &row);
		else if (r == 0)
			c->phase = HP_ROWS_END;
		else
			c->phase = HP_GONE;
		return 1;
	case HP_ROWS_END:
		history_put(o, "]");
		if (c->fmt == HISTORY_COLUMNS && c->col < 0)
			history_put(o, ",\"t0_ms\":%llu",
			            (unsigned long long)c->t0);
		if (c->fmt == HISTORY_COLUMNS && ++c->col < c->ncols) {
			history_rows_start(c, o);
			return 1;
		}
		if (c->fmt == HISTORY_COLUMNS)
			history_put(o, "}");
		c->phase = HP_PROCS;
		return 1;
	case HP_PROCS:
		if (history_cursor_ids(c, h) == -1) {
			c->phase = HP_GONE;
			return 1;
		}
		history_put(o, ",\"processes\":[");
		c->id = 0;
		c->phase = c->nids > 0 ? HP_PROC_HEAD : HP_TAIL;
		return 1;
	case HP_PROC_HEAD:
		id = &c->ids[c->id];
		history_put(o, "%s{\"pid\":%d,\"role\":\"%s\",\"host\":",
		            c->id > 0 ? "," : "", (int)id->pid,
		            procs_role_name((enum proc_role)id->role));
		history_put_string(o, id->host < h->nhosts ? h->hosts[id->host]
		                                           : "");
		history_put(o, ",%s",
		            c->fmt == HISTORY_COLUMNS ? "\"dt_ms\":["
		                                      : "\"samples\":[");
		c->pass = 0;
		c->t0 = 0;
		history_pass_start(c);
		c->phase = HP_PROC_POINT;
		return 1;
	case HP_PROC_POINT:
		if ((r = history_put_point(c, h, o)) == 0)
			c->phase = HP_PROC_END;
		else if (r == -1)
			c->phase = HP_GONE;
		return 1;
	case HP_PROC_END:
		history_put(o, "]");
		if (c->fmt == HISTORY_COLUMNS && c->pass < 2) {
			if (c->pass == 0)
				history_put(o,
				            ",\"t0_ms\":%llu,\"cpu_percent\":[",
				            (unsigned long long)c->t0);
			else
				history_put(o, ",\"rss_kb\":[");
			c->pass++;
			history_pass_start(c);
			c->phase = HP_PROC_POINT;
			return 1;
		}
		history_put(o, "}");
		c->phase = ++c->id < c->nids ? HP_PROC_HEAD : HP_TAIL;
		return 1;
	case HP_TAIL:
		history_put(o, "]}\n");
		c->phase = HP_DONE;
		return 1;
	default:
		return 0;
	}
}

long
history_cursor_read(struct history_cursor *c, const struct history *h,
                    char *buf, size_t len)
{
	struct history_out o;

	o.buf = buf;
	o.len = len;
	o.n = 0;

	while (history_room(&o) && history_cursor_step(c, h, &o))
		;
	if (c->phase == HP_GONE)
		return -1;
	return (long)o.n;
}

void
history_json(struct evbuffer *out, const struct history *h, uint64_t now_ms,
             unsigned seconds, unsigned step_ms, enum history_format fmt)
{
	struct history_cursor *c = malloc(sizeof(*c));
	char buf[8192];
	long n;

	if (c == NULL)
		return;
	history_cursor_start(c, h, now_ms, seconds, step_ms, fmt);
	while ((n = history_cursor_read(c, h, buf, sizeof(buf))) > 0)
		evbuffer_add(out, buf, (size_t)n);
	free(c);
}
