/*
 * stats.c: the Stats snapshot sent for stats, watch and admin replies.
 *
 * Filled from static storage: valid until the next stats_fill() call,
 * which is enough since every snapshot is packed before the loop turns.
 */
#include <unistd.h>

#include "clock.h"
#include "mockresd.h"

static Mockres__ClientInfo stats_info[STATS_CLIENTS_MAX];
static Mockres__ClientInfo *stats_infop[STATS_CLIENTS_MAX];

void
stats_fill(Mockres__Stats *s, int with_clients)
{
	const struct resource *r = &mrd->res;
	struct conn *c;
	size_t n = 0;

	mockres__stats__init(s);
	s->has_in_flight = s->has_limit = s->has_hold_ms = s->has_peak = 1;
	s->has_admitted = s->has_rejected = s->has_completed = 1;
	s->has_uptime_ms = s->has_daemon_pid = s->has_clients_connected = 1;
	s->has_shutting_down = 1;
	s->in_flight = r->in_flight;
	s->limit = r->limit;
	s->hold_ms = r->hold_ms;
	s->peak = r->peak;
	s->admitted = r->admitted;
	s->rejected = r->rejected;
	s->completed = r->completed;
	s->uptime_ms = (clock_now_us() - mrd->start_us) / 1000;
	s->daemon_pid = (uint32_t)getpid();
	s->clients_connected = (uint32_t)mrd->nconns;
	s->shutting_down = mrd->shutting_down != 0;
	if (!with_clients)
		return;

	TAILQ_FOREACH(c, &mrd->conns, entry)
	{
		Mockres__ClientInfo *ci;

		if (n == STATS_CLIENTS_MAX)
			break;
		ci = &stats_info[n];
		mockres__client_info__init(ci);
		ci->has_pid = ci->has_uid = ci->has_role = 1;
		ci->has_in_flight = ci->has_admitted = 1;
		ci->has_rejected = ci->has_completed = 1;
		ci->pid = (uint32_t)c->pid;
		ci->uid = (uint32_t)c->uid;
		ci->role = c->role;
		ci->name = c->name;
		ci->in_flight = c->in_flight;
		ci->admitted = c->admitted;
		ci->rejected = c->rejected;
		ci->completed = c->completed;
		stats_infop[n++] = ci;
	}
	s->n_clients = n;
	s->clients = stats_infop;
}
