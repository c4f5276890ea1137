/*
 * liveness.c: is mockresd answering?
 *
 * A mockresd that is connected but does not answer (stopped by SIGSTOP,
 * wedged, swapping) would hold every request for its whole
 * --request-timeout, and /healthz would still say 200.  So every reply
 * from mockresd counts as a sign of life (http.c counts them in
 * ws->replies: one increment on the hot path), and a timer ticks every
 * LIVENESS_TICK_MS:
 *
 * - no reply for LIVENESS_PING_MS: ask for one, with a stats request as
 *   a ping (one at a time; with traffic flowing none is ever sent);
 * - then no reply for LIVENESS_STALL_MS - LIVENESS_PING_MS more: mockresd
 *   is stalled.  /healthz answers 503 and new uses 503 at once (http.c);
 *   the connection is dropped, so the uses waiting on it are answered 503
 *   "outcome unknown" now rather than at their deadline, and opened again
 *   (the connect usually succeeds: the kernel queues it for the stopped
 *   daemon).  The worker stays stalled, with a ping waiting on the new
 *   connection, until any reply arrives.
 *
 * The stall is counted from when the ping was sent, not from the last
 * reply: a worker that was itself stopped for a while must ask before it
 * concludes anything.  Replies that arrived meanwhile are read before the
 * tick runs (libevent runs the I/O callbacks of a loop turn before its
 * timers), so they count.
 */
#include <errno.h>
#include <string.h>

#include "clock.h"
#include "frontend.h"
#include "log.h"
#include "mrclient.h"

static struct wstate *lws;
static struct event *liveness_tick_ev;
static uint64_t liveness_seen;       /* lws->replies at the last tick */
static uint64_t liveness_life_ms;    /* last sign of life */
static uint64_t liveness_asked_ms;   /* asked, no reply since; 0: not */
static uint64_t liveness_stalled_ms; /* stalled since; 0: not stalled */
static uint64_t liveness_ping_id;

static void
liveness_ping_cb(const Mockres__Response *resp, void *arg)
{
	liveness_ping_id = 0;
	if (resp != NULL)
		lws->replies++;
}

static void
liveness_ping(uint64_t now)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;

	liveness_asked_ms = now;
	if (liveness_ping_id != 0)
		return; /* the last one is still waiting: it asks as well */
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	liveness_ping_id =
	    mrclient_send(lws->mc, &req, liveness_ping_cb, NULL, 0);
}

static void
liveness_stall(uint64_t now)
{
	log_warnx("mockresd at %s has not answered for %.1f s (stopped or "
	          "overloaded?): answering 503 and reconnecting",
	          mrclient_path(lws->mc),
	          (double)(now - liveness_life_ms) / 1000.0);
	liveness_stalled_ms = now;
	liveness_asked_ms = 0;
	liveness_life_ms = now;
	/* Fails the waiting uses (503) and the ping; the state callback
	 * then calls liveness_up once the new connection is made. */
	mrclient_drop(lws->mc, ETIMEDOUT);
}

static void
liveness_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = clock_now_ms();

	if (!mrclient_connected(lws->mc))
		return;
	if (lws->replies != liveness_seen) {
		liveness_seen = lws->replies;
		liveness_life_ms = now;
		liveness_asked_ms = 0;
		if (liveness_stalled_ms != 0) {
			log_info("mockresd at %s answers again, after %.1f s",
			         mrclient_path(lws->mc),
			         (double)(now - liveness_stalled_ms) / 1000.0);
			liveness_stalled_ms = 0;
		}
		return;
	}
	if (liveness_asked_ms != 0) {
		if (liveness_stalled_ms == 0 &&
		    now - liveness_asked_ms >=
		        LIVENESS_STALL_MS - LIVENESS_PING_MS)
			liveness_stall(now);
		return;
	}
	if (now - liveness_life_ms >= LIVENESS_PING_MS)
		liveness_ping(now);
}

int
liveness_init(struct wstate *ws)
{
	struct timeval tv = clock_tv(LIVENESS_TICK_MS);

	lws = ws;
	liveness_tick_ev =
	    event_new(ws->base, -1, EV_PERSIST, liveness_tick_cb, NULL);
	if (liveness_tick_ev == NULL || event_add(liveness_tick_ev, &tv) == -1)
		return -1;
	return 0;
}

void
liveness_up(void)
{
	uint64_t now = clock_now_ms();

	liveness_seen = lws->replies;
	liveness_life_ms = now;
	liveness_asked_ms = 0;
	liveness_ping_id = 0;
	/* Stalled: find out at once whether this connection is answered. */
	if (liveness_stalled_ms != 0)
		liveness_ping(now);
}

int
liveness_stalled(void)
{
	return liveness_stalled_ms != 0;
}
