/*
 * test_engine.c: the resource engine on a simulated clock, against the
 * closed-form results each model should give, plus CoDel step by step and
 * the accounting invariants under random operations.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "support.h"

#define T0 10000000ull /* the simulated clock starts at 10 s */
#define MS 1000ull

/* ---- a closed-loop simulation: N clients, each always has one use ---- */

#define SIM_CLIENTS 256

struct sim {
	struct engine e;
	struct engine_owner owner;
	uint64_t now;
	int nclients;
	int64_t hold_ms; /* per use, or -1: the model's */
	uint64_t sent_at[SIM_CLIENTS];
	int ready[SIM_CLIENTS]; /* clients to re-send, in end order */
	int nready;
	/* measured over [win_from, win_to) */
	uint64_t win_from, win_to;
	uint64_t done, timeouts, resp_sum_us, resp_n;
};

static void
sim_end(struct engine_owner *o, uint64_t tag, int serial, enum engine_end how,
        uint64_t waited, void *arg)
{
	struct sim *s = arg;

	if (s->now >= s->win_from && s->now < s->win_to) {
		if (how == ENGINE_DONE)
			s->done++;
		else if (how == ENGINE_TIMEOUT)
			s->timeouts++;
		s->resp_sum_us += s->now - s->sent_at[tag];
		s->resp_n++;
	}
	s->ready[s->nready++] = (int)tag;
}

static void
sim_send(struct sim *s, int client)
{
	enum engine_verdict v;

	s->sent_at[client] = s->now;
	v = engine_use(&s->e, s->now, &s->owner, (uint64_t)client, 1,
	               s->hold_ms);
	ck_assert_msg(v == ENGINE_SERVING || v == ENGINE_WAITING,
	              "client %d rejected (%d)", client, (int)v);
}

static void
sim_init(struct sim *s, const struct model *m, int clients)
{
	memset(s, 0, sizeof(*s));
	s->now = T0;
	s->nclients = clients;
	s->hold_ms = -1;
	engine_owner_init(&s->owner);
	engine_init(&s->e, m, 0, sim_end, s, s->now);
}

/* Runs the closed loop until END, measuring over [FROM, END). */
static void
sim_run(struct sim *s, uint64_t from, uint64_t end)
{
	int i;

	s->win_from = from;
	s->win_to = end;
	for (i = 0; i < s->nclients; i++)
		sim_send(s, i);
	while (s->now < end) {
		uint64_t next = engine_next(&s->e);

		ck_assert_uint_ne(next, UINT64_MAX);
		if (next > s->now)
			s->now = next;
		s->nready = 0;
		engine_run(&s->e, s->now);
		ck_assert_int_eq(engine_check(&s->e), 0);
		for (i = 0; i < s->nready; i++)
			sim_send(s, s->ready[i]);
	}
}

static double
sim_throughput(const struct sim *s)
{
	return (double)s->done / ((double)(s->win_to - s->win_from) / 1e6);
}

static double
sim_mean_ms(const struct sim *s)
{
	return (double)s->resp_sum_us / (double)s->resp_n / 1000.0;
}

static struct model
model_io(void)
{
	struct model m;

	model_defaults(&m, 4);
	return m;
}

/* io: unlimited room, so every use takes exactly hold-ms: R = S. */
START_TEST(test_io_closed_loop)
{
	static struct sim s;
	struct model m = model_io();

	sim_init(&s, &m, 50);
	sim_run(&s, T0 + 5000 * MS, T0 + 65000 * MS);
	ck_assert_double_eq_tol(sim_mean_ms(&s), 500.0, 1e-9);
	/* X = N / R = 50 / 0.5 s */
	ck_assert_double_eq_tol(sim_throughput(&s), 100.0, 1e-9);
	ck_assert_uint_eq(s.e.peak, 50);
	engine_free(&s.e);
}
END_TEST

/* slots c = 10, S = 500 ms, N = 50 closed-loop clients: the slots are
 * always busy, X = c / S = 20/s, and by Little's law R = N / X = 2.5 s. */
START_TEST(test_slots_closed_loop)
{
	static struct sim s;
	struct model m = model_io();

	m.slots = 10;
	m.queue_timeout_ms = 0;
	sim_init(&s, &m, 50);
	sim_run(&s, T0 + 10000 * MS, T0 + 70000 * MS);
	ck_assert_double_eq_tol(sim_throughput(&s), 20.0, 1e-9);
	ck_assert_double_eq_tol(sim_mean_ms(&s), 2500.0, 1e-9);
	ck_assert_uint_eq(s.e.peak, 10);
	ck_assert_uint_eq(s.e.peak_waiting, 40);
	/* every served use waited 2 s in the steady state */
	ck_assert_double_eq_tol((double)hist_quantile_us(&s.e.wait, 0.5),
	                        2000e3, 2000e3 * 0.02);
	ck_assert_uint_eq(hist_quantile_us(&s.e.service, 0.99), 500000);
	engine_free(&s.e);
}
END_TEST

/* The same pool with a 2 s queue timeout (the "pool" preset): R would be
 * 2.5 s, so uses time out; the slots still serve c / S = 20/s. */
START_TEST(test_pool_preset_times_out)
{
	static struct sim s;
	struct model m = model_io();

	ck_assert_int_eq(model_preset(&m, "pool", 4), 0);
	sim_init(&s, &m, 50);
	sim_run(&s, T0 + 20000 * MS, T0 + 80000 * MS);
	ck_assert_double_eq_tol(sim_throughput(&s), 20.0, 0.5);
	ck_assert_uint_gt(s.timeouts, 0);
	ck_assert_uint_eq(hist_quantile_us(&s.e.wait, 1.0), 2000 * MS);
	ck_assert_uint_eq(s.e.admitted, s.e.completed + s.e.timed_out +
	                                    s.e.cancelled + s.e.in_flight +
	                                    s.e.waiting);
	engine_free(&s.e);
}
END_TEST

/* Processor sharing: 4 cores, 100 ms of work each, 20 clients: each
 * progresses at 4/20, so R = N S / cores = 500 ms. */
START_TEST(test_cpu_processor_sharing)
{
	static struct sim s;
	struct model m = model_io();

	m.contention = MODEL_CONTENTION_CPU;
	m.cores = 4;
	m.hold_ms = 100;
	sim_init(&s, &m, 20);
	sim_run(&s, T0 + 5000 * MS, T0 + 65000 * MS);
	ck_assert_double_eq_tol(sim_mean_ms(&s), 500.0, 0.01);
	ck_assert_double_eq_tol(sim_throughput(&s), 40.0, 0.01);
	/* fewer clients than cores: no slowdown */
	engine_free(&s.e);
	sim_init(&s, &m, 3);
	sim_run(&s, T0 + 1000 * MS, T0 + 11000 * MS);
	ck_assert_double_eq_tol(sim_mean_ms(&s), 100.0, 0.01);
	engine_free(&s.e);
}
END_TEST

/* USL: 50 ms, sigma 0.1, kappa 0.01, n = 50 in service:
 * R = 50 ms x (1 + 0.1 x 49 + 0.01 x 50 x 49) = 1520 ms. */
START_TEST(test_usl_thrashing)
{
	static struct sim s;
	struct model m = model_io();

	ck_assert_int_eq(model_preset(&m, "overloaded-db", 4), 0);
	sim_init(&s, &m, 50);
	/* all 50 end together every 1.52 s: measure exactly 40 cycles */
	sim_run(&s, T0 + 14440 * MS, T0 + (14440 + 60800) * MS);
	ck_assert_double_eq_tol(sim_mean_ms(&s), 1520.0, 0.01);
	/* X(n) = n / R: 50 / 1.52 s, below X(9) = 9 / (50 ms x 2.52) */
	ck_assert_double_eq_tol(sim_throughput(&s), 50.0 / 1.52, 0.01);
	engine_free(&s.e);
}
END_TEST

/* A contention change applies to every use in service at once. */
START_TEST(test_contention_change_applies_to_all)
{
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();
	int i;

	m.hold_ms = 1000;
	engine_owner_init(&o);
	engine_init(&e, &m, 0, NULL, NULL, T0);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(engine_use(&e, T0, &o, (uint64_t)i, 1, -1),
		                 ENGINE_SERVING);
	/* half the work done at full speed ... */
	engine_run(&e, T0 + 500 * MS);
	ck_assert_uint_eq(e.in_flight, 8);
	/* ... then 8 uses share 2 cores: the other half takes 4 x longer */
	m.contention = MODEL_CONTENTION_CPU;
	m.cores = 2;
	engine_set_model(&e, T0 + 500 * MS, &m, 0);
	ck_assert_double_eq_tol(engine_rate(&e), 0.25, 1e-12);
	ck_assert_uint_eq(engine_next(&e), T0 + 2500 * MS);
	engine_run(&e, T0 + 2500 * MS - 1);
	ck_assert_uint_eq(e.in_flight, 8);
	engine_run(&e, T0 + 2500 * MS);
	ck_assert_uint_eq(e.in_flight, 0);
	ck_assert_uint_eq(e.completed, 8);
	engine_free(&e);
}
END_TEST

/* Without contention, a model change leaves uses in service alone. */
START_TEST(test_hold_change_keeps_deadlines)
{
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();

	engine_owner_init(&o);
	engine_init(&e, &m, 0, NULL, NULL, T0);
	engine_use(&e, T0, &o, 1, 1, -1);
	m.hold_ms = 100;
	engine_set_model(&e, T0 + 10 * MS, &m, 0);
	engine_use(&e, T0 + 10 * MS, &o, 2, 1, -1);
	ck_assert_uint_eq(engine_next(&e), T0 + 110 * MS);
	engine_run(&e, T0 + 110 * MS);
	ck_assert_uint_eq(e.completed, 1);
	ck_assert_uint_eq(engine_next(&e), T0 + 500 * MS);
	engine_free(&e);
}
END_TEST

START_TEST(test_lognormal_draws)
{
	static uint64_t d[100000];
	struct engine e;
	struct model m = model_io();
	size_t i, n = sizeof(d) / sizeof(d[0]);
	double p99 = 500.0 * exp(2.326348 * 0.5);
	struct hist h;

	m.hold_dist = MODEL_DIST_LOGNORMAL;
	m.hold_sigma = 0.5;
	m.seed = 42;
	engine_init(&e, &m, 0, NULL, NULL, T0);
	hist_init(&h);
	for (i = 0; i < n; i++) {
		d[i] = engine_draw_us(&e);
		ck_assert_uint_eq(d[i] % 1000, 0); /* whole ms */
		hist_add(&h, d[i]);
	}
	ck_assert_double_eq_tol((double)hist_quantile_us(&h, 0.5) / 1000, 500.0,
	                        5.0);
	ck_assert_double_eq_tol((double)hist_quantile_us(&h, 0.99) / 1000, p99,
	                        p99 * 0.03);
	/* the same seed gives the same draws */
	engine_set_model(&e, T0, &m, 1);
	for (i = 0; i < 1000; i++)
		ck_assert_uint_eq(engine_draw_us(&e), d[i]);
	engine_free(&e);
}
END_TEST

START_TEST(test_uniform_draws_inclusive)
{
	struct engine e;
	struct model m = model_io();
	uint64_t lo = UINT64_MAX, hi = 0, sum = 0, v;
	int i, n = 200000;

	m.hold_dist = MODEL_DIST_UNIFORM;
	m.hold_ms = 500;
	m.hold_spread = 20;
	engine_init(&e, &m, 0, NULL, NULL, T0);
	for (i = 0; i < n; i++) {
		v = engine_draw_us(&e) / 1000;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		sum += v;
	}
	ck_assert_uint_eq(lo, 480);
	ck_assert_uint_eq(hi, 520);
	ck_assert_double_eq_tol((double)sum / n, 500.0, 0.2);
	/* a spread larger than hold-ms starts at 0 */
	m.hold_ms = 10;
	m.hold_spread = 50;
	engine_set_model(&e, T0, &m, 0);
	for (i = 0; i < 10000; i++)
		ck_assert_uint_le(engine_draw_us(&e), 60 * MS);
	engine_free(&e);
}
END_TEST

/* ---- CoDel, step by step ---- */

struct record {
	uint64_t tag[64];
	enum engine_end how[64];
	uint64_t at[64], waited[64];
	int n;
	uint64_t now;
};

static void
record_end(struct engine_owner *o, uint64_t tag, int serial,
           enum engine_end how, uint64_t waited, void *arg)
{
	struct record *r = arg;

	ck_assert_int_lt(r->n, 64);
	r->tag[r->n] = tag;
	r->how[r->n] = how;
	r->at[r->n] = r->now;
	r->waited[r->n] = waited;
	r->n++;
}

static void
codel_step(struct engine *e, struct record *r, uint64_t t)
{
	r->now = t;
	engine_run(e, t);
	ck_assert_int_eq(engine_check(e), 0);
}

static struct model
model_codel(void)
{
	struct model m = model_io();

	m.slots = 1;
	m.hold_ms = 100;
	m.queue_timeout_ms = 0;
	m.queue_discipline = MODEL_QUEUE_CODEL;
	m.codel_target_ms = 50;
	m.codel_interval_ms = 1000;
	return m;
}

/*
 * One slot, 100 ms each, a new arrival at every completion, so that every
 * served use has waited 200 ms, four times the target.  The first interval
 * only observes (its smallest wait is 100 ms, over the target); the first
 * dequeue after it (t = 1100 ms) judges it slow and still serves the
 * oldest; from the next one on, waiters older than 2 x target = 100 ms are
 * dropped before the oldest younger one is served.
 */
START_TEST(test_codel_dequeue_drops_when_slow)
{
	static struct record r;
	struct engine_owner o;
	struct engine e;
	struct model m = model_codel();
	uint64_t t, tag = 0;
	int i;

	memset(&r, 0, sizeof(r));
	engine_owner_init(&o);
	engine_init(&e, &m, 0, record_end, &r, T0);
	/* t = 0: A in service, B and C wait */
	for (i = 0; i < 3; i++)
		engine_use(&e, T0, &o, tag++, 1, -1);
	ck_assert_uint_eq(e.waiting, 2);
	for (t = T0 + 100 * MS; t <= T0 + 1000 * MS; t += 100 * MS) {
		codel_step(&e, &r, t);
		engine_use(&e, t, &o, tag++, 1, -1); /* one more arrives */
	}
	/* ten served, none dropped, though each waited 200 ms */
	ck_assert_uint_eq(e.completed, 10);
	ck_assert_uint_eq(e.timed_out, 0);
	ck_assert_int_eq(e.codel.slow, 0);
	ck_assert_uint_eq(e.codel.min_delay_us, 100 * MS);

	/* t = 1100: the interval is judged slow; the oldest is served */
	codel_step(&e, &r, T0 + 1100 * MS);
	ck_assert_int_eq(e.codel.slow, 1);
	ck_assert_uint_eq(e.timed_out, 0);
	ck_assert_uint_eq(e.codel.min_delay_us, 200 * MS);
	engine_use(&e, T0 + 1100 * MS, &o, tag++, 1, -1);

	/* t = 1200: the head waited 200 ms > 100 ms: dropped; the next one
	 * waited exactly 100 ms, not more: served */
	r.n = 0;
	codel_step(&e, &r, T0 + 1200 * MS);
	ck_assert_uint_eq(e.timed_out, 1);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(r.how[0], ENGINE_TIMEOUT);
	ck_assert_uint_eq(r.waited[0], 200 * MS);
	ck_assert_uint_eq(r.tag[0], 12); /* arrived at t = 1000 */
	ck_assert_int_eq(r.how[1], ENGINE_DONE);
	ck_assert_uint_eq(e.in_flight, 1);
	ck_assert_uint_eq(e.waiting, 0);
	ck_assert_uint_eq(e.codel.min_delay_us, 100 * MS);
	engine_free(&e);
}
END_TEST

/*
 * No progress at all: the only slot is held 10 s.  The interval check
 * (every 1 s while uses wait) sees the same head twice: the first time the
 * interval's smallest wait is 0 (nothing was dequeued), so it only records
 * the head's wait (2 s); the next time that wait is over the target, so
 * every waiter older than 100 ms is dropped.
 */
START_TEST(test_codel_no_progress_drops)
{
	static struct record r;
	struct engine_owner o;
	struct engine e;
	struct model m = model_codel();

	memset(&r, 0, sizeof(r));
	engine_owner_init(&o);
	engine_init(&e, &m, 0, record_end, &r, T0);
	engine_use(&e, T0, &o, 'A', 1, 10000); /* holds the slot 10 s */
	engine_use(&e, T0, &o, 'B', 1, -1);
	ck_assert_uint_eq(engine_next(&e), T0 + 1000 * MS);
	r.now = T0 + 500 * MS;
	engine_use(&e, T0 + 500 * MS, &o, 'C', 1, -1);

	codel_step(&e, &r, T0 + 1000 * MS); /* B arrived after the last look */
	codel_step(&e, &r, T0 + 2000 * MS); /* no progress; min was 0 */
	ck_assert_uint_eq(e.timed_out, 0);
	ck_assert_int_eq(e.codel.slow, 0);
	ck_assert_uint_eq(e.codel.min_delay_us, 2000 * MS);
	engine_use(&e, T0 + 2950 * MS, &o, 'D', 1, -1);
	codel_step(&e, &r, T0 + 3000 * MS);
	ck_assert_int_eq(e.codel.slow, 1);
	ck_assert_uint_eq(e.timed_out, 2);
	ck_assert_uint_eq(r.tag[0], 'B');
	ck_assert_uint_eq(r.waited[0], 3000 * MS);
	ck_assert_uint_eq(r.tag[1], 'C');
	ck_assert_uint_eq(r.waited[1], 2500 * MS);
	ck_assert_uint_eq(e.waiting, 1);    /* D waited 50 ms */
	codel_step(&e, &r, T0 + 4000 * MS); /* D is a new head: progress */
	ck_assert_uint_eq(e.timed_out, 2);
	codel_step(&e, &r, T0 + 5000 * MS);
	ck_assert_uint_eq(e.timed_out, 3);
	ck_assert_uint_eq(r.tag[2], 'D');
	ck_assert_uint_eq(e.waiting, 0);
	codel_step(&e, &r, T0 + 6000 * MS); /* the check stops: queue empty */
	ck_assert_uint_eq(e.codel.poll_at_us, 0);
	ck_assert_uint_eq(engine_next(&e), T0 + 10000 * MS);
	codel_step(&e, &r, T0 + 10000 * MS);
	ck_assert_uint_eq(e.completed, 1);
	ck_assert_int_eq(e.codel.busy, 0);
	engine_free(&e);
}
END_TEST

/* ---- queue timeouts, cancel, limits ---- */

START_TEST(test_queue_timeout_and_cap)
{
	static struct record r;
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();

	memset(&r, 0, sizeof(r));
	m.slots = 1;
	m.queue = 2;
	m.queue_timeout_ms = 300;
	engine_owner_init(&o);
	engine_init(&e, &m, 0, record_end, &r, T0);
	ck_assert_int_eq(engine_use(&e, T0, &o, 1, 1, -1), ENGINE_SERVING);
	ck_assert_int_eq(engine_use(&e, T0, &o, 2, 1, -1), ENGINE_WAITING);
	ck_assert_int_eq(engine_use(&e, T0 + 100 * MS, &o, 3, 0, -1),
	                 ENGINE_WAITING);
	ck_assert_int_eq(engine_use(&e, T0 + 100 * MS, &o, 4, 1, -1),
	                 ENGINE_QUEUE_FULL);
	ck_assert_uint_eq(e.rejected, 1);
	ck_assert_uint_eq(engine_next(&e), T0 + 300 * MS);
	codel_step(&e, &r, T0 + 300 * MS);
	ck_assert_int_eq(r.n, 1);
	ck_assert_uint_eq(r.tag[0], 2);
	ck_assert_int_eq(r.how[0], ENGINE_TIMEOUT);
	ck_assert_uint_eq(r.waited[0], 300 * MS);
	codel_step(&e, &r, T0 + 400 * MS); /* the async one times out too */
	ck_assert_uint_eq(e.timed_out, 2);
	ck_assert_uint_eq(o.timed_out, 2);
	codel_step(&e, &r, T0 + 500 * MS);
	ck_assert_uint_eq(e.completed, 1);
	ck_assert_int_eq(engine_check(&e), 0);
	engine_free(&e);
}
END_TEST

START_TEST(test_limit_counts_waiting_and_peak)
{
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();
	int i, served = 0, waiting = 0, busy = 0;

	m.slots = 5;
	engine_owner_init(&o);
	engine_init(&e, &m, 15, NULL, NULL, T0);
	for (i = 0; i < 40; i++) {
		switch (engine_use(&e, T0, &o, (uint64_t)i, 1, -1)) {
		case ENGINE_SERVING:
			served++;
			break;
		case ENGINE_WAITING:
			waiting++;
			break;
		case ENGINE_BUSY:
			busy++;
			break;
		default:
			ck_abort_msg("unexpected verdict");
		}
	}
	ck_assert_int_eq(served, 5);
	ck_assert_int_eq(waiting, 10);
	ck_assert_int_eq(busy, 25);
	/* a rejected use never raises the peak */
	ck_assert_uint_eq(e.peak, 5);
	ck_assert_uint_eq(e.peak_waiting, 10);
	ck_assert_uint_eq(e.admitted + e.rejected, 40);
	engine_free(&e);
}
END_TEST

START_TEST(test_cancel_owner_leaves_queue)
{
	struct engine_owner a, b;
	struct engine e;
	struct model m = model_io();
	int i;

	m.slots = 2;
	engine_owner_init(&a);
	engine_owner_init(&b);
	engine_init(&e, &m, 0, NULL, NULL, T0);
	for (i = 0; i < 6; i++)
		engine_use(&e, T0, i % 2 ? &a : &b, (uint64_t)i, 1, -1);
	ck_assert_uint_eq(a.uses, 3);
	ck_assert_uint_eq(e.waiting, 4);
	engine_cancel_owner(&e, T0 + 10 * MS, &a);
	ck_assert_uint_eq(a.cancelled, 2);
	ck_assert_uint_eq(a.uses, 1); /* its use in service runs on */
	ck_assert_uint_eq(e.waiting, 2);
	ck_assert_uint_eq(e.cancelled, 2);
	ck_assert_int_eq(engine_check(&e), 0);
	engine_run(&e, T0 + 500 * MS);
	ck_assert_uint_eq(a.uses, 0);
	ck_assert_uint_eq(b.in_flight, 2);
	engine_cancel_waiting(&e, T0 + 600 * MS);
	ck_assert_uint_eq(e.waiting, 0);
	ck_assert_int_eq(engine_check(&e), 0);
	engine_free(&e);
}
END_TEST

/* A shutdown past its drain deadline: every use in service, in the FIFO
 * or the heap, ends as ENGINE_CUT, counted cancelled, and none of them
 * reaches the service histogram. */
START_TEST(test_cut_serving_ends_all)
{
	static struct record r;
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();
	int i;

	memset(&r, 0, sizeof(r));
	m.contention = MODEL_CONTENTION_USL;
	m.usl_sigma = 0.1;
	m.usl_kappa = 0.01;
	engine_owner_init(&o);
	engine_init(&e, &m, 0, record_end, &r, T0);
	/* in-order (FIFO) and out-of-order (heap) finishes */
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(
		    engine_use(&e, T0, &o, (uint64_t)i, i % 2,
		               (int64_t)(i % 3 ? 60000 : 1000 - i)),
		    ENGINE_SERVING);
	r.now = T0 + 1000 * MS;
	engine_run(&e, r.now);
	ck_assert_int_eq(r.n, 0); /* 20 in service: 6.7 x slower */
	engine_cut_serving(&e, r.now);
	ck_assert_int_eq(r.n, 20);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(r.how[i], ENGINE_CUT);
	ck_assert_uint_eq(e.in_flight, 0);
	ck_assert_uint_eq(e.cancelled, 20);
	ck_assert_uint_eq(o.cancelled, 20);
	ck_assert_uint_eq(o.uses, 0);
	ck_assert_uint_eq(e.completed, 0);
	ck_assert_uint_eq(e.service.count, 0);
	ck_assert_uint_eq(engine_next(&e), UINT64_MAX);
	ck_assert_int_eq(engine_check(&e), 0);
	engine_free(&e);
}
END_TEST

/* Any per-use duration costs the same: no table of durations to fill. */
START_TEST(test_many_distinct_durations)
{
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();
	uint64_t i, last = 0;

	engine_owner_init(&o);
	engine_init(&e, &m, 0, NULL, NULL, T0);
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(
		    engine_use(&e, T0, &o, i, 0, (int64_t)(10000 - i)),
		    ENGINE_SERVING);
	/* they end shortest first, one per ms */
	while (e.in_flight > 0) {
		uint64_t t = engine_next(&e);

		ck_assert_uint_gt(t, last);
		engine_run(&e, t);
		last = t;
	}
	ck_assert_uint_eq(e.completed, 10000);
	ck_assert_uint_eq(last, T0 + 10000 * MS);
	engine_free(&e);
}
END_TEST

/* ---- late is exact: the quiet ends mockresd's timer lets wait ---- */

/* Hard mode: an async use that ended before a new one arrives has left
 * the resource, whether or not anyone ran the engine at its end (in
 * mockresd the timer lets such ends wait, and libevent runs a turn's I/O
 * before its expired timers). */
START_TEST(test_due_end_frees_room_without_run)
{
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();

	m.hold_ms = 100;
	engine_owner_init(&o);
	engine_init(&e, &m, 1, NULL, NULL, T0);
	ck_assert_int_eq(engine_use(&e, T0, &o, 1, 0, -1), ENGINE_SERVING);
	ck_assert_int_eq(engine_use(&e, T0 + 100 * MS - 1, &o, 2, 0, -1),
	                 ENGINE_BUSY);
	ck_assert_int_eq(engine_use(&e, T0 + 100 * MS, &o, 3, 0, -1),
	                 ENGINE_SERVING);
	ck_assert_uint_eq(e.completed, 1);
	ck_assert_uint_eq(e.in_flight, 1);
	ck_assert_uint_eq(e.peak, 1);
	ck_assert_uint_eq(e.service.max_us, 100 * MS); /* not 100 ms late */
	/* long after: still judged at its own moment */
	ck_assert_int_eq(engine_use(&e, T0 + 900 * MS, &o, 4, 0, -1),
	                 ENGINE_SERVING);
	ck_assert_uint_eq(e.completed, 2);
	ck_assert_uint_eq(e.service.max_us, 100 * MS);
	ck_assert_int_eq(engine_check(&e), 0);
	engine_free(&e);
}
END_TEST

/* What ends and when, as the callbacks saw it. */
struct trail {
	uint64_t tag[4096];
	uint8_t how[4096];
	uint64_t waited[4096];
	int n;
};

static void
trail_end(struct engine_owner *o, uint64_t tag, int serial, enum engine_end how,
          uint64_t waited, void *arg)
{
	struct trail *t = arg;

	ck_assert_int_lt(t->n, 4096);
	t->tag[t->n] = tag;
	t->how[t->n] = (uint8_t)how;
	t->waited[t->n] = waited;
	t->n++;
}

/*
 * The same arrivals into two engines: one run at every moment
 * engine_next() names, one only when uses arrive and once at the end.
 * Everything but the callbacks' timing is the same: the order of the
 * ends and how each ended, the counts, the peaks, every wait and service
 * time (to the microsecond: the histograms' sums and extremes).
 */
static void
late_vs_on_time(const struct model *m, uint32_t limit, uint64_t seed)
{
	static struct trail ta, tb;
	static struct engine a, b;
	struct engine_owner oa, ob;
	enum engine_verdict va, vb;
	struct rng r;
	uint64_t t = T0, at, end;
	int i;

	memset(&ta, 0, sizeof(ta));
	memset(&tb, 0, sizeof(tb));
	engine_owner_init(&oa);
	engine_owner_init(&ob);
	engine_init(&a, m, limit, trail_end, &ta, T0);
	engine_init(&b, m, limit, trail_end, &tb, T0);
	rng_seed(&r, seed);
	for (i = 0; i < 1500; i++) {
		int serial = (int)rng_range(&r, 0, 1);
		int64_t hold =
		    rng_range(&r, 0, 1) ? -1 : (int64_t)rng_range(&r, 1, 400);

		at = t + rng_range(&r, 0, 3 * MS);
		while ((t = engine_next(&a)) <= at) /* A: on time */
			engine_run(&a, t);
		t = at;
		va = engine_use(&a, t, &oa, (uint64_t)i, serial, hold);
		vb = engine_use(&b, t, &ob, (uint64_t)i, serial, hold);
		ck_assert_int_eq(va, vb);
		ck_assert_uint_eq(a.in_flight, b.in_flight);
		ck_assert_uint_eq(a.waiting, b.waiting);
	}
	while ((end = engine_next(&a)) != UINT64_MAX)
		engine_run(&a, end);
	engine_run(&b, T0 + 3600000 * MS); /* B: once, an hour late */
	ck_assert_int_eq(engine_check(&a), 0);
	ck_assert_int_eq(engine_check(&b), 0);
	ck_assert_uint_eq(b.in_flight + b.waiting, 0);
	ck_assert_int_eq(ta.n, tb.n);
	for (i = 0; i < ta.n; i++) {
		ck_assert_uint_eq(ta.tag[i], tb.tag[i]);
		ck_assert_uint_eq(ta.how[i], tb.how[i]);
		ck_assert_uint_eq(ta.waited[i], tb.waited[i]);
	}
	ck_assert_uint_eq(a.completed, b.completed);
	ck_assert_uint_eq(a.timed_out, b.timed_out);
	ck_assert_uint_eq(a.rejected, b.rejected);
	ck_assert_uint_eq(a.peak, b.peak);
	ck_assert_uint_eq(a.peak_waiting, b.peak_waiting);
	ck_assert_uint_eq(a.service.count, b.service.count);
	ck_assert_uint_eq(a.service.sum_us, b.service.sum_us);
	ck_assert_uint_eq(a.service.max_us, b.service.max_us);
	ck_assert_uint_eq(a.service.min_us, b.service.min_us);
	ck_assert_uint_eq(a.wait.sum_us, b.wait.sum_us);
	ck_assert_uint_eq(a.wait.max_us, b.wait.max_us);
	engine_free(&a);
	engine_free(&b);
}

START_TEST(test_late_run_is_exact)
{
	struct model m = model_io();

	m.hold_dist = MODEL_DIST_LOGNORMAL;
	m.hold_ms = 150;
	late_vs_on_time(&m, 0, 1);
	late_vs_on_time(&m, 40, 2); /* hard mode */
	m.contention = MODEL_CONTENTION_USL;
	late_vs_on_time(&m, 0, 3);
	m.contention = MODEL_CONTENTION_CPU;
	m.cores = 4;
	late_vs_on_time(&m, 0, 4);
	ck_assert_int_eq(model_preset(&m, "pool", 4), 0);
	late_vs_on_time(&m, 0, 5);
	ck_assert_int_eq(model_preset(&m, "ecto", 4), 0);
	late_vs_on_time(&m, 0, 6);
	ck_assert_int_eq(model_preset(&m, "overloaded-db", 4), 0);
	late_vs_on_time(&m, 0, 7);
}
END_TEST

/* What the caller's timer must not be late for. */
START_TEST(test_next_loud)
{
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();

	m.hold_ms = 100;
	engine_owner_init(&o);
	engine_init(&e, &m, 0, NULL, NULL, T0);
	/* async ends alone: quiet */
	engine_use(&e, T0, &o, 1, 0, -1);
	ck_assert_uint_eq(engine_next(&e), T0 + 100 * MS);
	ck_assert_uint_eq(engine_next_loud(&e), UINT64_MAX);
	/* a serial one's DONE is loud; the async ones around it are not */
	engine_use(&e, T0 + 10 * MS, &o, 2, 1, 200);
	engine_use(&e, T0 + 20 * MS, &o, 3, 0, 50);
	ck_assert_uint_eq(engine_next(&e), T0 + 70 * MS);
	ck_assert_uint_eq(engine_next_loud(&e), T0 + 210 * MS);
	ck_assert_int_eq(engine_take_sooner(&e), 1);
	engine_run(&e, T0 + 210 * MS);
	ck_assert_uint_eq(engine_next_loud(&e), UINT64_MAX);
	ck_assert_uint_eq(engine_next(&e), UINT64_MAX);
	engine_free(&e);

	/* under contention an async end moves a serial one's: all loud */
	m.contention = MODEL_CONTENTION_USL;
	engine_init(&e, &m, 0, NULL, NULL, T0);
	engine_use(&e, T0, &o, 1, 0, 50);
	ck_assert_uint_eq(engine_next_loud(&e), UINT64_MAX); /* rate 1 */
	engine_use(&e, T0, &o, 2, 0, 60);
	ck_assert_uint_eq(engine_next_loud(&e), UINT64_MAX); /* no serial */
	ck_assert_int_eq(engine_take_sooner(&e), 1);
	engine_use(&e, T0, &o, 3, 1, 500);
	ck_assert_int_eq(engine_take_sooner(&e), 1);
	ck_assert_uint_eq(engine_next_loud(&e), engine_next(&e));
	engine_free(&e);

	/* with uses waiting, any end starts one: loud */
	m = model_io();
	m.hold_ms = 100;
	m.slots = 1;
	m.queue_timeout_ms = 0;
	engine_init(&e, &m, 0, NULL, NULL, T0);
	engine_use(&e, T0, &o, 1, 0, -1);
	ck_assert_uint_eq(engine_next_loud(&e), UINT64_MAX);
	engine_use(&e, T0, &o, 2, 0, -1);
	ck_assert_int_eq(engine_take_sooner(&e), 1);
	ck_assert_uint_eq(engine_next_loud(&e), T0 + 100 * MS);
	engine_run(&e, T0 + 100 * MS);
	ck_assert_uint_eq(engine_next_loud(&e), UINT64_MAX);
	engine_free(&e);

	/* a queue timeout is loud */
	m.queue_timeout_ms = 30;
	engine_init(&e, &m, 0, NULL, NULL, T0);
	engine_use(&e, T0, &o, 1, 0, -1);
	engine_use(&e, T0, &o, 2, 0, -1);
	ck_assert_uint_eq(engine_next_loud(&e), T0 + 30 * MS);
	engine_free(&e);
}
END_TEST

/* A shutdown's cut: the uses whose end was due before it ended DONE. */
START_TEST(test_cut_after_due_ends_done)
{
	static struct record r;
	struct engine_owner o;
	struct engine e;
	struct model m = model_io();

	memset(&r, 0, sizeof(r));
	engine_owner_init(&o);
	engine_init(&e, &m, 0, record_end, &r, T0);
	engine_use(&e, T0, &o, 1, 1, 100);
	engine_use(&e, T0, &o, 2, 1, 300);
	engine_cut_serving(&e, T0 + 200 * MS); /* no run at 100 ms */
	ck_assert_int_eq(r.n, 2);
	ck_assert_uint_eq(r.tag[0], 1);
	ck_assert_int_eq(r.how[0], ENGINE_DONE);
	ck_assert_uint_eq(r.tag[1], 2);
	ck_assert_int_eq(r.how[1], ENGINE_CUT);
	ck_assert_uint_eq(e.completed, 1);
	ck_assert_uint_eq(e.cancelled, 1);
	ck_assert_int_eq(engine_check(&e), 0);
	engine_free(&e);
}
END_TEST

/* 200,000 random operations with random model changes: the accounting
 * holds after every one, and owners add up to the totals. */
static void
random_model(struct model *m, struct rng *r)
{
	model_defaults(m, 4);
	m->hold_ms = (uint32_t)rng_range(r, 0, 300);
	m->hold_dist = (enum model_dist)rng_range(r, 0, 2);
	m->hold_spread = (uint32_t)rng_range(r, 0, 200);
	m->hold_sigma = rng_double(r) * 2;
	m->slots = (uint32_t)rng_range(r, 0, 12);
	m->queue = (uint32_t)rng_range(r, 0, 40);
	m->queue_timeout_ms = (uint32_t)rng_range(r, 0, 400);
	m->queue_discipline = (enum model_discipline)rng_range(r, 0, 1);
	m->codel_target_ms = (uint32_t)rng_range(r, 1, 60);
	m->codel_interval_ms = (uint32_t)rng_range(r, 1, 300);
	m->contention = (enum model_contention)rng_range(r, 0, 2);
	m->cores = (uint32_t)rng_range(r, 1, 8);
}

static void
owners_add_up(const struct engine *e, const struct engine_owner *o, int n)
{
	uint64_t adm = 0, rej = 0, done = 0, to = 0, can = 0, fl = 0, w = 0;
	int i;

	for (i = 0; i < n; i++) {
		adm += o[i].admitted;
		rej += o[i].rejected;
		done += o[i].completed;
		to += o[i].timed_out;
		can += o[i].cancelled;
		fl += o[i].in_flight;
		w += o[i].waiting;
		ck_assert_uint_eq(o[i].uses, o[i].in_flight + o[i].waiting);
	}
	ck_assert_uint_eq(adm, e->admitted);
	ck_assert_uint_eq(rej, e->rejected);
	ck_assert_uint_eq(done, e->completed);
	ck_assert_uint_eq(to, e->timed_out);
	ck_assert_uint_eq(can, e->cancelled);
	ck_assert_uint_eq(fl, e->in_flight);
	ck_assert_uint_eq(w, e->waiting);
}

START_TEST(test_random_operations_keep_invariants)
{
	static struct engine e;
	struct engine_owner o[8];
	struct model m;
	struct rng r;
	uint64_t now = T0, sent = 0, last_next = UINT64_MAX;
	uint64_t last_loud = UINT64_MAX;
	int i, k;

	rng_seed(&r, 2026);
	for (i = 0; i < 8; i++)
		engine_owner_init(&o[i]);
	random_model(&m, &r);
	engine_init(&e, &m, 0, NULL, NULL, now);
	for (i = 0; i < 200000; i++) {
		k = (int)rng_range(&r, 0, 99);
		if (k < 55) {
			enum engine_verdict v =
			    engine_use(&e, now, &o[rng_range(&r, 0, 7)],
			               (uint64_t)i, (int)rng_range(&r, 0, 1),
			               rng_range(&r, 0, 3)
			                   ? -1
			                   : (int64_t)rng_range(&r, 0, 500));
			sent++;
			if (e.limit > 0 &&
			    (v == ENGINE_SERVING || v == ENGINE_WAITING))
				ck_assert_uint_le(e.in_flight + e.waiting,
				                  e.limit);
		} else if (k < 85) {
			now += rng_range(&r, 0, 40 * MS);
			engine_run(&e, now);
		} else if (k < 88) {
			uint64_t t = engine_next(&e);

			if (t != UINT64_MAX && t > now)
				now = t;
			engine_run(&e, now);
		} else if (k < 92) {
			random_model(&m, &r);
			engine_set_model(&e, now, &m, (int)rng_range(&r, 0, 1));
		} else if (k < 95) {
			engine_set_limit(&e, (uint32_t)rng_range(&r, 0, 30));
		} else if (k < 98) {
			engine_cancel_owner(&e, now, &o[rng_range(&r, 0, 7)]);
		} else {
			engine_reset_peak(&e);
		}
		ck_assert_msg(engine_check(&e) == 0, "step %d: check %d", i,
		              engine_check(&e));
		owners_add_up(&e, o, 8);
		/* "not sooner" is a promise a timer can rely on */
		{
			int sooner = engine_take_sooner(&e);
			uint64_t next = engine_next(&e);
			uint64_t loud = engine_next_loud(&e);

			ck_assert_msg(sooner || next >= last_next,
			              "step %d: next moved earlier unannounced",
			              i);
			ck_assert_msg(sooner || loud >= last_loud,
			              "step %d: next_loud moved earlier "
			              "unannounced",
			              i);
			ck_assert_uint_ge(loud, next);
			last_next = next;
			last_loud = loud;
		}
	}
	ck_assert_uint_eq(e.admitted + e.rejected, sent);
	/* drain: everything ends */
	engine_cancel_waiting(&e, now);
	while (engine_next(&e) != UINT64_MAX) {
		uint64_t t = engine_next(&e);

		engine_run(&e, t > now ? (now = t) : now);
	}
	ck_assert_uint_eq(e.in_flight + e.waiting, 0);
	ck_assert_uint_eq(e.admitted, e.completed + e.timed_out + e.cancelled);
	engine_free(&e);
}
END_TEST

START_TEST(test_heap_random)
{
	struct heap h;
	struct rng r;
	int i;

	heap_init(&h);
	rng_seed(&r, 5);
	for (i = 0; i < 100000; i++) {
		uint32_t id = (uint32_t)rng_range(&r, 0, 4999);

		if (heap_contains(&h, id))
			ck_assert_int_eq(heap_remove(&h, id), 1);
		else
			ck_assert_int_eq(heap_push(&h, id, rng_double(&r)), 0);
		if (i % 1000 == 0)
			ck_assert_int_eq(heap_check(&h), 0);
	}
	ck_assert_int_eq(heap_check(&h), 0);
	{
		double last = -1;

		while (heap_size(&h) > 0) {
			double k = heap_min(&h)->key;

			ck_assert_double_ge(k, last);
			last = k;
			heap_pop(&h);
		}
	}
	heap_free(&h);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("engine");

	SUP_ADD_CASE(s, "models", NULL, NULL, 60, test_io_closed_loop,
	             test_slots_closed_loop, test_pool_preset_times_out,
	             test_cpu_processor_sharing, test_usl_thrashing,
	             test_contention_change_applies_to_all,
	             test_hold_change_keeps_deadlines, test_lognormal_draws,
	             test_uniform_draws_inclusive);
	SUP_ADD_CASE(s, "codel", NULL, NULL, 0,
	             test_codel_dequeue_drops_when_slow,
	             test_codel_no_progress_drops);
	SUP_ADD_CASE(s, "late", NULL, NULL, 60,
	             test_due_end_frees_room_without_run,
	             test_late_run_is_exact, test_next_loud,
	             test_cut_after_due_ends_done);
	SUP_ADD_CASE(
	    s, "accounting", NULL, NULL, 120, test_queue_timeout_and_cap,
	    test_limit_counts_waiting_and_peak, test_cancel_owner_leaves_queue,
	    test_cut_serving_ends_all, test_many_distinct_durations,
	    test_random_operations_keep_invariants, test_heap_random);
	return sup_run_suite(s);
}
