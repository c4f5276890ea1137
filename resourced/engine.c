/*
 * engine.c: admission, the queue, service in virtual time, CoDel.
 *
 * See engine.h for the contract.  The CoDel discipline follows Ecto's
 * DBConnection.ConnectionPool: each time a slot frees while the queue is
 * busy, the first dequeue after an interval ended judges that interval
 * (slow if its smallest wait exceeded the target) and serves the oldest
 * waiter; in between, a fast queue serves the oldest, a slow one first
 * drops (TIMEOUT) every waiter older than twice the target.  A check every
 * interval drops those too when the queue made no progress at all.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "mockres_limits.h"

enum engine_state {
	ENGINE_USE_FREE,
	ENGINE_USE_WAITING,
	ENGINE_USE_SERVING,
};

struct engine_use {
	uint64_t tag;
	uint64_t t0_us; /* waiting: its arrival; serving: its start */
	struct engine_owner *owner;
	uint32_t prev, next;   /* the queue; next is the free list too */
	uint32_t oprev, onext; /* the owner's waiting uses */
	uint32_t hold_ms;      /* its service time, drawn at arrival */
	uint8_t serial;
	uint8_t state;
};

#define ENGINE_CHUNK (1u << ENGINE_CHUNK_BITS)

static inline struct engine_use *
engine_u(const struct engine *e, uint32_t id)
{
	return &e->chunks[id >> ENGINE_CHUNK_BITS][id & (ENGINE_CHUNK - 1)];
}

void
engine_owner_init(struct engine_owner *o)
{
	memset(o, 0, sizeof(*o));
	o->wait_head = ENGINE_NONE;
}

void
engine_init(struct engine *e, const struct model *m, uint32_t limit,
            engine_end_fn end, void *arg, uint64_t now_us)
{
	memset(e, 0, sizeof(*e));
	e->model = *m;
	e->limit = limit;
	e->end = end;
	e->end_arg = arg;
	rng_seed(&e->rng, m->seed);
	hist_init(&e->wait);
	hist_init(&e->service);
	e->free_head = ENGINE_NONE;
	e->q_head = e->q_tail = ENGINE_NONE;
	heap_init(&e->serving[0].heap);
	heap_init(&e->serving[1].heap);
	heap_init(&e->timeouts);
	e->vlast_us = now_us;
	e->codel.next_us = now_us;
}

void
engine_free(struct engine *e)
{
	uint32_t i;

	for (i = 0; i < e->nchunks; i++)
		free(e->chunks[i]);
	for (i = 0; i < 2; i++) {
		heap_free(&e->serving[i].heap);
		free(e->serving[i].fifo.a);
		memset(&e->serving[i].fifo, 0, sizeof(e->serving[i].fifo));
	}
	heap_free(&e->timeouts);
	e->nchunks = 0;
	e->free_head = ENGINE_NONE;
}

/* Use records come from chunks that are never returned: memory follows
 * the peak number of uses in the resource, bounded by ENGINE_USES_MAX. */
static uint32_t
engine_alloc(struct engine *e)
{
	struct engine_use *chunk;
	uint32_t id, i, base;

	if (e->uses >= ENGINE_USES_MAX)
		return ENGINE_NONE;
	if (e->free_head == ENGINE_NONE) {
		if (e->nchunks == ENGINE_CHUNKS_MAX ||
		    (chunk = calloc(ENGINE_CHUNK, sizeof(*chunk))) == NULL)
			return ENGINE_NONE;
		base = e->nchunks << ENGINE_CHUNK_BITS;
		e->chunks[e->nchunks++] = chunk;
		for (i = ENGINE_CHUNK; i-- > 0;) {
			chunk[i].next = e->free_head;
			e->free_head = base + i;
		}
	}
	id = e->free_head;
	e->free_head = engine_u(e, id)->next;
	e->uses++;
	return id;
}

static void
engine_release(struct engine *e, uint32_t id)
{
	struct engine_use *u = engine_u(e, id);

	u->state = ENGINE_USE_FREE;
	u->owner = NULL;
	u->next = e->free_head;
	e->free_head = id;
	e->uses--;
}

/* ---- virtual time ---- */

static double
engine_rate_n(const struct model *m, uint64_t n)
{
	double dn = (double)n;

	switch (m->contention) {
	case MODEL_CONTENTION_CPU:
		return n <= m->cores ? 1.0 : (double)m->cores / dn;
	case MODEL_CONTENTION_USL:
		if (n <= 1)
			return 1.0;
		return 1.0 / (1.0 + m->usl_sigma * (dn - 1) +
		              m->usl_kappa * dn * (dn - 1));
	default:
		return 1.0;
	}
}

double
engine_rate(const struct engine *e)
{
	return engine_rate_n(&e->model, e->in_flight);
}

/* Brings virtual time up to NOW at the rate of the uses in service. */
static void
engine_advance(struct engine *e, uint64_t now)
{
	if (now <= e->vlast_us)
		return;
	if (e->in_flight == 0)
		e->vnow = 0; /* nothing in service: restart, keep precision */
	else
		e->vnow += (double)(now - e->vlast_us) * engine_rate(e);
	e->vlast_us = now;
}

/* ---- service times ---- */

static uint32_t
engine_draw_ms(struct engine *e)
{
	const struct model *m = &e->model;
	uint64_t ms, lo, hi;
	double v;

	switch (m->hold_dist) {
	case MODEL_DIST_UNIFORM:
		lo = m->hold_ms > m->hold_spread ? m->hold_ms - m->hold_spread
		                                 : 0;
		hi = (uint64_t)m->hold_ms + m->hold_spread;
		if (hi > MOCKRES_HOLD_MS_MAX)
			hi = MOCKRES_HOLD_MS_MAX;
		ms = rng_range(&e->rng, lo, hi);
		break;
	case MODEL_DIST_LOGNORMAL:
		v = round(exp(rng_normal(&e->rng) * m->hold_sigma) *
		          (double)m->hold_ms);
		ms = v >= MOCKRES_HOLD_MS_MAX ? MOCKRES_HOLD_MS_MAX
		                              : (uint64_t)v;
		break;
	default:
		ms = m->hold_ms;
		break;
	}
	return (uint32_t)ms;
}

uint64_t
engine_draw_us(struct engine *e)
{
	return (uint64_t)engine_draw_ms(e) * 1000;
}

/* ---- the queue ---- */

static void
engine_queue_push(struct engine *e, uint32_t id)
{
	struct engine_use *u = engine_u(e, id);
	struct engine_owner *o = u->owner;

	u->prev = e->q_tail;
	u->next = ENGINE_NONE;
	if (e->q_tail != ENGINE_NONE)
		engine_u(e, e->q_tail)->next = id;
	else
		e->q_head = id;
	e->q_tail = id;

	u->oprev = ENGINE_NONE;
	u->onext = o->wait_head;
	if (o->wait_head != ENGINE_NONE)
		engine_u(e, o->wait_head)->oprev = id;
	o->wait_head = id;
}

/* Takes a waiting use out of the queue, the owner's list and the timeout
 * heap. */
static void
engine_queue_remove(struct engine *e, uint32_t id)
{
	struct engine_use *u = engine_u(e, id);
	struct engine_owner *o = u->owner;

	if (u->prev != ENGINE_NONE)
		engine_u(e, u->prev)->next = u->next;
	else
		e->q_head = u->next;
	if (u->next != ENGINE_NONE)
		engine_u(e, u->next)->prev = u->prev;
	else
		e->q_tail = u->prev;

	if (u->oprev != ENGINE_NONE)
		engine_u(e, u->oprev)->onext = u->onext;
	else
		o->wait_head = u->onext;
	if (u->onext != ENGINE_NONE)
		engine_u(e, u->onext)->oprev = u->oprev;

	heap_remove(&e->timeouts, id);
	e->waiting--;
	o->waiting--;
}

/* ---- service: the heap and the FIFO of in-order finishes ---- */

static const struct heap_entry *
engine_fifo_at(const struct engine_fifo *f, uint32_t i)
{
	return &f->a[(f->head + i) & (f->cap - 1)]; /* cap: a power of 2 */
}

static int
engine_fifo_push(struct engine_fifo *f, uint32_t id, double key)
{
	if (f->n == f->cap) {
		uint32_t cap = f->cap ? f->cap * 2 : 1024, i;
		struct heap_entry *a;

		if (cap <= f->cap ||
		    (a = malloc((size_t)cap * sizeof(*a))) == NULL)
			return -1;
		for (i = 0; i < f->n; i++) /* unwrapped */
			a[i] = *engine_fifo_at(f, i);
		free(f->a);
		f->a = a;
		f->cap = cap;
		f->head = 0;
	}
	f->a[(f->head + f->n) & (f->cap - 1)] = (struct heap_entry){key, id};
	f->n++;
	return 0;
}

/* The earliest finish among S's uses, NULL if none; *FIFO = 1 if it is
 * the FIFO's head. */
static const struct heap_entry *
engine_class_min(const struct engine_serving *s, int *fifo)
{
	const struct heap_entry *h =
	    heap_size(&s->heap) ? heap_min(&s->heap) : NULL;
	const struct heap_entry *q =
	    s->fifo.n ? engine_fifo_at(&s->fifo, 0) : NULL;

	*fifo = q != NULL && (h == NULL || q->key <= h->key);
	return *fifo ? q : h;
}

/* Where the earliest finish in service is. */
struct engine_where {
	int serial, fifo;
};

/* The earliest finish in service, serial or async: only when something
 * is in service. */
static const struct heap_entry *
engine_serving_min(const struct engine *e, struct engine_where *w)
{
	int fa, fs;
	const struct heap_entry *a = engine_class_min(&e->serving[0], &fa);
	const struct heap_entry *s = engine_class_min(&e->serving[1], &fs);

	w->serial = s != NULL && (a == NULL || s->key < a->key);
	w->fifo = w->serial ? fs : fa;
	return w->serial ? s : a;
}

/* Takes out the earliest finish, from where engine_serving_min found it. */
static uint32_t
engine_serving_pop(struct engine *e, struct engine_where w)
{
	struct engine_serving *s = &e->serving[w.serial];
	uint32_t id;

	if (!w.fifo)
		return heap_pop(&s->heap);
	id = s->fifo.a[s->fifo.head].id;
	s->fifo.head = (s->fifo.head + 1) & (s->fifo.cap - 1);
	s->fifo.n--;
	return id;
}

static uint64_t
engine_serving_n(const struct engine_serving *s)
{
	return heap_size(&s->heap) + s->fifo.n;
}

/* ---- service ---- */

static int
engine_slot_open(const struct engine *e)
{
	return e->model.slots == 0 || e->in_flight < e->model.slots;
}

/* Puts a use in service.  Returns -1 if the heap cannot grow. */
static int
engine_start(struct engine *e, uint32_t id, uint64_t now)
{
	struct engine_use *u = engine_u(e, id);
	struct engine_serving *s = &e->serving[u->serial];
	double finish = e->vnow + (double)u->hold_ms * 1000.0;

	/* Behind the FIFO's tail it cannot be the earliest finish of its
	 * kind; more in service only slows everyone down, so nothing moves
	 * earlier. */
	if (s->fifo.n > 0 &&
	    finish >= engine_fifo_at(&s->fifo, s->fifo.n - 1)->key) {
		if (engine_fifo_push(&s->fifo, id, finish) == -1)
			return -1;
	} else {
		if ((s->fifo.n == 0 ? engine_fifo_push(&s->fifo, id, finish)
		                    : heap_push(&s->heap, id, finish)) == -1)
			return -1;
		e->sooner = 1;
	}
	u->state = ENGINE_USE_SERVING;
	u->t0_us = now;
	e->in_flight++;
	u->owner->in_flight++;
	if (e->in_flight > e->peak)
		e->peak = e->in_flight;
	/* Slowed down, the ends may have become loud ones
	 * (engine_next_loud). */
	if (engine_rate(e) < 1.0)
		e->sooner = 1;
	return 0;
}

/* A use has left the resource: free it, then (TELL) tell its owner. */
static void
engine_finish(struct engine *e, uint32_t id, enum engine_end how,
              uint64_t waited, int tell)
{
	struct engine_use *u = engine_u(e, id);
	struct engine_owner *o = u->owner;
	uint64_t tag = u->tag;
	int serial = u->serial;

	o->uses--;
	engine_release(e, id);
	if (tell && e->end != NULL)
		e->end(o, tag, serial, how, waited, e->end_arg);
}

/* A waiting use leaves without service. */
static void
engine_leave(struct engine *e, uint32_t id, uint64_t now, enum engine_end how,
             int tell)
{
	struct engine_use *u = engine_u(e, id);
	uint64_t waited = now - u->t0_us;

	engine_queue_remove(e, id);
	if (how == ENGINE_TIMEOUT) {
		e->timed_out++;
		u->owner->timed_out++;
		hist_add(&e->wait, waited);
	} else {
		e->cancelled++;
		u->owner->cancelled++;
	}
	engine_finish(e, id, how, waited, tell);
}

/* A waiter gets a slot. */
static void
engine_serve(struct engine *e, uint32_t id, uint64_t now)
{
	struct engine_use *u = engine_u(e, id);
	uint64_t waited = now - u->t0_us;

	engine_queue_remove(e, id);
	if (engine_start(e, id, now) == -1) {
		/* out of memory for the heap: it cannot be served */
		e->cancelled++;
		u->owner->cancelled++;
		engine_finish(e, id, ENGINE_CANCELLED, waited, 1);
		return;
	}
	hist_add(&e->wait, waited);
}

/* ---- CoDel (DBConnection.ConnectionPool) ---- */

static void
engine_codel_ready(struct engine_codel *c)
{
	c->min_delay_us = 0;
	c->busy = 0;
}

/* A slot freed while the queue is busy: serve a waiter, or go ready. */
static void
engine_codel_dequeue(struct engine *e, uint64_t now)
{
	struct engine_codel *c = &e->codel;
	uint64_t target = (uint64_t)e->model.codel_target_ms * 1000;
	uint64_t interval = (uint64_t)e->model.codel_interval_ms * 1000;
	uint64_t delay;
	uint32_t id;

	if (now >= c->next_us) {
		/* The first dequeue after an interval judges it. */
		c->slow = c->min_delay_us > target;
		c->next_us = now + interval;
		if ((id = e->q_head) == ENGINE_NONE) {
			engine_codel_ready(c);
			return;
		}
		c->min_delay_us = now - engine_u(e, id)->t0_us;
		engine_serve(e, id, now);
		return;
	}
	if (c->slow) {
		while ((id = e->q_head) != ENGINE_NONE &&
		       now - engine_u(e, id)->t0_us > 2 * target)
			engine_leave(e, id, now, ENGINE_TIMEOUT, 1);
	}
	if ((id = e->q_head) == ENGINE_NONE) {
		engine_codel_ready(c);
		return;
	}
	delay = now - engine_u(e, id)->t0_us;
	if (delay < c->min_delay_us)
		c->min_delay_us = delay;
	engine_serve(e, id, now);
}

/* Every interval while uses wait: if the queue's head has not moved since
 * the last check, judge the interval now, dropping if it was slow. */
static void
engine_codel_poll(struct engine *e, uint64_t now)
{
	struct engine_codel *c = &e->codel;
	uint64_t target = (uint64_t)e->model.codel_target_ms * 1000;
	uint64_t interval = (uint64_t)e->model.codel_interval_ms * 1000;
	uint64_t sent, delay;
	uint32_t id;

	c->poll_at_us = 0;
	if ((id = e->q_head) == ENGINE_NONE)
		return; /* off until a use waits again */
	sent = engine_u(e, id)->t0_us;
	c->poll_at_us = now + interval;
	if (sent > c->poll_sent_us || !c->busy) {
		c->poll_sent_us = sent;
		return; /* progress since the last check */
	}
	c->poll_sent_us = sent;
	delay = now - sent;
	if (now < c->next_us)
		return;
	c->next_us = now + interval;
	if (c->min_delay_us > target) {
		c->slow = 1;
		c->min_delay_us = delay;
		while ((id = e->q_head) != ENGINE_NONE &&
		       now - engine_u(e, id)->t0_us > 2 * target)
			engine_leave(e, id, now, ENGINE_TIMEOUT, 1);
	} else {
		c->slow = 0;
		c->min_delay_us = delay;
	}
}

static void
engine_codel_queued(struct engine *e, uint64_t now)
{
	struct engine_codel *c = &e->codel;

	c->busy = 1;
	if (c->poll_at_us == 0) {
		c->poll_at_us =
		    now + (uint64_t)e->model.codel_interval_ms * 1000;
		c->poll_sent_us = now > 0 ? now - 1 : 0;
	}
}

static int
engine_codel_on(const struct engine *e)
{
	return e->model.queue_discipline == MODEL_QUEUE_CODEL;
}

/* Gives open slots to waiters, as the discipline says. */
static void
engine_fill(struct engine *e, uint64_t now)
{
	while (engine_slot_open(e)) {
		if (engine_codel_on(e)) {
			if (!e->codel.busy)
				break;
			engine_codel_dequeue(e, now);
		} else {
			if (e->q_head == ENGINE_NONE)
				break;
			engine_serve(e, e->q_head, now);
		}
	}
}

/* ---- the interface ---- */

static int engine_catch_up(struct engine *, uint64_t now);

enum engine_verdict
engine_use(struct engine *e, uint64_t now, struct engine_owner *o, uint64_t tag,
           int serial, int64_t hold_ms)
{
	const struct model *m = &e->model;
	enum engine_verdict v;
	struct engine_use *u;
	uint32_t id;
	int queue;

	/* Judged against the resource as it is now: an end due before NOW
	 * has happened, whether or not the caller's timer has fired. */
	if (engine_catch_up(e, now))
		e->sooner = 1;
	if (e->limit > 0 && e->in_flight + e->waiting >= e->limit) {
		v = ENGINE_BUSY;
		goto rejected;
	}
	queue = !engine_slot_open(e) || e->q_head != ENGINE_NONE;
	if (queue && e->waiting >= m->queue) {
		v = ENGINE_QUEUE_FULL;
		goto rejected;
	}
	if ((id = engine_alloc(e)) == ENGINE_NONE) {
		v = ENGINE_FULL;
		goto rejected;
	}
	u = engine_u(e, id);
	u->tag = tag;
	u->owner = o;
	u->serial = serial != 0;
	u->prev = u->next = u->oprev = u->onext = ENGINE_NONE;
	if (hold_ms >= 0)
		u->hold_ms = hold_ms > MOCKRES_HOLD_MS_MAX ? MOCKRES_HOLD_MS_MAX
		                                           : (uint32_t)hold_ms;
	else
		u->hold_ms = engine_draw_ms(e);

	if (!queue) {
		if (engine_start(e, id, now) == -1) {
			engine_release(e, id);
			v = ENGINE_FULL;
			goto rejected;
		}
		v = ENGINE_SERVING;
		hist_add(&e->wait, 0);
	} else {
		if (m->queue_timeout_ms > 0 &&
		    heap_push(&e->timeouts, id,
		              (double)(now + (uint64_t)m->queue_timeout_ms *
		                                 1000)) == -1) {
			engine_release(e, id);
			v = ENGINE_FULL;
			goto rejected;
		}
		e->sooner = 1; /* a timeout or CoDel's check may be next */
		u->state = ENGINE_USE_WAITING;
		u->t0_us = now;
		engine_queue_push(e, id);
		e->waiting++;
		o->waiting++;
		if (e->waiting > e->peak_waiting)
			e->peak_waiting = e->waiting;
		if (engine_codel_on(e))
			engine_codel_queued(e, now);
		v = ENGINE_WAITING;
	}
	e->admitted++;
	o->admitted++;
	o->uses++;
	return v;

rejected:
	e->rejected++;
	o->rejected++;
	return v;
}

/* A use's service ended. */
static void
engine_complete(struct engine *e, uint32_t id, uint64_t now)
{
	struct engine_use *u = engine_u(e, id);

	e->in_flight--;
	u->owner->in_flight--;
	e->completed++;
	u->owner->completed++;
	hist_add(&e->service, now - u->t0_us);
	engine_fill(e, now);
	engine_finish(e, id, ENGINE_DONE, 0, 1);
}

/* Work (virtual µs) within this of its finish counts as finished: the
 * timer is rounded to whole microseconds. */
#define ENGINE_EPS 1e-3

/* When the use with finish KEY ends at the current rate. */
static uint64_t
engine_end_at(const struct engine *e, double key)
{
	double dt = ceil((key - e->vnow) / engine_rate(e) - 1e-6);

	if (dt <= 0)
		return e->vlast_us;
	if (dt >= 1.8e19)
		return UINT64_MAX;
	return e->vlast_us + (uint64_t)dt;
}

/* Does one thing due at NOW (virtual time advanced to it); 0 if nothing
 * is. */
static int
engine_due_one(struct engine *e, uint64_t now)
{
	struct engine_where w;

	/* A waiter whose deadline is now has waited that long: it leaves
	 * before a slot freed at the same moment is handed out. */
	if (heap_size(&e->timeouts) > 0 &&
	    heap_min(&e->timeouts)->key <= (double)now) {
		/* ... and left at its deadline, however late the loop came
		 * to it: it waited queue-timeout-ms. */
		uint64_t at = (uint64_t)heap_min(&e->timeouts)->key;

		engine_leave(e, heap_min(&e->timeouts)->id, at < now ? at : now,
		             ENGINE_TIMEOUT, 1);
		return 1;
	}
	if (e->in_flight > 0 &&
	    engine_serving_min(e, &w)->key <= e->vnow + ENGINE_EPS) {
		engine_complete(e, engine_serving_pop(e, w), now);
		return 1;
	}
	if (engine_codel_on(e) && e->codel.poll_at_us != 0 &&
	    e->codel.poll_at_us <= now) {
		engine_codel_poll(e, now);
		return 1;
	}
	return 0;
}

/*
 * Does what was due before NOW, one thing at a time at its own moment
 * (virtual time advanced to each at the rate of that moment), then what
 * is due at NOW.  Returns whether anything was done.
 */
static int
engine_catch_up(struct engine *e, uint64_t now)
{
	uint64_t t;
	int did = 0;

	while ((t = engine_next(e)) < now) {
		if (t < e->vlast_us)
			t = e->vlast_us;
		engine_advance(e, t);
		if (!engine_due_one(e, t))
			break; /* rounding: left to the loop below */
		did = 1;
		/* the rest of what is due at T (within ENGINE_EPS), as a
		 * run at T would */
		while (engine_due_one(e, t))
			;
	}
	engine_advance(e, now);
	while (engine_due_one(e, now))
		did = 1;
	return did;
}

void
engine_run(struct engine *e, uint64_t now)
{
	e->sooner = 1; /* a caller re-arms after a run */
	engine_catch_up(e, now);
}

int
engine_take_sooner(struct engine *e)
{
	int s = e->sooner;

	e->sooner = 0;
	return s;
}

/* The next queue timeout or CoDel check (UINT64_MAX: none). */
static uint64_t
engine_next_deadline(const struct engine *e)
{
	uint64_t t = UINT64_MAX, c;

	if (heap_size(&e->timeouts) > 0)
		t = (uint64_t)heap_min(&e->timeouts)->key;
	if (engine_codel_on(e) && e->codel.poll_at_us != 0 &&
	    (c = e->codel.poll_at_us) < t)
		t = c;
	return t;
}

uint64_t
engine_next(const struct engine *e)
{
	uint64_t t = engine_next_deadline(e), c;
	struct engine_where w;

	if (e->in_flight > 0 &&
	    (c = engine_end_at(e, engine_serving_min(e, &w)->key)) < t)
		t = c;
	return t;
}

uint64_t
engine_next_loud(const struct engine *e)
{
	uint64_t t = engine_next_deadline(e), c = UINT64_MAX;
	uint64_t serial = engine_serving_n(&e->serving[1]);
	struct engine_where w;
	int fifo;

	if (e->in_flight == 0)
		return t;
	if (e->waiting > 0 || (serial > 0 && engine_rate(e) < 1.0))
		/* Any end starts a waiter, or speeds up the serial ones. */
		c = engine_end_at(e, engine_serving_min(e, &w)->key);
	else if (serial > 0)
		c = engine_end_at(e,
		                  engine_class_min(&e->serving[1], &fifo)->key);
	return c < t ? c : t;
}

void
engine_set_model(struct engine *e, uint64_t now, const struct model *m,
                 int reseed)
{
	int was_codel = engine_codel_on(e);
	struct engine_codel *c = &e->codel;

	e->sooner = 1;
	engine_catch_up(e, now); /* under the old model, up to now */
	e->model = *m;
	if (reseed)
		rng_seed(&e->rng, m->seed);
	if (engine_codel_on(e) && !was_codel) {
		memset(c, 0, sizeof(*c));
		c->next_us = now;
		if (e->q_head != ENGINE_NONE) {
			c->busy = 1;
			c->poll_at_us =
			    now + (uint64_t)m->codel_interval_ms * 1000;
			c->poll_sent_us = engine_u(e, e->q_head)->t0_us;
		}
	} else if (!engine_codel_on(e)) {
		c->poll_at_us = 0;
	}
	engine_fill(e, now); /* more slots serve waiters at once */
}

void
engine_set_limit(struct engine *e, uint32_t limit)
{
	e->limit = limit;
}

void
engine_reset_peak(struct engine *e)
{
	e->peak = e->in_flight;
	e->peak_waiting = e->waiting;
}

void
engine_reset_percentiles(struct engine *e)
{
	hist_init(&e->wait);
	hist_init(&e->service);
}

void
engine_cancel_owner(struct engine *e, uint64_t now, struct engine_owner *o)
{
	/* No callback: the owner asked, and may be freed once this
	 * returns with o->uses == 0. */
	while (o->wait_head != ENGINE_NONE)
		engine_leave(e, o->wait_head, now, ENGINE_CANCELLED, 0);
}

void
engine_cancel_waiting(struct engine *e, uint64_t now)
{
	if (engine_catch_up(e, now))
		e->sooner = 1;
	while (e->q_head != ENGINE_NONE)
		engine_leave(e, e->q_head, now, ENGINE_CANCELLED, 1);
}

void
engine_cut_serving(struct engine *e, uint64_t now)
{
	struct engine_where w;

	e->sooner = 1;
	engine_catch_up(e, now); /* those due by now end DONE */
	while (e->in_flight > 0) {
		uint32_t id;
		struct engine_use *u;

		engine_serving_min(e, &w);
		id = engine_serving_pop(e, w);
		u = engine_u(e, id);
		e->in_flight--;
		u->owner->in_flight--;
		e->cancelled++;
		u->owner->cancelled++;
		engine_finish(e, id, ENGINE_CUT, 0, 1);
	}
}

int
engine_check(const struct engine *e)
{
	uint32_t id, prev = ENGINE_NONE;
	uint64_t n = 0;
	int k;

	if (e->admitted != e->completed + e->timed_out + e->cancelled +
	                       e->in_flight + e->waiting)
		return -1;
	for (k = 0; k < 2; k++) {
		const struct engine_fifo *f = &e->serving[k].fifo;

		for (id = 1; id < f->n; id++)
			if (engine_fifo_at(f, id)->key <
			    engine_fifo_at(f, id - 1)->key)
				return -10; /* the FIFO is in finish order */
		for (id = 0; id < f->n; id++)
			if (engine_u(e, engine_fifo_at(f, id)->id)->serial != k)
				return -11; /* each kind in its own */
		for (id = 0; id < heap_size(&e->serving[k].heap); id++)
			if (engine_u(e, e->serving[k].heap.a[id].id)->serial !=
			    k)
				return -11;
	}
	if (e->in_flight != engine_serving_n(&e->serving[0]) +
	                        engine_serving_n(&e->serving[1]) ||
	    e->uses != e->in_flight + e->waiting)
		return -2;
	for (id = e->q_head; id != ENGINE_NONE; id = engine_u(e, id)->next) {
		const struct engine_use *u = engine_u(e, id);

		if (u->state != ENGINE_USE_WAITING || u->prev != prev)
			return -3;
		if (prev != ENGINE_NONE && engine_u(e, prev)->t0_us > u->t0_us)
			return -4; /* the queue is in arrival order */
		prev = id;
		n++;
	}
	if (n != e->waiting || e->q_tail != prev)
		return -5;
	if (e->peak < e->in_flight || e->peak_waiting < e->waiting)
		return -6;
	if (e->waiting > 0 && engine_slot_open(e))
		return -7; /* an open slot with uses waiting */
	if (heap_size(&e->timeouts) > e->waiting)
		return -8;
	if (heap_check(&e->serving[0].heap) != 0 ||
	    heap_check(&e->serving[1].heap) != 0 ||
	    heap_check(&e->timeouts) != 0)
		return -9;
	return 0;
}
