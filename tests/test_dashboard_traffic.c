/*
 * test_dashboard_traffic.c: the dashboard's view of mockresd's merged HTTP
 * stats (traffic.c) when they do not read (issue 21): the view starts
 * again from zero with the reason, instead of the last good figures
 * frozen for as long as mockresd sends bad ones; one log line per 10 s,
 * not one per answer; a time in the future counts as now; mockresd's
 * clock on another host read in ours.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dashboard.h"
#include "log.h"
#include "support.h"

static struct traffic t;
static struct httpstats hs;
static struct httpstats_wire w;

/* An answer of mockresd with HS as its merged stats. */
static void
answer(uint64_t now_us, uint64_t last_us)
{
	Mockres__Stats s = MOCKRES__STATS__INIT;
	Mockres__HttpStats h = MOCKRES__HTTP_STATS__INIT;

	h.routes = httpstats_to_wire(&hs, &w, &h.n_routes);
	h.last_us = h.first_us = last_us;
	s.daemon_pid = 42;
	s.http = &h;
	traffic_update(&t, &s, now_us);
}

/* An answer whose serial buckets add past 2^64 (what two forged reports
 * of 2^63 made of mockresd's total before issue 21). */
static void
bad_answer(uint64_t now_us)
{
	Mockres__Stats s = MOCKRES__STATS__INIT;
	Mockres__HttpStats h = MOCKRES__HTTP_STATS__INIT;
	Mockres__HttpRouteStats rs = MOCKRES__HTTP_ROUTE_STATS__INIT;
	Mockres__HttpRouteStats *rsp = &rs;
	Mockres__Histogram hg = MOCKRES__HISTOGRAM__INIT;
	uint32_t skip[2] = {0, 1};
	uint64_t n[2] = {UINT64_C(1) << 63, UINT64_C(1) << 63};

	rs.has_route = 1;
	rs.route = MOCKRES__HTTP_ROUTE__ROUTE_SERIAL;
	rs.latency = &hg;
	hg.count = 100;
	hg.n_bucket_skip = hg.n_bucket_count = 2;
	hg.bucket_skip = skip;
	hg.bucket_count = n;
	h.n_routes = 1;
	h.routes = &rsp;
	s.daemon_pid = 42;
	s.http = &h;
	traffic_update(&t, &s, now_us);
}

/* The "http" JSON, NUL-terminated (an evbuffer is not). */
static const char *
json(void)
{
	static char buf[65536];
	ev_ssize_t n = evbuffer_copyout(t.json, buf, sizeof(buf) - 1);

	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return buf;
}

START_TEST(test_bad_stats_reset_the_view)
{
	char path[] = "/tmp/mockres-traffic.XXXXXX", log[4096];
	uint64_t now = 1000000000;
	int fd, saved, i;
	ssize_t n;
	char *p;

	log_init("test", 0);
	ck_assert_int_eq(traffic_init(&t), 0);
	httpstats_init(&hs);
	for (i = 0; i < 100; i++)
		httpstats_add(&hs, HTTPSTATS_SERIAL, 200, 500);
	answer(now, now - 1000);
	ck_assert(t.valid && t.bad == NULL);
	ck_assert_uint_eq(httpstats_requests(&t.total), 100);

	/* 25 bad answers, 200 ms apart: one log line, the view at zero */
	ck_assert_int_ge(fd = mkstemp(path), 0);
	saved = dup(2);
	dup2(fd, 2);
	for (i = 0; i < 25; i++)
		bad_answer(now += 200000);
	dup2(saved, 2);
	close(saved);
	ck_assert_int_ge(n = pread(fd, log, sizeof(log) - 1, 0), 0);
	log[n] = '\0';
	close(fd);
	unlink(path);
	for (i = 0, p = log; (p = strstr(p, "bad HTTP stats")) != NULL; p++)
		i++;
	ck_assert_msg(i == 1, "%d lines:\n%s", i, log);
	ck_assert(t.valid && t.bad != NULL && t.reset);
	ck_assert_uint_eq(httpstats_requests(&t.total), 0);
	ck_assert_ptr_nonnull(strstr(json(), "\"error\":\"mockresd sent bad"));
	ck_assert_ptr_nonnull(strstr(json(), "\"serial\":{\"requests\":0,"));

	/* good again: a reset (the runs start over), no error */
	now += 200000;
	answer(now, now - 1000);
	ck_assert(t.valid && t.bad == NULL && t.reset);
	ck_assert_uint_eq(httpstats_requests(&t.total), 100);
	ck_assert_ptr_null(strstr(json(), "\"error\""));
	now += 200000;
	answer(now, now - 1000);
	ck_assert(!t.reset);

	/* a burst that ends in the future ends now, for the runs */
	now += 200000;
	answer(now, now + UINT64_C(1000000000000000));
	ck_assert_uint_eq(t.last_us, now);
	traffic_free(&t);
}
END_TEST

/*
 * mockresd on a host booted an hour before ours: its times come out in
 * our clock (late by the answer's delay, here 300 us), and our times go
 * back to it in its clock (http_since_us); a mockresd that left takes its
 * clock along.
 */
START_TEST(test_daemon_clock)
{
	const uint64_t skew = 3600000000ull, delay = 300;
	Mockres__Stats s = MOCKRES__STATS__INIT;
	Mockres__HttpStats h = MOCKRES__HTTP_STATS__INIT;
	uint64_t now = 50000000, theirs;

	ck_assert_int_eq(traffic_init(&t), 0);
	httpstats_init(&hs);
	httpstats_add(&hs, HTTPSTATS_SERIAL, 200, 500);
	h.routes = httpstats_to_wire(&hs, &w, &h.n_routes);
	s.daemon_pid = 42;
	s.http = &h;
	s.has_now_us = 1;
	theirs = now - delay + skew; /* made DELAY before it came */
	s.now_us = theirs;
	h.first_us = theirs - 3000000;
	h.last_us = theirs - 1000000;
	traffic_update(&t, &s, now);
	ck_assert_uint_eq(t.first_us, now - 3000000);
	ck_assert_uint_eq(t.last_us, now - 1000000);
	ck_assert_uint_eq(traffic_daemon_us(&t, now - 1000000),
	                  theirs - 1000000);
	traffic_down(&t);
	ck_assert_uint_eq(traffic_daemon_us(&t, now), now);
	traffic_free(&t);
}
END_TEST

SUP_MAIN("dashboard_traffic", NULL, NULL, 0, test_bad_stats_reset_the_view,
         test_daemon_clock)
