/*
 * metrics.c: GET /metrics in the Prometheus text exposition format 0.0.4:
 * one HELP and one TYPE line per family, counters ending in _total, label
 * values escaped (roles are fixed words, but the rule is kept).
 */
#include "core.h"

static void
metrics_family(struct evbuffer *out, const char *name, const char *type,
               const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	                    name, type);
}

static void
metrics_u64(struct evbuffer *out, const char *name, const char *type,
            const char *help, unsigned long long v)
{
	metrics_family(out, name, type, help);
	evbuffer_add_printf(out, "%s %llu\n", name, v);
}

/* A label value: backslash, double quote and newline escaped. */
static void
metrics_label(struct evbuffer *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(out, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, v, 1);
	}
}

/* Per-process samples: pid, role and host labels. */
static void
metrics_procs(struct evbuffer *out, const struct procs *ps, const char *name,
              const char *type, const char *help, int which)
{
	size_t i;

	metrics_family(out, name, type, help);
	for (i = 0; i < ps->n; i++) {
		const struct proc *p = &ps->p[i];

		evbuffer_add_printf(out, "%s{pid=\"%d\",role=\"%s\",host=\"",
		                    name, (int)p->pid,
		                    procs_role_name(p->role));
		metrics_label(out, p->host);
		evbuffer_add(out, "\"} ", 3);
		switch (which) {
		case 0:
			evbuffer_add_printf(out, "%.2f\n",
			                    procs_cpu_seconds(ps, p));
			break;
		case 1:
			evbuffer_add_printf(out, "%llu\n",
			                    (unsigned long long)p->rss_kb *
			                        1024);
			break;
		default:
			evbuffer_add_printf(out, "%llu\n",
			                    (unsigned long long)p->in_flight);
			break;
		}
	}
}

/* What mockresd reported in its last push. */
static void
metrics_resource(struct evbuffer *out, const Mockres__Stats *s)
{
	metrics_u64(out, "mockres_in_flight", "gauge",
	            "Uses of the mock resource in flight now.", s->in_flight);
	metrics_u64(out, "mockres_limit", "gauge",
	            "Most uses in flight at once (0 = no limit).", s->limit);
	metrics_u64(out, "mockres_peak", "gauge",
	            "Highest in-flight count since start or the last reset.",
	            s->peak);
	metrics_family(out, "mockres_hold_seconds", "gauge",
	               "How long each use holds the resource.");
	evbuffer_add_printf(out, "mockres_hold_seconds %u.%03u\n",
	                    s->hold_ms / 1000, s->hold_ms % 1000);
	metrics_u64(out, "mockres_admitted_total", "counter",
	            "Uses admitted since mockresd started.", s->admitted);
	metrics_u64(out, "mockres_rejected_total", "counter",
	            "Uses refused because the limit was reached.", s->rejected);
	metrics_u64(out, "mockres_completed_total", "counter",
	            "Uses whose hold has ended.", s->completed);
	metrics_u64(out, "mockres_clients", "gauge", "Connections to mockresd.",
	            s->clients_connected);
}

/*
 * While mockresd is unreachable (CONNECTED 0) only mockres_up 0 and what
 * the dashboard measures itself are exposed: Prometheus' convention is no
 * sample rather than a stale one, so the resource's families are left
 * out until mockresd is back.
 */
void
metrics_format(struct evbuffer *out, const Mockres__Stats *s, int connected,
               const struct procs *ps, size_t sse_clients, uint64_t sse_dropped)
{
	metrics_u64(out, "mockres_up", "gauge",
	            "1 if the dashboard is connected to mockresd.",
	            connected != 0);
	if (connected)
		metrics_resource(out, s);
	metrics_procs(out, ps, "mockres_process_cpu_seconds_total", "counter",
	              "User and system CPU time of the process.", 0);
	metrics_procs(out, ps, "mockres_process_resident_memory_bytes", "gauge",
	              "Resident memory of the process.", 1);
	metrics_procs(out, ps, "mockres_process_in_flight", "gauge",
	              "Uses in flight on behalf of the process.", 2);
	metrics_u64(out, "mockres_dashboard_sse_clients", "gauge",
	            "Browsers on the event stream.", sse_clients);
	metrics_u64(out, "mockres_dashboard_sse_dropped_total", "counter",
	            "Browsers cut off for falling too far behind.",
	            sse_dropped);
}

/*
 * The frontend workers' requests (docs/design.md): mockres_http_requests_total
 * by route and code, and mockres_http_request_duration_seconds by route,
 * a histogram with these fixed upper bounds.  Each _bucket count comes
 * from the log-linear histogram at its resolution (hist_count_le): a
 * request within 1/32 below a bound may be counted above it.  Nothing is
 * written before mockresd has answered the first HTTP stats request.
 */
static const struct {
	const char *le;
	uint64_t us;
} metrics_les[] = {
    {"0.0001", 100},  {"0.00025", 250}, {"0.0005", 500},  {"0.001", 1000},
    {"0.0025", 2500}, {"0.005", 5000},  {"0.01", 10000},  {"0.025", 25000},
    {"0.05", 50000},  {"0.1", 100000},  {"0.25", 250000}, {"0.5", 500000},
    {"0.75", 750000}, {"1", 1000000},   {"2.5", 2500000}, {"5", 5000000},
    {"10", 10000000}, {"30", 30000000}, {"60", 60000000},
};

void
metrics_http(struct evbuffer *out, const struct traffic *t)
{
	const char *name;
	uint32_t c;
	size_t i;
	int r;

	if (!t->valid)
		return;
	metrics_family(out, "mockres_http_requests_total", "counter",
	               "HTTP requests answered by the frontend workers, by "
	               "route and status (code=\"other\" past 15 distinct).");
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct httpstats_route *rt = &t->total.route[r];

		name = httpstats_route_name((enum httpstats_route_id)r);
		for (c = 0; c < rt->ncodes; c++) {
			if (rt->code[c] == 0)
				evbuffer_add_printf(
				    out,
				    "mockres_http_requests_total{route=\"%s\","
				    "code=\"other\"} %llu\n",
				    name, (unsigned long long)rt->count[c]);
			else
				evbuffer_add_printf(
				    out,
				    "mockres_http_requests_total{route=\"%s\","
				    "code=\"%u\"} %llu\n",
				    name, rt->code[c],
				    (unsigned long long)rt->count[c]);
		}
	}
	metrics_family(out, "mockres_http_request_duration_seconds",
	               "histogram",
	               "Time from the request parsed to the last byte of its "
	               "answer handed to the kernel, by route.");
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct hist *h = &t->total.route[r].latency;

		name = httpstats_route_name((enum httpstats_route_id)r);
		for (i = 0; i < sizeof(metrics_les) / sizeof(metrics_les[0]);
		     i++)
			evbuffer_add_printf(
			    out,
			    "mockres_http_request_duration_seconds_bucket{"
			    "route=\"%s\",le=\"%s\"} %llu\n",
			    name, metrics_les[i].le,
			    (unsigned long long)hist_count_le(
			        h, metrics_les[i].us));
		evbuffer_add_printf(
		    out,
		    "mockres_http_request_duration_seconds_bucket{route=\"%s\","
		    "le=\"+Inf\"} %llu\n"
		    "mockres_http_request_duration_seconds_sum{route=\"%s\"} "
		    "%.6f\n"
		    "mockres_http_request_duration_seconds_count{route=\"%s\"} "
		    "%llu\n",
		    name, (unsigned long long)h->count, name,
		    (double)h->sum_us / 1e6, name,
		    (unsigned long long)h->count);
	}
	metrics_u64(out, "mockres_http_reporters", "gauge",
	            "Frontend workers reporting their requests now.",
	            t->reporters);
	metrics_u64(out, "mockres_http_reporters_departed", "gauge",
	            "Workers gone whose last report is still counted.",
	            t->departed);
}

/* One summary from the engine's percentiles (milliseconds). */
static void
metrics_summary(struct evbuffer *out, const char *name, const char *help,
                const Mockres__Percentiles *p)
{
	metrics_family(out, name, "summary", help);
	evbuffer_add_printf(out,
	                    "%s{quantile=\"0.5\"} %.6f\n"
	                    "%s{quantile=\"0.9\"} %.6f\n"
	                    "%s{quantile=\"0.99\"} %.6f\n"
	                    "%s_sum %.6f\n%s_count %llu\n",
	                    name, p->p50 / 1000.0, name, p->p90 / 1000.0, name,
	                    p->p99 / 1000.0, name,
	                    p->mean * (double)p->count / 1000.0, name,
	                    (unsigned long long)p->count);
}

/* The resource engine's queue (docs/design.md): written once mockresd sends
 * those fields. */
void
metrics_engine(struct evbuffer *out, const Mockres__Stats *s)
{
	if (s->has_waiting)
		metrics_u64(out, "mockres_waiting", "gauge",
		            "Uses waiting in the queue for a slot.",
		            s->waiting);
	if (s->has_peak_waiting)
		metrics_u64(out, "mockres_peak_waiting", "gauge",
		            "Most uses waiting at once since start or the last "
		            "reset.",
		            s->peak_waiting);
	if (s->has_timed_out)
		metrics_u64(out, "mockres_timed_out_total", "counter",
		            "Waiting uses that left with TIMEOUT.",
		            s->timed_out);
	if (s->has_cancelled)
		metrics_u64(out, "mockres_cancelled_total", "counter",
		            "Waiting uses whose client disconnected.",
		            s->cancelled);
	if (s->wait_ms != NULL)
		metrics_summary(out, "mockres_wait_seconds",
		                "Time each use waited for a slot.", s->wait_ms);
	if (s->service_ms != NULL)
		metrics_summary(out, "mockres_service_seconds",
		                "Time each use held a slot.", s->service_ms);
}
