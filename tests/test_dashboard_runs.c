/*
 * test_dashboard_runs.c: the history rings and the runs cut from the HTTP
 * stats, driven by an explicit clock (no sleeping); /api/history written
 * a piece at a time while the rings move on.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard.h"
#include "support.h"

static struct history h;
static struct traffic t;
static struct runs rs;

static int
count(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s++;
	}
	return n;
}

static void
push(uint64_t t_ms, uint64_t in_flight, uint64_t admitted)
{
	Mockres__Stats s = MOCKRES__STATS__INIT;

	s.in_flight = in_flight;
	s.admitted = admitted;
	history_add(&h, t_ms, &s);
}

START_TEST(test_history_ring_and_json)
{
	struct evbuffer *b = evbuffer_new();
	uint64_t inf, wait, ms;
	char *j;
	int i;

	ck_assert_int_eq(history_init(&h, 2, 100), 0); /* 100 samples */
	for (i = 0; i < 150; i++)
		push(1000 + (uint64_t)i * 20, (uint64_t)i, (uint64_t)i * 3);
	ck_assert_uint_eq(h.ns, 100);
	ck_assert_uint_eq(history_sample_at(&h, 0)->t_ms, 1000 + 50 * 20);
	ck_assert_uint_eq(history_sample_at(&h, 99)->admitted, 3);
	history_peaks(&h, 2000, 3000, &inf, &wait);
	ck_assert_uint_eq(inf, 100);
	ck_assert_int_eq(history_clipped(&h, 1000), 1);
	ck_assert_int_eq(history_clipped(&h, 2500), 0);

	ms = 1000 + 149 * 20;
	history_json(b, &h, ms, 600, 20, HISTORY_OBJECTS);
	j = sup_take(b);
	ck_assert_int_eq(count(j, "{\"t_ms\":"), 100);
	ck_assert_ptr_nonnull(strstr(j, "\"window_s\":2"));
	ck_assert_ptr_null(strstr(j, "in_flight_min"));
	free(j);
	/* 1 s steps: the highest and lowest of each, the counts summed. */
	history_json(b, &h, ms, 600, 1000, HISTORY_OBJECTS);
	j = sup_take(b);
	ck_assert_int_eq(count(j, "{\"t_ms\":"), 2); /* 2000 and 3000 */
	ck_assert_ptr_nonnull(strstr(j, "{\"t_ms\":3000,\"in_flight\":149,"));
	ck_assert_ptr_nonnull(strstr(j, "\"in_flight_min\":100,"));
	free(j);
	history_json(b, &h, ms, 1, 20, HISTORY_COLUMNS);
	j = sup_take(b);
	ck_assert_ptr_nonnull(strstr(j, "\"dt_ms\":[0,20,20,"));
	ck_assert_ptr_nonnull(strstr(j, "\"t0_ms\":2980"));
	free(j);
	/* A gap: no delta across it. */
	history_gap(&h);
	push(9000, 0, 1000000);
	ck_assert_uint_eq(history_sample_at(&h, 99)->admitted, 0);
	history_free(&h);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_history_roles)
{
	struct procs ps;
	double cpu[PROC_ROLES];
	uint64_t rss[PROC_ROLES];
	int i;

	ck_assert_int_eq(history_init(&h, 600, 100), 0);
	procs_init(&ps);
	ps.n = 2;
	ps.p[0].pid = 10;
	ps.p[0].role = PROC_DAEMON;
	ps.p[1].pid = 11;
	ps.p[1].role = PROC_FRONTEND_WORKER;
	for (i = 0; i < 10; i++) {
		ps.p[0].sampled = ps.p[1].sampled = 1;
		ps.p[0].ticks = 100 + (unsigned)i * 5;  /* 0.05 s per frame */
		ps.p[1].ticks = 200 + (unsigned)i * 20; /* 0.2 s per frame */
		ps.p[0].rss_kb = 1000;
		ps.p[1].rss_kb = 2000 + (uint64_t)i;
		history_add_procs(&h, 10000 + (uint64_t)i * 500, &ps);
	}
	/* [11000, 12000]: frames 2..4, CPU from frame 2 to 4. */
	history_roles(&h, 11000, 12000, cpu, rss);
	ck_assert_double_eq_tol(cpu[PROC_DAEMON], 0.10, 1e-9);
	ck_assert_double_eq_tol(cpu[PROC_FRONTEND_WORKER], 0.40, 1e-9);
	ck_assert_uint_eq(rss[PROC_FRONTEND_WORKER], 2004);
	ck_assert_uint_eq(rss[PROC_DAEMON], 1000);
	/* Between frames: the frames around it. */
	history_roles(&h, 11100, 11200, cpu, rss);
	ck_assert_double_eq_tol(cpu[PROC_FRONTEND_WORKER], 0.20, 1e-9);
	history_free(&h);
}
END_TEST

/* What the feed hands the runs: the traffic alone. */
static void
runs_feed(uint64_t now_us)
{
	struct runs_input in;

	memset(&in, 0, sizeof(in));
	in.traffic = &t;
	runs_update(&rs, &in, now_us);
}

/* The traffic as mockresd would report it. */
static void
traffic(uint64_t now_us, uint64_t first_us, uint64_t last_us, uint32_t active)
{
	t.valid = 1;
	t.reset = 0;
	t.first_us = first_us;
	t.last_us = last_us;
	t.active = active;
	runs_feed(now_us);
}

START_TEST(test_runs_cut)
{
	const uint64_t S = 1000000;
	int i;

	memset(&t, 0, sizeof(t));
	httpstats_init(&t.total);
	runs_init(&rs);
	traffic(10 * S, 0, 0, 0); /* the base */
	ck_assert_int_eq(rs.in_run, 0);
	traffic(10 * S + 200000, 0, 0, 0);
	ck_assert_int_eq(rs.in_run, 0);

	/* 100 serial requests from 11.0 s to 12.5 s, 10 of them 500s. */
	for (i = 0; i < 100; i++)
		httpstats_add(&t.total, HTTPSTATS_SERIAL, i < 90 ? 200 : 500,
		              500000);
	traffic(12 * S, 11 * S, 12 * S, 4);
	ck_assert_int_eq(rs.in_run, 1);
	ck_assert_uint_eq(rs.cur.start_us, 11 * S);
	ck_assert_uint_eq(rs.cur.requests, 100);
	traffic(13 * S, 11 * S, 12 * S + S / 2, 0);
	/* Not over before 2 s without a request. */
	traffic(14 * S + S / 2 - 1, 11 * S, 12 * S + S / 2, 0);
	ck_assert_int_eq(rs.in_run, 1);
	traffic(14 * S + S / 2, 11 * S, 12 * S + S / 2, 0);
	ck_assert_int_eq(rs.in_run, 0);
	ck_assert_uint_eq(rs.n, 1);
	ck_assert_uint_eq(runs_get(&rs, 0)->end_us, 12 * S + S / 2);
	ck_assert_uint_eq(runs_get(&rs, 0)->route[0].requests, 100);
	ck_assert_uint_eq(runs_get(&rs, 0)->route[0].ncodes, 2);
	ck_assert_uint_eq(rs.since_us, 12 * S + S / 2);

	/* A second run of 50 async: only its own counts. */
	for (i = 0; i < 50; i++)
		httpstats_add(&t.total, HTTPSTATS_ASYNC, 200, 300);
	traffic(20 * S, 19 * S, 19 * S + 50000, 0);
	ck_assert_int_eq(rs.in_run, 1);
	ck_assert_uint_eq(rs.cur.requests, 50);
	traffic(22 * S, 19 * S, 19 * S + 50000, 0);
	ck_assert_uint_eq(rs.n, 2);
	ck_assert_uint_eq(runs_get(&rs, 0)->route[1].requests, 50);
	ck_assert_uint_eq(runs_get(&rs, 0)->route[0].requests, 0);
	ck_assert_uint_eq(runs_get(&rs, 0)->end_us - runs_get(&rs, 0)->start_us,
	                  50000);
	ck_assert_uint_eq(runs_get(&rs, 1)->route[0].requests, 100);

	/* A reset (mockresd restarted): re-based for a second, no run. */
	httpstats_init(&t.total);
	for (i = 0; i < 7; i++)
		httpstats_add(&t.total, HTTPSTATS_ASYNC, 200, 300);
	t.reset = 1;
	t.valid = 1;
	runs_feed(30 * S);
	for (i = 0; i < 5; i++)
		httpstats_add(&t.total, HTTPSTATS_ASYNC, 200, 300);
	traffic(30 * S + S / 2, 0, 29 * S, 0);
	ck_assert_int_eq(rs.in_run, 0);
	traffic(32 * S, 0, 29 * S, 0);
	ck_assert_int_eq(rs.in_run, 0);
	ck_assert_uint_eq(rs.n, 2);
}
END_TEST

START_TEST(test_runs_keep_fifty)
{
	const uint64_t S = 1000000;
	struct evbuffer *b = evbuffer_new();
	char *j;
	int i;

	memset(&t, 0, sizeof(t));
	httpstats_init(&t.total);
	runs_init(&rs);
	traffic(S, 0, 0, 0);
	for (i = 0; i < 60; i++) {
		uint64_t at = (uint64_t)(10 + i * 5) * S;

		httpstats_add(&t.total, HTTPSTATS_ASYNC, 200, 300);
		traffic(at, at - S / 10, at - S / 10, 0);
		traffic(at + 3 * S, at - S / 10, at - S / 10, 0);
	}
	ck_assert_uint_eq(rs.n, RUNS_MAX);
	ck_assert_uint_eq(runs_get(&rs, 0)->id, 60);
	ck_assert_uint_eq(runs_get(&rs, RUNS_MAX - 1)->id, 11);
	runs_json(b, &rs);
	j = sup_take(b);
	ck_assert_int_eq(count(j, "{\"id\":"), RUNS_MAX);
	ck_assert_ptr_nonnull(strstr(
	    j, "{\"current\":null,\"guess\":null,\"runs\":[{\"id\":60,"));
	free(j);
	evbuffer_free(b);
}
END_TEST

/*
 * A run as an experiment: its setup as it began, its clients, its peaks
 * (mockresd's own when it rose during the run), the lone first request,
 * the prediction, the guess it took (and the next run none), a change of
 * the setup during a run, and the CSV.
 */
static struct model pool_model;
static Mockres__Stats st;

static void
feed_full(uint64_t now_us)
{
	struct runs_input in;
	static const char hosts[1][RUN_HOST_LEN] = {"labhost"};

	memset(&in, 0, sizeof(in));
	in.traffic = &t;
	in.history = &h;
	in.stats = &st;
	in.model = &pool_model;
	in.nhosts = 1;
	in.hosts = hosts;
	runs_update(&rs, &in, now_us);
}

START_TEST(test_runs_experiment)
{
	const uint64_t S = 1000000;
	struct evbuffer *b = evbuffer_new();
	struct guess g;
	char why[160], *j, *line;
	uint64_t ms;
	int i;

	ck_assert_int_eq(history_init(&h, 60, 100), 0);
	model_defaults(&pool_model, 2);
	model_preset(&pool_model, "pool", 2);
	mockres__stats__init(&st);
	st.preset = "pool";
	st.setup_changes = 3;
	st.peak = 15; /* from before the change... */
	st.peak_waiting = 0;
	memset(&t, 0, sizeof(t));
	httpstats_init(&t.total);
	t.reporters = 2;
	runs_init(&rs);
	t.valid = 1;
	feed_full(10 * S); /* the base */
	ck_assert_int_eq(
	    guess_parse(&g, "{\"duration_ms\":15000,\"peak_in_flight\":10}", 41,
	                why, sizeof(why)),
	    0);
	runs_guess_set(&rs, &g);

	/* 300 serial requests at 30 clients, 11 s to 26.45 s; one use alone
	 * for the first 500 ms, then 10 in service and 20 waiting (the
	 * samples saw 19 at most, mockresd 20). */
	for (ms = 10000; ms <= 29000; ms += 20) {
		Mockres__Stats x = MOCKRES__STATS__INIT;

		if (ms >= 11000 && ms < 11500)
			x.in_flight = 1;
		else if (ms >= 11500 && ms <= 26450) {
			x.in_flight = 10;
			x.waiting = 19;
		}
		history_add(&h, ms, &x);
	}
	for (i = 0; i < 300; i++)
		httpstats_add(&t.total, HTTPSTATS_SERIAL, 200, 1500000);
	st.peak = 10;         /* a setup change reset them before the run ... */
	st.peak_waiting = 20; /* ... and the run raised them */
	st.setup_changes = 3;
	rs.idle_changes = 2;
	t.conns_peak = 30;
	t.first_us = 11 * S;
	t.last_us = 26 * S + S / 2 - 50000;
	t.active = 0;
	feed_full(27 * S);
	ck_assert_int_eq(rs.in_run, 1);
	ck_assert(!rs.guess.set); /* the run took it */
	feed_full(29 * S);
	ck_assert_int_eq(rs.in_run, 0);
	ck_assert_uint_eq(rs.n, 1);
	{
		const struct run *r = runs_get(&rs, 0);
		char sl[160];

		ck_assert_uint_eq(r->clients, 30);
		ck_assert_uint_eq(r->peak_in_flight, 10);
		ck_assert_uint_eq(r->peak_waiting, 20);
		ck_assert_int_eq(r->lone_first, 1);
		ck_assert(r->guess.set);
		ck_assert(r->predicted.ok);
		ck_assert_double_eq_tol(r->predicted.duration_ms, 15450, 0.01);
		ck_assert_str_eq(r->changed, "");
		runs_setup_line(&r->setup, sl, sizeof(sl));
		ck_assert_str_eq(sl, "pool · fixed 500 ms · 10 slots · limit "
		                     "none · 2 workers");
		ck_assert_uint_eq(r->spark_in[RUN_SPARK / 2], 10);
		ck_assert_uint_eq(r->spark_wait[RUN_SPARK / 2], 19);
	}

	/* A second run: no guess; the limit changes during it. */
	for (i = 0; i < 10; i++)
		httpstats_add(&t.total, HTTPSTATS_ASYNC, 200, 300);
	t.first_us = 40 * S;
	t.last_us = 40 * S + 1000;
	t.active = 1;
	feed_full(40 * S + 100000);
	ck_assert_int_eq(rs.in_run, 1);
	st.limit = 5;
	st.setup_changes = 4;
	feed_full(40 * S + 300000);
	t.active = 0;
	feed_full(43 * S);
	ck_assert_uint_eq(rs.n, 2);
	ck_assert(!runs_get(&rs, 0)->guess.set);
	ck_assert_str_eq(runs_get(&rs, 0)->changed,
	                 "limit 0 -> 5 during the run");
	ck_assert(!runs_get(&rs, 0)->predicted.ok);

	/* JSON: the experiment's fields. */
	runs_json(b, &rs);
	j = sup_take(b);
	ck_assert_ptr_nonnull(strstr(j, "\"clients\":30,"));
	ck_assert_ptr_nonnull(strstr(j, "\"peak_waiting\":20,"));
	ck_assert_ptr_nonnull(strstr(j, "\"hosts\":[\"labhost\"],\"model\":{"
	                                "\"hold_ms\":500,"));
	ck_assert_ptr_nonnull(strstr(j, "\"slots\":10,"));
	ck_assert_ptr_nonnull(strstr(j, "\"guess\":{\"made_unix_ms\":"));
	ck_assert_ptr_nonnull(strstr(j, "\"predicted\":{\"formula\":"));
	ck_assert_ptr_nonnull(strstr(j, "\"predicted\":null,\"predicted_why\":"
	                                "\"the setup changed"));
	free(j);

	/* CSV: a header and one row per run and route. */
	runs_csv(b, &rs);
	j = sup_take(b);
	ck_assert_int_eq(count(j, "\r\n"), 3);
	ck_assert_ptr_nonnull(strstr(j, "run,start_utc,route,requests,"));
	line = strstr(j, "\r\n2,");
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(strstr(line, ",async,10,"));
	ck_assert_ptr_nonnull(strstr(j, "\r\n1,"));
	ck_assert_ptr_nonnull(strstr(j, ",serial,300,"));
	ck_assert_ptr_nonnull(strstr(j, ",\"pool · fixed 500 ms · 10 slots"));
	free(j);
	evbuffer_free(b);
	history_free(&h);
}
END_TEST

/* A full 10-minute history with a frame of three processes every 25
 * samples, ending at *T_MS (moved on). */
static void
fill(uint64_t *t_ms, size_t n)
{
	static struct procs ps;
	static size_t i;
	size_t end = i + n, k;

	ps.n = 3;
	for (; i < end; i++) {
		*t_ms += 20;
		push(*t_ms, i % 37, i);
		if (i % 25 == 0) {
			for (k = 0; k < ps.n; k++) {
				ps.p[k].pid = (pid_t)(100 + k);
				ps.p[k].role = (enum proc_role)k;
				ps.p[k].sampled = 1;
				ps.p[k].ticks += k + 1;
				ps.p[k].rss_kb = 1000 + i;
			}
			history_add_procs(&h, *t_ms, &ps);
		}
	}
}

/* Reads C to its end in pieces of LEN; the answer (malloc'd), or NULL
 * if it could not be finished.  Each piece, LEN at most. */
static char *
read_all(struct history_cursor *c, size_t len, void (*between)(void))
{
	static char piece[8192];
	struct evbuffer *b = evbuffer_new();
	long n;

	while ((n = history_cursor_read(c, &h, piece, len)) > 0) {
		ck_assert_int_le(n, (long)len);
		evbuffer_add(b, piece, (size_t)n);
		if (between != NULL)
			between();
	}
	if (n == -1) {
		evbuffer_free(b);
		return NULL;
	}
	evbuffer_add(b, "", 1);
	{
		char *j = strdup((const char *)evbuffer_pullup(b, -1));

		evbuffer_free(b);
		return j;
	}
}

static uint64_t moving_t;
static size_t moving_n;

/* The rings move on by MOVING_N samples between two pieces. */
static void
move_on(void)
{
	fill(&moving_t, moving_n);
}

/*
 * /api/history a piece at a time (issue 21): the pieces add up to the
 * answer at once, in both formats, however small; while the rings move
 * on by less than HISTORY_SLACK_S during the answer it is still the one
 * asked for, exactly; past that it cannot be finished (-1).
 */
START_TEST(test_history_cursor)
{
	struct evbuffer *b = evbuffer_new();
	struct history_cursor *c = malloc(sizeof(*c));
	enum history_format f;
	uint64_t tm = 100000, now;
	char *whole, *pieces;

	ck_assert_int_eq(history_init(&h, 600, 100), 0);
	fill(&tm, 30000 + 777);
	moving_t = tm;
	for (f = HISTORY_OBJECTS; f <= HISTORY_COLUMNS; f++) {
		now = moving_t + 5;
		history_json(b, &h, now, 600, f == HISTORY_OBJECTS ? 20 : 1000,
		             f);
		whole = sup_take(b);
		ck_assert_uint_gt(strlen(whole), 30000);
		history_cursor_start(c, &h, now, 600,
		                     f == HISTORY_OBJECTS ? 20 : 1000, f);
		pieces = read_all(c, HISTORY_PIECE_MIN, NULL);
		ck_assert_ptr_nonnull(pieces);
		ck_assert_str_eq(pieces, whole);
		free(pieces);

		/* the rings move on by a sample a piece (8 KiB): the same */
		moving_n = 1;
		history_cursor_start(c, &h, now, 600,
		                     f == HISTORY_OBJECTS ? 20 : 1000, f);
		pieces = read_all(c, 8192, move_on);
		ck_assert_ptr_nonnull(pieces);
		ck_assert_str_eq(pieces, whole);
		free(pieces);
		free(whole);
	}

	/* the rings move on while it is read: 20 samples a piece */
	now = moving_t + 5;
	history_json(b, &h, now, 600, 20, HISTORY_COLUMNS);
	whole = sup_take(b);
	history_cursor_start(c, &h, now, 600, 20, HISTORY_COLUMNS);
	moving_n = 20;
	/* ~1 MB in 1 KiB pieces: 1000 pieces, 20,000 samples (400 s) */
	pieces = read_all(c, HISTORY_PIECE_MIN, move_on);
	ck_assert_ptr_null(pieces); /* too slow a reader: cut */
	/* a faster one, in 8 KiB pieces: 2,500 samples (50 s) */
	now = moving_t + 5;
	history_json(b, &h, now, 600, 20, HISTORY_COLUMNS);
	free(whole);
	whole = sup_take(b);
	history_cursor_start(c, &h, now, 600, 20, HISTORY_COLUMNS);
	pieces = read_all(c, 8192, move_on);
	ck_assert_ptr_nonnull(pieces);
	ck_assert_str_eq(pieces, whole);
	free(pieces);
	free(whole);
	free(c);
	evbuffer_free(b);
	history_free(&h);
}
END_TEST

SUP_MAIN("dashboard_runs", NULL, NULL, 0, test_history_ring_and_json,
         test_history_roles, test_runs_cut, test_runs_keep_fifty,
         test_runs_experiment, test_history_cursor)
