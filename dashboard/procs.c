/*
 * procs.c: the process table, the part of Erlang's observer the lab asks
 * about.
 *
 * Who is in it comes from mockresd, pushed with every watch: its clients
 * (pid and host; the pid SO_PEERCRED's on mockresd's host, the hello's
 * over TLS) with the roles mockresd verified (a frontend worker is listed
 * as one only if it may report), and mockresd itself.  A process is keyed
 * by host and pid: pids of different hosts may be equal.
 *
 * CPU and memory: for a process on this host, from /proc, read at most
 * every DASH_SLOW_MS and once when it first appears; for one on another
 * host, from the figures mockresd passes on (a frontend worker's reports
 * carry its own and its master's, mockresd sends its own), sampled at the
 * same moments.  CPU % is (utime + stime) growth over wall time between
 * two samples, so 100 means one full core; RSS is resident memory.
 *
 * The frontend masters come only from verified workers: on this host, the
 * parent of each such worker if /proc names it mockres-frontend; on
 * another, the master each worker's report names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "names.h"
#include "procstat.h"

/* The names are the protocol's (proto/names.c). */
static const Mockres__Role procs_roles[] = {
    [PROC_DAEMON] = MOCKRES__ROLE__ROLE_DAEMON,
    [PROC_FRONTEND_MASTER] = MOCKRES__ROLE__ROLE_UNKNOWN, /* no wire role */
    [PROC_FRONTEND_WORKER] = MOCKRES__ROLE__ROLE_FRONTEND_WORKER,
    [PROC_BENCH] = MOCKRES__ROLE__ROLE_BENCH,
    [PROC_DASHBOARD] = MOCKRES__ROLE__ROLE_DASHBOARD,
};

const char *
procs_role_name(enum proc_role role)
{
	if (role == PROC_FRONTEND_MASTER)
		return NAMES_FRONTEND_MASTER;
	if ((size_t)role >= sizeof(procs_roles) / sizeof(procs_roles[0]))
		return "unknown";
	return names_role(procs_roles[role]);
}

void
procs_init(struct procs *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->clk_tck = sysconf(_SC_CLK_TCK);
	if (ps->clk_tck <= 0)
		ps->clk_tck = 100;
	if (gethostname(ps->self_host, sizeof(ps->self_host)) == -1)
		ps->self_host[0] = '\0';
	ps->self_host[sizeof(ps->self_host) - 1] = '\0';
}

void
procs_begin(struct procs *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		ps->p[i].seen = 0;
}

/* HOST as the table names it: this host's name for NULL or "". */
static const char *
procs_host(const struct procs *ps, const char *host)
{
	return host == NULL || host[0] == '\0' ? ps->self_host : host;
}

/*
 * Lists (HOST, PID) in this update.  A process listed again with the same
 * role (one process, many connections: bench) adds its in-flight uses;
 * with another role it keeps the first.
 */
void
procs_put(struct procs *ps, const char *host, pid_t pid, enum proc_role role,
          uint64_t in_flight, const Mockres__ProcUsage *usage)
{
	struct proc *p;
	size_t i;

	if (pid <= 0)
		return;
	host = procs_host(ps, host);
	for (i = 0; i < ps->n; i++) {
		p = &ps->p[i];
		if (p->pid != pid || strcmp(p->host, host) != 0)
			continue;
		if (!p->seen) {
			p->seen = 1;
			p->role = role;
			p->in_flight = in_flight;
		} else if (p->role == role)
			p->in_flight += in_flight;
		break;
	}
	if (i == ps->n) {
		if (ps->n == PROCS_MAX)
			return; /* the table is full: the rest are not shown */
		p = &ps->p[ps->n++];
		memset(p, 0, sizeof(*p));
		snprintf(p->host, sizeof(p->host), "%s", host);
		p->local = strcmp(host, ps->self_host) == 0;
		p->pid = pid;
		p->role = role;
		p->in_flight = in_flight;
		p->seen = 1;
	}
	if (!p->local && usage != NULL && usage->has_cpu_ms) {
		p->has_remote = 1;
		p->remote_cpu_ms = usage->cpu_ms;
		p->remote_rss_kb = usage->has_rss_kb ? usage->rss_kb : 0;
	}
}

/* CPU % from TICKS now against the last sample. */
static void
procs_cpu(struct procs *ps, struct proc *p, unsigned long long ticks,
          double now_ms)
{
	double dt = now_ms - p->sample_ms;

	if (p->sampled && dt > 0 && ticks >= p->ticks)
		p->cpu_percent = (double)(ticks - p->ticks) * 1000.0 * 100.0 /
		                 ((double)ps->clk_tck * dt);
	else
		p->cpu_percent = 0;
	p->ticks = ticks;
	p->sample_ms = now_ms;
	p->sampled = 1;
}

static void
procs_sample_one(struct procs *ps, struct proc *p, double now_ms)
{
	struct procstat st;

	if (!p->local) {
		if (!p->has_remote) {
			p->sampled = 0; /* nothing passed on (yet) */
			return;
		}
		procs_cpu(ps, p,
		          p->remote_cpu_ms * (unsigned long long)ps->clk_tck /
		              1000ull,
		          now_ms);
		p->rss_kb = p->remote_rss_kb;
		return;
	}
	if (procstat_read(p->pid, &st) == -1) {
		/* Gone (or not ours to see): show zeros until it leaves. */
		p->sampled = 0;
		p->cpu_percent = 0;
		p->rss_kb = 0;
		return;
	}
	procs_cpu(ps, p, st.ticks, now_ms);
	p->ppid = st.ppid;
	p->rss_kb = st.rss_kb;
}

static int
procs_order(const struct proc *a, const struct proc *b)
{
	int c;

	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	if ((c = strcmp(a->host, b->host)) != 0)
		return c < 0 ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* Drops the processes not listed since procs_begin, keeps the table in
 * role, host, then pid order, and samples the newcomers. */
void
procs_end(struct procs *ps, double now_ms)
{
	struct proc tmp;
	size_t i, j, n = 0;

	for (i = 0; i < ps->n; i++)
		if (ps->p[i].seen)
			ps->p[n++] = ps->p[i];
	ps->n = n;
	for (i = 1; i < ps->n; i++) {
		tmp = ps->p[i];
		for (j = i; j > 0 && procs_order(&ps->p[j - 1], &tmp) > 0; j--)
			ps->p[j] = ps->p[j - 1];
		ps->p[j] = tmp;
	}
	for (i = 0; i < ps->n; i++)
		if (!ps->p[i].sampled && ps->p[i].sample_ms == 0) {
			procs_sample_one(ps, &ps->p[i], now_ms);
			ps->p[i].sample_ms = now_ms;
		}
}

static enum proc_role
procs_role_of(Mockres__Role r)
{
	switch (r) {
	case MOCKRES__ROLE__ROLE_FRONTEND_WORKER:
		return PROC_FRONTEND_WORKER;
	case MOCKRES__ROLE__ROLE_BENCH:
		return PROC_BENCH;
	case MOCKRES__ROLE__ROLE_DASHBOARD:
		return PROC_DASHBOARD;
	default:
		return PROC_ROLES; /* mockresctl runs come and go */
	}
}

/* Rebuilds the table from a watch push (S may be NULL: mockresd is
 * unreachable, only the dashboard itself is left). */
void
procs_from_stats(struct procs *ps, const Mockres__Stats *s, pid_t self,
                 double now_ms)
{
	enum proc_role role;
	size_t i;

	procs_begin(ps);
	if (s != NULL) {
		procs_put(ps, s->daemon_host, (pid_t)s->daemon_pid, PROC_DAEMON,
		          s->in_flight, s->daemon_usage);
		for (i = 0; i < ps->nmasters; i++)
			procs_put(ps, NULL, ps->masters[i],
			          PROC_FRONTEND_MASTER, 0, NULL);
		for (i = 0; i < s->n_clients; i++) {
			const Mockres__ClientInfo *ci = s->clients[i];
			const char *host = procs_host(ps, ci->host);

			if ((role = procs_role_of(ci->role)) == PROC_ROLES)
				continue;
			procs_put(ps, host, (pid_t)ci->pid, role, ci->in_flight,
			          ci->usage);
			/* Another host's master: as its verified worker's
			 * report names it (this host's: procs_sample). */
			if (role == PROC_FRONTEND_WORKER &&
			    ci->master != NULL && ci->master->has_pid &&
			    strcmp(host, ps->self_host) != 0)
				procs_put(ps, host, (pid_t)ci->master->pid,
				          PROC_FRONTEND_MASTER, 0, ci->master);
		}
	}
	procs_put(ps, NULL, self, PROC_DASHBOARD, 0, NULL);
	procs_end(ps, now_ms);
}

/* The masters of this host's frontends: each verified local worker's
 * parent, if its command name says mockres-frontend. */
static void
procs_find_masters(struct procs *ps)
{
	char comm[64];
	size_t i, j;

	ps->nmasters = 0;
	for (i = 0; i < ps->n; i++) {
		const struct proc *p = &ps->p[i];

		if (p->role != PROC_FRONTEND_WORKER || !p->local ||
		    !p->sampled || p->ppid <= 1)
			continue;
		for (j = 0; j < ps->nmasters; j++)
			if (ps->masters[j] == p->ppid)
				break;
		if (j < ps->nmasters || ps->nmasters == PROCS_LOCAL)
			continue;
		/* comm is cut to 15 bytes: "mockres-fronten" */
		if (procstat_comm(p->ppid, comm, sizeof(comm)) == 0 &&
		    strncmp(comm, "mockres-fronten", 15) == 0)
			ps->masters[ps->nmasters++] = p->ppid;
	}
}

/* Samples every process, and finds this host's frontend masters. */
void
procs_sample(struct procs *ps, double now_ms)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		procs_sample_one(ps, &ps->p[i], now_ms);
	procs_find_masters(ps);
	ps->last_sample_ms = now_ms;
}

size_t
procs_hosts(const struct procs *ps, char (*out)[PROCS_HOST + 1], size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < ps->n; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(out[j], ps->p[i].host) == 0)
				break;
		if (j < n || n == max)
			continue;
		snprintf(out[n++], PROCS_HOST + 1, "%s", ps->p[i].host);
	}
	return n;
}

double
procs_cpu_seconds(const struct procs *ps, const struct proc *p)
{
	return (double)p->ticks / (double)ps->clk_tck;
}
