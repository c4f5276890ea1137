/*
 * test_hold.c: hold queues: FIFO order, never early, caps, scale.
 */
#include <check.h>
#include <stdlib.h>

#include "clock.h"
#include "support.h"
#include "mockresd.h"

#define MAX_SEEN 200000

static uint64_t seen[MAX_SEEN];
static uint64_t seen_late_us[MAX_SEEN];
static size_t nseen;
static int early;
static struct holds *restart_holds;

static void
expire_record(struct hold *hd, void *arg)
{
	uint64_t now = clock_now_us();

	if (now < hd->deadline_us)
		early++;
	if (nseen < MAX_SEEN) {
		seen_late_us[nseen] = now - hd->deadline_us;
		seen[nseen++] = hd->tag;
	}
	if (restart_holds != NULL && hd->tag < 3)
		holds_start(restart_holds, 20, NULL, hd->tag + 100, 0);
}

static struct event_base *
setup(struct holds *h, size_t max)
{
	struct event_base *base = event_base_new();

	nseen = 0;
	early = 0;
	restart_holds = NULL;
	holds_init(h, base, max, expire_record, NULL);
	return base;
}

START_TEST(test_fifo_and_not_early)
{
	struct holds h;
	struct event_base *base = setup(&h, 100);
	uint64_t t0 = clock_now_us(), i;

	for (i = 1; i <= 5; i++)
		ck_assert_int_eq(holds_start(&h, 50, NULL, i, 1), 0);
	ck_assert_uint_eq(h.count, 5);
	event_base_dispatch(base);
	ck_assert_uint_eq(nseen, 5);
	for (i = 0; i < 5; i++)
		ck_assert_uint_eq(seen[i], i + 1);
	ck_assert_int_eq(early, 0);
	ck_assert_uint_ge(clock_now_us() - t0, 50000);
	ck_assert_uint_eq(h.count, 0);
	ck_assert_int_eq(h.nqueues, 0);
	holds_free(&h);
	event_base_free(base);
}
END_TEST

START_TEST(test_two_durations)
{
	struct holds h;
	struct event_base *base = setup(&h, 100);

	holds_start(&h, 200, NULL, 1, 0);
	holds_start(&h, 20, NULL, 2, 0);
	holds_start(&h, 200, NULL, 3, 0);
	holds_start(&h, 20, NULL, 4, 0);
	ck_assert_int_eq(h.nqueues, 2);
	event_base_dispatch(base);
	ck_assert_uint_eq(nseen, 4);
	ck_assert_uint_eq(seen[0], 2);
	ck_assert_uint_eq(seen[1], 4);
	ck_assert_uint_eq(seen[2], 1);
	ck_assert_uint_eq(seen[3], 3);
	ck_assert_int_eq(early, 0);
	holds_free(&h);
	event_base_free(base);
}
END_TEST

START_TEST(test_caps)
{
	struct holds h;
	struct event_base *base = setup(&h, 10);
	uint32_t ms;
	int i;

	for (i = 0; i < 10; i++)
		ck_assert_int_eq(holds_start(&h, 10, NULL, 0, 0), 0);
	ck_assert_int_eq(holds_start(&h, 10, NULL, 0, 0), -1);
	ck_assert_uint_eq(h.count, 10);
	event_base_dispatch(base);
	holds_free(&h);
	event_base_free(base);

	base = setup(&h, 1000);
	for (ms = 1; ms <= HOLD_QUEUES_MAX; ms++)
		ck_assert_int_eq(holds_start(&h, ms, NULL, 0, 0), 0);
	ck_assert_int_eq(holds_start(&h, 1000, NULL, 0, 0), -1);
	ck_assert_int_eq(holds_start(&h, 5, NULL, 0, 0), 0); /* existing */
	event_base_dispatch(base);
	ck_assert_uint_eq(nseen, HOLD_QUEUES_MAX + 1);
	holds_free(&h);
	event_base_free(base);
}
END_TEST

/* An expiry callback may start holds of the same duration. */
START_TEST(test_restart_in_callback)
{
	struct holds h;
	struct event_base *base = setup(&h, 100);

	restart_holds = &h;
	holds_start(&h, 20, NULL, 1, 0);
	holds_start(&h, 20, NULL, 2, 0);
	event_base_dispatch(base);
	ck_assert_uint_eq(nseen, 4);
	ck_assert_uint_eq(seen[2], 101);
	ck_assert_uint_eq(seen[3], 102);
	holds_free(&h);
	event_base_free(base);
}
END_TEST

/* 100,000 holds in flight at once, all ending in order. */
START_TEST(test_many_holds)
{
	struct holds h;
	struct event_base *base = setup(&h, HOLD_MAX);
	uint64_t i, n = 100000;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(holds_start(&h, 300, NULL, i, 0), 0);
	ck_assert_uint_eq(h.count, n);
	ck_assert_int_eq(h.nqueues, 1);
	event_base_dispatch(base);
	ck_assert_uint_eq(nseen, n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(seen[i], i);
	ck_assert_int_eq(early, 0);
	/* records were reused from chunks, not malloc'd one by one */
	ck_assert_uint_le(h.nchunks, n / 1024 + 1);
	holds_free(&h);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hold");
	TCase *tc = tcase_create("hold");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_fifo_and_not_early);
	tcase_add_test(tc, test_two_durations);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_restart_in_callback);
	tcase_add_test(tc, test_many_holds);
	suite_add_tcase(s, tc);
	return sup_run_suite(s);
}
