/*
 * bucket.h: a token bucket: at most RATE events a second on average, in
 * bursts of at most BURST.  A pure function of the times it is given (the
 * caller reads the clock), so that it is tested without sleeping.
 *
 * mockresd's TLS handshake budget (resourced/gate.c) is one.
 */
#ifndef MOCKRES_BUCKET_H
#define MOCKRES_BUCKET_H

#include <stdint.h>

struct bucket {
	uint64_t micro; /* tokens x 1,000,000 */
	uint64_t at_us; /* when MICRO was last brought up to date */
	uint32_t rate;  /* tokens a second (>= 1) */
	uint32_t burst; /* the most it holds (>= 1) */
};

/* Full (BURST tokens) at NOW_US. */
void bucket_init(struct bucket *, uint32_t rate, uint32_t burst,
                 uint64_t now_us);
/* Takes a token at NOW_US: 1 if there was one, 0 if not. */
int bucket_take(struct bucket *, uint64_t now_us);
/* Microseconds from NOW_US until a token is there (0: one is). */
uint64_t bucket_wait_us(struct bucket *, uint64_t now_us);

#endif
