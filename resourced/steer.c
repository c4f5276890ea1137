/*
 * steer.c: the operations that change the running daemon: the limit, the
 * hold, the model, the peak.  Only a peer trust.c lets steer may call
 * them (on the Unix socket uid 0 or mockresd's own, over TLS a CN named by
 * --tls-admin); a declared role grants nothing.  Each answers the new
 * stats, or BAD_REQUEST and changes nothing.
 *
 * A change of the limit or of the model (the hold is part of it) is a new
 * experiment: the peaks start again from the current counts, as after
 * reset-peak, and so do the wait and service percentiles; setup_changes
 * counts it, so that the dashboard can tell a run that saw one.
 */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "mockresd.h"

/* Who steered, for the log: "pid 812" or "CN admin1 (10.0.0.5:40222)". */
static const char *
steer_who(const struct conn *c)
{
	static char who[FCONN_CN_MAX + FCONN_ADDR_MAX + 16];

	if (c->cn[0] != '\0')
		snprintf(who, sizeof(who), "CN %s (%s)", c->cn, c->addr);
	else
		snprintf(who, sizeof(who), "pid %d", (int)c->pid);
	return who;
}

static int
steer_allowed(struct conn *c, uint64_t id)
{
	if (trust_may_steer(c))
		return 1;
	reply_status(c, id, MOCKRES__STATUS__DENIED,
	             trust_denied(c, "change the limit, the hold, the model "
	                             "or the peak"));
	return 0;
}

/* A new experiment: the peaks and the percentiles start afresh. */
static void
steer_new_experiment(void)
{
	engine_reset_peak(&mrd->engine);
	engine_reset_percentiles(&mrd->engine);
	mrd->setup_changes++;
}

static void
steer_apply(const struct model *m, int reseed)
{
	engine_set_model(&mrd->engine, clock_now_us(), m, reseed);
	steer_new_experiment();
	resource_model_changed();
	resource_arm();
}

void
steer_limit(struct conn *c, uint64_t id, const Mockres__SetLimit *s)
{
	if (!steer_allowed(c, id))
		return;
	if (!s->has_limit || s->limit > MOCKRES_LIMIT_MAX) {
		reply_bad(c, id,
		          "set_limit: limit must be "
		          "0.." MOCKRES_STR(MOCKRES_LIMIT_MAX));
		return;
	}
	engine_set_limit(&mrd->engine, s->limit);
	steer_new_experiment();
	log_info("limit set to %u by %s", s->limit, steer_who(c));
	reply_stats(c, id, 0);
}

void
steer_hold(struct conn *c, uint64_t id, const Mockres__SetHold *s)
{
	struct model m = mrd->engine.model;

	if (!steer_allowed(c, id))
		return;
	if (!s->has_hold_ms || s->hold_ms > MOCKRES_HOLD_MS_MAX) {
		reply_bad(c, id,
		          "set_hold: hold_ms must be "
		          "0.." MOCKRES_STR(MOCKRES_HOLD_MS_MAX));
		return;
	}
	m.hold_ms = s->hold_ms;
	steer_apply(&m, 0);
	log_info("hold set to %u ms by %s", s->hold_ms, steer_who(c));
	reply_stats(c, id, 0);
}

/* A preset (if any) first, then the present fields: all or nothing. */
void
steer_model(struct conn *c, uint64_t id, const Mockres__SetModel *s)
{
	struct model m = mrd->engine.model;
	char err[MODEL_ERR_MAX], why[MODEL_ERR_MAX + 32];
	int reseed = 0;

	if (!steer_allowed(c, id))
		return;
	if (s->preset != NULL) {
		if (model_preset(&m, s->preset, mrd->cores) == -1) {
			reply_bad(c, id,
			          "set_model: unknown preset (io, api, pool, "
			          "ecto, cpu, overloaded-db)");
			return;
		}
		reseed = 1;
	}
	if (s->model != NULL) {
		if (model_from_pb(&m, s->model, err, sizeof(err)) == -1) {
			snprintf(why, sizeof(why), "set_model: %s", err);
			reply_bad(c, id, why);
			return;
		}
		reseed |= s->model->has_seed;
	}
	steer_apply(&m, reseed);
	log_info("model set by %s: %s", steer_who(c),
	         mrd->preset[0] ? mrd->preset : "custom");
	reply_stats(c, id, 0);
}

void
steer_reset_peak(struct conn *c, uint64_t id)
{
	if (!steer_allowed(c, id))
		return;
	engine_reset_peak(&mrd->engine);
	engine_reset_percentiles(&mrd->engine);
	reply_stats(c, id, 0);
}
