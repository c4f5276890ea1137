/*
 * resource.c: the mock resource inside mockresd: the engine (engine.c, pure
 * logic) on the real clock, with one libevent timer armed for whatever the
 * engine says is due next.
 *
 * resource_arm() is cheap unless something became due sooner (a compare):
 * the timer is moved only when the next deadline comes earlier than the one
 * it is armed for.  A later one (a new use ending after the earliest, the
 * earliest one cancelled) leaves it where it is: it fires early, finds
 * nothing or something due, and is armed again from there.  So a stream of
 * uses costs no timer operation each, whatever their durations.
 */
#include <stdio.h>

#include "clock.h"
#include "log.h"
#include "mockresd.h"

static void
resource_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	mrd->timer_at_us = UINT64_MAX;
	engine_run(&mrd->engine, clock_now_us());
	resource_arm();
}

void
resource_init(struct mockresd *d, const struct model *m, uint32_t limit,
              engine_end_fn end)
{
	d->cores = m->cores;
	engine_init(&d->engine, m, limit, end, NULL, clock_now_us());
	d->timer_at_us = UINT64_MAX;
	if ((d->timer = evtimer_new(d->base, resource_timer_cb, NULL)) ==
	        NULL ||
	    conn_event_high(d->timer) == -1)
		fatalx("cannot create the resource timer");
	resource_model_changed();
}

void
resource_model_changed(void)
{
	const char *p = model_preset_of(&mrd->engine.model, mrd->cores);

	snprintf(mrd->preset, sizeof(mrd->preset), "%s", p ? p : "");
}

void
resource_free(struct mockresd *d)
{
	if (d->timer != NULL)
		event_free(d->timer);
	d->timer = NULL;
	engine_free(&d->engine);
}

void
resource_arm(void)
{
	uint64_t next, now, left;
	struct timeval tv;

	if (!engine_take_sooner(&mrd->engine))
		return;
	next = engine_next(&mrd->engine);
	if (next >= mrd->timer_at_us)
		return; /* nothing earlier than what the timer is armed for */
	mrd->timer_at_us = next;
	now = clock_now_us();
	left = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(left / 1000000);
	tv.tv_usec = (suseconds_t)(left % 1000000);
	if (evtimer_add(mrd->timer, &tv) == -1)
		fatalx("cannot arm the resource timer");
}
