/*
 * test_dashboard_average.c: the rolling average of the last 11 samples,
 * rounded to 2 decimals as the original page does.
 */
#include <check.h>
#include <stdlib.h>

#include "support.h"
#include "dashboard.h"

static const char *
avg_str(const struct average *a)
{
	static char buf[32];

	average_format(a, buf, sizeof(buf));
	return buf;
}

START_TEST(test_empty)
{
	struct average a;

	average_reset(&a);
	ck_assert_str_eq(avg_str(&a), "0.00");
	ck_assert_uint_eq(average_hundredths(&a), 0);
}
END_TEST

START_TEST(test_fewer_than_eleven)
{
	struct average a;

	average_reset(&a);
	average_add(&a, 3);
	ck_assert_str_eq(avg_str(&a), "3.00");
	average_add(&a, 4);
	ck_assert_str_eq(avg_str(&a), "3.50");
}
END_TEST

/* docs/design.md's example: ten samples of 3 and one of 2 -> 32/11 = 2.909. */
START_TEST(test_design_example)
{
	struct average a;
	int i;

	average_reset(&a);
	for (i = 0; i < 10; i++)
		average_add(&a, 3);
	average_add(&a, 2);
	ck_assert_str_eq(avg_str(&a), "2.91");
}
END_TEST

START_TEST(test_window_is_eleven)
{
	struct average a;
	int i;

	average_reset(&a);
	for (i = 0; i < 11; i++)
		average_add(&a, 0);
	ck_assert_str_eq(avg_str(&a), "0.00");
	average_add(&a, 11); /* one of eleven: 1.00 */
	ck_assert_str_eq(avg_str(&a), "1.00");
	for (i = 0; i < 10; i++)
		average_add(&a, 50);
	/* 11 + 10 * 50 = 511 / 11 = 46.4545... */
	ck_assert_str_eq(avg_str(&a), "46.45");
	average_add(&a, 50); /* the 11 leaves the window */
	ck_assert_str_eq(avg_str(&a), "50.00");
	ck_assert_uint_eq(a.n, AVERAGE_SAMPLES);
}
END_TEST

START_TEST(test_rounding)
{
	struct average a;
	int i;

	average_reset(&a);
	average_add(&a, 1);
	average_add(&a, 0);
	average_add(&a, 0);
	ck_assert_str_eq(avg_str(&a), "0.33"); /* 1/3 */
	average_reset(&a);
	average_add(&a, 2);
	average_add(&a, 0);
	average_add(&a, 0);
	ck_assert_str_eq(avg_str(&a), "0.67"); /* 2/3 rounds up */
	average_reset(&a);
	average_add(&a, 1);
	for (i = 0; i < 7; i++)
		average_add(&a, 0);
	ck_assert_str_eq(avg_str(&a), "0.13"); /* 1/8 = 0.125: half up */
	average_reset(&a);
	for (i = 0; i < 11; i++)
		average_add(&a, (uint64_t)i); /* 55/11 */
	ck_assert_str_eq(avg_str(&a), "5.00");
}
END_TEST

START_TEST(test_large_counts)
{
	struct average a;
	int i;

	average_reset(&a);
	for (i = 0; i < 11; i++)
		average_add(&a, 1000000007ull);
	ck_assert_str_eq(avg_str(&a), "1000000007.00");
}
END_TEST

SUP_MAIN("dashboard_average", NULL, NULL, 0, test_empty, test_fewer_than_eleven,
         test_design_example, test_window_is_eleven, test_rounding,
         test_large_counts)
