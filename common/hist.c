/*
 * hist.c: the log-linear histogram (see hist.h for the bucket layout).
 */
#include <string.h>

#include "hist.h"

void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_us = UINT64_MAX;
}

uint32_t
hist_bucket(uint64_t us)
{
	unsigned e;

	if (us < HIST_EXACT)
		return (uint32_t)us;
	if (us >= HIST_VALUE_MAX)
		return HIST_BUCKETS - 1;
	e = 63u - (unsigned)__builtin_clzll(us); /* 6 .. 39 */
	return HIST_EXACT + (e - 6) * HIST_SUB +
	       (uint32_t)((us >> (e - HIST_SUB_BITS)) - HIST_SUB);
}

uint64_t
hist_bucket_low(uint32_t i)
{
	uint32_t e, m;

	if (i < HIST_EXACT)
		return i;
	e = 6 + (i - HIST_EXACT) / HIST_SUB;
	m = HIST_SUB + (i - HIST_EXACT) % HIST_SUB;
	return (uint64_t)m << (e - HIST_SUB_BITS);
}

uint64_t
hist_bucket_high(uint32_t i)
{
	if (i + 1 >= HIST_BUCKETS)
		return UINT64_MAX;
	return hist_bucket_low(i + 1);
}

static void
hist_widen(struct hist *h, uint32_t i)
{
	if (h->count == 0) {
		h->lo = h->hi = i;
		return;
	}
	if (i < h->lo)
		h->lo = i;
	if (i > h->hi)
		h->hi = i;
}

void
hist_add(struct hist *h, uint64_t us)
{
	uint32_t i = hist_bucket(us);

	hist_widen(h, i);
	h->buckets[i]++;
	h->count++;
	h->sum_us += us;
	if (us < h->min_us)
		h->min_us = us;
	if (us > h->max_us)
		h->max_us = us;
}

void
hist_add_bucket(struct hist *h, uint32_t i, uint64_t n)
{
	uint64_t low, high;

	if (n == 0 || i >= HIST_BUCKETS)
		return;
	low = hist_bucket_low(i);
	high = hist_bucket_high(i);
	hist_widen(h, i);
	h->buckets[i] += n;
	h->count += n;
	if (low < h->min_us)
		h->min_us = low;
	if (high - 1 > h->max_us)
		h->max_us = high == UINT64_MAX ? low : high - 1;
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
	uint32_t i;

	if (src->count == 0)
		return;
	hist_widen(dst, src->lo);
	hist_widen(dst, src->hi);
	for (i = src->lo; i <= src->hi; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum_us += src->sum_us;
	if (src->min_us < dst->min_us)
		dst->min_us = src->min_us;
	if (src->max_us > dst->max_us)
		dst->max_us = src->max_us;
}

uint64_t
hist_quantile_us(const struct hist *h, double q)
{
	uint64_t rank, seen = 0, low, high, mid;
	uint32_t i;

	if (h->count == 0)
		return 0;
	if (q >= 1.0)
		return h->max_us;
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	for (i = h->lo; i <= h->hi; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			break;
	}
	/* The midpoint of the part of the bucket the values can be in:
	 * within [min, max] too, so that values all in one bucket (every
	 * serial request of the lab: 500.0 .. 502.6 ms) read as what they
	 * are, not as the bucket's middle. */
	if (i < HIST_EXACT)
		return hist_bucket_low(i);
	low = hist_bucket_low(i);
	high = hist_bucket_high(i) - 1;
	if (low < h->min_us)
		low = h->min_us;
	if (high > h->max_us)
		high = h->max_us;
	mid = low + (high - low + 1) / 2;
	return mid;
}

double
hist_mean_us(const struct hist *h)
{
	return h->count ? (double)h->sum_us / (double)h->count : 0.0;
}

uint64_t
hist_count_le(const struct hist *h, uint64_t us)
{
	uint64_t n = 0;
	uint32_t i;

	if (h->count == 0)
		return 0;
	for (i = h->lo; i <= h->hi; i++) {
		if (hist_bucket_high(i) > us + 1)
			break;
		n += h->buckets[i];
	}
	return n;
}
