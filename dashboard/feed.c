/*
 * feed.c: the one connection to mockresd, and what comes of it.
 *
 * - A watch push every DASH_WATCH_MS adds a sample to the rolling average
 *   and the history, refreshes the process table (its /proc figures at
 *   most every DASH_SLOW_MS, each such sample also a history frame), is
 *   formatted once and fanned out to every browser.
 * - Every DASH_HTTP_MS (one request outstanding at most) a stats request
 *   with http brings the frontend workers' merged HTTP stats: traffic.c
 *   and runs.c take them.
 * - While mockresd is unreachable, a snapshot with "connected":false goes
 *   out every DASH_SLOW_MS so the page can say so; mrclient reconnects by
 *   itself and the state callback asks for the watch again.  While the
 *   connection is up but no push came for DASH_STALL_MS (mockresd stopped
 *   or stuck), snapshots say "answering":false.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "dashboard.h"
#include "log.h"
#include "mockres_limits.h"
#include "mrclient.h"
#include "names.h"

static void
feed_publish(struct dash *d)
{
	struct feed *f = &d->feed;
	struct snapshot_extra x;
	struct refbuf *rb;

	/* The HTTP stats and the run change only with each HTTP answer (every
	 * DASH_HTTP_MS): they go out once then, to keep the events small. */
	x.t_ms = clock_now_ms();
	x.answering = f->answering;
	x.http = NULL;
	x.runs = NULL;
	if (d->traffic.valid && d->traffic.gen != f->http_gen) {
		x.http = d->traffic.json;
		x.runs = &d->runs;
		f->http_gen = d->traffic.gen;
	}
	snapshot_json(f->json, &f->stats, f->connected, &f->avg, &f->procs, &x);
	if ((rb = refbuf_new(f->json)) == NULL) {
		evbuffer_drain(f->json, evbuffer_get_length(f->json));
		log_warnx("out of memory for a snapshot; skipping it");
		return;
	}
	refbuf_unref(f->snap);
	f->snap = rb;
	sse_broadcast(&d->sse, rb);
}

/* /proc for every process listed, and a history frame of them. */
static void
feed_sample_proc(struct dash *d, uint64_t now_ms)
{
	procs_sample(&d->feed.procs, (double)now_ms);
	history_add_procs(&d->history, now_ms, &d->feed.procs);
}

/* The process table from S (NULL: mockresd is unreachable), sampled if
 * due. */
static void
feed_sample_procs(struct dash *d, const Mockres__Stats *s, uint64_t now_ms,
                  int force)
{
	struct feed *f = &d->feed;

	procs_from_stats(&f->procs, s, getpid(), (double)now_ms);
	if (force || (double)now_ms - f->procs.last_sample_ms >= DASH_SLOW_MS)
		feed_sample_proc(d, now_ms);
}

/* Keeps S past the callback: its parts point into the reply's memory. */
static void
feed_keep(struct feed *f, const Mockres__Stats *s)
{
	char err[MODEL_ERR_MAX];

	f->stats = *s;
	f->stats.n_clients = 0;
	f->stats.clients = NULL;
	f->stats.http = NULL;
	if (s->model != NULL) {
		f->model = *s->model;
		f->stats.model = &f->model;
		model_defaults(&f->mdl, 1);
		f->have_mdl =
		    model_from_pb(&f->mdl, s->model, err, sizeof(err)) == 0;
	} else
		f->have_mdl = 0;
	if (s->wait_ms != NULL) {
		f->wait_ms = *s->wait_ms;
		f->stats.wait_ms = &f->wait_ms;
	}
	if (s->service_ms != NULL) {
		f->service_ms = *s->service_ms;
		f->stats.service_ms = &f->service_ms;
	}
	if (s->preset != NULL) {
		snprintf(f->preset, sizeof(f->preset), "%s", s->preset);
		f->stats.preset = f->preset;
	}
}

static void feed_reply(const Mockres__Response *, void *);

/* Asks for the watch: every DASH_WATCH_MS with the client list, or as
 * an untrusted peer may once mockresd refused that. */
static void
feed_watch(struct dash *d)
{
	struct feed *f = &d->feed;

	f->watch_id = mrclient_watch(
	    f->mc, f->limited ? MOCKRES_WATCH_UNTRUSTED_MIN_MS : DASH_WATCH_MS,
	    !f->limited, feed_reply, d);
	if (f->watch_id == 0)
		log_warn("cannot ask mockresd for the watch");
}

static void
feed_reply(const Mockres__Response *resp, void *arg)
{
	struct dash *d = arg;
	struct feed *f = &d->feed;
	uint64_t now = clock_now_ms();

	if (resp == NULL)
		return; /* the state callback says it */
	if (resp->status == MOCKRES__STATUS__DENIED && !f->limited) {
		if (!f->reported_limited)
			log_warnx("mockresd does not let this dashboard watch "
			          "every %d ms with the client list (%s): "
			          "sampling every %d ms, without mockresd's "
			          "clients in the process table",
			          DASH_WATCH_MS,
			          resp->error ? resp->error : "denied",
			          MOCKRES_WATCH_UNTRUSTED_MIN_MS);
		f->reported_limited = 1;
		f->limited = 1;
		mrclient_cancel(f->mc, f->watch_id);
		feed_watch(d);
		return;
	}
	if (resp->status != MOCKRES__STATUS__OK || resp->stats == NULL) {
		log_warnx("mockresd refused the watch (%s%s%s)",
		          names_status(resp->status), resp->error ? ": " : "",
		          resp->error ? resp->error : "");
		return;
	}
	feed_keep(f, resp->stats);
	f->connected = 1;
	if (!f->answering && f->reported_stall)
		log_info("mockresd answers again");
	f->answering = 1;
	f->reported_stall = 0;
	f->last_push_ms = now;
	average_add(&f->avg, resp->stats->in_flight);
	history_add(&d->history, now, resp->stats);
	feed_sample_procs(d, resp->stats, now, 0);
	feed_publish(d);
}

/* The HTTP stats: to the traffic, then with the latest push and the
 * history to the runs. */
static void
feed_http_reply(const Mockres__Response *resp, void *arg)
{
	struct dash *d = arg;
	struct feed *f = &d->feed;
	uint64_t now = clock_now_us();
	struct runs_input in;
	char hosts[RUN_HOSTS_MAX][RUN_HOST_LEN];

	f->http_pending = 0;
	if (resp == NULL || resp->status != MOCKRES__STATUS__OK ||
	    resp->stats == NULL)
		return;
	traffic_update(&d->traffic, resp->stats, now);
	in.traffic = &d->traffic;
	in.history = &d->history;
	in.stats = f->connected ? &f->stats : NULL;
	in.model = f->connected && f->have_mdl ? &f->mdl : NULL;
	/* Every host with a process in the table (mockresd's, the
	 * frontends'), or this one. */
	in.nhosts = (uint32_t)procs_hosts(&f->procs, hosts, RUN_HOSTS_MAX);
	in.hosts = (const char(*)[RUN_HOST_LEN])hosts;
	if (in.nhosts == 0) {
		in.nhosts = 1;
		in.hosts = (const char(*)[RUN_HOST_LEN]) & f->host;
	}
	runs_update(&d->runs, &in, now);
}

/* Every DASH_HTTP_MS: the merged HTTP stats, one request at a time. */
static void
feed_http_tick(evutil_socket_t fd, short what, void *arg)
{
	struct dash *d = arg;
	struct feed *f = &d->feed;
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;

	if (!f->connected || f->http_pending)
		return;
	sr.has_http = sr.has_http_since_us = 1;
	sr.http = 1;
	sr.http_since_us = traffic_daemon_us(&d->traffic, d->runs.since_us);
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	if (mrclient_send(f->mc, &req, feed_http_reply, d, 0) != 0)
		f->http_pending = 1;
}

static void
feed_state(struct mrclient *mc, int up, int error, void *arg)
{
	struct dash *d = arg;
	struct feed *f = &d->feed;

	if (!up) {
		if (!f->reported_down)
			log_warnx("%s; retrying until it is back",
			          mrclient_error(mc));
		f->reported_down = 1;
		f->http_pending = 0; /* its callback ran with NULL */
		if (f->connected) {
			f->connected = 0;
			mockres__stats__init(&f->stats); /* nothing stale */
			average_reset(&f->avg);
			history_gap(&d->history);
			traffic_down(&d->traffic);
			procs_from_stats(&f->procs, NULL, getpid(),
			                 (double)clock_now_ms());
			feed_publish(d);
		}
		return;
	}
	if (f->reported_down)
		log_info("connected to mockresd at %s", mrclient_path(mc));
	f->reported_down = 0;
	f->last_push_ms = clock_now_ms(); /* the stall clock starts now */
	f->limited = 0;                   /* a new mockresd may trust us */
	feed_watch(d);
}

/* Every DASH_SLOW_MS: /proc and snapshots while down or stalled, SSE
 * keepalives. */
static void
feed_slow(evutil_socket_t fd, short what, void *arg)
{
	struct dash *d = arg;
	struct feed *f = &d->feed;
	uint64_t now = clock_now_ms();

	if (!f->connected) {
		feed_sample_procs(d, NULL, now, 1);
		feed_publish(d);
	} else if (now - f->last_push_ms >= DASH_STALL_MS) {
		if (!f->reported_stall)
			log_warnx("mockresd at %s has sent nothing for %llu "
			          "ms: not answering",
			          mrclient_path(f->mc),
			          (unsigned long long)(now - f->last_push_ms));
		f->reported_stall = 1;
		f->answering = 0;
		feed_sample_proc(d, now);
		feed_publish(d);
	}
	sse_keepalive(&d->sse);
}

void
feed_init(struct dash *d, const char *target, const struct tlsconf *tls)
{
	struct timeval slow = clock_tv(DASH_SLOW_MS);
	struct timeval http = clock_tv(DASH_HTTP_MS);
	struct feed *f = &d->feed;

	memset(f, 0, sizeof(*f));
	mockres__stats__init(&f->stats);
	/* The hosts of a run's setup: this one (the processes mockresd
	 * lists are on it until they say otherwise). */
	if (gethostname(f->host, sizeof(f->host) - 1) == -1)
		snprintf(f->host, sizeof(f->host), "localhost");
	average_reset(&f->avg);
	procs_init(&f->procs);
	if ((f->json = evbuffer_new()) == NULL)
		fatalx("out of memory");
	feed_sample_procs(d, NULL, clock_now_ms(), 1);
	feed_publish(d);

	f->mc = mrclient_new(d->base, target, MOCKRES__ROLE__ROLE_DASHBOARD,
	                     "mockres-dashboard");
	if (f->mc == NULL)
		fatalx("cannot make the mockresd client");
	mrclient_set_tls(f->mc, tls);
	mrclient_set_reconnect(f->mc, 1);
	mrclient_set_state_cb(f->mc, feed_state, d);
	f->reported_down = 0;
	mrclient_start(f->mc);

	f->slow = event_new(d->base, -1, EV_PERSIST, feed_slow, d);
	f->http_ev = event_new(d->base, -1, EV_PERSIST, feed_http_tick, d);
	if (f->slow == NULL || event_add(f->slow, &slow) == -1 ||
	    f->http_ev == NULL || event_add(f->http_ev, &http) == -1)
		fatalx("cannot start the sampling timers");
}

void
feed_free(struct dash *d)
{
	struct feed *f = &d->feed;

	if (f->slow != NULL)
		event_free(f->slow);
	if (f->http_ev != NULL)
		event_free(f->http_ev);
	if (f->mc != NULL)
		mrclient_free(f->mc);
	refbuf_unref(f->snap);
	f->snap = NULL;
	if (f->json != NULL)
		evbuffer_free(f->json);
	f->json = NULL;
}
