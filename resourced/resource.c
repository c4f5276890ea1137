/*
 * resource.c: admission to the mock resource.
 *
 * Pure bookkeeping, no I/O.  Invariants, at every moment:
 *   in_flight <= limit when limit > 0 (a lowered limit is an exception:
 *     holds already admitted run out, nothing new is admitted),
 *   admitted == completed + in_flight,
 *   every use is counted once, as admitted or as rejected.
 */
#include "mockresd.h"

void
resource_init(struct resource *r, uint32_t limit, uint32_t hold_ms)
{
	r->limit = limit;
	r->hold_ms = hold_ms;
	r->in_flight = 0;
	r->peak = 0;
	r->admitted = 0;
	r->rejected = 0;
	r->completed = 0;
}

int
resource_admit(struct resource *r)
{
	if (r->limit > 0 && r->in_flight >= r->limit) {
		r->rejected++;
		return -1;
	}
	r->in_flight++;
	r->admitted++;
	if (r->in_flight > r->peak)
		r->peak = r->in_flight;
	return 0;
}

/* Turns the last admission into a rejection (its hold could not start). */
void
resource_unadmit(struct resource *r)
{
	r->in_flight--;
	r->admitted--;
	r->rejected++;
}

void
resource_release(struct resource *r)
{
	if (r->in_flight == 0)
		return; /* a bug elsewhere; never wrap */
	r->in_flight--;
	r->completed++;
}

void
resource_set_limit(struct resource *r, uint32_t limit)
{
	r->limit = limit;
}

void
resource_reset_peak(struct resource *r)
{
	r->peak = r->in_flight;
}

int
resource_check(const struct resource *r)
{
	if (r->admitted != r->completed + r->in_flight)
		return -1;
	if (r->peak < r->in_flight)
		return -1;
	return 0;
}
