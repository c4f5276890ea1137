/*
 * ctl_call.c: mockresctl's connections to mockresd, and one request with
 * one reply under a deadline.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"

struct ctl_connect_state {
	int done;
	int up;
};

static void
ctl_connect_state_cb(struct mrclient *mc, int up, int error, void *arg)
{
	struct ctl_connect_state *st = arg;

	st->done = 1;
	st->up = up;
}

int
ctl_call_connect(struct ctl *ctl, struct mrclient **out, Mockres__Role role,
                 int reconnect)
{
	struct ctl_connect_state st = {0, 0};
	struct mrclient *mc;

	mc = mrclient_new(ctl->base, ctl->path, role, "mockresctl");
	if (mc == NULL) {
		fprintf(stderr, "mockresctl: %s\n", strerror(errno));
		return CTL_ERROR;
	}
	mrclient_set_tls(mc, &ctl->tls);
	mrclient_set_reconnect(mc, reconnect);
	mrclient_set_state_cb(mc, ctl_connect_state_cb, &st);
	/* A Unix socket answers at once; TLS within its deadlines. */
	if (mrclient_start(mc) == -1 && errno == EINPROGRESS)
		while (!st.done)
			if (event_base_loop(ctl->base, EVLOOP_ONCE) == -1)
				break;
	mrclient_set_state_cb(mc, NULL, NULL);
	if (!mrclient_connected(mc) && !reconnect) {
		ctl_exit_unreachable(mc);
		mrclient_free(mc);
		return CTL_UNREACHABLE;
	}
	*out = mc;
	return CTL_OK;
}

struct ctl_call_state {
	struct ctl *ctl;
	ctl_reply_fn fn;
	int done;
	int rc;
	uint64_t life_us; /* the last reply of any kind, or the start */
	uint64_t ping_id; /* a ping waiting for its reply, or 0 */
};

static void
ctl_call_cb(const Mockres__Response *resp, void *arg)
{
	struct ctl_call_state *st = arg;

	st->done = 1;
	if (resp == NULL)
		st->rc = ctl_exit_unreachable(st->ctl->mc);
	else
		st->rc = st->fn(st->ctl, resp);
	event_base_loopbreak(st->ctl->base);
}

static void
ctl_call_silent(struct ctl_call_state *st)
{
	fprintf(stderr,
	        "mockresctl: no answer from mockresd at %s within %d s (is it "
	        "stopped?)\n",
	        st->ctl->path, CTL_REPLY_TIMEOUT_S);
	st->done = 1;
	st->rc = CTL_UNREACHABLE;
}

static void
ctl_call_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_call_state *st = arg;
	const struct ctl *ctl = st->ctl;

	if (ctl->hold_wait_ms == 0) {
		ctl_call_silent(st);
		return;
	}
	fprintf(stderr,
	        "mockresctl: no answer from mockresd at %s within %.1f s (the "
	        "%d s reply timeout plus %s)\n",
	        ctl->path,
	        CTL_REPLY_TIMEOUT_S + (double)ctl->hold_wait_ms / 1000.0,
	        CTL_REPLY_TIMEOUT_S, ctl->hold_wait_what);
	st->done = 1;
	st->rc = CTL_UNREACHABLE;
}

static void
ctl_call_ping_cb(const Mockres__Response *resp, void *arg)
{
	struct ctl_call_state *st = arg;

	st->ping_id = 0;
	if (resp != NULL)
		st->life_us = clock_now_us();
}

/* Every second of a long wait: is mockresd still answering? */
static void
ctl_call_ping(evutil_socket_t fd, short what, void *arg)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	struct ctl_call_state *st = arg;

	if (clock_now_us() - st->life_us >=
	    (uint64_t)CTL_REPLY_TIMEOUT_S * 1000000u) {
		ctl_call_silent(st);
		return;
	}
	if (st->ping_id != 0)
		return;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	st->ping_id = mrclient_send(st->ctl->mc, &req, ctl_call_ping_cb, st, 0);
}

/*
 * Sends REQ on the ctl's connection (made on first use), runs FN on the
 * reply and returns its exit code.  A daemon that accepts but never
 * answers costs CTL_REPLY_TIMEOUT_S, not a hang.  A call that may wait for
 * a hold (ctl->hold_wait_ms > 0) waits at most that much longer, and only
 * while mockresd keeps answering the stats request sent every second
 * meanwhile: silent for CTL_REPLY_TIMEOUT_S, it is given up.
 */
int
ctl_call(struct ctl *ctl, Mockres__Request *req, ctl_reply_fn fn)
{
	struct ctl_call_state st = {ctl, fn, 0, CTL_ERROR, 0, 0};
	struct timeval tv =
	    clock_tv((uint64_t)CTL_REPLY_TIMEOUT_S * 1000u + ctl->hold_wait_ms);
	struct timeval second = clock_tv(1000);
	struct event *timer = NULL, *ping = NULL;
	uint64_t id;
	int rc;

	if (ctl->mc == NULL &&
	    (rc = ctl_call_connect(ctl, &ctl->mc, MOCKRES__ROLE__ROLE_CTL,
	                           0)) != CTL_OK)
		return rc;
	if ((id = mrclient_send(ctl->mc, req, ctl_call_cb, &st, 0)) == 0)
		return ctl_exit_unreachable(ctl->mc);
	st.life_us = clock_now_us();
	if ((timer = evtimer_new(ctl->base, ctl_call_timeout, &st)) == NULL ||
	    evtimer_add(timer, &tv) == -1 ||
	    (ctl->hold_wait_ms > 0 &&
	     ((ping = event_new(ctl->base, -1, EV_PERSIST, ctl_call_ping,
	                        &st)) == NULL ||
	      event_add(ping, &second) == -1))) {
		if (timer != NULL)
			event_free(timer);
		if (ping != NULL)
			event_free(ping);
		mrclient_cancel(ctl->mc, id);
		fprintf(stderr, "mockresctl: cannot set a timer\n");
		return CTL_ERROR;
	}
	while (!st.done)
		if (event_base_loop(ctl->base, EVLOOP_ONCE) == -1)
			break;
	event_free(timer);
	if (ping != NULL)
		event_free(ping);
	/* Late replies must not find ST. */
	mrclient_cancel(ctl->mc, id);
	if (st.ping_id != 0)
		mrclient_cancel(ctl->mc, st.ping_id);
	return st.rc;
}
