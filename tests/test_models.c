/*
 * test_models.c: the resource models in the real mockresd, over its socket
 * and through the real frontend: cancel on disconnect, any per-use hold,
 * the peak, TIMEOUT, `mockresctl model`, MOCKRES_MODEL, and each preset
 * under closed-loop HTTP load against the formula it should follow.
 *
 * The load bounds are generous (a loaded 2-core machine): each checks the
 * shape a formula predicts (R = N S / c, processor sharing, the USL), not
 * speed; bench/run measures how close the figures come.  The formulas
 * assume every client is always in the resource; on a loaded machine the
 * clients spend longer in HTTP between uses, fewer are in the resource at
 * once and contention falls, so each lower bound allows for about a third
 * of the clients being elsewhere, and still lies well above what the model
 * would give without its queue or its contention.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "load.h"
#include "rawclient.h"
#include "support.h"

static const char *sock;
static pid_t mrd_pid, fe_pid;
static int port;
static char portarg[32];

static void
start_mockresd(const char *const extra[])
{
	mrd_pid = sup_mockresd("mockresd.sock", extra, &sock);
}

static void
stop_mockresd(void)
{
	sup_stop_ok(mrd_pid, "mockresd", 20000);
}

static void
stats(struct sup_stats *s)
{
	ck_assert_int_eq(sup_stats(sock, s), 0);
	ck_assert_uint_eq(s->admitted, s->completed + s->timed_out +
	                                   s->cancelled + s->in_flight +
	                                   s->waiting);
}

/* Polls the stats until COND holds or TIMEOUT_MS pass. */
#define WAIT_STATS(s, cond, timeout_ms)                                        \
	do {                                                                   \
		double end_ = clock_now_ms_frac() + (timeout_ms);              \
		for (;;) {                                                     \
			stats(&(s));                                           \
			if (cond)                                              \
				break;                                         \
			ck_assert_msg(clock_now_ms_frac() < end_,              \
			              "timed out waiting for " #cond);         \
			sup_sleep_ms(20);                                      \
		}                                                              \
	} while (0)

static Mockres__Response *
recv_for(int fd, uint64_t id)
{
	Mockres__Response *r;
	int eof;

	r = raw_recv(fd, 20000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->id, id);
	return r;
}

/* A client that disconnects while its uses wait: they leave the queue as
 * cancelled, its use in service runs on, the next client is served. */
START_TEST(test_disconnect_cancels_waiting)
{
	const char *extra[] = {"--limit",   "0",    "--slots", "1",
	                       "--hold-ms", "4000", NULL};
	struct sup_stats s;
	int a, b, i;

	start_mockresd(extra);
	a = raw_connect(sock);
	ck_assert_int_ge(a, 0);
	for (i = 1; i <= 4; i++)
		ck_assert_int_eq(raw_send_use(a, (uint64_t)i, 0, -1), 0);
	WAIT_STATS(s, s.in_flight == 1 && s.waiting == 3, 10000);
	ck_assert_uint_eq(s.peak_waiting, 3);
	close(a);
	WAIT_STATS(s, s.cancelled == 3, 10000);
	ck_assert_uint_eq(s.waiting, 0);
	ck_assert_uint_eq(s.in_flight, 1); /* its hold is not shortened */

	/* the slot frees at 4 s and a new client gets it */
	b = raw_connect(sock);
	ck_assert_int_ge(b, 0);
	ck_assert_int_eq(raw_send_use(b, 9, 0, -1), 0);
	{
		Mockres__Response *r = recv_for(b, 9);

		ck_assert_int_eq(r->status, MOCKRES__STATUS__DONE);
		mockres__response__free_unpacked(r, NULL);
	}
	stats(&s);
	ck_assert_uint_eq(s.completed, 2);
	close(b);
	stop_mockresd();
}
END_TEST

/* 10,000 distinct per-use durations from an admin: every one admitted,
 * every one ends; the old engine refused the 65th distinct duration. */
START_TEST(test_ten_thousand_distinct_holds)
{
	const char *extra[] = {"--limit", "0", NULL};
	struct sup_stats s;
	int fd, i, eof;

	start_mockresd(extra);
	fd = raw_connect(sock);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 10000; i++)
		ck_assert_int_eq(raw_send_use(fd, (uint64_t)i + 1, 1,
		                              (int64_t)(1 + i % 10000)),
		                 0);
	for (i = 0; i < 10000; i++) {
		Mockres__Response *r = raw_recv(fd, 20000, &eof);

		ck_assert_ptr_nonnull(r);
		ck_assert_msg(r->status == MOCKRES__STATUS__ADMITTED,
		              "use %d: %s", i, r->error ? r->error : "?");
		mockres__response__free_unpacked(r, NULL);
	}
	stats(&s);
	ck_assert_uint_eq(s.admitted, 10000);
	ck_assert_uint_eq(s.rejected, 0);
	WAIT_STATS(s, s.completed == 10000, 60000);
	ck_assert_uint_le(s.peak, 10000);
	close(fd);
	stop_mockresd();
}
END_TEST

/* peak is the highest in_flight reached: rejected uses never raise it. */
START_TEST(test_peak_is_reached_not_attempted)
{
	const char *extra[] = {"--limit", "5", "--hold-ms", "3000", NULL};
	const char *slots[] = {"model", "set", "slots=2", NULL};
	const char *reset[] = {"reset-peak", NULL};
	char out[8192];
	struct sup_stats s;
	int fd, i, eof, busy = 0;

	start_mockresd(extra);
	fd = raw_connect(sock);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 64; i++)
		raw_send_use(fd, (uint64_t)i + 1, 1, -1);
	for (i = 0; i < 64; i++) {
		Mockres__Response *r = raw_recv(fd, 20000, &eof);

		ck_assert_ptr_nonnull(r);
		busy += r->status == MOCKRES__STATUS__BUSY;
		mockres__response__free_unpacked(r, NULL);
	}
	ck_assert_int_eq(busy, 59);
	stats(&s);
	ck_assert_uint_eq(s.peak, 5);
	ck_assert_uint_eq(s.rejected, 59);

	/* with 2 slots, the limit counts waiting uses too */
	ck_assert_int_eq(sup_ctl(sock, slots, out, sizeof(out)), 0);
	WAIT_STATS(s, s.in_flight == 0, 10000);
	ck_assert_int_eq(sup_ctl(sock, reset, out, sizeof(out)), 0);
	for (i = 0; i < 10; i++)
		raw_send_use(fd, (uint64_t)i + 100, 1, -1);
	for (i = 0, busy = 0; i < 10; i++) {
		Mockres__Response *r = raw_recv(fd, 20000, &eof);

		ck_assert_ptr_nonnull(r);
		busy += r->status == MOCKRES__STATUS__BUSY;
		mockres__response__free_unpacked(r, NULL);
	}
	ck_assert_int_eq(busy, 5);
	stats(&s);
	ck_assert_uint_eq(s.peak, 2);
	ck_assert_uint_eq(s.waiting, 3);
	ck_assert_uint_eq(s.peak_waiting, 3);
	close(fd);
	stop_mockresd();
}
END_TEST

/* A serial use that waits too long gets TIMEOUT with its reason; the
 * queue cap answers BUSY "queue full". */
START_TEST(test_timeout_and_queue_full)
{
	const char *extra[] = {"--limit",
	                       "0",
	                       "--slots",
	                       "1",
	                       "--queue",
	                       "1",
	                       "--queue-timeout-ms",
	                       "300",
	                       "--hold-ms",
	                       "2000",
	                       NULL};
	Mockres__Response *r;
	struct sup_stats s;
	int fd;

	start_mockresd(extra);
	fd = raw_connect(sock);
	ck_assert_int_ge(fd, 0);
	raw_send_use(fd, 1, 0, -1); /* in service */
	raw_send_use(fd, 2, 0, -1); /* waits */
	raw_send_use(fd, 3, 0, -1); /* queue full */
	r = recv_for(fd, 3);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BUSY);
	ck_assert_str_eq(r->error, "queue full: 1 waiting");
	mockres__response__free_unpacked(r, NULL);
	r = recv_for(fd, 2);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__TIMEOUT);
	ck_assert_str_eq(r->error,
	                 "timed out after 300 ms waiting for the resource");
	mockres__response__free_unpacked(r, NULL);
	stats(&s);
	ck_assert_uint_eq(s.timed_out, 1);
	ck_assert_uint_eq(s.rejected, 1);
	close(fd);
	stop_mockresd();
}
END_TEST

/* mockresctl model: show, set (all or nothing), preset; exit codes. */
START_TEST(test_ctl_model)
{
	const char *extra[] = {NULL};
	const char *show[] = {"--json", "model", NULL};
	const char *pool[] = {"model", "preset", "pool", NULL};
	const char *set[] = {"model", "set", "slots=4", "hold-dist=uniform",
	                     NULL};
	const char *bad[] = {"model", "set", "slots=4", "queue=lots", NULL};
	const char *badkey[] = {"model", "set", "nosuch=1", NULL};
	const char *badpreset[] = {"model", "preset", "mysql", NULL};
	char out[8192];
	uint64_t v;

	start_mockresd(extra);
	ck_assert_int_eq(sup_ctl(sock, show, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"preset\":\"io\""));
	ck_assert_ptr_nonnull(strstr(out, "\"hold_dist\":\"fixed\""));
	ck_assert_int_eq(sup_ctl(sock, pool, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "preset: pool: a database"));
	ck_assert_int_eq(sup_ctl(sock, set, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_ctl(sock, bad, out, sizeof(out)), 2);
	ck_assert_int_eq(sup_ctl(sock, badkey, out, sizeof(out)), 2);
	ck_assert_int_eq(sup_ctl(sock, badpreset, out, sizeof(out)), 2);
	ck_assert_int_eq(sup_ctl(sock, show, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_json_u64(out, "slots", &v), 0);
	ck_assert_uint_eq(v, 4);
	ck_assert_int_eq(sup_json_u64(out, "queue_timeout_ms", &v), 0);
	ck_assert_uint_eq(v, 2000); /* from the preset, kept */
	ck_assert_ptr_nonnull(strstr(out, "\"hold_dist\":\"uniform\""));
	ck_assert_ptr_nonnull(strstr(out, "\"preset\":null"));
	ck_assert_ptr_nonnull(strstr(out, "\"wait_ms\":{\"p50\":"));
	stop_mockresd();
}
END_TEST

/* MOCKRES_MODEL in the environment, flags over it; bad input: exit 2. */
START_TEST(test_model_env_and_flags)
{
	const char *show[] = {"--json", "model", NULL};
	const char *bad_argv[] = {MOCKRESD_BIN, "--socket", "/nonexistent/x",
	                          "--slots",    "many",     NULL};
	char out[8192], err[4096];
	uint64_t v;

	sock = sup_path("env.sock");
	setenv("MOCKRES_MODEL", "ecto queue-timeout-ms=700", 1);
	{
		const char *extra[] = {"--slots", "3", NULL};

		mrd_pid = sup_start_mockresd(sock, extra);
	}
	unsetenv("MOCKRES_MODEL");
	ck_assert_int_gt(mrd_pid, 0);
	ck_assert_int_eq(sup_ctl(sock, show, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"queue_discipline\":\"codel\""));
	ck_assert_int_eq(sup_json_u64(out, "slots", &v), 0);
	ck_assert_uint_eq(v, 3);
	ck_assert_int_eq(sup_json_u64(out, "queue_timeout_ms", &v), 0);
	ck_assert_uint_eq(v, 700);
	stop_mockresd();

	ck_assert_int_eq(
	    sup_run(bad_argv, out, sizeof(out), err, sizeof(err), 10000), 2);
	ck_assert_ptr_nonnull(
	    strstr(err, "slots must be a whole number 0..1000000, not 'many'"));
	setenv("MOCKRES_MODEL", "pool slots=x", 1);
	bad_argv[3] = NULL;
	ck_assert_int_eq(
	    sup_run(bad_argv, out, sizeof(out), err, sizeof(err), 10000), 2);
	unsetenv("MOCKRES_MODEL");
	ck_assert_ptr_nonnull(strstr(err, "MOCKRES_MODEL: slots must be"));
}
END_TEST

/* ---- presets through HTTP ---- */

static void
start_frontend(void)
{
	struct sup_http_resp r;
	double end;
	const char *argv[] = {FRONTEND_BIN, "--listen", portarg, "--workers",
	                      "2",          "--socket", sock,    NULL};

	port = sup_free_port();
	snprintf(portarg, sizeof(portarg), "127.0.0.1:%d", port);
	fe_pid = sup_spawn(argv, "frontend");
	ck_assert_int_gt(fe_pid, 0);
	end = clock_now_ms_frac() + 15000;
	while (sup_http(port, "GET", "/healthz", NULL, &r, 5000) != 0 ||
	       r.status != 200) {
		ck_assert_msg(clock_now_ms_frac() < end,
		              "frontend never healthy");
		sup_sleep_ms(20);
	}
}

struct run {
	double secs;
	uint64_t ok, s500, s503, failed;
	double p50, p99;
};

/* CLIENTS closed-loop clients on /part1/serial: WARM_MS to settle, then
 * MEASURE_MS measured (phase 1). */
static void
run_load(int clients, int warm_ms, int measure_ms, struct run *out)
{
	struct load_opts o = {0};
	struct load *l;
	double t0;

	o.port = port;
	o.path = "/part1/serial";
	o.clients = clients;
	o.timeout_ms = 20000;
	ck_assert_ptr_nonnull(l = load_start(&o));
	sup_sleep_ms(warm_ms);
	t0 = clock_now_ms_frac();
	load_set_phase(l, 1);
	sup_sleep_ms(measure_ms);
	load_set_phase(l, 2);
	out->secs = (clock_now_ms_frac() - t0) / 1000.0;
	ck_assert_int_eq(load_wait_phase(l, 1, 30000), 0);
	out->ok = load_sum_status(l, 1, LOAD_200);
	out->s500 = load_sum_status(l, 1, LOAD_500);
	out->s503 = load_sum_status(l, 1, LOAD_503);
	out->failed = load_sum_failed(l, 1);
	out->p50 = load_quantile_ms(l, 1, LOAD_200, 0.5);
	out->p99 = load_quantile_ms(l, 1, LOAD_200, 0.99);
	load_stop(l);
	load_free(l);
	printf("  %d clients: %.1f s, %llu ok (%.1f/s), %llu 503, %llu 500, "
	       "p50 %.0f ms, p99 %.0f ms\n",
	       clients, out->secs, (unsigned long long)out->ok,
	       (double)out->ok / out->secs, (unsigned long long)out->s503,
	       (unsigned long long)out->s500, out->p50, out->p99);
	fflush(stdout);
	ck_assert_uint_eq(out->failed, 0);
	ck_assert_uint_eq(out->s500, 0);
}

/* The slots serve at most SLOTS uses per HOLD_S: uses served together end
 * together, so a window may hold one batch of SLOTS more than the rate. */
static void
assert_slot_rate(const struct run *r, int slots, double hold_s)
{
	double most = slots * ((double)(int)(r->secs / hold_s) + 1);

	ck_assert_msg((double)r->ok <= most,
	              "%llu served in %.1f s, more than %d slots of %.1f s "
	              "allow (%.0f)",
	              (unsigned long long)r->ok, r->secs, slots, hold_s, most);
}

static void
preset(const char *name, const char *more)
{
	const char *p[] = {"model", "preset", name, NULL};
	const char *m[] = {"model", "set", more, NULL};
	char out[8192];
	struct sup_stats s;

	ck_assert_int_eq(sup_ctl(sock, p, out, sizeof(out)), 0);
	if (more != NULL)
		ck_assert_int_eq(sup_ctl(sock, m, out, sizeof(out)), 0);
	WAIT_STATS(s, s.in_flight == 0 && s.waiting == 0, 30000);
}

START_TEST(test_presets_through_http)
{
	const char *extra[] = {"--limit", "0", NULL};
	struct sup_stats s;
	struct run r;

	start_mockresd(extra);
	start_frontend();

	/* io: unlimited room, R = S = 500 ms */
	printf("io:\n");
	preset("io", NULL);
	run_load(20, 1000, 4000, &r);
	ck_assert_double_ge(r.p50, 499);
	ck_assert_double_le(r.p50, 800);

	/* pool, 30 clients: R = N S / c = 30 x 0.5 / 10 = 1.5 s, under the
	 * 2 s queue timeout; X = c / S = 20/s */
	printf("pool:\n");
	preset("pool", NULL);
	run_load(30, 4000, 8000, &r);
	ck_assert_double_ge(r.p50, 1000); /* 500 ms without the queue */
	ck_assert_double_le(r.p50, 1900);
	assert_slot_rate(&r, 10, 0.5);
	ck_assert_double_ge((double)r.ok / r.secs, 14.0);
	/* 60 clients would need R = 3 s, a 2.5 s wait: past the timeout,
	 * so uses must time out (503) while the slots still serve 20/s */
	run_load(60, 4000, 6000, &r);
	ck_assert_uint_gt(r.s503, 0);
	assert_slot_rate(&r, 10, 0.5);

	/* ecto: the same pool with CoDel; a slow queue drops its old
	 * waiters, so those served waited little */
	printf("ecto:\n");
	preset("ecto", NULL);
	run_load(50, 4000, 6000, &r);
	ck_assert_uint_gt(r.s503, 0);
	ck_assert_double_le(r.p50, 1500);

	/* cpu on 2 cores, 100 ms of work, 10 clients: R = N S / cores */
	printf("cpu:\n");
	preset("cpu", "cores=2");
	run_load(10, 1000, 4000, &r);
	ck_assert_double_ge(r.p50, 300); /* 100 ms without sharing */
	ck_assert_double_le(r.p50, 750);

	/* overloaded-db, 20 clients: R = 50 ms x (1 + 0.1 x 19 + 0.01 x 20
	 * x 19) = 335 ms */
	printf("overloaded-db:\n");
	preset("overloaded-db", NULL);
	run_load(20, 1000, 4000, &r);
	ck_assert_double_ge(r.p50, 200); /* 50 ms without contention */
	ck_assert_double_le(r.p50, 520);

	/* api: lognormal, median 200 ms, a long tail; ~330 uses, so the
	 * sample median is within 5% of 200 ms (one standard error) */
	printf("api:\n");
	preset("api", NULL);
	run_load(10, 1000, 8000, &r);
	ck_assert_double_ge(r.p50, 170);
	ck_assert_double_le(r.p50, 300);
	ck_assert_double_ge(r.p99, 2 * r.p50);

	stats(&s);
	sup_stop(fe_pid, SIGTERM, 20000);
	stop_mockresd();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("models");

	SUP_ADD_CASE(
	    s, "daemon", NULL, NULL, 120, test_disconnect_cancels_waiting,
	    test_ten_thousand_distinct_holds,
	    test_peak_is_reached_not_attempted, test_timeout_and_queue_full,
	    test_ctl_model, test_model_env_and_flags);
	SUP_ADD_CASE(s, "http", NULL, NULL, 240, test_presets_through_http);
	return sup_run_suite(s);
}
