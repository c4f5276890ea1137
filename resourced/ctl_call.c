/*
 * ctl_call.c: mockresctl's connections to mockresd, and one request with
 * one reply under a deadline.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"

int
ctl_call_connect(struct ctl *ctl, struct mrclient **out, Mockres__Role role,
                 int reconnect)
{
	struct mrclient *mc;

	mc = mrclient_new(ctl->base, ctl->path, role, "mockresctl");
	if (mc == NULL) {
		fprintf(stderr, "mockresctl: %s\n", strerror(errno));
		return CTL_ERROR;
	}
	mrclient_set_reconnect(mc, reconnect);
	if (mrclient_start(mc) == -1 && !reconnect) {
		ctl_exit_unreachable(ctl, errno);
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
};

static void
ctl_call_cb(const Mockres__Response *resp, void *arg)
{
	struct ctl_call_state *st = arg;

	st->done = 1;
	if (resp == NULL)
		st->rc = ctl_exit_unreachable(st->ctl, ECONNRESET);
	else
		st->rc = st->fn(st->ctl, resp);
	event_base_loopbreak(st->ctl->base);
}

static void
ctl_call_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_call_state *st = arg;

	fprintf(stderr,
	        "mockresctl: mockresd at %s did not answer within %d s (is it "
	        "stopped or overloaded?)\n",
	        st->ctl->path, st->ctl->timeout_s);
	st->done = 1;
	st->rc = CTL_UNREACHABLE;
}

int
ctl_call(struct ctl *ctl, Mockres__Request *req, ctl_reply_fn fn)
{
	struct ctl_call_state st = {ctl, fn, 0, CTL_ERROR};
	struct timeval tv = clock_tv((uint64_t)ctl->timeout_s * 1000);
	struct event *timer;
	uint64_t id;
	int rc;

	if (ctl->mc == NULL &&
	    (rc = ctl_call_connect(ctl, &ctl->mc, MOCKRES__ROLE__ROLE_CTL,
	                           0)) != CTL_OK)
		return rc;
	if ((id = mrclient_send(ctl->mc, req, ctl_call_cb, &st, 0)) == 0)
		return ctl_exit_unreachable(ctl, errno);
	if ((timer = evtimer_new(ctl->base, ctl_call_timeout, &st)) == NULL ||
	    evtimer_add(timer, &tv) == -1) {
		if (timer != NULL)
			event_free(timer);
		mrclient_cancel(ctl->mc, id);
		fprintf(stderr, "mockresctl: cannot set a timer\n");
		return CTL_ERROR;
	}
	while (!st.done)
		if (event_base_loop(ctl->base, EVLOOP_ONCE) == -1)
			break;
	event_free(timer);
	mrclient_cancel(ctl->mc, id); /* a late reply must not find ST */
	return st.rc;
}
