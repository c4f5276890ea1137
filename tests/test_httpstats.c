/*
 * test_httpstats.c: per-route HTTP stats: counting, the wire form and its
 * checks, the worst case against the frame limit, merge, difference and
 * the total that a reporter's new report advances.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "httpstats.h"
#include "support.h"

static struct httpstats a, b, c, d;
static struct httpstats_wire w;

/* Are X and Y the same counts (field by field: padding aside)? */
static int
same(const struct httpstats *x, const struct httpstats *y)
{
	int r;

	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct httpstats_route *p = &x->route[r],
		                             *q = &y->route[r];

		if (p->latency.count != q->latency.count ||
		    p->latency.sum_us != q->latency.sum_us ||
		    p->latency.min_us != q->latency.min_us ||
		    p->latency.max_us != q->latency.max_us ||
		    (p->latency.count > 0 &&
		     (p->latency.lo != q->latency.lo ||
		      p->latency.hi != q->latency.hi)) ||
		    memcmp(p->latency.buckets, q->latency.buckets,
		           sizeof(p->latency.buckets)) != 0 ||
		    p->ncodes != q->ncodes ||
		    memcmp(p->code, q->code, sizeof(p->code)) != 0 ||
		    memcmp(p->count, q->count, sizeof(p->count)) != 0)
			return 0;
	}
	return 1;
}

/* Packs HS as one HttpReport and unpacks it into OUT. */
static size_t
roundtrip(const struct httpstats *hs, struct httpstats *out, int *ok)
{
	Mockres__HttpReport rep = MOCKRES__HTTP_REPORT__INIT;
	Mockres__HttpReport *back;
	uint8_t *buf;
	size_t len;
	const char *why = NULL;

	rep.has_started_us = 1;
	rep.started_us = 1;
	rep.routes = httpstats_to_wire(hs, &w, &rep.n_routes);
	len = protobuf_c_message_get_packed_size(&rep.base);
	buf = malloc(len);
	ck_assert_uint_eq(protobuf_c_message_pack(&rep.base, buf), len);
	back = mockres__http_report__unpack(NULL, len, buf);
	ck_assert_ptr_nonnull(back);
	*ok = httpstats_from_wire(out, back->routes, back->n_routes, &why) == 0;
	mockres__http_report__free_unpacked(back, NULL);
	free(buf);
	return len;
}

START_TEST(test_add_and_codes)
{
	int i;

	httpstats_init(&a);
	for (i = 0; i < 100; i++)
		httpstats_add(&a, HTTPSTATS_SERIAL, 200, 500000 + (uint64_t)i);
	httpstats_add(&a, HTTPSTATS_SERIAL, 500, 800);
	httpstats_add(&a, HTTPSTATS_ASYNC, 200, 250);
	httpstats_add(&a, HTTPSTATS_OTHER, 404, 90);
	ck_assert_uint_eq(httpstats_requests(&a), 103);
	ck_assert_uint_eq(httpstats_code_count(&a.route[0], 200), 100);
	ck_assert_uint_eq(httpstats_code_count(&a.route[0], 500), 1);
	ck_assert_uint_eq(a.route[0].latency.count, 101);
	ck_assert_str_eq(httpstats_route_name(HTTPSTATS_ASYNC), "async");
	/* Past 15 distinct codes the rest count as code 0. */
	httpstats_init(&a);
	for (i = 0; i < 20; i++)
		httpstats_add(&a, HTTPSTATS_OTHER, 400 + (unsigned)i, 10);
	ck_assert_uint_eq(a.route[2].ncodes, HTTPSTATS_CODES);
	ck_assert_uint_eq(httpstats_code_count(&a.route[2], 0), 5);
	ck_assert_uint_eq(a.route[2].latency.count, 20);
}
END_TEST

START_TEST(test_wire_roundtrip)
{
	int ok, i;

	httpstats_init(&a);
	for (i = 0; i < 1000; i++)
		httpstats_add(&a, HTTPSTATS_ASYNC, i % 10 ? 200 : 500,
		              (uint64_t)(i * 97 % 5000));
	roundtrip(&a, &b, &ok);
	ck_assert(ok);
	ck_assert(same(&a, &b));
	/* Empty stats are no routes at all. */
	httpstats_init(&a);
	roundtrip(&a, &b, &ok);
	ck_assert(ok);
	ck_assert_uint_eq(httpstats_requests(&b), 0);
}
END_TEST

/* Every bucket of every route full, counts near 2^63: still one frame. */
START_TEST(test_worst_case_fits_a_frame)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;
	Mockres__Stats st = MOCKRES__STATS__INIT;
	Mockres__HttpStats hs = MOCKRES__HTTP_STATS__INIT;
	uint64_t each = (UINT64_C(1) << 63) / (HIST_BUCKETS * 16);
	size_t len, rlen;
	uint32_t i, k;
	int r, ok;

	httpstats_init(&a);
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		struct httpstats_route *rt = &a.route[r];

		for (i = 0; i < HIST_BUCKETS; i++)
			hist_add_bucket(&rt->latency, i, each);
		rt->latency.sum_us = UINT64_MAX;
		rt->latency.min_us = 0;
		rt->latency.max_us = HIST_VALUE_MAX;
		for (k = 0; k < HTTPSTATS_CODES; k++) {
			rt->code[k] = 100 + k;
			rt->count[k] = each * HIST_BUCKETS / HTTPSTATS_CODES;
		}
		rt->ncodes = HTTPSTATS_CODES;
	}
	len = roundtrip(&a, &b, &ok);
	ck_assert(ok);
	ck_assert_uint_le(len, HTTPSTATS_WIRE_MAX);
	/* The merged stats in a whole Stats reply, as mockresd sends it. */
	hs.routes = httpstats_to_wire(&a, &w, &hs.n_routes);
	hs.has_first_us = hs.has_last_us = hs.has_reports = 1;
	hs.first_us = hs.last_us = hs.reports = UINT64_MAX;
	st.http = &hs;
	st.has_in_flight = st.has_admitted = st.has_uptime_ms = 1;
	st.in_flight = st.admitted = st.uptime_ms = UINT64_MAX;
	resp.has_id = resp.has_status = 1;
	resp.id = UINT64_MAX;
	resp.stats = &st;
	rlen = protobuf_c_message_get_packed_size(&resp.base);
	ck_assert_uint_le(rlen, FRAME_BODY_MAX);
}
END_TEST

START_TEST(test_wire_checks)
{
	Mockres__HttpRouteStats rs = MOCKRES__HTTP_ROUTE_STATS__INIT,
	                        *rsp = &rs;
	Mockres__Histogram h = MOCKRES__HISTOGRAM__INIT;
	Mockres__HttpCode hc = MOCKRES__HTTP_CODE__INIT, *hcp = &hc;
	uint32_t skip[2] = {5, 3};
	uint64_t cnt[2] = {1, 2};
	const char *why = NULL;

	rs.has_route = 1;
	rs.route = MOCKRES__HTTP_ROUTE__ROUTE_SERIAL;
	rs.latency = &h;
	rs.n_codes = 1;
	rs.codes = &hcp;
	hc.code = 200;
	hc.count = 3;
	h.count = 3;
	h.sum_us = 5 + 16;
	h.min_us = 5;
	h.max_us = 8;
	h.n_bucket_skip = h.n_bucket_count = 2;
	h.bucket_skip = skip;
	h.bucket_count = cnt;
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), 0);
	ck_assert_uint_eq(a.route[0].latency.buckets[8], 2);

	h.count = 4; /* buckets do not add up */
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "add up"));
	h.count = 3;
	hc.count = 2; /* codes do not add up */
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	hc.count = 3;
	h.max_us = 100; /* max outside the last bucket */
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	h.max_us = 8;
	skip[1] = 0; /* a repeated bucket */
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	skip[1] = HIST_BUCKETS; /* out of range */
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	skip[1] = 3;
	rs.route = 7; /* unknown route */
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	rs.route = MOCKRES__HTTP_ROUTE__ROUTE_SERIAL;
	/* issue 21: the sum must lie between count x min and count x max */
	h.sum_us = 3 * 8 + 1;
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "sum_us"));
	h.sum_us = 3 * 5 - 1;
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	h.sum_us = 5 + 16;
	/* statuses are 0 (any other) or 100..599 */
	hc.code = 99;
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	hc.code = 600;
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), -1);
	hc.code = 0;
	ck_assert_int_eq(httpstats_from_wire(&a, &rsp, 1, &why), 0);
	hc.code = 200;
	{
		Mockres__HttpRouteStats *two[2] = {&rs, &rs};

		ck_assert_int_eq(httpstats_from_wire(&a, two, 2, &why), -1);
		ck_assert_ptr_nonnull(strstr(why, "repeated"));
	}
}
END_TEST

START_TEST(test_diff_and_advance)
{
	const char *why = NULL;
	int i;

	httpstats_init(&a);
	for (i = 0; i < 50; i++)
		httpstats_add(&a, HTTPSTATS_SERIAL, 200, 500000);
	b = a;
	for (i = 0; i < 30; i++)
		httpstats_add(&b, HTTPSTATS_ASYNC, 200, 300);
	for (i = 0; i < 20; i++)
		httpstats_add(&b, HTTPSTATS_SERIAL, 500, 1000);
	ck_assert_int_eq(httpstats_diff(&d, &b, &a), 0);
	ck_assert_uint_eq(httpstats_requests(&d), 50);
	ck_assert_uint_eq(httpstats_code_count(&d.route[0], 200), 0);
	ck_assert_uint_eq(httpstats_code_count(&d.route[0], 500), 20);
	ck_assert_uint_le(hist_quantile_us(&d.route[0].latency, 1.0), 1016);
	ck_assert_uint_ge(hist_quantile_us(&d.route[0].latency, 0.5), 984);
	ck_assert_uint_eq(d.route[0].latency.sum_us, 20 * 1000);
	/* Going back is a reset. */
	ck_assert_int_eq(httpstats_diff(&d, &a, &b), -1);

	/* Two reporters: the total follows each one's latest report. */
	httpstats_init(&c);
	httpstats_init(&d);
	ck_assert_int_eq(httpstats_advance(&c, &a, &d, &why), 0); /* 1st: a */
	ck_assert_int_eq(httpstats_advance(&c, &a, &d, &why),
	                 0); /* 2nd: a too */
	ck_assert_uint_eq(httpstats_requests(&c), 100);
	ck_assert_int_eq(httpstats_advance(&c, &b, &a, &why),
	                 0); /* 1st: a -> b */
	ck_assert_uint_eq(httpstats_requests(&c), 150);
	ck_assert_uint_eq(httpstats_code_count(&c.route[0], 500), 20);
	ck_assert_uint_eq(c.route[0].latency.min_us, 1000);
	ck_assert_uint_eq(c.route[0].latency.max_us, 500000);
	/* A report that goes back changes nothing. */
	d = c;
	ck_assert_int_eq(httpstats_advance(&c, &a, &b, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "went back"));
	ck_assert(same(&c, &d));
}
END_TEST

/* N answers of 200 on the serial route, each of US microseconds, read
 * from the wire as mockresd reads a worker's report; it must be valid. */
static void
wire_report(struct httpstats *hs, uint64_t n, uint64_t us)
{
	Mockres__HttpRouteStats rs = MOCKRES__HTTP_ROUTE_STATS__INIT,
	                        *rsp = &rs;
	Mockres__Histogram h = MOCKRES__HISTOGRAM__INIT;
	Mockres__HttpCode hc = MOCKRES__HTTP_CODE__INIT, *hcp = &hc;
	uint32_t skip = hist_bucket(us);
	const char *why = NULL;

	rs.has_route = 1;
	rs.route = MOCKRES__HTTP_ROUTE__ROUTE_SERIAL;
	rs.latency = &h;
	rs.n_codes = 1;
	rs.codes = &hcp;
	hc.code = 200;
	hc.count = n;
	h.count = n;
	h.sum_us = n * us;
	h.min_us = h.max_us = us;
	h.n_bucket_skip = h.n_bucket_count = 1;
	h.bucket_skip = &skip;
	h.bucket_count = &n;
	ck_assert_msg(httpstats_from_wire(hs, &rsp, 1, &why) == 0, "%s", why);
}

/*
 * Issue 21: two reporters whose counts add past 2^64 (2^63 answers each,
 * of 1 us and of 0 us: each report alone is consistent).  The second is
 * refused whole and the total stays as it was; so is one whose sum of
 * durations would pass 2^64.
 */
START_TEST(test_advance_refuses_overflow)
{
	struct httpstats none;
	const char *why = NULL;

	httpstats_init(&none);
	wire_report(&a, UINT64_C(1) << 63, 1);
	wire_report(&b, UINT64_C(1) << 63, 0);
	httpstats_init(&c);
	ck_assert_int_eq(httpstats_advance(&c, &a, &none, &why), 0);
	d = c;
	ck_assert_int_eq(httpstats_advance(&c, &b, &none, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "2^64"));
	ck_assert(same(&c, &d));

	wire_report(&b, 1, HIST_VALUE_MAX); /* the sum of durations */
	c.route[0].latency.sum_us = UINT64_MAX - HIST_VALUE_MAX + 1;
	d = c;
	ck_assert_int_eq(httpstats_advance(&c, &b, &none, &why), -1);
	ck_assert(same(&c, &d));
}
END_TEST

SUP_MAIN("httpstats", NULL, NULL, 0, test_add_and_codes, test_wire_roundtrip,
         test_worst_case_fits_a_frame, test_wire_checks, test_diff_and_advance,
         test_advance_refuses_overflow)
