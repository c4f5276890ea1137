/*
 * procs.c: the process table, the part of Erlang's observer the lab asks
 * about.  Who is in it comes from mockresd (the pids it learns with
 * SO_PEERCRED, pushed with every watch); CPU and memory come from /proc,
 * read at most every DASH_SLOW_MS and once when a process first appears.
 *
 * CPU % is (utime + stime) growth over wall time between two samples, so
 * 100 means one full core; RSS is resident pages from /proc/PID/statm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "names.h"

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
	ps->page_kb = sysconf(_SC_PAGESIZE) / 1024;
	if (ps->page_kb <= 0)
		ps->page_kb = 4;
}

void
procs_begin(struct procs *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		ps->p[i].seen = 0;
}

/*
 * Lists PID in this update.  A pid listed again with the same role (one
 * process, many connections: bench) adds its in-flight uses; with another
 * role it keeps the first.
 */
void
procs_put(struct procs *ps, pid_t pid, enum proc_role role, uint64_t in_flight)
{
	struct proc *p;
	size_t i;

	if (pid <= 0)
		return;
	for (i = 0; i < ps->n; i++) {
		p = &ps->p[i];
		if (p->pid != pid)
			continue;
		if (!p->seen) {
			p->seen = 1;
			p->role = role;
			p->in_flight = in_flight;
		} else if (p->role == role)
			p->in_flight += in_flight;
		return;
	}
	if (ps->n == PROCS_MAX)
		return; /* the table is full: the rest are not shown */
	p = &ps->p[ps->n++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->role = role;
	p->in_flight = in_flight;
	p->seen = 1;
}

/*
 * Parses /proc/PID/stat: the parent pid and utime + stime in clock ticks.
 * The command name may hold spaces and parentheses, so fields are counted
 * from the last ')'.  Returns 0, or -1 if BUF does not look like one.
 */
int
procs_parse_stat(const char *buf, pid_t *ppid, unsigned long long *ticks)
{
	const char *s = strrchr(buf, ')');
	unsigned long long utime = 0, stime = 0, v;
	char *end;
	int field;

	if (s == NULL || s[1] != ' ')
		return -1;
	s += 2;
	/* s is at field 3 (state), a single character. */
	if (*s == '\0' || s[1] != ' ')
		return -1;
	s += 2;
	for (field = 4; field <= 15; field++) {
		if (field == 4 || field >= 14) {
			if (*s < '0' || *s > '9')
				return -1;
			errno = 0;
			v = strtoull(s, &end, 10);
			if (errno != 0 || (*end != ' ' && *end != '\0'))
				return -1;
			if (field == 4)
				*ppid = (pid_t)v;
			else if (field == 14)
				utime = v;
			else
				stime = v;
		} else {
			end = strchr(s, ' ');
			if (end == NULL)
				return -1;
		}
		if (*end == '\0' && field < 15)
			return -1;
		s = end + 1;
	}
	*ticks = utime + stime;
	return 0;
}

static ssize_t
procs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static void
procs_sample_one(struct procs *ps, struct proc *p, double now_ms)
{
	char path[64], buf[1024];
	unsigned long long ticks, rss_pages;
	double dt;
	pid_t ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p->pid);
	if (procs_read(path, buf, sizeof(buf)) == -1 ||
	    procs_parse_stat(buf, &ppid, &ticks) == -1) {
		/* Gone (or not ours to see): show zeros until it leaves. */
		p->sampled = 0;
		p->cpu_percent = 0;
		p->rss_kb = 0;
		return;
	}
	dt = now_ms - p->sample_ms;
	if (p->sampled && dt > 0 && ticks >= p->ticks)
		p->cpu_percent = (double)(ticks - p->ticks) * 1000.0 * 100.0 /
		                 ((double)ps->clk_tck * dt);
	else
		p->cpu_percent = 0;
	p->ticks = ticks;
	p->sample_ms = now_ms;
	p->ppid = ppid;
	p->sampled = 1;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)p->pid);
	if (procs_read(path, buf, sizeof(buf)) != -1) {
		/* "size resident shared ...", in pages */
		char *end;

		(void)strtoull(buf, &end, 10);
		if (end != buf && *end == ' ') {
			rss_pages = strtoull(end + 1, &end, 10);
			p->rss_kb = rss_pages * (unsigned long long)ps->page_kb;
		}
	}
}

static int
procs_order(const struct proc *a, const struct proc *b)
{
	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* Drops the processes not listed since procs_begin, keeps the table in
 * role then pid order, and samples the newcomers. */
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

/* Rebuilds the table from a watch push (S may be NULL: mockresd is
 * unreachable, only the dashboard itself is left). */
void
procs_from_stats(struct procs *ps, const Mockres__Stats *s, pid_t self,
                 double now_ms)
{
	size_t i;

	procs_begin(ps);
	if (s != NULL) {
		procs_put(ps, (pid_t)s->daemon_pid, PROC_DAEMON, s->in_flight);
		if (ps->master > 0)
			procs_put(ps, ps->master, PROC_FRONTEND_MASTER, 0);
		for (i = 0; i < s->n_clients; i++) {
			const Mockres__ClientInfo *ci = s->clients[i];

			switch (ci->role) {
			case MOCKRES__ROLE__ROLE_FRONTEND_WORKER:
				procs_put(ps, (pid_t)ci->pid,
				          PROC_FRONTEND_WORKER, ci->in_flight);
				break;
			case MOCKRES__ROLE__ROLE_BENCH:
				procs_put(ps, (pid_t)ci->pid, PROC_BENCH,
				          ci->in_flight);
				break;
			case MOCKRES__ROLE__ROLE_DASHBOARD:
				procs_put(ps, (pid_t)ci->pid, PROC_DASHBOARD,
				          ci->in_flight);
				break;
			default:
				break; /* mockresctl runs come and go */
			}
		}
	}
	procs_put(ps, self, PROC_DASHBOARD, 0);
	procs_end(ps, now_ms);
}

/*
 * Samples every process, and finds the frontend master: the workers'
 * parent, if its command name says mockres-frontend.
 */
void
procs_sample(struct procs *ps, double now_ms)
{
	char path[64], comm[64];
	pid_t parent = 0;
	size_t i;

	for (i = 0; i < ps->n; i++) {
		procs_sample_one(ps, &ps->p[i], now_ms);
		if (parent == 0 && ps->p[i].role == PROC_FRONTEND_WORKER &&
		    ps->p[i].sampled && ps->p[i].ppid > 1)
			parent = ps->p[i].ppid;
	}
	ps->master = 0;
	if (parent > 0) {
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)parent);
		/* comm is cut to 15 bytes: "mockres-fronten" */
		if (procs_read(path, comm, sizeof(comm)) != -1 &&
		    strncmp(comm, "mockres-fronten", 15) == 0)
			ps->master = parent;
	}
	ps->last_sample_ms = now_ms;
}

double
procs_cpu_seconds(const struct procs *ps, const struct proc *p)
{
	return (double)p->ticks / (double)ps->clk_tck;
}
