/*
 * test_dashboard_snapshot.c: the JSON snapshot of /events and /api/stats,
 * with the names docs/design.md fixes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "dashboard.h"

static void
fill(Mockres__Stats *s, struct average *a, struct procs *ps)
{
	int i;

	mockres__stats__init(s);
	s->in_flight = 3;
	s->limit = 15;
	s->peak = 15;
	s->admitted = 120;
	s->rejected = 4;
	s->completed = 117;
	s->hold_ms = 500;
	s->uptime_ms = 81234;
	s->daemon_pid = 811;
	s->clients_connected = 5;
	average_reset(a);
	for (i = 0; i < 10; i++)
		average_add(a, 3);
	average_add(a, 2);
	procs_init(ps);
	ps->n = 2;
	ps->p[0].pid = 811;
	ps->p[0].role = PROC_DAEMON;
	ps->p[0].in_flight = 3;
	ps->p[0].cpu_percent = 1.26;
	ps->p[0].rss_kb = 1900;
	snprintf(ps->p[0].host, sizeof(ps->p[0].host), "res1");
	ps->p[1].pid = 812;
	snprintf(ps->p[1].host, sizeof(ps->p[1].host), "fe\"1");
	ps->p[1].role = PROC_FRONTEND_WORKER;
	ps->p[1].in_flight = 2;
	ps->p[1].cpu_percent = 3.5;
	ps->p[1].rss_kb = 2048;
}

START_TEST(test_snapshot_exact)
{
	struct evbuffer *b = evbuffer_new();
	Mockres__Stats s;
	struct average a;
	static struct procs ps;
	char *json;

	fill(&s, &a, &ps);
	snapshot_json(b, &s, 1, &a, &ps, NULL);
	json = sup_take(b);
	ck_assert_str_eq(
	    json,
	    "{\"in_flight\":3,\"limit\":15,\"peak\":15,\"admitted\":120,"
	    "\"rejected\":4,\"completed\":117,\"hold_ms\":500,"
	    "\"uptime_ms\":81234,\"daemon_pid\":811,\"clients_connected\":5,"
	    "\"shutting_down\":false,\"average\":2.91,\"connected\":true,"
	    "\"processes\":[{\"pid\":811,\"role\":\"mockresd\","
	    "\"host\":\"res1\",\"in_flight\":3,\"cpu_percent\":1.3,"
	    "\"rss_kb\":1900},{\"pid\":812,\"role\":\"frontend-worker\","
	    "\"host\":\"fe\\\"1\",\"in_flight\":2,\"cpu_percent\":3.5,"
	    "\"rss_kb\":2048}]}");
	free(json);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_snapshot_disconnected_empty)
{
	struct evbuffer *b = evbuffer_new();
	Mockres__Stats s;
	struct average a;
	static struct procs ps;
	char *json;

	mockres__stats__init(&s);
	average_reset(&a);
	procs_init(&ps);
	snapshot_json(b, &s, 0, &a, &ps, NULL);
	json = sup_take(b);
	/* only what is known: nothing from mockresd, no stale average */
	ck_assert_str_eq(json, "{\"connected\":false,\"processes\":[]}");
	free(json);
	evbuffer_free(b);
}
END_TEST

/* The SSE framing: one "data:" line, a blank line, the JSON intact. */
START_TEST(test_refbuf_event_and_json)
{
	struct evbuffer *json = evbuffer_new(), *out = evbuffer_new();
	struct refbuf *sn;
	char *s;

	evbuffer_add_printf(json, "{\"in_flight\":7}");
	sn = refbuf_new(json);
	ck_assert_ptr_nonnull(sn);
	ck_assert_uint_eq(evbuffer_get_length(json), 0);
	ck_assert_int_eq(refbuf_add_event(sn, out), 0);
	ck_assert_int_eq(refbuf_add_json(sn, out), 0);
	ck_assert_uint_eq(sn->refs, 3);
	s = sup_take(out); /* drains: the references are released */
	ck_assert_str_eq(s, "data: {\"in_flight\":7}\n\n{\"in_flight\":7}");
	ck_assert_uint_eq(sn->refs, 1);
	refbuf_unref(sn);
	free(s);
	evbuffer_free(json);
	evbuffer_free(out);
}
END_TEST

SUP_MAIN("dashboard_snapshot", NULL, NULL, 0, test_snapshot_exact,
         test_snapshot_disconnected_empty, test_refbuf_event_and_json)
