/*
 * statsjson.c: Stats -> JSON.
 */
#include <string.h>

#include "model.h"
#include "names.h"
#include "statsjson.h"

static void
statsjson_percentiles(struct evbuffer *out, const char *name,
                      const Mockres__Percentiles *p)
{
	if (p == NULL)
		return;
	evbuffer_add_printf(out,
	                    ",\"%s\":{\"p50\":%.3f,\"p90\":%.3f,"
	                    "\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f,"
	                    "\"count\":%llu}",
	                    name, p->p50, p->p90, p->p99, p->max, p->mean,
	                    (unsigned long long)p->count);
}

void
statsjson_model_object(struct evbuffer *out, const struct model *m)
{
	char name[32], value[64];
	size_t i, j;

	evbuffer_add(out, "{", 1);
	for (i = 0; i < model_nkeys(); i++) {
		const char *key = model_key_name(i);

		for (j = 0; key[j] != '\0' && j + 1 < sizeof(name); j++)
			name[j] = (char)(key[j] == '-' ? '_' : key[j]);
		name[j] = '\0';
		model_key_format(m, i, value, sizeof(value));
		evbuffer_add_printf(out, "%s\"%s\":", i ? "," : "", name);
		if (strchr("0123456789", value[0]) != NULL)
			evbuffer_add(out, value, strlen(value));
		else
			statsjson_string(out, value);
	}
	evbuffer_add(out, "}", 1);
}

/* ,"model":{...}, unless PB is not a model this build knows. */
static void
statsjson_model(struct evbuffer *out, const Mockres__Model *pb)
{
	struct model m;
	char err[MODEL_ERR_MAX];

	if (pb == NULL)
		return;
	model_defaults(&m, 1);
	if (model_from_pb(&m, pb, err, sizeof(err)) == -1)
		return;
	evbuffer_add(out, ",\"model\":", 9);
	statsjson_model_object(out, &m);
}

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
	if (s->has_waiting)
		evbuffer_add_printf(out,
		                    ",\"waiting\":%llu,\"peak_waiting\":%llu,"
		                    "\"timed_out\":%llu,\"cancelled\":%llu",
		                    (unsigned long long)s->waiting,
		                    (unsigned long long)s->peak_waiting,
		                    (unsigned long long)s->timed_out,
		                    (unsigned long long)s->cancelled);
	if (s->has_setup_changes)
		evbuffer_add_printf(out, ",\"setup_changes\":%llu",
		                    (unsigned long long)s->setup_changes);
	statsjson_model(out, s->model);
	if (s->model != NULL) {
		evbuffer_add(out, ",\"preset\":", 10);
		if (s->preset != NULL && s->preset[0] != '\0')
			statsjson_string(out, s->preset);
		else
			evbuffer_add(out, "null", 4);
	}
	statsjson_percentiles(out, "wait_ms", s->wait_ms);
	statsjson_percentiles(out, "service_ms", s->service_ms);
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
	evbuffer_add_printf(out, "{\"pid\":%u,", ci->pid);
	if (ci->has_uid)
		evbuffer_add_printf(out, "\"uid\":%u,", ci->uid);
	else
		evbuffer_add(out, "\"uid\":null,", 11);
	evbuffer_add_printf(out,
	                    "\"role\":\"%s\",\"name\":", names_role(ci->role));
	statsjson_string(out, ci->name);
	evbuffer_add(out, ",\"host\":", 8);
	statsjson_string(out, ci->host);
	if (ci->cn != NULL) {
		evbuffer_add(out, ",\"cn\":", 6);
		statsjson_string(out, ci->cn);
	}
	evbuffer_add_printf(
	    out,
	    ",\"in_flight\":%llu,\"admitted\":%llu,"
	    "\"rejected\":%llu,\"completed\":%llu,"
	    "\"waiting\":%llu,\"timed_out\":%llu,"
	    "\"cancelled\":%llu}",
	    (unsigned long long)ci->in_flight, (unsigned long long)ci->admitted,
	    (unsigned long long)ci->rejected, (unsigned long long)ci->completed,
	    (unsigned long long)ci->waiting, (unsigned long long)ci->timed_out,
	    (unsigned long long)ci->cancelled);
}
