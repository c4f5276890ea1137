/*
 * test_peerclock.c: another host's clock read in ours (common/peerclock.c):
 * the offset from the message that came soonest, its error one delay at
 * most and never early, the decay of an old estimate, clocks ahead of and
 * behind ours.
 */
#include <check.h>

#include "peerclock.h"
#include "support.h"

/* A peer whose clock reads ours + SKEW, messages taking DELAY. */
static void
send_msg(struct peerclock *pc, uint64_t ours, int64_t skew, uint64_t delay)
{
	peerclock_sample(pc, (uint64_t)((int64_t)ours + skew), ours + delay);
}

START_TEST(test_soonest_message_wins)
{
	const int64_t skew = 3600000000LL; /* an hour ahead */
	struct peerclock pc = {0};
	uint64_t t = 10000000, peer_t;

	send_msg(&pc, t, skew, 40000); /* 40 ms on the way */
	send_msg(&pc, t + 250000, skew, 900);
	send_msg(&pc, t + 500000, skew, 25000);
	/* the 900 us one: the peer's times come out 900 us late, and the
	 * 137 us the estimate has decayed since (274 ms at 500 ppm) */
	peer_t = (uint64_t)((int64_t)(t + 400000) + skew);
	ck_assert_uint_eq(peerclock_to_local(&pc, peer_t), t + 400000 + 1037);
	ck_assert_uint_eq(peerclock_to_peer(&pc, t + 400000 + 1037), peer_t);
	ck_assert_uint_eq(peerclock_to_local(&pc, 0), 0);
	ck_assert_uint_eq(peerclock_to_peer(&pc, 0), 0);
}
END_TEST

START_TEST(test_behind_and_before_our_start)
{
	struct peerclock pc = {0};

	/* a peer booted later: its clock reads ours - 5 s */
	send_msg(&pc, 8000000, -5000000, 100);
	ck_assert_uint_eq(peerclock_to_local(&pc, 2000000), 7000100);
	/* a peer booted long before: a time before our clock's start */
	pc.has = 0;
	send_msg(&pc, 1000000, 100000000000LL, 0);
	ck_assert_uint_eq(peerclock_to_local(&pc, 50000000000ull), 1);
	/* no estimate yet: as it is */
	pc.has = 0;
	ck_assert_uint_eq(peerclock_to_local(&pc, 1234), 1234);
}
END_TEST

/* A peer whose clock runs 100 ppm slow: the old best sample decays, so
 * the estimate follows it within the delays, not the drift since. */
START_TEST(test_drift_decays)
{
	struct peerclock pc = {0};
	uint64_t t;
	int64_t skew = 1000000, err;

	send_msg(&pc, 0 + 1, skew, 50); /* the best sample, at the start */
	for (t = 1000000; t <= 3600000000ull; t += 1000000) {
		skew -= 100; /* 100 us a second */
		send_msg(&pc, t, skew, 2000);
	}
	t -= 1000000;
	err = (int64_t)peerclock_to_local(&pc, (uint64_t)((int64_t)t + skew)) -
	      (int64_t)t;
	/* an hour of drift is 360 ms; the error stays within one delay */
	ck_assert_int_ge(err, 0);
	ck_assert_int_le(err, 2000);
}
END_TEST

SUP_MAIN("peerclock", NULL, NULL, 0, test_soonest_message_wins,
         test_behind_and_before_our_start, test_drift_decays)
