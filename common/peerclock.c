/*
 * peerclock.c: another host's monotonic clock in ours (see peerclock.h).
 */
#include "peerclock.h"

void
peerclock_sample(struct peerclock *pc, uint64_t sent_us, uint64_t now_us)
{
	int64_t s = (int64_t)sent_us - (int64_t)now_us, decayed;
	uint64_t dt;

	if (!pc->has) {
		pc->has = 1;
		pc->offset_us = s;
		pc->at_us = now_us;
		return;
	}
	dt = now_us > pc->at_us ? now_us - pc->at_us : 0;
	decayed =
	    pc->offset_us - (int64_t)(dt / (1000000 / PEERCLOCK_DRIFT_PPM));
	pc->offset_us = s > decayed ? s : decayed;
	pc->at_us = now_us;
}

uint64_t
peerclock_to_local(const struct peerclock *pc, uint64_t t)
{
	int64_t v;

	if (t == 0 || !pc->has)
		return t;
	v = (int64_t)t - pc->offset_us;
	return v > 0 ? (uint64_t)v : 1;
}

uint64_t
peerclock_to_peer(const struct peerclock *pc, uint64_t t)
{
	int64_t v;

	if (t == 0 || !pc->has)
		return t;
	v = (int64_t)t + pc->offset_us;
	return v > 0 ? (uint64_t)v : 1;
}
