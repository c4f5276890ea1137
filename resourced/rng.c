/*
 * rng.c: xoshiro256**, splitmix64 and Box-Muller.
 */
#include <math.h>

#include "rng.h"

static uint64_t
rng_splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = rng_splitmix(&seed);
}

static uint64_t
rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return result;
}

double
rng_double(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Lemire's multiply-shift with rejection: no modulo bias. */
uint64_t
rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t span, x, threshold;
	__uint128_t m;

	if (lo == 0 && hi == UINT64_MAX) /* the whole 64-bit range */
		return rng_next(r);
	span = hi - lo + 1;
	threshold = (UINT64_MAX - span + 1) % span; /* 2^64 mod span */
	do {
		x = rng_next(r);
		m = (__uint128_t)x * span;
	} while ((uint64_t)m < threshold);
	return lo + (uint64_t)(m >> 64);
}

double
rng_normal(struct rng *r)
{
	double u1 = 1.0 - rng_double(r); /* (0, 1]: log() is finite */
	double u2 = rng_double(r);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
