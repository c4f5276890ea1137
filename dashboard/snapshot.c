/*
 * snapshot.c: the JSON snapshot of /events and /api/stats.  The fields of
 * mockresd's Stats come from statsjson.c, so they are named as in
 * mockresctl --json; the dashboard adds "average", "connected" and
 * "processes" (docs/design.md).
 */
#include "dashboard.h"
#include "statsjson.h"

void
snapshot_json(struct evbuffer *out, const Mockres__Stats *s, int connected,
              const struct average *a, const struct procs *ps)
{
	char avg[32];
	size_t i;

	average_format(a, avg, sizeof(avg));
	evbuffer_add(out, "{", 1);
	statsjson_fields(out, s);
	evbuffer_add_printf(out,
	                    ",\"average\":%s,\"connected\":%s,"
	                    "\"processes\":[",
	                    avg, connected ? "true" : "false");
	for (i = 0; i < ps->n; i++) {
		const struct proc *p = &ps->p[i];

		evbuffer_add_printf(
		    out,
		    "%s{\"pid\":%d,\"role\":\"%s\","
		    "\"in_flight\":%llu,\"cpu_percent\":%.1f,\"rss_kb\":%llu}",
		    i > 0 ? "," : "", (int)p->pid, procs_role_name(p->role),
		    (unsigned long long)p->in_flight, p->cpu_percent,
		    (unsigned long long)p->rss_kb);
	}
	evbuffer_add(out, "]}", 2);
}
