/*
 * daemon.c: the daemon's one state, and when it may exit.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "mockresd.h"

struct mockresd *mrd;

void
daemon_init(struct mockresd *d, struct event_base *base, uint32_t limit,
            const struct model *m)
{
	memset(d, 0, sizeof(*d));
	mrd = d;
	d->base = base;
	d->uid = geteuid();
	d->start_us = clock_now_us();
	d->cores = m->cores;
	TAILQ_INIT(&d->conns);
	TAILQ_INIT(&d->dirty);
	event_assign(&d->flush_ev, base, -1, 0, conn_flush, NULL);
	arena_init(&d->arena);
	resource_init(d, m, limit);
	daemon_model_changed();
}

void
daemon_model_changed(void)
{
	const char *p = model_preset_of(&mrd->engine.model, mrd->cores);

	snprintf(mrd->preset, sizeof(mrd->preset), "%s", p ? p : "");
}

/*
 * Called whenever something that keeps a shutting-down daemon alive may
 * have ended: a use, a client, a flushed reply.  The loop ends once no use
 * is in the resource and every reply has been written.
 */
void
daemon_check_exit(void)
{
	struct conn *c;

	if (!mrd->shutting_down ||
	    mrd->engine.in_flight + mrd->engine.waiting > 0)
		return;
	TAILQ_FOREACH(c, &mrd->conns, entry)
	if (!conn_output_empty(c))
		return; /* conn_write_cb calls us again */
	event_base_loopexit(mrd->base, NULL);
}
