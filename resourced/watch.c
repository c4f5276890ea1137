/*
 * watch.c: the watch streams (op watch), one budget for all of them.
 *
 * A watch pushes a stats snapshot every interval_ms to the connection that
 * asked.  Whoever asks, what the watches cost mockresd is bounded:
 *
 * - CPU: one timer serves every watch that is due, and the snapshot is
 *   built and packed once (once with the client list, once without) and
 *   framed for each watcher with its own id (fconn_send_with_id): a push
 *   costs a copy, not a Stats built and packed per watcher.  A snapshot
 *   serves the pushes of WATCH_SHARE_US; pushes are due on whole
 *   milliseconds and a watch starts in phase with a WATCH_MIN_MS grid, so
 *   watches of one interval come due together.  (Built per watcher, 1000
 *   watches at 10 ms with the client list held mockresd at 70-90% of a
 *   core, 40% of it in protobuf-c's packing.)
 * - Memory: a push is skipped while the socket has not taken the previous
 *   ones (fconn_backlogged): a watch carries the latest state, never a
 *   backlog, so mockresd holds at most one turn's replies for a watcher
 *   that does not read (400 such watchers at 10 ms with the client list
 *   took mockresd from 2.7 MB to 449 MB).  One that has not taken a push
 *   for WATCH_STALE_US is closed.
 * - Who: the client list and intervals under WATCH_UNTRUSTED_MIN_MS are
 *   for trusted peers (trust_privileged: root or mockresd's own user, a
 *   CN named by --tls-admin or --tls-frontend; the dashboard asks every
 *   20 ms with the client list); others get DENIED, and may hold at most
 *   WATCH_UNTRUSTED_MAX watches at once together (one more is BUSY).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mockresd.h"

static void watch_fire(evutil_socket_t, short, void *);

static int
watch_trusted(const struct conn *c)
{
	return trust_privileged(c);
}

/* The state in mrd (zeroed by conn_init), set up at the first watch. */
static int
watch_ready(void)
{
	struct watch_state *w = &mrd->watch;

	if (w->timer != NULL)
		return 0;
	TAILQ_INIT(&w->list);
	if ((w->timer = evtimer_new(mrd->base, watch_fire, NULL)) == NULL)
		return -1;
	(void)conn_event_high(w->timer);
	return 0;
}

/*
 * The packed answer {status OK, stats} without an id, built at most once
 * per WATCH_SHARE_US; NULL if it cannot be (logged).
 */
static const struct watch_snap *
watch_snapshot(int with_clients, uint64_t now_us)
{
	struct watch_snap *s = &mrd->watch.snap[with_clients != 0];
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;
	Mockres__Stats stats;
	size_t n;

	if (s->built_us != 0 && now_us - s->built_us < WATCH_SHARE_US)
		return s;
	stats_fill(&stats, with_clients);
	resp.has_status = 1;
	resp.status = MOCKRES__STATUS__OK;
	resp.stats = &stats;
	n = mockres__response__get_packed_size(&resp);
	if (n > s->cap) {
		unsigned char *p = realloc(s->buf, n);

		if (p == NULL) {
			log_warnx("watch: out of memory for a snapshot of %zu "
			          "bytes",
			          n);
			return NULL;
		}
		s->buf = p;
		s->cap = n;
	}
	s->len = mockres__response__pack(&resp, s->buf);
	s->built_us = now_us;
	return s;
}

/*
 * One push to C, unless its socket has not taken the last ones.  Returns
 * 0, or -1 if C was closed (it may be freed: do not touch it).
 */
static int
watch_push(struct conn *c, uint64_t now_us)
{
	const struct watch_snap *s;

	if (fconn_backlogged(&c->fc)) {
		if (c->watch_stale_us == 0)
			c->watch_stale_us = now_us;
		else if (now_us - c->watch_stale_us >= WATCH_STALE_US) {
			conn_close(c, "its watch took nothing for 30 s "
			              "(client not reading)");
			return -1;
		}
		return 0;
	}
	c->watch_stale_us = 0;
	if ((s = watch_snapshot(c->watch_clients, now_us)) == NULL)
		return 0;
	return conn_reply_packed(c, c->watch_id, s->buf, s->len);
}

/* The next push of C: whole milliseconds, INTERVAL after the last one, or
 * after NOW if it fell that far behind. */
static void
watch_schedule(struct conn *c, uint64_t now_us)
{
	uint64_t step = (uint64_t)c->watch_ms * 1000;

	c->watch_next_us += step;
	if (c->watch_next_us <= now_us)
		c->watch_next_us = now_us - now_us % 1000 + step;
}

/* The timer, for AT (UINT64_MAX: off). */
static void
watch_arm_at(uint64_t at)
{
	struct watch_state *w = &mrd->watch;
	uint64_t now, in;
	struct timeval tv;

	w->timer_at_us = at;
	if (at == UINT64_MAX) {
		evtimer_del(w->timer);
		return;
	}
	now = clock_now_us();
	in = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(in / 1000000);
	tv.tv_usec = (suseconds_t)(in % 1000000);
	evtimer_add(w->timer, &tv);
}

/* Every watch due (or due within WATCH_SHARE_US) gets its push. */
static void
watch_fire(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = resource_now(), at = UINT64_MAX;
	struct conn *c, *next;

	/* (resource_now first: it may close connections, before the walk) */
	for (c = TAILQ_FIRST(&mrd->watch.list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, watch_entry);
		if (c->watch_next_us <= now + WATCH_SHARE_US) {
			watch_schedule(c, now);
			if (watch_push(c, now) == -1)
				continue; /* closed: it left the list */
		}
		if (c->watch_next_us < at)
			at = c->watch_next_us;
	}
	watch_arm_at(at);
}

void
watch_stop(struct conn *c)
{
	if (!c->watching)
		return;
	TAILQ_REMOVE(&mrd->watch.list, c, watch_entry);
	mrd->watch.n--;
	if (!watch_trusted(c))
		mrd->watch.untrusted--;
	c->watching = 0;
	/* the timer stays: firing with nothing due costs one walk */
}

static void
watch_denied(struct conn *c, uint64_t id, const char *what)
{
	reply_status(c, id, MOCKRES__STATUS__DENIED, trust_denied(c, what));
}

void
watch_start(struct conn *c, uint64_t id, const Mockres__Watch *w)
{
	uint32_t ms = w->has_interval_ms ? w->interval_ms : 1000;
	int clients = w->has_clients && w->clients;
	uint64_t now;

	if (ms != 0 &&
	    (ms < MOCKRES_WATCH_MIN_MS || ms > MOCKRES_WATCH_MAX_MS)) {
		reply_bad(
		    c, id,
		    "watch: interval_ms must be 0 or " MOCKRES_STR(
		        MOCKRES_WATCH_MIN_MS) ".." MOCKRES_STR(MOCKRES_WATCH_MAX_MS));
		return;
	}
	if (ms != 0 && !watch_trusted(c)) {
		if (clients) {
			watch_denied(c, id, "watch the client list");
			return;
		}
		if (ms < WATCH_UNTRUSTED_MIN_MS) {
			watch_denied(c, id,
			             "watch more often than every " MOCKRES_STR(
			                 WATCH_UNTRUSTED_MIN_MS) " ms");
			return;
		}
		if (!c->watching &&
		    mrd->watch.untrusted >= WATCH_UNTRUSTED_MAX) {
			reply_status(c, id, MOCKRES__STATUS__BUSY,
			             "too many watches: " MOCKRES_STR(
			                 WATCH_UNTRUSTED_MAX) " from clients "
			                                      "that are not "
			                                      "root or "
			                                      "mockresd's own "
			                                      "user");
			return;
		}
	}
	watch_stop(c);
	if (ms == 0) {
		reply_status(c, id, MOCKRES__STATUS__OK, NULL);
		return;
	}
	if (watch_ready() == -1) {
		reply_bad(c, id, "watch: out of memory");
		return;
	}
	now = clock_now_us();
	c->watching = 1;
	c->watch_id = id;
	c->watch_ms = ms;
	c->watch_clients = clients;
	c->watch_stale_us = 0;
	/* in phase with the grid: watches of one interval come due together */
	c->watch_next_us =
	    now - now % ((uint64_t)WATCH_MIN_MS * 1000) + (uint64_t)ms * 1000;
	TAILQ_INSERT_TAIL(&mrd->watch.list, c, watch_entry);
	mrd->watch.n++;
	if (!watch_trusted(c))
		mrd->watch.untrusted++;
	if (c->watch_next_us < mrd->watch.timer_at_us ||
	    !evtimer_pending(mrd->watch.timer, NULL))
		watch_arm_at(c->watch_next_us);
	(void)watch_push(c, now); /* the first one at once */
}

void
watch_free_all(void)
{
	struct watch_state *w = &mrd->watch;
	int i;

	if (w->timer != NULL)
		event_free(w->timer);
	for (i = 0; i < 2; i++)
		free(w->snap[i].buf);
	memset(w, 0, sizeof(*w));
}
