/*
 * test_bucket.c: the token bucket (common/bucket.c) on a clock of its
 * own: a full burst, then the rate; the wait until the next token; a
 * long quiet spell fills it no further than the burst; a clock that goes
 * back earns nothing.
 */
#include <check.h>

#include "bucket.h"
#include "support.h"

START_TEST(test_burst_then_rate)
{
	struct bucket b;
	uint64_t t = 5000000;
	int i, n;

	bucket_init(&b, 256, 64, t);
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(bucket_take(&b, t), 1);
	ck_assert_int_eq(bucket_take(&b, t), 0);
	/* one token per 1/256 s: 3906.25 us */
	ck_assert_uint_eq(bucket_wait_us(&b, t), 3907);
	ck_assert_int_eq(bucket_take(&b, t + 3906), 0);
	ck_assert_int_eq(bucket_take(&b, t + 3907), 1);
	/* over 10 s, taking whenever there is one: 2560 more, not one
	 * more (the fractions carry over) */
	for (n = 0, t += 3907; t <= 5000000 + 3907 + 10000000; t += 100)
		n += bucket_take(&b, t);
	ck_assert_int_ge(n, 2559);
	ck_assert_int_le(n, 2561);
}
END_TEST

START_TEST(test_fills_to_burst)
{
	struct bucket b;
	int i;

	bucket_init(&b, 10, 3, 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(bucket_take(&b, 0), 1);
	ck_assert_uint_eq(bucket_wait_us(&b, 0), 100000);
	/* an hour later: 3 tokens, not 36,000 */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(bucket_take(&b, 3600000000ull), 1);
	ck_assert_int_eq(bucket_take(&b, 3600000000ull), 0);
	/* back in time: nothing earned, nothing lost */
	ck_assert_int_eq(bucket_take(&b, 1000), 0);
	ck_assert_uint_eq(bucket_wait_us(&b, 3600000000ull + 50000), 50000);
	ck_assert_int_eq(bucket_take(&b, 3600000000ull + 100000), 1);
}
END_TEST

START_TEST(test_degenerate)
{
	struct bucket b;

	bucket_init(&b, 0, 0, 0); /* taken as 1 and 1 */
	ck_assert_int_eq(bucket_take(&b, 0), 1);
	ck_assert_int_eq(bucket_take(&b, 0), 0);
	ck_assert_uint_eq(bucket_wait_us(&b, 0), 1000000);
	bucket_init(&b, 4000000000u, 4000000000u, 0);
	ck_assert_int_eq(bucket_take(&b, 0), 1);
	ck_assert_uint_eq(bucket_wait_us(&b, UINT64_MAX), 0);
}
END_TEST

SUP_MAIN("bucket", NULL, NULL, 0, test_burst_then_rate, test_fills_to_burst,
         test_degenerate)
