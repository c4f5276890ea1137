/*
 * metrics.c: GET /metrics in the Prometheus text exposition format 0.0.4:
 * one HELP and one TYPE line per family, counters ending in _total, label
 * values escaped (roles are fixed words, but the rule is kept).
 */
#include "dashboard.h"

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

/* Per-process samples: pid and role labels. */
static void
metrics_procs(struct evbuffer *out, const struct procs *ps, const char *name,
              const char *type, const char *help, int which)
{
	size_t i;

	metrics_family(out, name, type, help);
	for (i = 0; i < ps->n; i++) {
		const struct proc *p = &ps->p[i];

		evbuffer_add_printf(out, "%s{pid=\"%d\",role=\"%s\"} ", name,
		                    (int)p->pid, procs_role_name(p->role));
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

void
metrics_format(struct evbuffer *out, const Mockres__Stats *s, int connected,
               const struct procs *ps, size_t sse_clients, uint64_t sse_dropped)
{
	metrics_u64(out, "mockres_up", "gauge",
	            "1 if the dashboard is connected to mockresd.",
	            connected != 0);
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
