/*
 * ctl_print.c: mockresctl's human and JSON output of snapshots.
 */
#include <stdio.h>

#include <event2/buffer.h>

#include "ctl.h"
#include "names.h"
#include "statsjson.h"

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
	printf("clients    %u\n", s->clients_connected);
}

void
ctl_print_clients(const struct ctl *ctl, const Mockres__Stats *s)
{
	size_t i;

	if (ctl->json) {
		ctl_print_json_stats(s, 1);
		return;
	}
	printf("%-8s %-6s %-16s %-16s %9s %10s %10s %10s\n", "PID", "UID",
	       "ROLE", "NAME", "IN_FLIGHT", "ADMITTED", "REJECTED",
	       "COMPLETED");
	for (i = 0; i < s->n_clients; i++) {
		const Mockres__ClientInfo *c = s->clients[i];

		printf("%-8u %-6u %-16s %-16.16s %9llu %10llu %10llu %10llu\n",
		       c->pid, c->uid, names_role(c->role),
		       c->name && c->name[0] ? c->name : "-",
		       (unsigned long long)c->in_flight,
		       (unsigned long long)c->admitted,
		       (unsigned long long)c->rejected,
		       (unsigned long long)c->completed);
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
