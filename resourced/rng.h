/*
 * rng.h: the engine's seeded random numbers.
 *
 * xoshiro256** (Blackman and Vigna), seeded through splitmix64, so that
 * the same seed gives the same sequence on every machine; normal draws by
 * the Box-Muller transform.  Not for anything secret.
 */
#ifndef MOCKRES_RNG_H
#define MOCKRES_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *, uint64_t seed);
uint64_t rng_next(struct rng *);
/* Uniform in [0, 1), 53 bits. */
double rng_double(struct rng *);
/* Uniform integer in [lo, hi], inclusive. */
uint64_t rng_range(struct rng *, uint64_t lo, uint64_t hi);
/* Standard normal N(0, 1). */
double rng_normal(struct rng *);

#endif
