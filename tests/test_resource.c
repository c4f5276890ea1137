/*
 * test_resource.c: admission logic and its invariants.
 */
#include <check.h>
#include <stdlib.h>

#include "support.h"
#include "mockresd.h"

START_TEST(test_limit_admits_exactly)
{
	struct resource r;
	int i, admitted = 0, busy = 0;

	resource_init(&r, 15, 500);
	for (i = 0; i < 20; i++) {
		if (resource_admit(&r) == 0)
			admitted++;
		else
			busy++;
	}
	ck_assert_int_eq(admitted, 15);
	ck_assert_int_eq(busy, 5);
	ck_assert_uint_eq(r.in_flight, 15);
	ck_assert_uint_eq(r.peak, 15);
	ck_assert_uint_eq(r.rejected, 5);
	ck_assert_int_eq(resource_check(&r), 0);
}
END_TEST

START_TEST(test_release_and_readmit)
{
	struct resource r;

	resource_init(&r, 1, 500);
	ck_assert_int_eq(resource_admit(&r), 0);
	ck_assert_int_eq(resource_admit(&r), -1);
	resource_release(&r);
	ck_assert_uint_eq(r.in_flight, 0);
	ck_assert_uint_eq(r.completed, 1);
	ck_assert_int_eq(resource_admit(&r), 0);
	ck_assert_int_eq(resource_check(&r), 0);
}
END_TEST

START_TEST(test_no_limit)
{
	struct resource r;
	int i;

	resource_init(&r, 0, 500);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(resource_admit(&r), 0);
	ck_assert_uint_eq(r.in_flight, 100000);
	ck_assert_uint_eq(r.rejected, 0);
}
END_TEST

START_TEST(test_set_limit_live)
{
	struct resource r;
	int i;

	resource_init(&r, 15, 500);
	for (i = 0; i < 15; i++)
		resource_admit(&r);
	ck_assert_int_eq(resource_admit(&r), -1);
	resource_set_limit(&r, 0);
	ck_assert_int_eq(resource_admit(&r), 0);
	/* Lowering the limit under in_flight admits nothing new. */
	resource_set_limit(&r, 3);
	ck_assert_int_eq(resource_admit(&r), -1);
	ck_assert_int_eq(resource_check(&r), 0);
}
END_TEST

START_TEST(test_reset_peak_and_unadmit)
{
	struct resource r;

	resource_init(&r, 0, 500);
	resource_admit(&r);
	resource_admit(&r);
	resource_release(&r);
	ck_assert_uint_eq(r.peak, 2);
	resource_reset_peak(&r);
	ck_assert_uint_eq(r.peak, 1);
	resource_admit(&r);
	resource_unadmit(&r);
	ck_assert_uint_eq(r.in_flight, 1);
	ck_assert_uint_eq(r.rejected, 1);
	ck_assert_int_eq(resource_check(&r), 0);
}
END_TEST

/* Random admits and releases: the invariants hold after every step. */
START_TEST(test_random_invariants)
{
	struct resource r;
	uint64_t uses = 0;
	int i;

	srand(42);
	resource_init(&r, 15, 500);
	for (i = 0; i < 200000; i++) {
		int op = rand() % 100;

		if (op < 55) {
			uses++;
			resource_admit(&r);
		} else if (op < 98) {
			if (r.in_flight > 0)
				resource_release(&r);
		} else {
			resource_set_limit(&r, (uint32_t)(rand() % 20));
		}
		ck_assert_int_eq(resource_check(&r), 0);
		ck_assert_uint_eq(r.admitted + r.rejected, uses);
		if (r.limit > 0 && r.peak <= r.limit)
			ck_assert_uint_le(r.in_flight, r.peak);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("resource");
	TCase *tc = tcase_create("resource");

	tcase_add_test(tc, test_limit_admits_exactly);
	tcase_add_test(tc, test_release_and_readmit);
	tcase_add_test(tc, test_no_limit);
	tcase_add_test(tc, test_set_limit_live);
	tcase_add_test(tc, test_reset_peak_and_unadmit);
	tcase_add_test(tc, test_random_invariants);
	suite_add_tcase(s, tc);
	return sup_run_suite(s);
}
