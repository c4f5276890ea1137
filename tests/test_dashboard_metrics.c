/*
 * test_dashboard_metrics.c: GET /metrics text, checked against the rules
 * promtool's linter applies: one HELP and one TYPE per family before its
 * samples, counters named *_total, well-formed sample lines.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "dashboard.h"

static char *
metrics_text(int connected)
{
	static struct procs ps;
	struct evbuffer *b = evbuffer_new();
	Mockres__Stats s;
	size_t n;
	char *t;

	mockres__stats__init(&s);
	s.in_flight = 3;
	s.limit = 15;
	s.peak = 9;
	s.admitted = 120;
	s.rejected = 4;
	s.completed = 117;
	s.hold_ms = 1500;
	s.clients_connected = 4;
	procs_init(&ps);
	ps.clk_tck = 100;
	ps.n = 2;
	ps.p[0].pid = 811;
	ps.p[0].role = PROC_DAEMON;
	ps.p[0].in_flight = 3;
	ps.p[0].ticks = 250;
	ps.p[0].rss_kb = 2;
	snprintf(ps.p[0].host, sizeof(ps.p[0].host), "res1");
	ps.p[1].pid = 812;
	snprintf(ps.p[1].host, sizeof(ps.p[1].host), "fe\"1");
	ps.p[1].role = PROC_FRONTEND_WORKER;
	ps.p[1].in_flight = 2;
	ps.p[1].ticks = 7;
	ps.p[1].rss_kb = 1024;
	metrics_format(b, &s, connected, &ps, 7, 2);
	n = evbuffer_get_length(b);
	t = malloc(n + 1);
	evbuffer_remove(b, t, n);
	t[n] = '\0';
	evbuffer_free(b);
	return t;
}

START_TEST(test_values)
{
	char *t = metrics_text(1);

	ck_assert_ptr_nonnull(strstr(t, "\nmockres_in_flight 3\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmockres_limit 15\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmockres_peak 9\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmockres_admitted_total 120\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmockres_rejected_total 4\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmockres_completed_total 117\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmockres_hold_seconds 1.500\n"));
	ck_assert_ptr_nonnull(strstr(t, "mockres_up 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nmockres_dashboard_sse_clients 7\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "\nmockres_dashboard_sse_dropped_total 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "\nmockres_process_cpu_seconds_total{pid=\"811\","
	              "role=\"mockresd\",host=\"res1\"} 2.50\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "\nmockres_process_cpu_seconds_total{pid=\"812\","
	              "role=\"frontend-worker\",host=\"fe\\\"1\"} 0.07\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "\nmockres_process_resident_memory_bytes{pid=\"812\","
	              "role=\"frontend-worker\",host=\"fe\\\"1\"} 1048576\n"));
	ck_assert_ptr_nonnull(
	    strstr(t, "\nmockres_process_in_flight{pid=\"811\",role="
	              "\"mockresd\",host=\"res1\"} 3\n"));
	free(t);
	/* mockresd down: no stale sample of what it reported */
	t = metrics_text(0);
	ck_assert_ptr_nonnull(strstr(t, "mockres_up 0\n"));
	ck_assert_ptr_null(strstr(t, "mockres_in_flight"));
	ck_assert_ptr_null(strstr(t, "mockres_hold_seconds"));
	ck_assert_ptr_null(strstr(t, "mockres_admitted_total"));
	ck_assert_ptr_null(strstr(t, "mockres_clients"));
	ck_assert_ptr_nonnull(strstr(t, "\nmockres_dashboard_sse_clients 7\n"));
	free(t);
}
END_TEST

/* The family a sample line belongs to: its name up to '{' or ' '. */
static size_t
name_len(const char *line)
{
	return strcspn(line, "{ ");
}

START_TEST(test_exposition_rules)
{
	char *t = metrics_text(1), *save = NULL, *line;
	char family[128] = "", type[32] = "";
	int help_seen = 0, samples = 0, families = 0;

	ck_assert_int_eq(t[strlen(t) - 1], '\n');
	for (line = strtok_r(t, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			size_t n = name_len(line + 7);

			ck_assert_msg(n < sizeof(family), "long name");
			memcpy(family, line + 7, n);
			family[n] = '\0';
			help_seen = 1;
			type[0] = '\0';
			families++;
			ck_assert_msg(line[7 + n] == ' ' && line[8 + n] != '\0',
			              "HELP without text: %s", line);
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			size_t n = name_len(line + 7);

			ck_assert_msg(help_seen, "TYPE before HELP: %s", line);
			ck_assert_msg(strncmp(line + 7, family, n) == 0 &&
			                  family[n] == '\0',
			              "TYPE for another family: %s", line);
			ck_assert_msg(strcmp(line + 8 + n, "gauge") == 0 ||
			                  strcmp(line + 8 + n, "counter") == 0,
			              "unknown type: %s", line);
			snprintf(type, sizeof(type), "%s", line + 8 + n);
			if (strcmp(type, "counter") == 0)
				ck_assert_msg(
				    n > 6 && strncmp(line + 7 + n - 6, "_total",
				                     6) == 0,
				    "counter not named *_total: %s", line);
		} else {
			size_t n = name_len(line);
			const char *v;
			char *end;

			ck_assert_msg(line[0] != '#', "stray comment: %s",
			              line);
			ck_assert_msg(type[0] != '\0', "sample before TYPE: %s",
			              line);
			ck_assert_msg(strncmp(line, family, n) == 0 &&
			                  family[n] == '\0',
			              "sample of another family: %s", line);
			v = strrchr(line, ' ');
			ck_assert_ptr_nonnull(v);
			strtod(v + 1, &end);
			ck_assert_msg(*end == '\0' && end != v + 1,
			              "bad value: %s", line);
			if (line[n] == '{')
				ck_assert_msg(v[-1] == '}', "bad labels: %s",
				              line);
			samples++;
		}
	}
	ck_assert_int_ge(families, 12);
	ck_assert_int_ge(samples, 15);
	free(t);
}
END_TEST

SUP_MAIN("dashboard_metrics", NULL, NULL, 0, test_values, test_exposition_rules)
