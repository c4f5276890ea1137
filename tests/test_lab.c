/*
 * test_lab.c: the lab page's data against the real binaries: mockresd,
 * mockres-frontend (2 workers) and mockres-dashboard on a temporary socket
 * and free ports, loaded by the test's own HTTP load generator.
 *
 * - runs: /api/runs counts by status equal the load generator's exactly;
 * - history: with a 4 s window (--history-seconds), /api/history covers
 *   the whole window once it has passed, and its parameters are checked;
 * - merge: the workers' histograms add up, including a worker killed with
 *   SIGKILL and replaced mid-run (its counts up to its last report stay);
 * - experiments: under pool, 300 serial requests at 30 clients give a run
 *   whose setup says 10 slots, whose clients are 30 and whose peak
 *   waiting is mockresd's; a guess posted before it is in its row and the
 *   next run has none; POST /api/guess refusals; the CSV.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "load.h"
#include "support.h"

#define WORKERS 2

static char sock[256];
static pid_t mrd_pid, fe_pid, dash_pid;
static int fe_port, dash_port;
static struct sup_http_resp resp;

static void lab_start(const char *limit, const char *hold,
                      const char *history_s);

/* POST /api/guess with ORIGIN and CTYPE (NULL: left out); the status,
 * the body in resp. */
static int
guess_post(const char *origin, const char *ctype, const char *body)
{
	static char raw[8192], out[8192];
	char head[512];
	const char *b;
	ssize_t n;
	int len;

	len =
	    snprintf(head, sizeof(head),
	             "POST /api/guess HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	             "Connection: close\r\n%s%s%s%s%s%s"
	             "Content-Length: %zu\r\n\r\n",
	             dash_port, origin ? "Origin: " : "", origin ? origin : "",
	             origin ? "\r\n" : "", ctype ? "Content-Type: " : "",
	             ctype ? ctype : "", ctype ? "\r\n" : "", strlen(body));
	ck_assert(len > 0 && (size_t)len + strlen(body) < sizeof(raw));
	snprintf(raw, sizeof(raw), "%s%s", head, body);
	n = sup_http_raw(dash_port, raw, strlen(raw), out, sizeof(out) - 1,
	                 5000);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	memset(&resp, 0, sizeof(resp));
	ck_assert_int_eq(sscanf(out, "HTTP/1.1 %d", &resp.status), 1);
	if ((b = strstr(out, "\r\n\r\n")) != NULL)
		snprintf(resp.body, sizeof(resp.body), "%s", b + 4);
	return resp.status;
}

static void
lab_start(const char *limit, const char *hold, const char *history_s)
{
	static char fl[32], dl[32];
	const char *mextra[] = {"--limit", limit, "--hold-ms", hold, NULL};
	const char *fe[] = {FRONTEND_BIN, "--listen", fl,   "--workers",
	                    "2",          "--socket", sock, NULL};
	const char *da[] = {
	    DASHBOARD_BIN, "--socket", sock,
	    "--listen",    dl,         history_s ? "--history-seconds" : NULL,
	    history_s,     NULL};
	double end;

	snprintf(sock, sizeof(sock), "%s", sup_path("mockresd.sock"));
	mrd_pid = sup_start_mockresd(sock, mextra);
	ck_assert_int_gt(mrd_pid, 0);
	dash_port = sup_free_port();
	snprintf(dl, sizeof(dl), "127.0.0.1:%d", dash_port);
	dash_pid = sup_spawn(da, "dashboard");
	ck_assert_int_eq(sup_wait_port(dash_port, 10000), 0);
	fe_port = sup_free_port();
	snprintf(fl, sizeof(fl), "127.0.0.1:%d", fe_port);
	fe_pid = sup_spawn(fe, "frontend");
	ck_assert_int_eq(sup_wait_port(fe_port, 10000), 0);
	/* Both workers report (they do once connected, requests or not),
	 * and the dashboard has the merged stats. */
	end = clock_now_ms_frac() + 15000;
	for (;;) {
		uint64_t n = 0;
		const char *p;

		if (sup_http(dash_port, "GET", "/api/stats", NULL, &resp,
		             5000) == 0 &&
		    (p = strstr(resp.body, "\"http\":")) != NULL &&
		    sup_json_u64(p, "reporters", &n) == 0 && n == WORKERS)
			break;
		ck_assert_msg(clock_now_ms_frac() < end,
		              "the workers' reports never reached the "
		              "dashboard");
		sup_sleep_ms(50);
	}
}

static void
lab_stop(void)
{
	if (fe_pid > 0)
		sup_stop(fe_pid, SIGTERM, 20000);
	if (dash_pid > 0)
		sup_stop(dash_pid, SIGTERM, 10000);
	if (mrd_pid > 0)
		sup_stop(mrd_pid, SIGKILL, 10000);
	fe_pid = dash_pid = mrd_pid = 0;
}

/* Waits until /api/runs lists N finished runs and no run is in progress;
 * leaves the JSON in resp.body. */
static void
runs_wait(int n, int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;
	const char *p;
	int k;

	for (;;) {
		ck_assert_int_eq(
		    sup_http(dash_port, "GET", "/api/runs", NULL, &resp, 5000),
		    0);
		for (k = 0, p = resp.body; (p = strstr(p, "\"id\":")) != NULL;
		     p++)
			k++;
		if (strncmp(resp.body, "{\"current\":null", 15) == 0 && k == n)
			return;
		ck_assert_msg(clock_now_ms_frac() < end,
		              "no %d finished run(s) in time: %s", n,
		              resp.body);
		sup_sleep_ms(100);
	}
}

/* The count of CODE for ROUTE in the newest run of resp.body. */
static uint64_t
run_code(const char *route, const char *code)
{
	char key[32];
	const char *r, *c, *end;
	uint64_t v = 0;

	snprintf(key, sizeof(key), "\"%s\":{\"requests\"", route);
	if ((r = strstr(resp.body, key)) == NULL)
		return 0;
	c = strstr(r, "\"codes\":{");
	end = strchr(c, '}');
	snprintf(key, sizeof(key), "\"%s\":", code);
	r = strstr(c, key);
	if (r == NULL || r > end)
		return 0;
	ck_assert_int_eq(sup_json_u64(r, code, &v), 0);
	return v;
}

static double
run_latency(const char *route, const char *q)
{
	char key[32];
	const char *r;
	double v = -1;

	snprintf(key, sizeof(key), "\"%s\":{\"requests\"", route);
	ck_assert_ptr_nonnull(r = strstr(resp.body, key));
	ck_assert_ptr_nonnull(r = strstr(r, "\"latency_ms\":"));
	ck_assert_int_eq(sup_json_double(r, q, &v), 0);
	return v;
}

static struct load *
lab_load(const char *path, int clients, uint64_t total)
{
	struct load_opts o = {fe_port, path, clients, 0, 10000, 0, total};
	struct load *ld = load_start(&o);

	ck_assert_ptr_nonnull(ld);
	return ld;
}

/* Hard mode: 200s and 500s; the run has exactly the client's counts. */
START_TEST(test_runs_count_by_code)
{
	struct load *ld;
	uint64_t ok, busy, unavail;

	lab_start("5", "200", NULL);
	ld = lab_load("/part1/serial", 20, 2000);
	ck_assert_int_eq(load_wait_sent(ld, 2000, 60000), 0);
	ck_assert_int_eq(load_wait_phase(ld, 0, 30000), 0);
	ck_assert_int_eq(load_stop(ld), 0);
	ok = load_sum_status(ld, 0, LOAD_200);
	busy = load_sum_status(ld, 0, LOAD_500);
	unavail = load_sum_status(ld, 0, LOAD_503);
	ck_assert_uint_eq(load_sum_failed(ld, 0), 0);
	ck_assert_uint_eq(ok + busy + unavail, 2000);
	ck_assert_uint_gt(busy, 0);
	runs_wait(1, 20000);
	ck_assert_uint_eq(run_code("serial", "200"), ok);
	ck_assert_uint_eq(run_code("serial", "500"), busy);
	ck_assert_uint_eq(run_code("serial", "503"), unavail);
	ck_assert_ptr_nonnull(strstr(resp.body, "\"requests\":2000,"));
	ck_assert_ptr_nonnull(strstr(resp.body, "\"peak_in_flight\":5,"));
	/* The 200s held the resource 200 ms: the run's max says so. */
	ck_assert_double_ge(run_latency("serial", "max"), 199.0);
	load_free(ld);
	lab_stop();
}
END_TEST

/* The first and last sample's t_ms and the count in /api/history. */
static void
history_span(uint64_t *first, uint64_t *last, uint64_t *now, int *n)
{
	const char *p = resp.body, *end = strstr(resp.body, "\"processes\":");

	*n = 0;
	*first = *last = 0;
	ck_assert_ptr_nonnull(end);
	ck_assert_int_eq(sup_json_u64(resp.body, "now_ms", now), 0);
	while ((p = strstr(p, "{\"t_ms\":")) != NULL && p < end) {
		uint64_t t = strtoull(p + 8, NULL, 10);

		if (*n == 0)
			*first = t;
		*last = t;
		(*n)++;
		p += 8;
	}
}

START_TEST(test_history_covers_the_window)
{
	uint64_t first, last, now, w;
	int n;

	lab_start("15", "500", "4");
	sup_sleep_ms(5500); /* past the 4 s window */
	ck_assert_int_eq(sup_http(dash_port, "GET", "/api/history?seconds=600",
	                          NULL, &resp, 5000),
	                 0);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_int_eq(sup_json_u64(resp.body, "window_s", &w), 0);
	ck_assert_uint_eq(w, 4);
	/* The processes are there too (a frame every 500 ms). */
	ck_assert_ptr_nonnull(strstr(resp.body, "\"role\":\"mockresd\""));
	history_span(&first, &last, &now, &n);
	/* Every 20 ms over 4 s: 200 samples, a few fewer if the machine
	 * is loaded; the ring holds at most 200. */
	ck_assert_int_le(n, 200);
	ck_assert_int_ge(n, 150);
	ck_assert_uint_le(now - last, 500);
	ck_assert_uint_le(first, now - 3500);
	/* The ring holds 200 samples: on a loaded machine, where fewer than
	 * 50 pushes a second arrive, they span a little more than 4 s. */
	ck_assert_msg(first >= now - 4500 || n == 200,
	              "%d samples from %llu ms before now", n,
	              (unsigned long long)(now - first));

	/* Coarser steps, and the compact form. */
	ck_assert_int_eq(sup_http(dash_port, "GET",
	                          "/api/history?seconds=4&step=1000", NULL,
	                          &resp, 5000),
	                 0);
	history_span(&first, &last, &now, &n);
	ck_assert_int_ge(n, 3);
	ck_assert_int_le(n, 5);
	ck_assert_ptr_nonnull(strstr(resp.body, "\"in_flight_min\":"));
	ck_assert_int_eq(
	    sup_http(dash_port, "GET",
	             "/api/history?seconds=600&step=200&format=columns", NULL,
	             &resp, 5000),
	    0);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(strstr(resp.body, "\"dt_ms\":[0,"));
	ck_assert_ptr_nonnull(strstr(resp.body, "\"format\":\"columns\""));

	/* Bad parameters: 400, with what is allowed. */
	{
		static const char *const bad[] = {
		    "/api/history?seconds=601", "/api/history?seconds=0",
		    "/api/history?seconds=ten", "/api/history?step=19",
		    "/api/history?step=60001",  "/api/history?format=csv",
		    "/api/history?since=0",     "/api/history?seconds=-1",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ck_assert_int_eq(sup_http(dash_port, "GET", bad[i],
			                          NULL, &resp, 5000),
			                 0);
			ck_assert_msg(resp.status == 400, "%s: %d", bad[i],
			              resp.status);
			ck_assert_ptr_nonnull(
			    strstr(resp.body, "seconds=1..600"));
		}
	}
	lab_stop();
}
END_TEST

/*
 * Async load over both workers; between two halves of the run (a pause
 * well under the 2 s that would end it, and longer than a report
 * interval), one worker is killed with SIGKILL and replaced.  Its counts
 * up to its last report stay: with nothing answered after that report,
 * the run has exactly what the client saw.
 */
START_TEST(test_merge_with_a_worker_killed)
{
	struct load *ld;
	pid_t kids[8], old;
	uint64_t ok, busy, dep = 0;
	double end;
	int k;

	lab_start("0", "100", NULL);
	ck_assert_int_eq(sup_proc_children(fe_pid, kids, 8), WORKERS);
	old = kids[0];
	ld = lab_load("/part1/async", 8, 3000);
	ck_assert_int_eq(load_wait_sent(ld, 3000, 60000), 0);
	ck_assert_int_eq(load_wait_phase(ld, 0, 30000), 0);
	ck_assert_int_eq(load_stop(ld), 0);
	ok = load_sum_status(ld, 0, LOAD_200);
	load_free(ld);
	sup_sleep_ms(400); /* the last reports (every 250 ms) are sent */
	kill(old, SIGKILL);
	end = clock_now_ms_frac() + 5000;
	do {
		ck_assert_msg(clock_now_ms_frac() < end,
		              "the worker was not replaced");
		sup_sleep_ms(10);
		k = sup_proc_children(fe_pid, kids, 8);
	} while (k != WORKERS || kids[0] == old || kids[1] == old);
	ck_assert_int_eq(sup_wait_port(fe_port, 5000), 0);

	ld = lab_load("/part1/async", 8, 2000);
	ck_assert_int_eq(load_wait_sent(ld, 2000, 60000), 0);
	ck_assert_int_eq(load_wait_phase(ld, 0, 30000), 0);
	ck_assert_int_eq(load_stop(ld), 0);
	ok += load_sum_status(ld, 0, LOAD_200);
	busy =
	    load_sum_status(ld, 0, LOAD_500) + load_sum_status(ld, 0, LOAD_503);
	load_free(ld);
	ck_assert_uint_eq(busy, 0);
	ck_assert_uint_eq(ok, 5000);

	runs_wait(1, 20000);
	ck_assert_uint_eq(run_code("async", "200"), ok);
	ck_assert_ptr_nonnull(strstr(resp.body, "\"requests\":5000,"));
	/* Latencies merged from three workers: sane percentiles. */
	ck_assert_double_gt(run_latency("async", "p50"), 0.0);
	ck_assert_double_le(run_latency("async", "p50"),
	                    run_latency("async", "p99"));
	ck_assert_double_le(run_latency("async", "p99"),
	                    run_latency("async", "max"));
	ck_assert_int_eq(
	    sup_http(dash_port, "GET", "/api/stats", NULL, &resp, 5000), 0);
	ck_assert_int_eq(
	    sup_json_u64(strstr(resp.body, "\"http\":"), "departed", &dep), 0);
	ck_assert_uint_eq(dep, 1);
	lab_stop();
}
END_TEST

/*
 * A frontend stopped (SIGTERM) while serial requests hold for 2 s: its
 * workers answer them after the 1 s linger and exit at once, before any
 * periodic report could carry those answers.  Each sends a last report
 * and waits for mockresd to take it, so the merged counts still have
 * every answer.
 */
START_TEST(test_final_report_on_drain)
{
	static const char want[] =
	    "mockres_http_requests_total{route=\"serial\",code=\"200\"} 4\n";
	struct load *ld;
	double end;
	int st;

	lab_start("0", "2000", NULL);
	ld = lab_load("/part1/serial", 4, 4);
	ck_assert_int_eq(load_wait_sent(ld, 4, 10000), 0);
	sup_sleep_ms(300); /* the uses are in mockresd */
	kill(fe_pid, SIGTERM);
	ck_assert_int_eq(load_wait_phase(ld, 0, 30000), 0);
	ck_assert_int_eq(load_stop(ld), 0);
	ck_assert_uint_eq(load_sum_status(ld, 0, LOAD_200), 4);
	load_free(ld);
	st = sup_wait_exit(fe_pid, 20000);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	fe_pid = 0;
	end = clock_now_ms_frac() + 10000;
	for (;;) {
		ck_assert_int_eq(
		    sup_http(dash_port, "GET", "/metrics", NULL, &resp, 5000),
		    0);
		if (strstr(resp.body, want) != NULL)
			break;
		ck_assert_msg(
		    clock_now_ms_frac() < end,
		    "the answers given in the drain were not "
		    "reported: %.120s",
		    strstr(resp.body, "mockres_http_requests_total{")
		        ? strstr(resp.body, "mockres_http_requests_total{")
		        : "(no mockres_http_requests_total sample)");
		sup_sleep_ms(100);
	}
	lab_stop();
}
END_TEST

/*
 * Under pool, 300 serial requests at 30 clients (10 in service, 20
 * waiting): the run's setup says 10 slots, its clients are 30 and its
 * peak waiting is mockresd's.  A guess posted before it is in its row;
 * the next run has none.  The refusals of POST /api/guess, and the CSV.
 */
START_TEST(test_experiment_rows)
{
	const char *pool[] = {"model", "preset", "pool", NULL};
	char out[4096], big[1200];
	struct load *ld;
	struct sup_stats st;
	const char *r0, *r1;
	uint64_t v = 0;
	int rows = 0;
	char *p;

	lab_start("0", "500", NULL);
	ck_assert_int_eq(sup_ctl(sock, pool, out, sizeof(out)), 0);

	/* Refused: a foreign origin, over 1 KiB, not JSON, another type. */
	ck_assert_int_eq(guess_post("http://evil.example", "application/json",
	                            "{\"failed\":0}"),
	                 403);
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	snprintf(big + sizeof(big) - 14, 14, "\"failed\":0}");
	ck_assert_int_eq(guess_post(NULL, "application/json", big), 413);
	ck_assert_int_eq(guess_post(NULL, "application/json", "serial, 30 s"),
	                 400);
	ck_assert_ptr_nonnull(strstr(resp.body, "bad guess"));
	ck_assert_int_eq(guess_post(NULL, "text/plain", "{\"failed\":0}"), 415);
	ck_assert_int_eq(
	    sup_http(dash_port, "GET", "/api/guess", NULL, &resp, 5000), 0);
	ck_assert_str_eq(resp.body, "null\n");
	/* Taken: from no origin (curl) or the dashboard's own. */
	snprintf(out, sizeof(out), "http://127.0.0.1:%d", dash_port);
	ck_assert_int_eq(guess_post(out, "application/json; charset=utf-8",
	                            "{\"route\":\"serial\",\"duration_ms\":"
	                            "15000,\"peak_in_flight\":10}"),
	                 200);
	ck_assert_int_eq(
	    sup_http(dash_port, "GET", "/api/guess", NULL, &resp, 5000), 0);
	ck_assert_ptr_nonnull(strstr(resp.body, "\"duration_ms\":15000"));

	ld = lab_load("/part1/serial", 30, 300);
	ck_assert_int_eq(load_wait_sent(ld, 300, 60000), 0);
	ck_assert_int_eq(load_wait_phase(ld, 0, 30000), 0);
	ck_assert_int_eq(load_stop(ld), 0);
	ck_assert_uint_eq(load_sum_status(ld, 0, LOAD_200), 300);
	load_free(ld);
	runs_wait(1, 20000);
	ck_assert_int_eq(sup_stats(sock, &st), 0);
	ck_assert_uint_eq(st.peak_waiting, 20);
	ck_assert_ptr_nonnull(r0 = strstr(resp.body, "\"runs\":[{"));
	ck_assert_int_eq(sup_json_u64(r0, "peak_waiting", &v), 0);
	ck_assert_uint_eq(v, st.peak_waiting);
	ck_assert_int_eq(sup_json_u64(r0, "clients", &v), 0);
	ck_assert_uint_eq(v, 30);
	ck_assert_int_eq(sup_json_u64(r0, "slots", &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_ptr_nonnull(strstr(r0, "\"preset\":\"pool\""));
	ck_assert_ptr_nonnull(strstr(r0, "\"guess\":{\"made_unix_ms\":"));
	ck_assert_ptr_nonnull(strstr(r0, "\"predicted\":{\"formula\":"));
	ck_assert_ptr_nonnull(strstr(resp.body, "{\"current\":null,\"guess\":"
	                                        "null,"));

	/* A second run: no guess. */
	sup_sleep_ms(500);
	ld = lab_load("/part1/async", 4, 40);
	ck_assert_int_eq(load_wait_sent(ld, 40, 60000), 0);
	ck_assert_int_eq(load_wait_phase(ld, 0, 30000), 0);
	ck_assert_int_eq(load_stop(ld), 0);
	load_free(ld);
	runs_wait(2, 20000);
	ck_assert_ptr_nonnull(r0 = strstr(resp.body, "\"runs\":[{"));
	ck_assert_ptr_nonnull(r1 = strstr(r0 + 1, "{\"id\":1,"));
	p = strstr(r0, "\"guess\":");
	ck_assert_ptr_nonnull(p);
	ck_assert(p < r1);
	ck_assert_int_eq(strncmp(p, "\"guess\":null", 12), 0);

	/* The CSV: a header, then one row per run and route. */
	ck_assert_int_eq(sup_http(dash_port, "GET", "/api/runs?format=csv",
	                          NULL, &resp, 5000),
	                 0);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_nonnull(strstr(resp.headers, "text/csv"));
	for (p = resp.body; (p = strstr(p, "\r\n")) != NULL; p += 2)
		rows++;
	ck_assert_int_eq(rows, 3);
	ck_assert_ptr_nonnull(strstr(resp.body, "\r\n2,"));
	ck_assert_ptr_nonnull(strstr(resp.body, ",async,40,"));
	ck_assert_ptr_nonnull(strstr(resp.body, ",serial,300,"));
	ck_assert_int_eq(sup_http(dash_port, "GET", "/api/runs?format=xml",
	                          NULL, &resp, 5000),
	                 0);
	ck_assert_int_eq(resp.status, 400);
	lab_stop();
}
END_TEST

SUP_MAIN("lab", NULL, NULL, 120, test_runs_count_by_code,
         test_history_covers_the_window, test_merge_with_a_worker_killed,
         test_final_report_on_drain, test_experiment_rows)
