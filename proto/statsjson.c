/*
 * statsjson.c: Stats -> JSON.
 */
#include "names.h"
#include "statsjson.h"

void
statsjson_fields(struct evbuffer *out, const Mockres__Stats *s)
{
	evbuffer_add_printf(
	    out,
	    "\"in_flight\":%llu,\"limit\":%u,\"peak\":%llu,"
	    "\"admitted\":%llu,\"rejected\":%llu,\"completed\":%llu,"
	    "\"hold_ms\":%u,\"uptime_ms\":%llu,\"daemon_pid\":%u,"
	    "\"clients_connected\":%u,\"shutting_down\":%s",
	    (unsigned long long)s->in_flight, s->limit,
	    (unsigned long long)s->peak, (unsigned long long)s->admitted,
	    (unsigned long long)s->rejected, (unsigned long long)s->completed,
	    s->hold_ms, (unsigned long long)s->uptime_ms, s->daemon_pid,
	    s->clients_connected, s->shutting_down ? "true" : "false");
}

void
statsjson_string(struct evbuffer *out, const char *s)
{
	const unsigned char *p;

	evbuffer_add(out, "\"", 1);
	for (p = (const unsigned char *)(s ? s : ""); *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			evbuffer_add_printf(out, "\\u%04x", *p);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

void
statsjson_client(struct evbuffer *out, const Mockres__ClientInfo *ci)
{
	evbuffer_add_printf(out,
	                    "{\"pid\":%u,\"uid\":%u,\"role\":\"%s\","
	                    "\"name\":",
	                    ci->pid, ci->uid, names_role(ci->role));
	statsjson_string(out, ci->name);
	evbuffer_add_printf(out,
	                    ",\"in_flight\":%llu,\"admitted\":%llu,"
	                    "\"rejected\":%llu,\"completed\":%llu}",
	                    (unsigned long long)ci->in_flight,
	                    (unsigned long long)ci->admitted,
	                    (unsigned long long)ci->rejected,
	                    (unsigned long long)ci->completed);
}
