/*
 * resource.c: the mock resource inside mockresd: the engine (engine.c, pure
 * logic) on the real clock, with one timer of its own: a timerfd.
 *
 * The timer policy: the timer is armed for the engine's next *loud* moment
 * (engine_next_loud: a serial use's DONE, a queue timeout, CoDel's check,
 * an end that starts a waiter), to the microsecond; an async end that
 * nobody waits for only lowers in_flight and raises completed, so it need
 * not wake mockresd: the timer allows it RESOURCE_SLACK_US.  Under load it
 * never needs to: each use that arrives first does what was due (the
 * engine does it, each end at its own moment), and so does every reader
 * of the counts (resource_now: the stats, the watches, the admin
 * operations).  While shutting down every end is loud: the daemon exits
 * when the last one ends.
 *
 * resource_arm() is cheap unless something became due sooner (a compare):
 * the timer is moved only when the moment it is needed comes earlier than
 * the one it is armed for.  A later one (a new use ending after the
 * earliest, the earliest one cancelled) leaves it where it is: it fires
 * early, finds nothing or something due, and is armed again from there.
 * So a stream of uses costs no timer operation each, whatever their
 * durations.
 *
 * The timer is a timerfd (CLOCK_MONOTONIC, clock_now_us's clock) armed
 * for the absolute moment, read as a descriptor of the loop: it ends a
 * hold within microseconds, where a libevent timer on a base without
 * EVENT_BASE_FLAG_PRECISE_TIMER runs on the coarse clock (up to a 4 ms
 * step early or late, mockresd.c, mockresd_base), and that flag's own
 * timerfd costs a system call every loop turn.  This one is set only when
 * resource_arm moves it.
 */
#include <sys/timerfd.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "mockresd.h"

/* How late a quiet end may be done (engine_next_loud): the timer wakes
 * mockresd for one at most this late if no use or reader came before. */
#define RESOURCE_SLACK_US 10000

static int resource_precise; /* armed while shutting down */

static void
resource_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t expiries;

	if (read(fd, &expiries, sizeof(expiries)) == -1) {
		if (errno == EAGAIN)
			return; /* moved since it expired: armed as it says */
		fatal("cannot read the resource timer (timerfd)");
	}
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
	d->timer_fd =
	    timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->timer_fd == -1)
		fatal("cannot create the resource timer (timerfd_create)");
	if ((d->timer = event_new(d->base, d->timer_fd, EV_READ | EV_PERSIST,
	                          resource_timer_cb, NULL)) == NULL ||
	    conn_event_high(d->timer) == -1 || event_add(d->timer, NULL) == -1)
		fatalx("cannot create the resource timer's event");
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
	if (d->timer != NULL) { /* resource_init made both */
		event_free(d->timer);
		close(d->timer_fd);
	}
	d->timer = NULL;
	d->timer_fd = -1;
	engine_free(&d->engine);
}

/* When the timer must fire: the next loud moment, or the next quiet end
 * plus the slack, or every end while shutting down. */
static uint64_t
resource_needed(void)
{
	uint64_t next = engine_next(&mrd->engine), loud;

	if (mrd->shutting_down || next == UINT64_MAX)
		return next;
	loud = engine_next_loud(&mrd->engine);
	if (next > UINT64_MAX - RESOURCE_SLACK_US)
		return loud;
	return loud < next + RESOURCE_SLACK_US ? loud
	                                       : next + RESOURCE_SLACK_US;
}

uint64_t
resource_now(void)
{
	uint64_t now = clock_now_us();

	engine_run(&mrd->engine, now);
	resource_arm();
	return now;
}

void
resource_arm(void)
{
	struct itimerspec its = {{0, 0}, {0, 0}};
	uint64_t next;

	if (!engine_take_sooner(&mrd->engine) &&
	    resource_precise == mrd->shutting_down)
		return;
	resource_precise = mrd->shutting_down;
	next = resource_needed();
	if (next >= mrd->timer_at_us)
		return; /* nothing earlier than what the timer is armed for */
	mrd->timer_at_us = next;
	/* absolute, on clock_now_us's clock; a moment past fires at once */
	its.it_value.tv_sec = (time_t)(next / 1000000);
	its.it_value.tv_nsec = (long)(next % 1000000) * 1000;
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1; /* 0 would disarm it */
	if (timerfd_settime(mrd->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
		fatal("cannot arm the resource timer (timerfd_settime)");
}
