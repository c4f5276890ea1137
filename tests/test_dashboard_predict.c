/*
 * test_dashboard_predict.c: what each preset's formula predicts for a run
 * (predict.c), against values computed by hand, the cases with no closed
 * form, and the guess's parser (guess.c).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "support.h"

static struct prediction p;

/* Preset NAME (2 cores), N clients, n requests on ROUTE. */
static void
run_of(const char *name, uint32_t limit, uint64_t clients, uint64_t requests,
       enum httpstats_route_id route, int lone_first)
{
	static struct model m;
	struct predict_in in;

	model_defaults(&m, 2);
	ck_assert_int_eq(model_preset(&m, name, 2), 0);
	memset(&in, 0, sizeof(in));
	in.model = &m;
	in.limit = limit;
	in.clients = clients;
	in.requests = requests;
	in.route = route;
	in.routes = 1;
	in.lone_first = lone_first;
	predict_run(&in, &p);
}

#define near(a, b) ck_assert_double_eq_tol((a), (b), 0.01)

START_TEST(test_io)
{
	/* The seed's: R = S = 500 ms, X = 50/0.5 s = 100/s, 3000 in 30 s,
	 * or 0.5 s + 2999/100 s with ab's lone first request. */
	run_of("io", 0, 50, 3000, HTTPSTATS_SERIAL, 0);
	ck_assert(p.ok);
	near(p.duration_ms, 30000);
	near(p.req_per_s, 100);
	near(p.mean_ms, 500);
	near(p.peak_in_flight, 50);
	near(p.failed, 0);
	run_of("io", 0, 50, 3000, HTTPSTATS_SERIAL, 1);
	near(p.duration_ms, 30490);
	near(p.req_per_s, 3000 / 30.49);
	ck_assert_ptr_nonnull(strstr(p.formula, "S + (n-1)/X"));
	/* A limit at or above N changes nothing. */
	run_of("io", 50, 50, 3000, HTTPSTATS_SERIAL, 0);
	ck_assert(p.ok);
}
END_TEST

START_TEST(test_pool)
{
	/* 10 slots, 500 ms: X = 20/s; 30 clients: R = 30/20 = 1.5 s. */
	run_of("pool", 0, 30, 300, HTTPSTATS_SERIAL, 1);
	ck_assert(p.ok);
	near(p.duration_ms, 500 + 299 / 0.02);
	near(p.mean_ms, 1500);
	near(p.peak_in_flight, 10);
	near(p.peak_waiting, 20);
	near(p.failed, 0);
	ck_assert_ptr_nonnull(strstr(p.formula, "10 slots"));
	/* 50 clients: the wait is 2 s, the timeout's own: none time out. */
	run_of("pool", 0, 50, 3000, HTTPSTATS_SERIAL, 0);
	near(p.duration_ms, 150000);
	near(p.failed, 0);
	/* 70: the wait would be 3 s.  Served 20/s; (70 - 10 (0.5 + 2)/0.5)
	 * / 2 = 10/s time out: a third of 1500, in 1500 / 30 = 50 s. */
	run_of("pool", 0, 70, 1500, HTTPSTATS_SERIAL, 0);
	ck_assert(p.ok);
	near(p.duration_ms, 50000);
	near(p.req_per_s, 30);
	near(p.failed, 500);
	near(p.mean_ms, 70 / 0.03);
	ck_assert_ptr_nonnull(strstr(p.formula, "time out"));
}
END_TEST

START_TEST(test_cpu_and_usl)
{
	/* cpu: 100 ms of work on 2 cores: X = 20/s; 10 clients: 500 ms. */
	run_of("cpu", 0, 10, 200, HTTPSTATS_SERIAL, 0);
	ck_assert(p.ok);
	near(p.duration_ms, 10000);
	near(p.mean_ms, 500);
	run_of("cpu", 0, 50, 500, HTTPSTATS_SERIAL, 0);
	near(p.mean_ms, 2500);
	near(p.req_per_s, 20);
	/* One client, one core's worth: R = S. */
	run_of("cpu", 0, 1, 10, HTTPSTATS_SERIAL, 0);
	near(p.mean_ms, 100);
	/* usl: 50 ms (1 + 0.1 (N-1) + 0.01 N (N-1)): 335 ms at 20,
	 * 1520 ms at 50. */
	run_of("overloaded-db", 0, 20, 600, HTTPSTATS_SERIAL, 0);
	ck_assert(p.ok);
	near(p.mean_ms, 335);
	near(p.req_per_s, 20 / 0.335);
	run_of("overloaded-db", 0, 50, 1000, HTTPSTATS_SERIAL, 0);
	near(p.mean_ms, 1520);
	near(p.req_per_s, 50 / 1.52);
	ck_assert_ptr_nonnull(strstr(p.formula, "USL"));
}
END_TEST

START_TEST(test_api_lognormal)
{
	/* The mean of the lognormal: 200 e^(0.36/2) = 239.44 ms. */
	run_of("api", 0, 20, 1600, HTTPSTATS_SERIAL, 0);
	ck_assert(p.ok);
	near(p.mean_ms, 200 * exp(0.18));
	near(p.req_per_s, 20 / (0.2 * exp(0.18)));
	ck_assert_ptr_nonnull(strstr(p.formula, "p99: no closed form"));
}
END_TEST

START_TEST(test_async)
{
	/* Faster than the hold: every use in at once, up to the limit. */
	run_of("io", 0, 50, 3000, HTTPSTATS_ASYNC, 0);
	ck_assert(p.ok);
	near(p.peak_in_flight, 3000);
	near(p.failed, 0);
	ck_assert(p.duration_ms < 0 && p.req_per_s < 0);
	run_of("io", 15, 50, 3000, HTTPSTATS_ASYNC, 0);
	near(p.peak_in_flight, 15);
	near(p.failed, 2985);
	/* pool: 10 in service, 1000 queued, the rest refused. */
	run_of("pool", 0, 50, 3000, HTTPSTATS_ASYNC, 0);
	near(p.peak_in_flight, 10);
	near(p.peak_waiting, 1000);
	near(p.failed, 1990);
}
END_TEST

START_TEST(test_no_closed_form)
{
	struct model m;
	struct predict_in in;

	run_of("ecto", 0, 50, 3000, HTTPSTATS_SERIAL, 0);
	ck_assert(!p.ok);
	ck_assert_ptr_nonnull(strstr(p.why, "CoDel"));
	ck_assert_ptr_nonnull(strstr(p.why, "20.0/s"));
	run_of("io", 15, 50, 3000, HTTPSTATS_SERIAL, 0);
	ck_assert(!p.ok);
	ck_assert_ptr_nonnull(strstr(p.why, "hard mode"));
	ck_assert_ptr_nonnull(strstr(p.why, "30.0/s"));

	/* The setup changed mid-run; two routes; no client count. */
	model_defaults(&m, 2);
	memset(&in, 0, sizeof(in));
	in.model = &m;
	in.clients = 50;
	in.requests = 100;
	in.route = HTTPSTATS_SERIAL;
	in.routes = 1;
	in.changed = 1;
	predict_run(&in, &p);
	ck_assert(!p.ok);
	ck_assert_ptr_nonnull(strstr(p.why, "changed during the run"));
	in.changed = 0;
	in.routes = 2;
	predict_run(&in, &p);
	ck_assert(!p.ok);
	in.routes = 1;
	in.clients = 0;
	predict_run(&in, &p);
	ck_assert(!p.ok);
	ck_assert_ptr_nonnull(strstr(p.why, "client count"));

	/* Random holds with a queue. */
	ck_assert_int_eq(
	    model_apply(&m, "api slots=5", 2, p.why, sizeof(p.why)), 0);
	in.clients = 20;
	predict_run(&in, &p);
	ck_assert(!p.ok);
	ck_assert_ptr_nonnull(strstr(p.why, "random holds"));
	in.model = NULL;
	predict_run(&in, &p);
	ck_assert(!p.ok);
}
END_TEST

/* ---- guess.c -------------------------------------------------------- */

static int
parse(struct guess *g, const char *json, char *why)
{
	return guess_parse(g, json, strlen(json), why, 160);
}

START_TEST(test_guess_parse)
{
	struct guess g;
	char why[160], big[GUESS_BODY_MAX + 32];
	struct evbuffer *b = evbuffer_new();
	char *j;
	size_t i;

	ck_assert_int_eq(parse(&g,
	                       " {\"route\":\"serial\", \"duration_ms\":30500,"
	                       "\"req_per_s\":98.5,\"peak_in_flight\":50,"
	                       "\"failed\":0}\n",
	                       why),
	                 0);
	ck_assert(g.set);
	ck_assert_int_eq(g.route, HTTPSTATS_SERIAL);
	near(g.duration_ms, 30500);
	near(g.req_per_s, 98.5);
	near(g.failed, 0);
	guess_json(b, &g);
	j = sup_take(b);
	ck_assert_ptr_nonnull(strstr(j, "\"route\":\"serial\",\"duration_ms\":"
	                                "30500,\"req_per_s\":98.5,"
	                                "\"peak_in_flight\":50,\"failed\":0}"));
	free(j);
	/* null: not guessed; 1e3 and 0.5 are numbers. */
	ck_assert_int_eq(
	    parse(&g, "{\"route\":null,\"failed\":null,\"req_per_s\":1e3}",
	          why),
	    0);
	ck_assert_int_eq(g.route, -1);
	ck_assert(g.failed < 0);
	near(g.req_per_s, 1000);

	{
		static const char *const bad[] = {
		    "",
		    "[]",
		    "{}",
		    "{\"route\":\"serial\"}",
		    "{\"duration_ms\":-1}",
		    "{\"duration_ms\":1e13}",
		    "{\"duration_ms\":\"30\"}",
		    "{\"duration_ms\":01}",
		    "{\"duration_ms\":1.}",
		    "{\"duration_ms\":NaN}",
		    "{\"duration_ms\":1,\"duration_ms\":2}",
		    "{\"duration\":1}",
		    "{\"route\":\"both\",\"failed\":1}",
		    "{\"route\":\"ser\\u0069al\",\"failed\":1}",
		    "{\"failed\":{\"a\":1}}",
		    "{\"failed\":1} x",
		    "{\"failed\":1",
		    "{\"failed\" 1}",
		    "{\"failed\":1,}",
		    "not json",
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			g.set = 7;
			ck_assert_msg(parse(&g, bad[i], why) == -1,
			              "accepted %s", bad[i]);
			ck_assert_msg(why[0] != '\0', "%s: no reason", bad[i]);
			ck_assert_int_eq(g.set, 7); /* left as it was */
		}
	}
	ck_assert_int_eq(parse(&g, "{\"duration\":1}", why), -1);
	ck_assert_ptr_nonnull(strstr(why, "unknown key \"duration\""));

	/* Over 1 KiB, even when it is valid JSON. */
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	big[sizeof(big) - 1] = '}';
	ck_assert_int_eq(guess_parse(&g, big, sizeof(big), why, sizeof(why)),
	                 -1);
	ck_assert_ptr_nonnull(strstr(why, "1024"));
	evbuffer_free(b);
}
END_TEST

SUP_MAIN("dashboard_predict", NULL, NULL, 0, test_io, test_pool,
         test_cpu_and_usl, test_api_lognormal, test_async, test_no_closed_form,
         test_guess_parse)
