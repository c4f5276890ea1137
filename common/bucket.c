/*
 * bucket.c: a token bucket (see bucket.h), in whole micro-tokens: no
 * floating point, no drift.
 */
#include "bucket.h"

#define BUCKET_ONE 1000000u /* micro-tokens in a token */

void
bucket_init(struct bucket *b, uint32_t rate, uint32_t burst, uint64_t now_us)
{
	b->rate = rate > 0 ? rate : 1;
	b->burst = burst > 0 ? burst : 1;
	b->micro = (uint64_t)b->burst * BUCKET_ONE;
	b->at_us = now_us;
}

/* Tokens earned since the last call (a clock that went back earns none). */
static void
bucket_fill(struct bucket *b, uint64_t now_us)
{
	uint64_t full = (uint64_t)b->burst * BUCKET_ONE, dt;

	if (now_us <= b->at_us)
		return;
	dt = now_us - b->at_us;
	b->at_us = now_us;
	/* Past the time a refill takes from empty, the bucket is full
	 * (and the product below cannot overflow). */
	if (dt >= full / b->rate + 1) {
		b->micro = full;
		return;
	}
	b->micro += dt * b->rate;
	if (b->micro > full)
		b->micro = full;
}

int
bucket_take(struct bucket *b, uint64_t now_us)
{
	bucket_fill(b, now_us);
	if (b->micro < BUCKET_ONE)
		return 0;
	b->micro -= BUCKET_ONE;
	return 1;
}

uint64_t
bucket_wait_us(struct bucket *b, uint64_t now_us)
{
	bucket_fill(b, now_us);
	if (b->micro >= BUCKET_ONE)
		return 0;
	return (BUCKET_ONE - b->micro + b->rate - 1) / b->rate;
}
