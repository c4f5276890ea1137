/*
 * test_hist.c: the log-linear histogram: bucket layout, relative error,
 * quantiles against sorted data, merging.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "hist.h"
#include "support.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(test_buckets_are_contiguous)
{
	uint32_t i;

	ck_assert_uint_eq(hist_bucket_low(0), 0);
	for (i = 0; i + 1 < HIST_BUCKETS; i++) {
		ck_assert_uint_lt(hist_bucket_low(i), hist_bucket_high(i));
		ck_assert_uint_eq(hist_bucket_high(i), hist_bucket_low(i + 1));
		ck_assert_uint_eq(hist_bucket(hist_bucket_low(i)), i);
		ck_assert_uint_eq(hist_bucket(hist_bucket_high(i) - 1), i);
	}
	ck_assert_uint_eq(hist_bucket_low(HIST_BUCKETS - 1),
	                  HIST_VALUE_MAX - (HIST_VALUE_MAX >> 6));
	ck_assert_uint_eq(hist_bucket(HIST_VALUE_MAX), HIST_BUCKETS - 1);
	ck_assert_uint_eq(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1);
}
END_TEST

/* Every value is within 1/64 of its bucket's midpoint: under 2%. */
START_TEST(test_relative_error_under_two_percent)
{
	uint64_t v;
	double worst = 0;

	for (v = 1; v < HIST_VALUE_MAX / 2; v = v + 1 + v / 97) {
		uint32_t i = hist_bucket(v);
		uint64_t low = hist_bucket_low(i), high = hist_bucket_high(i);
		double mid = i < HIST_EXACT
		                 ? (double)low
		                 : (double)low + (double)(high - low) / 2;
		double err = fabs(mid - (double)v) / (double)v;

		if (err > worst)
			worst = err;
	}
	ck_assert_double_le(worst, 1.0 / 64 + 1e-12);
}
END_TEST

START_TEST(test_quantiles_match_sorted_data)
{
	static uint64_t v[100000];
	static const double qs[] = {0.01, 0.5, 0.9, 0.99, 0.999};
	struct hist h;
	size_t i, n = sizeof(v) / sizeof(v[0]);

	srand(7);
	hist_init(&h);
	for (i = 0; i < n; i++) {
		/* spread over six decades */
		v[i] = (uint64_t)exp((double)rand() / RAND_MAX * 14.0);
		hist_add(&h, v[i]);
	}
	qsort(v, n, sizeof(v[0]), cmp_u64);
	for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t rank = (size_t)ceil(qs[i] * (double)n);
		double want = (double)v[rank - 1];
		double got = (double)hist_quantile_us(&h, qs[i]);

		ck_assert_msg(fabs(got - want) <= want * 0.02 + 0.5,
		              "q%.3f: got %.0f want %.0f", qs[i], got, want);
	}
	ck_assert_uint_eq(hist_quantile_us(&h, 1.0), v[n - 1]);
	ck_assert_uint_eq(h.min_us, v[0]);
	ck_assert_uint_eq(h.count, n);
}
END_TEST

START_TEST(test_exact_small_values)
{
	struct hist h;
	uint64_t i;

	hist_init(&h);
	ck_assert_uint_eq(hist_quantile_us(&h, 0.5), 0);
	for (i = 0; i < 10; i++)
		hist_add(&h, i);
	ck_assert_uint_eq(hist_quantile_us(&h, 0.5), 4);
	ck_assert_uint_eq(hist_quantile_us(&h, 0.1), 0);
	ck_assert_uint_eq(hist_quantile_us(&h, 1.0), 9);
	ck_assert_uint_eq(h.sum_us, 45);
	ck_assert_double_eq(hist_mean_us(&h), 4.5);
	ck_assert_uint_eq(hist_count_le(&h, 4), 5);
}
END_TEST

START_TEST(test_merge_equals_adding_all)
{
	static struct hist a, b, all;
	uint64_t i;

	hist_init(&a);
	hist_init(&b);
	hist_init(&all);
	for (i = 0; i < 50000; i++) {
		uint64_t v = (i * 7919) % 3000000;

		hist_add(i % 3 ? &a : &b, v);
		hist_add(&all, v);
	}
	hist_merge(&a, &b);
	ck_assert_uint_eq(a.count, all.count);
	ck_assert_uint_eq(a.sum_us, all.sum_us);
	ck_assert_uint_eq(a.min_us, all.min_us);
	ck_assert_uint_eq(a.max_us, all.max_us);
	ck_assert_uint_eq(a.lo, all.lo);
	ck_assert_uint_eq(a.hi, all.hi);
	for (i = 0; i < HIST_BUCKETS; i++)
		ck_assert_uint_eq(a.buckets[i], all.buckets[i]);
	/* merging an empty one changes nothing */
	hist_init(&b);
	hist_merge(&a, &b);
	ck_assert_uint_eq(a.count, all.count);
}
END_TEST

START_TEST(test_add_bucket_rebuilds_counts)
{
	static struct hist src, dst;
	uint32_t i;

	hist_init(&src);
	hist_init(&dst);
	hist_add(&src, 5);
	hist_add(&src, 500000);
	hist_add(&src, 500100);
	for (i = src.lo; i <= src.hi; i++)
		hist_add_bucket(&dst, i, src.buckets[i]);
	ck_assert_uint_eq(dst.count, 3);
	ck_assert_uint_eq(dst.min_us, 5);
	ck_assert_uint_ge(dst.max_us, 500100);
	/* with the exact extremes the wire form carries, the same answers */
	dst.max_us = src.max_us;
	dst.sum_us = src.sum_us;
	ck_assert_uint_eq(hist_quantile_us(&dst, 0.5),
	                  hist_quantile_us(&src, 0.5));
	ck_assert_double_eq(hist_mean_us(&dst), hist_mean_us(&src));
	hist_add_bucket(&dst, HIST_BUCKETS, 1); /* out of range: ignored */
	ck_assert_uint_eq(dst.count, 3);
}
END_TEST

/* Values all in one bucket read as their own range's middle. */
START_TEST(test_one_bucket_reads_its_range)
{
	struct hist h;
	uint64_t v;

	hist_init(&h);
	for (v = 500000; v <= 502600; v += 100)
		hist_add(&h, v);
	ck_assert_uint_eq(hist_bucket(500000), hist_bucket(502600));
	ck_assert_uint_eq(hist_quantile_us(&h, 0.5), 501300);
	ck_assert_uint_eq(hist_quantile_us(&h, 1.0), 502600);
	hist_init(&h);
	hist_add(&h, 500195);
	ck_assert_uint_eq(hist_quantile_us(&h, 0.5), 500195);
}
END_TEST

SUP_MAIN("hist", NULL, NULL, 0, test_buckets_are_contiguous,
         test_relative_error_under_two_percent,
         test_quantiles_match_sorted_data, test_exact_small_values,
         test_merge_equals_adding_all, test_add_bucket_rebuilds_counts,
         test_one_bucket_reads_its_range)
