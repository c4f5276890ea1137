/*
 * average.c: the rolling average the original page shows: the mean of the
 * last AVERAGE_SAMPLES samples of the in-flight count, rounded to two
 * decimals.  Kept in integer hundredths so the rounding is exact (half
 * up) and the printed value never shows binary noise.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

void
average_reset(struct average *a)
{
	memset(a, 0, sizeof(*a));
}

void
average_add(struct average *a, uint64_t sample)
{
	a->samples[a->next] = sample;
	a->next = (a->next + 1) % AVERAGE_SAMPLES;
	if (a->n < AVERAGE_SAMPLES)
		a->n++;
}

/* The mean of the samples held (fewer than 11 right after a start). */
uint64_t
average_hundredths(const struct average *a)
{
	uint64_t sum = 0;
	size_t i;

	if (a->n == 0)
		return 0;
	for (i = 0; i < a->n; i++)
		sum += a->samples[i];
	return (sum * 200 + a->n) / (2 * a->n);
}

void
average_format(const struct average *a, char *buf, size_t len)
{
	uint64_t h = average_hundredths(a);

	snprintf(buf, len, "%llu.%02llu", (unsigned long long)(h / 100),
	         (unsigned long long)(h % 100));
}
