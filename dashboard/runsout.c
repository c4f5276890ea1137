/*
 * runsout.c: the runs as JSON (GET /api/runs; the snapshot's "run") and as
 * CSV (GET /api/runs?format=csv), formatted into a buffer: nothing here
 * knows HTTP.
 *
 * A run in JSON: its times, counts and latencies by route, CPU and memory
 * by role, and the experiment: "clients", "setup" (with "line", the one
 * the page shows), "changed", "guess", "predicted" (or null and
 * "predicted_why") and "spark", its own chart (the highest in_flight and
 * waiting per step).  The snapshot's copy ("compact") leaves out the
 * setup's model object and hosts: the event goes to every browser five
 * times a second.
 *
 * The CSV has one row per finished run and route, newest run first, a header
 * row, RFC 4180 quoting, and text fields that could start a spreadsheet formula
 * prefixed with an apostrophe.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "statsjson.h"

static void
runsout_ms(struct evbuffer *out, const char *key, uint64_t us)
{
	evbuffer_add_printf(out, ",\"%s\":%.3f", key, (double)us / 1000.0);
}

/* ,"KEY":V or ,"KEY":null for a figure that is not known (< 0). */
static void
runsout_num(struct evbuffer *out, const char *key, double v, int dec)
{
	if (v >= 0)
		evbuffer_add_printf(out, ",\"%s\":%.*f", key, dec, v);
	else
		evbuffer_add_printf(out, ",\"%s\":null", key);
}

static void
runsout_setup(struct evbuffer *out, const struct run_setup *su, int compact)
{
	char line[160];
	uint32_t i;

	runs_setup_line(su, line, sizeof(line));
	evbuffer_add(out, ",\"setup\":{\"line\":", 17);
	statsjson_string(out, line);
	evbuffer_add(out, ",\"preset\":", 10);
	if (su->known && su->preset[0] != '\0')
		statsjson_string(out, su->preset);
	else
		evbuffer_add(out, "null", 4);
	evbuffer_add_printf(out, ",\"limit\":%u,\"workers\":%u", su->limit,
	                    su->workers);
	if (!compact) {
		evbuffer_add(out, ",\"hosts\":[", 10);
		for (i = 0; i < su->nhosts; i++) {
			if (i > 0)
				evbuffer_add(out, ",", 1);
			statsjson_string(out, su->hosts[i]);
		}
		evbuffer_add(out, "],\"model\":", 10);
		if (su->known)
			statsjson_model_object(out, &su->model);
		else
			evbuffer_add(out, "null", 4);
	}
	evbuffer_add(out, "}", 1);
}

static void
runsout_predicted(struct evbuffer *out, const struct prediction *p)
{
	if (!p->ok) {
		evbuffer_add(out, ",\"predicted\":null,\"predicted_why\":", 34);
		statsjson_string(out, p->why);
		return;
	}
	evbuffer_add(out, ",\"predicted\":{\"formula\":", 24);
	statsjson_string(out, p->formula);
	runsout_num(out, "duration_ms", p->duration_ms, 1);
	runsout_num(out, "req_per_s", p->req_per_s, 2);
	runsout_num(out, "mean_ms", p->mean_ms, 2);
	runsout_num(out, "peak_in_flight", p->peak_in_flight, 0);
	runsout_num(out, "peak_waiting", p->peak_waiting, 0);
	runsout_num(out, "failed", p->failed, 0);
	evbuffer_add(out, "}", 1);
}

static void
runsout_spark(struct evbuffer *out, const struct run *run)
{
	size_t i;
	int waited = 0;

	evbuffer_add_printf(out,
	                    ",\"spark\":{\"from_ms\":%llu,\"to_ms\":%llu,"
	                    "\"in_flight\":[",
	                    (unsigned long long)run->spark_from_ms,
	                    (unsigned long long)run->spark_to_ms);
	for (i = 0; i < RUN_SPARK; i++) {
		evbuffer_add_printf(out, "%s%u", i ? "," : "",
		                    run->spark_in[i]);
		waited |= run->spark_wait[i] != 0;
	}
	/* No queue, no second series: the page draws none. */
	evbuffer_add(out, "],\"waiting\":[", 13);
	for (i = 0; waited && i < RUN_SPARK; i++)
		evbuffer_add_printf(out, "%s%u", i ? "," : "",
		                    run->spark_wait[i]);
	evbuffer_add(out, "]}", 2);
}

static void
runsout_run(struct evbuffer *out, const struct run *run, int running,
            int compact)
{
	uint64_t dur = run->end_us - run->start_us;
	uint32_t c;
	int r;

	evbuffer_add_printf(
	    out,
	    "{\"id\":%llu,\"running\":%s,\"start_unix_ms\":%lld,"
	    "\"start_ms\":%llu,\"end_ms\":%llu,\"duration_ms\":%.3f,"
	    "\"requests\":%llu,\"req_per_s\":%.1f,\"clients\":%u,"
	    "\"peak_in_flight\":%llu,\"peak_waiting\":%llu,\"clipped\":%s",
	    (unsigned long long)run->id, running ? "true" : "false",
	    (long long)run->start_unix_ms,
	    (unsigned long long)(run->start_us / 1000),
	    (unsigned long long)(run->end_us / 1000), (double)dur / 1000.0,
	    (unsigned long long)run->requests,
	    dur > 0 ? (double)run->requests * 1e6 / (double)dur : 0.0,
	    run->clients, (unsigned long long)run->peak_in_flight,
	    (unsigned long long)run->peak_waiting,
	    run->clipped ? "true" : "false");
	runsout_setup(out, &run->setup, compact);
	evbuffer_add(out, ",\"changed\":", 11);
	if (run->changed[0] != '\0')
		statsjson_string(out, run->changed);
	else
		evbuffer_add(out, "null", 4);
	evbuffer_add(out, ",\"guess\":", 9);
	guess_json(out, &run->guess);
	runsout_predicted(out, &run->predicted);
	evbuffer_add(out, ",\"routes\":{", 11);
	for (r = 0, c = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct run_route *rr = &run->route[r];
		uint32_t k;

		if (rr->requests == 0)
			continue;
		evbuffer_add_printf(
		    out,
		    "%s\"%s\":{\"requests\":%llu,\"req_per_s\":%.1f,"
		    "\"codes\":{",
		    c++ ? "," : "",
		    httpstats_route_name((enum httpstats_route_id)r),
		    (unsigned long long)rr->requests,
		    dur > 0 ? (double)rr->requests * 1e6 / (double)dur : 0.0);
		for (k = 0; k < rr->ncodes; k++)
			evbuffer_add_printf(out, "%s\"%u\":%llu", k ? "," : "",
			                    rr->code[k],
			                    (unsigned long long)rr->count[k]);
		evbuffer_add(out, "},\"latency_ms\":{", 16);
		evbuffer_add_printf(out, "\"mean\":%.3f", rr->mean_us / 1000.0);
		runsout_ms(out, "p50", rr->p50_us);
		runsout_ms(out, "p90", rr->p90_us);
		runsout_ms(out, "p99", rr->p99_us);
		runsout_ms(out, "max", rr->max_us);
		evbuffer_add(out, "}}", 2);
	}
	evbuffer_add(out, "},\"roles\":{", 11);
	for (r = 0; r < PROC_ROLES; r++)
		evbuffer_add_printf(
		    out, "%s\"%s\":{\"cpu_s\":%.2f,\"peak_rss_kb\":%llu}",
		    r ? "," : "", procs_role_name((enum proc_role)r),
		    run->cpu_s[r], (unsigned long long)run->peak_rss_kb[r]);
	evbuffer_add(out, "}", 1);
	runsout_spark(out, run);
	evbuffer_add(out, "}", 1);
}

void
runs_run_json(struct evbuffer *out, const struct run *run, int running)
{
	runsout_run(out, run, running, running);
}

/* GET /api/runs: the run in progress (or null), then the last RUNS_MAX,
 * newest first, and the guess waiting for the next run. */
void
runs_json(struct evbuffer *out, const struct runs *rs)
{
	size_t i;

	evbuffer_add(out, "{\"current\":", 11);
	if (rs->in_run)
		runsout_run(out, &rs->cur, 1, 0);
	else
		evbuffer_add(out, "null", 4);
	evbuffer_add(out, ",\"guess\":", 9);
	guess_json(out, &rs->guess);
	evbuffer_add(out, ",\"runs\":[", 9);
	for (i = 0; i < rs->n; i++) {
		if (i > 0)
			evbuffer_add(out, ",", 1);
		runsout_run(out, runs_get(rs, i), 0, 0);
	}
	evbuffer_add(out, "]}\n", 3);
}

/* ---- CSV ------------------------------------------------------------ */

/* One text field: quoted if it must be, never read as a formula. */
static void
runsout_csv_text(struct evbuffer *out, const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0') {
		evbuffer_add(out, ",", 1);
		return;
	}
	evbuffer_add(out, ",\"", 2);
	if (strchr("=+-@\t\r", s[0]) != NULL)
		evbuffer_add(out, "'", 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			evbuffer_add(out, "\"\"", 2);
		else if (*p == '\n' || *p == '\r')
			evbuffer_add(out, " ", 1);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

static void
runsout_csv_num(struct evbuffer *out, double v, int dec)
{
	if (v >= 0)
		evbuffer_add_printf(out, ",%.*f", dec, v);
	else
		evbuffer_add(out, ",", 1);
}

static const char runsout_csv_head[] =
    "run,start_utc,route,requests,duration_ms,req_per_s,clients,"
    "codes,failed,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,peak_in_flight,"
    "peak_waiting,setup,preset,limit,workers,changed,guess_route,"
    "guess_duration_ms,guess_req_per_s,guess_peak_in_flight,guess_failed,"
    "predicted_duration_ms,predicted_req_per_s,predicted_mean_ms,"
    "predicted_peak_in_flight,predicted_failed,predicted_formula,"
    "predicted_why,cpu_s_mockresd,cpu_s_frontend_workers,cpu_s_dashboard,"
    "peak_rss_kb_mockresd,peak_rss_kb_frontend_workers\r\n";

static void
runsout_csv_row(struct evbuffer *out, const struct run *run, int r)
{
	const struct run_route *rr = &run->route[r];
	const struct prediction *p = &run->predicted;
	const struct guess *g = &run->guess;
	uint64_t dur = run->end_us - run->start_us, failed = rr->requests;
	time_t secs = (time_t)(run->start_unix_ms / 1000);
	char when[32], codes[HTTPSTATS_CODES * 24], line[160];
	struct tm tm;
	size_t off = 0;
	uint32_t k;

	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	codes[0] = '\0';
	for (k = 0; k < rr->ncodes && off < sizeof(codes); k++) {
		off += (size_t)snprintf(codes + off, sizeof(codes) - off,
		                        "%s%u:%llu", k ? " " : "", rr->code[k],
		                        (unsigned long long)rr->count[k]);
		if (rr->code[k] >= 200 && rr->code[k] < 300)
			failed -= rr->count[k];
	}
	runs_setup_line(&run->setup, line, sizeof(line));
	evbuffer_add_printf(
	    out, "%llu,%s.%03dZ,%s,%llu,%.3f,%.2f,%u",
	    (unsigned long long)run->id, when, (int)(run->start_unix_ms % 1000),
	    httpstats_route_name((enum httpstats_route_id)r),
	    (unsigned long long)rr->requests, (double)dur / 1000.0,
	    dur > 0 ? (double)rr->requests * 1e6 / (double)dur : 0.0,
	    run->clients);
	runsout_csv_text(out, codes);
	evbuffer_add_printf(
	    out, ",%llu,%.3f,%.3f,%.3f,%.3f,%.3f,%llu,%llu",
	    (unsigned long long)failed, (double)rr->p50_us / 1000.0,
	    (double)rr->p90_us / 1000.0, (double)rr->p99_us / 1000.0,
	    (double)rr->max_us / 1000.0, rr->mean_us / 1000.0,
	    (unsigned long long)run->peak_in_flight,
	    (unsigned long long)run->peak_waiting);
	runsout_csv_text(out, line);
	runsout_csv_text(out, run->setup.known ? run->setup.preset : "");
	evbuffer_add_printf(out, ",%u,%u", run->setup.limit,
	                    run->setup.workers);
	runsout_csv_text(out, run->changed);
	runsout_csv_text(
	    out, g->set && g->route >= 0
	             ? httpstats_route_name((enum httpstats_route_id)g->route)
	             : "");
	runsout_csv_num(out, g->set ? g->duration_ms : -1, 1);
	runsout_csv_num(out, g->set ? g->req_per_s : -1, 2);
	runsout_csv_num(out, g->set ? g->peak_in_flight : -1, 0);
	runsout_csv_num(out, g->set ? g->failed : -1, 0);
	runsout_csv_num(out, p->ok ? p->duration_ms : -1, 1);
	runsout_csv_num(out, p->ok ? p->req_per_s : -1, 2);
	runsout_csv_num(out, p->ok ? p->mean_ms : -1, 2);
	runsout_csv_num(out, p->ok ? p->peak_in_flight : -1, 0);
	runsout_csv_num(out, p->ok ? p->failed : -1, 0);
	runsout_csv_text(out, p->ok ? p->formula : "");
	runsout_csv_text(out, p->ok ? "" : p->why);
	evbuffer_add_printf(
	    out, ",%.2f,%.2f,%.2f,%llu,%llu\r\n", run->cpu_s[PROC_DAEMON],
	    run->cpu_s[PROC_FRONTEND_WORKER], run->cpu_s[PROC_DASHBOARD],
	    (unsigned long long)run->peak_rss_kb[PROC_DAEMON],
	    (unsigned long long)run->peak_rss_kb[PROC_FRONTEND_WORKER]);
}

void
runs_csv(struct evbuffer *out, const struct runs *rs)
{
	const struct run *run;
	size_t i;
	int r;

	evbuffer_add(out, runsout_csv_head, sizeof(runsout_csv_head) - 1);
	for (i = 0; i < rs->n; i++) {
		run = runs_get(rs, i);
		for (r = 0; r < HTTPSTATS_ROUTES; r++)
			if (run->route[r].requests > 0)
				runsout_csv_row(out, run, r);
	}
}
