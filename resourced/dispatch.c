/*
 * dispatch.c: what mockresd does with each request.
 *
 * One switch on the operation.  Every request is validated here; a bad one
 * gets BAD_REQUEST with a one-line reason and the connection goes on.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mockresd.h"

static void
dispatch_status(struct conn *c, uint64_t id, Mockres__Status status,
                const char *error)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;

	resp.has_id = 1;
	resp.id = id;
	resp.has_status = 1;
	resp.status = status;
	resp.error = (char *)error;
	conn_reply(c, &resp);
}

static void
dispatch_stats(struct conn *c, uint64_t id, int with_clients)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;
	Mockres__Stats stats;

	stats_fill(&stats, with_clients);
	resp.has_id = 1;
	resp.id = id;
	resp.has_status = 1;
	resp.status = MOCKRES__STATUS__OK;
	resp.stats = &stats;
	conn_reply(c, &resp);
}

void
dispatch_bad(struct conn *c, uint64_t id, const char *why)
{
	dispatch_status(c, id, MOCKRES__STATUS__BAD_REQUEST, why);
}

static int
dispatch_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n > MOCKRES_NAME_MAX)
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
		dispatch_bad(c, id, "hello: unknown role");
		return;
	}
	if (h->name != NULL && !dispatch_name_ok(h->name)) {
		dispatch_bad(c, id,
		             "hello: name must be at most 63 printable "
		             "ASCII characters");
		return;
	}
	c->role = h->has_role ? h->role : MOCKRES__ROLE__ROLE_UNKNOWN;
	snprintf(c->name, sizeof(c->name), "%s", h->name ? h->name : "");
	dispatch_status(c, id, MOCKRES__STATUS__OK, NULL);
}

/*
 * The BUSY reason.  In hard mode every rejection says the same thing (the
 * count is the limit), so it is formatted only when the count changes,
 * not once per rejected request.
 */
static const char *
dispatch_busy_reason(uint64_t in_flight)
{
	static char why[96];
	static uint64_t formatted_for = UINT64_MAX;

	if (in_flight != formatted_for) {
		snprintf(why, sizeof(why),
		         "resource busy: %llu requests already in flight",
		         (unsigned long long)in_flight);
		formatted_for = in_flight;
	}
	return why;
}

static void
dispatch_use(struct conn *c, uint64_t id, const Mockres__Use *u)
{
	struct resource *r = &mrd->res;
	uint32_t hold_ms = u->has_hold_ms ? u->hold_ms : r->hold_ms;
	int serial;

	if (u->has_mode && u->mode != MOCKRES__USE_MODE__SERIAL &&
	    u->mode != MOCKRES__USE_MODE__ASYNC) {
		dispatch_bad(c, id, "use: unknown mode");
		return;
	}
	if (hold_ms > MOCKRES_HOLD_MS_MAX) {
		dispatch_bad(c, id,
		             "use: hold_ms must be at most " MOCKRES_STR(
		                 MOCKRES_HOLD_MS_MAX));
		return;
	}
	if (mrd->shutting_down) {
		dispatch_status(c, id, MOCKRES__STATUS__SHUTTING_DOWN,
		                "mockresd is shutting down");
		return;
	}
	serial = !u->has_mode || u->mode == MOCKRES__USE_MODE__SERIAL;
	if (resource_admit(r) == -1) {
		c->rejected++;
		dispatch_status(c, id, MOCKRES__STATUS__BUSY,
		                dispatch_busy_reason(r->in_flight));
		return;
	}
	if (holds_start(&mrd->holds, hold_ms, c, id, serial) == -1) {
		/* Undo the admission: this use is rejected, not admitted. */
		resource_unadmit(r);
		c->rejected++;
		dispatch_status(c, id, MOCKRES__STATUS__BUSY,
		                "resource busy: hold table full");
		return;
	}
	c->in_flight++;
	c->admitted++;
	c->holds++;
	if (!serial)
		dispatch_status(c, id, MOCKRES__STATUS__ADMITTED, NULL);
}

/* A hold ended: release the resource, answer a serial use. */
void
dispatch_hold_end(struct hold *hd, void *arg)
{
	struct conn *c = hd->owner;

	resource_release(&mrd->res);
	c->in_flight--;
	c->completed++;
	if (hd->serial)
		dispatch_status(c, hd->tag, MOCKRES__STATUS__DONE, NULL);
	conn_release(c);
	daemon_check_exit();
}

static void
dispatch_watch_fire(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	dispatch_stats(c, c->watch_id, c->watch_clients);
}

static void
dispatch_watch(struct conn *c, uint64_t id, const Mockres__Watch *w)
{
	uint32_t ms = w->has_interval_ms ? w->interval_ms : 1000;
	struct timeval tv = clock_tv(ms);

	if (ms != 0 &&
	    (ms < MOCKRES_WATCH_MIN_MS || ms > MOCKRES_WATCH_MAX_MS)) {
		dispatch_bad(
		    c, id,
		    "watch: interval_ms must be 0 or " MOCKRES_STR(
		        MOCKRES_WATCH_MIN_MS) ".." MOCKRES_STR(MOCKRES_WATCH_MAX_MS));
		return;
	}
	if (c->watch_ev != NULL) {
		event_free(c->watch_ev);
		c->watch_ev = NULL;
	}
	if (ms == 0) {
		dispatch_status(c, id, MOCKRES__STATUS__OK, NULL);
		return;
	}
	c->watch_ev =
	    event_new(mrd->base, -1, EV_PERSIST, dispatch_watch_fire, c);
	if (c->watch_ev == NULL) {
		dispatch_bad(c, id, "watch: out of memory");
		return;
	}
	c->watch_id = id;
	c->watch_clients = w->has_clients && w->clients;
	event_add(c->watch_ev, &tv);
	dispatch_stats(c, id, c->watch_clients); /* the first one at once */
}

static int
dispatch_admin(struct conn *c, uint64_t id)
{
	if (c->admin)
		return 1;
	dispatch_status(
	    c, id, MOCKRES__STATUS__DENIED,
	    "permission denied: only root or mockresd's own user may change "
	    "the limit, the hold or the peak");
	return 0;
}

void
dispatch_request(struct conn *c, const Mockres__Request *req)
{
	uint64_t id = req->has_id ? req->id : 0;
	struct resource *r = &mrd->res;

	switch (req->op_case) {
	case MOCKRES__REQUEST__OP_HELLO:
		dispatch_hello(c, id, req->hello);
		break;
	case MOCKRES__REQUEST__OP_USE:
		dispatch_use(c, id, req->use);
		break;
	case MOCKRES__REQUEST__OP_STATS:
		dispatch_stats(c, id,
		               req->stats->has_clients && req->stats->clients);
		break;
	case MOCKRES__REQUEST__OP_WATCH:
		dispatch_watch(c, id, req->watch);
		break;
	case MOCKRES__REQUEST__OP_SET_LIMIT:
		if (!dispatch_admin(c, id))
			break;
		if (!req->set_limit->has_limit ||
		    req->set_limit->limit > MOCKRES_LIMIT_MAX) {
			dispatch_bad(c, id,
			             "set_limit: limit must be 0.." MOCKRES_STR(
			                 MOCKRES_LIMIT_MAX));
			break;
		}
		resource_set_limit(r, req->set_limit->limit);
		log_info("limit set to %u by pid %d", r->limit, (int)c->pid);
		dispatch_stats(c, id, 0);
		break;
	case MOCKRES__REQUEST__OP_SET_HOLD:
		if (!dispatch_admin(c, id))
			break;
		if (!req->set_hold->has_hold_ms ||
		    req->set_hold->hold_ms > MOCKRES_HOLD_MS_MAX) {
			dispatch_bad(
			    c, id,
			    "set_hold: hold_ms must be 0.." MOCKRES_STR(
			        MOCKRES_HOLD_MS_MAX));
			break;
		}
		r->hold_ms = req->set_hold->hold_ms;
		log_info("hold set to %u ms by pid %d", r->hold_ms,
		         (int)c->pid);
		dispatch_stats(c, id, 0);
		break;
	case MOCKRES__REQUEST__OP_RESET_PEAK:
		if (!dispatch_admin(c, id))
			break;
		resource_reset_peak(r);
		dispatch_stats(c, id, 0);
		break;
	default:
		dispatch_bad(c, id, "unknown or missing operation");
		break;
	}
}
