/*
 * stats.c: the Stats snapshot sent for stats, watch and admin replies.
 *
 * Filled from static storage: valid until the next stats_fill() call,
 * which is enough since every snapshot is packed before the loop turns.
 */
#include <unistd.h>

#include "clock.h"
#include "procstat.h"
#include "mockresd.h"

static Mockres__ClientInfo stats_info[STATS_CLIENTS_MAX];
static Mockres__ClientInfo *stats_infop[STATS_CLIENTS_MAX];
static Mockres__ProcUsage stats_usage[STATS_CLIENTS_MAX][2];
static Mockres__ProcUsage stats_daemon;
static Mockres__Model stats_model;
static Mockres__Percentiles stats_wait, stats_service;

static void
stats_percentiles(Mockres__Percentiles *p, const struct hist *h)
{
	mockres__percentiles__init(p);
	p->has_p50 = p->has_p90 = p->has_p99 = p->has_max = 1;
	p->has_count = p->has_mean = 1;
	p->p50 = (double)hist_quantile_us(h, 0.50) / 1000.0;
	p->p90 = (double)hist_quantile_us(h, 0.90) / 1000.0;
	p->p99 = (double)hist_quantile_us(h, 0.99) / 1000.0;
	p->max = (double)h->max_us / 1000.0;
	p->count = h->count;
	p->mean = hist_mean_us(h) / 1000.0;
}

static Mockres__ProcUsage *
stats_usage_pb(Mockres__ProcUsage *pu, const struct conn_usage *u)
{
	if (!u->has)
		return NULL;
	mockres__proc_usage__init(pu);
	pu->has_pid = pu->has_cpu_ms = pu->has_rss_kb = 1;
	pu->pid = u->pid;
	pu->cpu_ms = u->cpu_ms;
	pu->rss_kb = u->rss_kb;
	return pu;
}

/* mockresd's own figures, read at most every STATS_SELF_MS (a dashboard
 * asks every 20 ms). */
#define STATS_SELF_MS 250

static Mockres__ProcUsage *
stats_self(void)
{
	static uint64_t read_ms;
	static struct procstat ps;
	uint64_t now = clock_now_ms();

	if (read_ms == 0 || now - read_ms >= STATS_SELF_MS) {
		if (procstat_read(getpid(), &ps) == -1)
			return NULL;
		read_ms = now;
	}
	mockres__proc_usage__init(&stats_daemon);
	stats_daemon.has_pid = stats_daemon.has_cpu_ms = 1;
	stats_daemon.has_rss_kb = 1;
	stats_daemon.pid = (uint32_t)getpid();
	stats_daemon.cpu_ms = ps.cpu_ms;
	stats_daemon.rss_kb = ps.rss_kb;
	return &stats_daemon;
}

static void
stats_client(Mockres__ClientInfo *ci, const struct conn *c, size_t i)
{
	const struct engine_owner *o = &c->owner;

	mockres__client_info__init(ci);
	ci->has_pid = ci->has_role = 1;
	ci->has_uid = c->uid != (uid_t)-1; /* none over TLS */
	ci->has_in_flight = ci->has_admitted = 1;
	ci->has_rejected = ci->has_completed = 1;
	ci->has_waiting = ci->has_timed_out = ci->has_cancelled = 1;
	ci->pid = (uint32_t)c->pid;
	ci->uid = (uint32_t)c->uid;
	ci->role = trust_role(c);
	ci->name = (char *)c->name;
	ci->host = (char *)c->host;
	if (c->cn[0] != '\0')
		ci->cn = (char *)c->cn;
	ci->usage = stats_usage_pb(&stats_usage[i][0], &c->usage);
	ci->master = stats_usage_pb(&stats_usage[i][1], &c->master);
	ci->in_flight = o->in_flight;
	ci->admitted = o->admitted;
	ci->rejected = o->rejected;
	ci->completed = o->completed;
	ci->waiting = o->waiting;
	ci->timed_out = o->timed_out;
	ci->cancelled = o->cancelled;
}

void
stats_fill(Mockres__Stats *s, int with_clients)
{
	const struct engine *e = &mrd->engine;
	struct conn *c;
	size_t n = 0;

	mockres__stats__init(s);
	s->has_in_flight = s->has_limit = s->has_hold_ms = s->has_peak = 1;
	s->has_admitted = s->has_rejected = s->has_completed = 1;
	s->has_uptime_ms = s->has_daemon_pid = s->has_clients_connected = 1;
	s->has_shutting_down = 1;
	s->has_waiting = s->has_peak_waiting = 1;
	s->has_timed_out = s->has_cancelled = 1;
	s->has_setup_changes = 1;
	s->setup_changes = mrd->setup_changes;
	s->in_flight = e->in_flight;
	s->limit = e->limit;
	s->hold_ms = e->model.hold_ms;
	s->peak = e->peak;
	s->admitted = e->admitted;
	s->rejected = e->rejected;
	s->completed = e->completed;
	s->waiting = e->waiting;
	s->peak_waiting = e->peak_waiting;
	s->timed_out = e->timed_out;
	s->cancelled = e->cancelled;
	s->has_now_us = 1;
	s->now_us = clock_now_us();
	s->uptime_ms = (s->now_us - mrd->start_us) / 1000;
	s->daemon_pid = (uint32_t)getpid();
	s->clients_connected = (uint32_t)mrd->nconns;
	s->shutting_down = mrd->shutting_down != 0;
	model_to_pb(&e->model, &stats_model);
	s->model = &stats_model;
	s->preset = mrd->preset;
	stats_percentiles(&stats_wait, &e->wait);
	stats_percentiles(&stats_service, &e->service);
	s->wait_ms = &stats_wait;
	s->service_ms = &stats_service;
	if (!with_clients)
		return;
	s->daemon_host = mrd->hostname;
	s->daemon_usage = stats_self();

	TAILQ_FOREACH(c, &mrd->conns, entry)
	{
		if (n == STATS_CLIENTS_MAX)
			break;
		if (!c->up)
			continue; /* still in its TLS handshake */
		stats_client(&stats_info[n], c, n);
		stats_infop[n] = &stats_info[n];
		n++;
	}
	s->n_clients = n;
	s->clients = stats_infop;
}
