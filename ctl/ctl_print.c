/*
 * ctl_print.c: mockresctl's human and JSON output of snapshots.
 */
#include <stdio.h>

#include <event2/buffer.h>

#include <string.h>

#include "ctl.h"
#include "model.h"
#include "names.h"
#include "statsjson.h"

static void ctl_print_percentiles(const char *, const Mockres__Percentiles *);
static void ctl_print_model_line(const Mockres__Stats *, char *, size_t);

static void
ctl_print_evbuffer(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);

	fwrite(evbuffer_pullup(b, -1), 1, n, stdout);
}

void
ctl_print_json_stats(const Mockres__Stats *s, int with_clients)
{
	struct evbuffer *b = evbuffer_new();
	size_t i;

	if (b == NULL)
		return;
	evbuffer_add(b, "{", 1);
	statsjson_fields(b, s);
	if (with_clients) {
		evbuffer_add_printf(b, ",\"clients\":[");
		for (i = 0; i < s->n_clients; i++) {
			if (i > 0)
				evbuffer_add(b, ",", 1);
			statsjson_client(b, s->clients[i]);
		}
		evbuffer_add(b, "]", 1);
	}
	evbuffer_add(b, "}\n", 2);
	ctl_print_evbuffer(b);
	evbuffer_free(b);
	fflush(stdout);
}

static void
ctl_print_duration(unsigned long long ms)
{
	unsigned long long s = ms / 1000;

	if (s >= 3600)
		printf("%lluh%02llum%02llus", s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		printf("%llum%02llus", s / 60, s % 60);
	else
		printf("%llu.%03llus", s, ms % 1000);
}

void
ctl_print_status(const struct ctl *ctl, const Mockres__Stats *s)
{
	if (ctl->json) {
		ctl_print_json_stats(s, 0);
		return;
	}
	printf("mockresd pid %u, up ", s->daemon_pid);
	ctl_print_duration((unsigned long long)s->uptime_ms);
	printf("%s\n", s->shutting_down ? ", shutting down" : "");
	printf("in flight  %llu\n", (unsigned long long)s->in_flight);
	printf("peak       %llu\n", (unsigned long long)s->peak);
	if (s->limit == 0)
		printf("limit      none\n");
	else
		printf("limit      %u\n", s->limit);
	printf("hold       %u ms\n", s->hold_ms);
	printf("admitted   %llu\n", (unsigned long long)s->admitted);
	printf("rejected   %llu\n", (unsigned long long)s->rejected);
	printf("completed  %llu\n", (unsigned long long)s->completed);
	if (s->has_waiting) {
		printf("waiting    %llu (peak %llu)\n",
		       (unsigned long long)s->waiting,
		       (unsigned long long)s->peak_waiting);
		printf("timed out  %llu\n", (unsigned long long)s->timed_out);
		printf("cancelled  %llu\n", (unsigned long long)s->cancelled);
	}
	printf("clients    %u\n", s->clients_connected);
	if (s->model != NULL) {
		char line[512];

		ctl_print_model_line(s, line, sizeof(line));
		printf("model      %s\n", line);
	}
	/* As the page's model line: no column of zeros for a model in
	 * which nothing has waited. */
	if (s->wait_ms != NULL && s->wait_ms->count > 0 && s->wait_ms->max == 0)
		printf("wait       no waits yet (%llu uses)\n",
		       (unsigned long long)s->wait_ms->count);
	else
		ctl_print_percentiles("wait", s->wait_ms);
	ctl_print_percentiles("service", s->service_ms);
}

static void
ctl_print_percentiles(const char *what, const Mockres__Percentiles *p)
{
	if (p == NULL || p->count == 0)
		return;
	printf("%-10s p50 %.1f  p90 %.1f  p99 %.1f  max %.1f ms (%llu "
	       "uses)\n",
	       what, p->p50, p->p90, p->p99, p->max,
	       (unsigned long long)p->count);
}

/* The preset's name and the keys that differ from it, or every key that
 * differs from the defaults: "pool", "pool queue-timeout-ms=1000". */
static void
ctl_print_model_line(const Mockres__Stats *s, char *buf, size_t len)
{
	struct model m, base;
	char err[MODEL_ERR_MAX], a[64], b[64];
	const char *preset = s->preset && s->preset[0] ? s->preset : NULL;
	size_t i, off = 0;

	model_defaults(&m, 1);
	if (model_from_pb(&m, s->model, err, sizeof(err)) == -1) {
		snprintf(buf, len, "(unreadable: %s)", err);
		return;
	}
	model_defaults(&base, m.cores);
	off += (size_t)snprintf(buf, len, "%s", preset ? preset : "custom:");
	if (preset != NULL)
		model_preset(&base, preset, m.cores);
	for (i = 0; i < model_nkeys() && off < len; i++) {
		model_key_format(&m, i, a, sizeof(a));
		model_key_format(&base, i, b, sizeof(b));
		if (strcmp(a, b) != 0)
			off += (size_t)snprintf(buf + off, len - off, " %s=%s",
			                        model_key_name(i), a);
	}
}

/* "pool: a database connection pool (...)", or "none (custom)". */
static const char *
ctl_print_preset_summary(const char *name)
{
	static char line[160];
	const struct model_preset_info *p;
	size_t i, n;

	if (name == NULL || name[0] == '\0')
		return "none (custom)";
	p = model_presets(&n);
	for (i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0)
			break;
	snprintf(line, sizeof(line), "%s%s%s", name, i < n ? ": " : "",
	         i < n ? p[i].summary : "");
	return line;
}

void
ctl_print_model(const struct ctl *ctl, const Mockres__Stats *s)
{
	struct model m;
	char err[MODEL_ERR_MAX], v[64];
	size_t i;

	if (ctl->json) {
		ctl_print_json_stats(s, 0);
		return;
	}
	model_defaults(&m, 1);
	if (model_from_pb(&m, s->model, err, sizeof(err)) == -1) {
		fprintf(stderr,
		        "mockresctl: mockresd sent a model this "
		        "mockresctl cannot read: %s\n",
		        err);
		return;
	}
	printf("preset: %s\n", ctl_print_preset_summary(s->preset));
	for (i = 0; i < model_nkeys(); i++) {
		model_key_format(&m, i, v, sizeof(v));
		printf("  %-18s %-10s %s\n", model_key_name(i), v,
		       model_key_help(i));
	}
}

void
ctl_print_clients(const struct ctl *ctl, const Mockres__Stats *s)
{
	int w = 4; /* the NAME column: as wide as the longest name */
	size_t i;

	if (ctl->json) {
		ctl_print_json_stats(s, 1);
		return;
	}
	for (i = 0; i < s->n_clients; i++)
		if (s->clients[i]->name != NULL &&
		    (int)strlen(s->clients[i]->name) > w)
			w = (int)strlen(s->clients[i]->name);
	printf("%-8s %-6s %-16s %-*s %9s %10s %10s %10s  %s\n", "PID", "UID",
	       "ROLE", w, "NAME", "IN_FLIGHT", "ADMITTED", "REJECTED",
	       "COMPLETED", "HOST");
	for (i = 0; i < s->n_clients; i++) {
		const Mockres__ClientInfo *c = s->clients[i];
		char uid[16];

		/* Over TLS: no uid; the certificate's CN instead. */
		if (c->has_uid)
			snprintf(uid, sizeof(uid), "%u", c->uid);
		else
			snprintf(uid, sizeof(uid), "-");
		printf("%-8u %-6s %-16s %-*s %9llu %10llu %10llu %10llu  "
		       "%s%s%s\n",
		       c->pid, uid, names_role(c->role), w,
		       c->name && c->name[0] ? c->name : "-",
		       (unsigned long long)c->in_flight,
		       (unsigned long long)c->admitted,
		       (unsigned long long)c->rejected,
		       (unsigned long long)c->completed,
		       c->host && c->host[0] ? c->host : "-",
		       c->cn ? " CN=" : "", c->cn ? c->cn : "");
	}
	if (s->clients_connected > s->n_clients)
		printf("(%u more not listed)\n",
		       (unsigned)(s->clients_connected - s->n_clients));
}

/* One line for watch. */
void
ctl_print_line(const Mockres__Stats *s, char *buf, size_t len)
{
	char limit[16];

	if (s->limit == 0)
		snprintf(limit, sizeof(limit), "none");
	else
		snprintf(limit, sizeof(limit), "%u", s->limit);
	snprintf(buf, len,
	         "in flight %llu  peak %llu  limit %s  admitted %llu"
	         "  rejected %llu  completed %llu",
	         (unsigned long long)s->in_flight, (unsigned long long)s->peak,
	         limit, (unsigned long long)s->admitted,
	         (unsigned long long)s->rejected,
	         (unsigned long long)s->completed);
}
