/*
 * snapshot.c: the JSON snapshot of /events and /api/stats.  The fields of
 * mockresd's Stats come from statsjson.c, so they are named as in
 * mockresctl --json; the dashboard adds "average", "connected" and
 * "processes" (docs/design.md), and with extras: "t_ms" (the history's clock),
 * "answering" (false while mockresd, connected, sends nothing), "http"
 * (the workers' requests per route, traffic.c) and "run" (the run in
 * progress or null, with "runs_done", the id of the newest finished run).
 *
 * While mockresd is unreachable the snapshot is only what is known:
 * {"connected":false,"processes":[...]} (the dashboard itself) plus the
 * dashboard's own fields.  Every field that comes from mockresd, and the
 * average of its samples, is left out rather than repeated stale.
 */
#include "core.h"
#include "statsjson.h"

void
snapshot_json(struct evbuffer *out, const Mockres__Stats *s, int connected,
              const struct average *a, const struct procs *ps,
              const struct snapshot_extra *x)
{
	char avg[32];
	size_t i;

	if (connected) {
		average_format(a, avg, sizeof(avg));
		evbuffer_add(out, "{", 1);
		statsjson_fields(out, s);
		evbuffer_add_printf(out,
		                    ",\"average\":%s,\"connected\":true,"
		                    "\"processes\":[",
		                    avg);
	} else
		evbuffer_add_printf(out,
		                    "{\"connected\":false,\"processes\":[");
	for (i = 0; i < ps->n; i++) {
		const struct proc *p = &ps->p[i];

		evbuffer_add_printf(out, "%s{\"pid\":%d,\"role\":\"%s\",",
		                    i > 0 ? "," : "", (int)p->pid,
		                    procs_role_name(p->role));
		evbuffer_add(out, "\"host\":", 7);
		statsjson_string(out, p->host);
		evbuffer_add_printf(
		    out,
		    ",\"in_flight\":%llu,\"cpu_percent\":%.1f,\"rss_kb\":%llu}",
		    (unsigned long long)p->in_flight, p->cpu_percent,
		    (unsigned long long)p->rss_kb);
	}
	evbuffer_add(out, "]", 1);
	if (x != NULL) {
		evbuffer_add_printf(out, ",\"t_ms\":%llu,\"answering\":%s",
		                    (unsigned long long)x->t_ms,
		                    connected && x->answering ? "true"
		                                              : "false");
		if (x->http != NULL) {
			evbuffer_add(out, ",\"http\":", 8);
			evbuffer_add(out, evbuffer_pullup(x->http, -1),
			             evbuffer_get_length(x->http));
		}
		if (x->runs != NULL) {
			const struct run *last = runs_get(x->runs, 0);

			evbuffer_add_printf(
			    out, ",\"runs_done\":%llu,\"run\":",
			    (unsigned long long)(last ? last->id : 0));
			if (x->runs->in_run)
				runs_run_json(out, &x->runs->cur, 1);
			else
				evbuffer_add(out, "null", 4);
		}
	}
	evbuffer_add(out, "}", 1);
}
