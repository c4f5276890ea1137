/*
 * feed.c: the one watch on mockresd, and what each push becomes.
 *
 * A push every DASH_WATCH_MS adds a sample to the rolling average,
 * refreshes the process table (its /proc figures at most every
 * DASH_SLOW_MS), is formatted once and fanned out to every browser.
 * While mockresd is unreachable, a snapshot with "connected":false goes
 * out every DASH_SLOW_MS so the page can say so; mrclient reconnects by
 * itself and the state callback asks for the watch again.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "dashboard.h"
#include "log.h"
#include "mrclient.h"
#include "names.h"

static struct evbuffer *feed_json;

static void
feed_publish(struct feed *f)
{
	struct snap *sn;

	snapshot_json(feed_json, &f->stats, f->connected, &f->avg, &f->procs);
	if ((sn = snap_new(feed_json)) == NULL) {
		evbuffer_drain(feed_json, evbuffer_get_length(feed_json));
		log_warnx("out of memory for a snapshot; skipping it");
		return;
	}
	snap_unref(f->snap);
	f->snap = sn;
	sse_broadcast(sn);
	f->last_event_ms = (double)clock_now_us() / 1000.0;
}

static void
feed_reply(const Mockres__Response *resp, void *arg)
{
	struct feed *f = arg;
	double now = (double)clock_now_us() / 1000.0;

	if (resp == NULL)
		return; /* the state callback says it */
	if (resp->status != MOCKRES__STATUS__OK || resp->stats == NULL) {
		log_warnx("mockresd refused the watch (%s%s%s)",
		          names_status(resp->status), resp->error ? ": " : "",
		          resp->error ? resp->error : "");
		return;
	}
	f->stats = *resp->stats;
	f->stats.n_clients = 0;
	f->stats.clients = NULL;
	f->connected = 1;
	average_add(&f->avg, resp->stats->in_flight);
	procs_from_stats(&f->procs, resp->stats, getpid(), now);
	if (now - f->procs.last_sample_ms >= DASH_SLOW_MS)
		procs_sample(&f->procs, now);
	feed_publish(f);
}

static void
feed_state(struct mrclient *mc, int up, int error, void *arg)
{
	struct feed *f = arg;
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Watch watch = MOCKRES__WATCH__INIT;

	if (!up) {
		if (!f->reported_down)
			log_warnx("mockresd unreachable at %s (%s); retrying "
			          "until it is back",
			          mrclient_path(mc),
			          error ? strerror(error)
			                : "connection closed");
		f->reported_down = 1;
		if (f->connected) {
			f->connected = 0;
			average_reset(&f->avg);
			procs_from_stats(&f->procs, NULL, getpid(),
			                 (double)clock_now_us() / 1000.0);
			feed_publish(f);
		}
		return;
	}
	if (f->reported_down)
		log_info("connected to mockresd at %s", mrclient_path(mc));
	f->reported_down = 0;
	watch.has_interval_ms = 1;
	watch.interval_ms = DASH_WATCH_MS;
	watch.has_clients = 1;
	watch.clients = 1;
	req.op_case = MOCKRES__REQUEST__OP_WATCH;
	req.watch = &watch;
	if (mrclient_send(mc, &req, feed_reply, f, 1) == 0)
		log_warn("cannot ask mockresd for the watch");
}

/* Every DASH_SLOW_MS: /proc, snapshots while down, SSE keepalives. */
static void
feed_slow(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	double now = (double)clock_now_us() / 1000.0;

	if (!f->connected) {
		procs_from_stats(&f->procs, NULL, getpid(), now);
		procs_sample(&f->procs, now);
		feed_publish(f);
	}
	sse_keepalive();
}

void
feed_init(struct feed *f, struct event_base *base, const char *sockpath)
{
	struct timeval tv = clock_tv(DASH_SLOW_MS);

	memset(f, 0, sizeof(*f));
	f->base = base;
	mockres__stats__init(&f->stats);
	average_reset(&f->avg);
	procs_init(&f->procs);
	if ((feed_json = evbuffer_new()) == NULL)
		fatalx("out of memory");
	procs_from_stats(&f->procs, NULL, getpid(),
	                 (double)clock_now_us() / 1000.0);
	feed_publish(f);

	f->mc = mrclient_new(base, sockpath, MOCKRES__ROLE__ROLE_DASHBOARD,
	                     "mockres-dashboard");
	if (f->mc == NULL)
		fatalx("cannot make the mockresd client");
	mrclient_set_reconnect(f->mc, 1);
	mrclient_set_state_cb(f->mc, feed_state, f);
	f->reported_down = 0;
	mrclient_start(f->mc);

	f->slow = event_new(base, -1, EV_PERSIST, feed_slow, f);
	if (f->slow == NULL || event_add(f->slow, &tv) == -1)
		fatalx("cannot start the sampling timer");
}

struct snap *
feed_snapshot(struct feed *f)
{
	return f->snap;
}

void
feed_free(struct feed *f)
{
	if (f->slow != NULL)
		event_free(f->slow);
	if (f->mc != NULL)
		mrclient_free(f->mc);
	snap_unref(f->snap);
	f->snap = NULL;
	if (feed_json != NULL)
		evbuffer_free(feed_json);
	feed_json = NULL;
}
