/*
 * daemon.c: the daemon's one state, and when it may exit.
 */
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "mockresd.h"

struct mockresd *mrd;

void
daemon_init(struct mockresd *d, struct event_base *base, uint32_t limit,
            uint32_t hold_ms)
{
	memset(d, 0, sizeof(*d));
	mrd = d;
	d->base = base;
	d->uid = geteuid();
	d->start_us = clock_now_us();
	TAILQ_INIT(&d->conns);
	TAILQ_INIT(&d->dirty);
	event_assign(&d->flush_ev, base, -1, 0, conn_flush, NULL);
	arena_init(&d->arena);
	resource_init(&d->res, limit, hold_ms);
	holds_init(&d->holds, base, HOLD_MAX, dispatch_hold_end, NULL);
}

/*
 * Called whenever something that keeps a shutting-down daemon alive may
 * have ended: a hold, a client, a flushed reply.  The loop ends once no
 * hold is in flight and every reply has been written.
 */
void
daemon_check_exit(void)
{
	struct conn *c;

	if (!mrd->shutting_down || mrd->res.in_flight > 0)
		return;
	TAILQ_FOREACH(c, &mrd->conns, entry)
	if (!conn_output_empty(c))
		return; /* conn_write_cb calls us again */
	event_base_loopexit(mrd->base, NULL);
}
