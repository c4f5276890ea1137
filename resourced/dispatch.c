/*
 * dispatch.c: what mockresd does with each request.
 *
 * One switch on the operation.  Every request is validated here; a bad one
 * gets BAD_REQUEST with a one-line reason and the connection goes on.  A
 * use is translated for the engine (engine.c) and its end back into a
 * reply; the admin operations are in steer.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mockresd.h"

/* Printable ASCII, at most MAX bytes. */
static int
dispatch_printable(const char *name, size_t max)
{
	size_t i, n = strlen(name);

	if (n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e)
			return 0;
	return 1;
}

static void
dispatch_hello(struct conn *c, uint64_t id, const Mockres__Hello *h)
{
	if (h->has_role && (h->role < MOCKRES__ROLE__ROLE_UNKNOWN ||
	                    h->role > MOCKRES__ROLE__ROLE_BENCH)) {
		reply_bad(c, id, "hello: unknown role");
		return;
	}
	if (h->name != NULL && !dispatch_printable(h->name, MOCKRES_NAME_MAX)) {
		reply_bad(c, id,
		          "hello: name must be at most " MOCKRES_STR(
		              MOCKRES_NAME_MAX) " printable ASCII characters");
		return;
	}
	if (h->host != NULL && !dispatch_printable(h->host, MOCKRES_HOST_MAX)) {
		reply_bad(c, id,
		          "hello: host must be at most " MOCKRES_STR(
		              MOCKRES_HOST_MAX) " printable ASCII characters");
		return;
	}
	/* Labels, not rights (trust.c): a frontend-worker role is shown
	 * only for a peer that may report. */
	c->role = h->has_role ? h->role : MOCKRES__ROLE__ROLE_UNKNOWN;
	snprintf(c->name, sizeof(c->name), "%s", h->name ? h->name : "");
	/* The kernel's pid and this host for a Unix peer; what a TLS peer
	 * says about itself otherwise. */
	if (c->uid == (uid_t)-1) {
		if (h->host != NULL)
			snprintf(c->host, sizeof(c->host), "%s", h->host);
		if (h->has_pid && h->pid <= INT32_MAX)
			c->pid = (pid_t)h->pid;
	}
	reply_status(c, id, MOCKRES__STATUS__OK, NULL);
}

/*
 * The reasons of BUSY and TIMEOUT.  In hard mode every rejection says the
 * same thing (the count is the limit), and every queue timeout waited the
 * same time, so each is formatted only when its numbers change, not once
 * per answer.
 */
static const char *
dispatch_busy_reason(const struct engine *e, enum engine_verdict v)
{
	static char why[128];
	static uint64_t for_a = UINT64_MAX, for_b = UINT64_MAX;
	static int for_v = -1;
	uint64_t a = e->in_flight, b = e->waiting;

	if ((int)v == for_v && a == for_a && b == for_b)
		return why;
	if (v == ENGINE_QUEUE_FULL)
		snprintf(why, sizeof(why), "queue full: %llu waiting",
		         (unsigned long long)b);
	else if (v == ENGINE_FULL)
		snprintf(why, sizeof(why),
		         "resource full: %llu uses in it already (mockresd's "
		         "cap is %u)",
		         (unsigned long long)a + (unsigned long long)b,
		         ENGINE_USES_MAX);
	else if (b == 0)
		snprintf(why, sizeof(why),
		         "resource busy: %llu requests already in flight",
		         (unsigned long long)a);
	else
		snprintf(why, sizeof(why),
		         "resource busy: %llu requests already in the resource "
		         "(%llu in flight, %llu waiting)",
		         (unsigned long long)a + (unsigned long long)b,
		         (unsigned long long)a, (unsigned long long)b);
	for_v = (int)v;
	for_a = a;
	for_b = b;
	return why;
}

static const char *
dispatch_timeout_reason(uint64_t waited_us)
{
	static char why[96];
	static uint64_t formatted_for = UINT64_MAX;
	uint64_t ms = waited_us / 1000;

	if (ms != formatted_for) {
		snprintf(why, sizeof(why),
		         "timed out after %llu ms waiting for the resource",
		         (unsigned long long)ms);
		formatted_for = ms;
	}
	return why;
}

static void
dispatch_use(struct conn *c, uint64_t id, const Mockres__Use *u)
{
	enum engine_verdict v;
	int serial;

	if (u->has_mode && u->mode != MOCKRES__USE_MODE__SERIAL &&
	    u->mode != MOCKRES__USE_MODE__ASYNC) {
		reply_bad(c, id, "use: unknown mode");
		return;
	}
	if (u->has_hold_ms) {
		if (!trust_may_steer(c)) {
			reply_status(
			    c, id, MOCKRES__STATUS__DENIED,
			    trust_denied(c, "give a use its own hold_ms"));
			return;
		}
		if (u->hold_ms > MOCKRES_HOLD_MS_MAX) {
			reply_bad(c, id,
			          "use: hold_ms must be at most " MOCKRES_STR(
			              MOCKRES_HOLD_MS_MAX));
			return;
		}
	}
	if (mrd->shutting_down) {
		reply_status(c, id, MOCKRES__STATUS__SHUTTING_DOWN,
		             "mockresd is shutting down");
		return;
	}
	serial = !u->has_mode || u->mode == MOCKRES__USE_MODE__SERIAL;
	v = engine_use(&mrd->engine, clock_now_us(), &c->owner, id, serial,
	               u->has_hold_ms ? (int64_t)u->hold_ms : -1);
	switch (v) {
	case ENGINE_SERVING:
	case ENGINE_WAITING:
		/* ASYNC is answered as soon as the use is in the resource,
		 * holding or waiting; SERIAL's answer is owed (conn.c keeps
		 * room for it). */
		if (!serial)
			reply_status(c, id, MOCKRES__STATUS__ADMITTED, NULL);
		else
			c->owed++;
		resource_arm();
		break;
	default:
		reply_status(c, id, MOCKRES__STATUS__BUSY,
		             dispatch_busy_reason(&mrd->engine, v));
		break;
	}
}

/*
 * A use left the resource (engine.c calls this): answer a serial one.  An
 * async one was answered when it was admitted.
 */
void
dispatch_use_end(struct engine_owner *o, uint64_t tag, int serial,
                 enum engine_end how, uint64_t waited_us, void *arg)
{
	struct conn *c =
	    (struct conn *)(void *)((char *)o - offsetof(struct conn, owner));

	/* The engine no longer counts this use, and a reply may close C
	 * (over its cap, out of memory): C must outlive the reply. */
	conn_pin(c);
	if (serial) {
		c->owed--;
		switch (how) {
		case ENGINE_DONE:
			reply_status(c, tag, MOCKRES__STATUS__DONE, NULL);
			break;
		case ENGINE_TIMEOUT:
			reply_status(c, tag, MOCKRES__STATUS__TIMEOUT,
			             dispatch_timeout_reason(waited_us));
			break;
		case ENGINE_CANCELLED:
			reply_status(c, tag, MOCKRES__STATUS__SHUTTING_DOWN,
			             "mockresd is shutting down: the use "
			             "left the queue unserved");
			break;
		case ENGINE_CUT:
			reply_status(
			    c, tag, MOCKRES__STATUS__SHUTTING_DOWN,
			    "mockresd is shutting down: the use was "
			    "cut short in service after the " MOCKRES_STR(
			        MOCKRESD_DRAIN_S) " s drain");
			break;
		}
	}
	conn_unpin(c);
}

static void
dispatch_undecodable(struct conn *c, uint64_t id)
{
	reply_bad(c, id, "undecodable request");
}

/* The client is gone: its waiting uses leave the queue (those in service
 * run on), and a worker's HTTP report stays without it. */
static void
dispatch_closed(struct conn *c)
{
	report_conn_closed(c);
	watch_stop(c);
	engine_cancel_owner(&mrd->engine, clock_now_us(), &c->owner);
	resource_arm();
}

static const struct conn_handler dispatch_handler = {
    .request = dispatch_request,
    .undecodable = dispatch_undecodable,
    .closed = dispatch_closed,
};

void
dispatch_init(uint32_t limit, const struct model *m)
{
	mrd->handler = &dispatch_handler;
	resource_init(mrd, m, limit, dispatch_use_end);
}

/* Whether OP reads the engine's counts or changes its settings: the
 * engine is brought up to now first (resource_now: the quiet ends the
 * timer let wait are done).  A use does it inside engine_use. */
static int
dispatch_reads_engine(Mockres__Request__OpCase op)
{
	switch (op) {
	case MOCKRES__REQUEST__OP_STATS:
	case MOCKRES__REQUEST__OP_WATCH:
	case MOCKRES__REQUEST__OP_SET_LIMIT:
	case MOCKRES__REQUEST__OP_SET_HOLD:
	case MOCKRES__REQUEST__OP_SET_MODEL:
	case MOCKRES__REQUEST__OP_RESET_PEAK:
		return 1;
	default:
		return 0;
	}
}

void
dispatch_free(void)
{
	struct conn *c;

	/* Closing a client cancels its waiting uses; those in service end
	 * with the engine, which calls back no more.  The connections they
	 * pointed to go last. */
	while ((c = TAILQ_FIRST(&mrd->conns)) != NULL)
		conn_close(c, NULL);
	resource_free(mrd);
	report_free_all();
	watch_free_all();
	conn_free_all();
}

void
dispatch_request(struct conn *c, const Mockres__Request *req)
{
	uint64_t id = req->has_id ? req->id : 0;

	if (dispatch_reads_engine(req->op_case))
		resource_now();
	switch (req->op_case) {
	case MOCKRES__REQUEST__OP_HELLO:
		dispatch_hello(c, id, req->hello);
		break;
	case MOCKRES__REQUEST__OP_USE:
		dispatch_use(c, id, req->use);
		break;
	case MOCKRES__REQUEST__OP_STATS:
		if (req->stats->has_http && req->stats->http)
			report_stats(c, id, req->stats);
		else
			reply_stats(c, id,
			            req->stats->has_clients &&
			                req->stats->clients);
		break;
	case MOCKRES__REQUEST__OP_REPORT:
		report_take(c, id, req->report);
		break;
	case MOCKRES__REQUEST__OP_WATCH:
		watch_start(c, id, req->watch);
		break;
	case MOCKRES__REQUEST__OP_SET_LIMIT:
		steer_limit(c, id, req->set_limit);
		break;
	case MOCKRES__REQUEST__OP_SET_HOLD:
		steer_hold(c, id, req->set_hold);
		break;
	case MOCKRES__REQUEST__OP_SET_MODEL:
		steer_model(c, id, req->set_model);
		break;
	case MOCKRES__REQUEST__OP_RESET_PEAK:
		steer_reset_peak(c, id);
		break;
	default:
		reply_bad(c, id, "unknown or missing operation");
		break;
	}
}
