/*
 * test_dashboard_procs.c: the process table: /proc/PID/stat parsing, who
 * is listed from a watch push, and CPU/RSS sampled from the real /proc
 * (this process, and a child named like the frontend master).
 */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "support.h"
#include "dashboard.h"
#include "procstat.h"

START_TEST(test_parse_stat)
{
	unsigned long long ticks = 0;
	pid_t ppid = 0;

	ck_assert_int_eq(
	    procstat_parse(
	        "812 (mockres-fronten) S 811 812 "
	        "811 0 -1 4194560 312 0 0 0 17 5 0 0 20 0 1 0 9913 10280960 "
	        "512 18446744073709551615",
	        &ppid, &ticks),
	    0);
	ck_assert_int_eq(ppid, 811);
	ck_assert_uint_eq(ticks, 22);
	/* A command name with spaces and a ')' in it. */
	ck_assert_int_eq(procstat_parse("9 (a) b (c)) R 1 9 9 0 -1 0 0 0 0 "
	                                "0 100 200 0 0\n",
	                                &ppid, &ticks),
	                 0);
	ck_assert_int_eq(ppid, 1);
	ck_assert_uint_eq(ticks, 300);
	ck_assert_int_eq(procstat_parse("", &ppid, &ticks), -1);
	ck_assert_int_eq(procstat_parse("9 (x) R 1 9 9", &ppid, &ticks), -1);
	ck_assert_int_eq(
	    procstat_parse("9 (x) R -1 9 9 0 -1 0 0 0 0 0 1 2", &ppid, &ticks),
	    -1);
	ck_assert_int_eq(
	    procstat_parse("9 (x) R 1 9 9 0 -1 0 0 0 0 0 x 2", &ppid, &ticks),
	    -1);
}
END_TEST

START_TEST(test_from_stats)
{
	static struct procs ps;
	Mockres__Stats s = MOCKRES__STATS__INIT;
	Mockres__ClientInfo ci[5], *cip[5];
	const Mockres__Role roles[5] = {
	    MOCKRES__ROLE__ROLE_FRONTEND_WORKER, MOCKRES__ROLE__ROLE_CTL,
	    MOCKRES__ROLE__ROLE_BENCH, MOCKRES__ROLE__ROLE_BENCH,
	    MOCKRES__ROLE__ROLE_FRONTEND_WORKER};
	const uint32_t pids[5] = {4000002, 4000003, 4000004, 4000004, 4000001};
	int i;

	for (i = 0; i < 5; i++) {
		mockres__client_info__init(&ci[i]);
		ci[i].pid = pids[i];
		ci[i].role = roles[i];
		ci[i].in_flight = (uint64_t)i + 1;
		cip[i] = &ci[i];
	}
	s.in_flight = 15;
	s.daemon_pid = 4000000;
	s.n_clients = 5;
	s.clients = cip;
	procs_init(&ps);
	procs_from_stats(&ps, &s, getpid(), clock_now_ms_frac());
	/* mockresd, workers by pid, one bench (its two connections summed),
	 * the dashboard; no ctl. */
	ck_assert_uint_eq(ps.n, 5);
	ck_assert_int_eq(ps.p[0].pid, 4000000);
	ck_assert_int_eq(ps.p[0].role, PROC_DAEMON);
	ck_assert_uint_eq(ps.p[0].in_flight, 15);
	ck_assert_int_eq(ps.p[1].pid, 4000001);
	ck_assert_uint_eq(ps.p[1].in_flight, 5);
	ck_assert_int_eq(ps.p[2].pid, 4000002);
	ck_assert_int_eq(ps.p[3].role, PROC_BENCH);
	ck_assert_uint_eq(ps.p[3].in_flight, 3 + 4);
	ck_assert_int_eq(ps.p[4].pid, getpid());
	ck_assert_int_eq(ps.p[4].role, PROC_DASHBOARD);
	ck_assert_uint_gt(ps.p[4].rss_kb, 0); /* newcomers sampled at once */

	/* The next push without the workers: they leave the table. */
	s.n_clients = 0;
	procs_from_stats(&ps, &s, getpid(), clock_now_ms_frac());
	ck_assert_uint_eq(ps.n, 2);
	procs_from_stats(&ps, NULL, getpid(), clock_now_ms_frac());
	ck_assert_uint_eq(ps.n, 1);
	ck_assert_str_eq(procs_role_name(ps.p[0].role), "dashboard");
}
END_TEST

START_TEST(test_sample_cpu)
{
	static struct procs ps;
	volatile unsigned long x = 0;
	struct timespec c0, c;
	double t0, t1, expect;

	procs_init(&ps);
	t0 = clock_now_ms_frac();
	procs_from_stats(&ps, NULL, getpid(), t0);
	ck_assert_uint_eq(ps.n, 1);
	/* Burn 300 ms of this process's CPU, however long a busy machine
	 * takes to give it; the sample must say that share of the wall
	 * time between the two samples. */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	do {
		x++;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
	} while ((double)(c.tv_sec - c0.tv_sec) * 1000.0 +
	             (double)(c.tv_nsec - c0.tv_nsec) / 1e6 <
	         300.0);
	t1 = clock_now_ms_frac();
	procs_sample(&ps, t1);
	expect = 300.0 * 100.0 / (t1 - t0);
	ck_assert_msg(ps.p[0].cpu_percent > expect * 0.5 &&
	                  ps.p[0].cpu_percent < expect * 1.6 + 5,
	              "cpu %.1f%%, expected about %.1f%%", ps.p[0].cpu_percent,
	              expect);
	ck_assert_uint_gt(ps.p[0].rss_kb, 100);
	ck_assert(procs_cpu_seconds(&ps, &ps.p[0]) > 0.25);
}
END_TEST

/* A worker whose parent is named mockres-frontend brings the master in. */
START_TEST(test_master_found)
{
	static struct procs ps;
	Mockres__Stats s = MOCKRES__STATS__INIT;
	Mockres__ClientInfo ci = MOCKRES__CLIENT_INFO__INIT, *cip = &ci;
	int fds[2];
	pid_t master, worker = 0;
	size_t i;
	int found = 0;

	ck_assert_int_eq(pipe(fds), 0);
	if ((master = fork()) == 0) {
		pid_t w;

		prctl(PR_SET_NAME, "mockres-frontend");
		if ((w = fork()) == 0) {
			pause();
			_exit(0);
		}
		if (write(fds[1], &w, sizeof(w)) != sizeof(w))
			_exit(1);
		pause();
		_exit(0);
	}
	ck_assert_int_gt(master, 0);
	ck_assert_int_eq(read(fds[0], &worker, sizeof(worker)), sizeof(worker));
	usleep(50000); /* let the master's name settle */

	ci.pid = (uint32_t)worker;
	ci.role = MOCKRES__ROLE__ROLE_FRONTEND_WORKER;
	s.daemon_pid = (uint32_t)getpid();
	s.n_clients = 1;
	s.clients = &cip;
	procs_init(&ps);
	procs_from_stats(&ps, &s, getpid(), clock_now_ms_frac());
	procs_sample(&ps, clock_now_ms_frac());
	ck_assert_uint_eq(ps.nmasters, 1);
	ck_assert_int_eq(ps.masters[0], master);
	procs_from_stats(&ps, &s, getpid(), clock_now_ms_frac());
	for (i = 0; i < ps.n; i++)
		if (ps.p[i].pid == master &&
		    ps.p[i].role == PROC_FRONTEND_MASTER)
			found = 1;
	kill(worker, SIGKILL);
	kill(master, SIGKILL);
	waitpid(master, NULL, 0);
	ck_assert_msg(found, "the master is not in the table");
}
END_TEST

/*
 * Another host's processes: keyed by host and pid (the same pid on two
 * hosts is two rows), their CPU and memory from what mockresd passes on
 * (never this host's /proc), and their master from the worker's report.
 */
START_TEST(test_remote_hosts)
{
	static struct procs ps;
	Mockres__Stats s = MOCKRES__STATS__INIT;
	Mockres__ClientInfo ci[2], *cip[2];
	Mockres__ProcUsage u = MOCKRES__PROC_USAGE__INIT, m, d;
	size_t i, remote_workers = 0, masters = 0;
	double t0 = clock_now_ms_frac();

	u.has_pid = u.has_cpu_ms = u.has_rss_kb = 1;
	u.pid = (uint32_t)getpid();
	u.cpu_ms = 1000;
	u.rss_kb = 4321;
	m = u;
	m.pid = 77;
	m.rss_kb = 1234;
	d = u;
	d.pid = 99;
	d.rss_kb = 999;
	for (i = 0; i < 2; i++) {
		mockres__client_info__init(&ci[i]);
		ci[i].pid = (uint32_t)getpid(); /* the same pid on both hosts */
		ci[i].role = MOCKRES__ROLE__ROLE_FRONTEND_WORKER;
		cip[i] = &ci[i];
	}
	ci[0].host = "fe-remote-1";
	ci[0].usage = &u;
	ci[0].master = &m;
	ci[1].host = NULL; /* this host */
	ci[1].pid = 4000001;
	s.daemon_pid = 99;
	s.daemon_host = "resource-host";
	s.daemon_usage = &d;
	s.n_clients = 2;
	s.clients = cip;
	procs_init(&ps);
	procs_from_stats(&ps, &s, getpid(), t0);
	for (i = 0; i < ps.n; i++) {
		const struct proc *p = &ps.p[i];

		if (p->role == PROC_DAEMON) {
			ck_assert_str_eq(p->host, "resource-host");
			ck_assert_uint_eq(p->rss_kb, 999);
		}
		if (p->role == PROC_FRONTEND_WORKER && !p->local) {
			remote_workers++;
			ck_assert_str_eq(p->host, "fe-remote-1");
			ck_assert_uint_eq(p->rss_kb, 4321);
		}
		if (p->role == PROC_FRONTEND_MASTER) {
			masters++;
			ck_assert_str_eq(p->host, "fe-remote-1");
			ck_assert_int_eq(p->pid, 77);
			ck_assert_uint_eq(p->rss_kb, 1234);
		}
	}
	/* mockresd, the remote master, two workers, the dashboard. */
	ck_assert_uint_eq(ps.n, 5);
	ck_assert_uint_eq(remote_workers, 1);
	ck_assert_uint_eq(masters, 1);
	/* A second of CPU in a second: 100 %. */
	u.cpu_ms = 2000;
	procs_from_stats(&ps, &s, getpid(), t0 + 1000);
	procs_sample(&ps, t0 + 1000);
	for (i = 0; i < ps.n; i++)
		if (ps.p[i].role == PROC_FRONTEND_WORKER && !ps.p[i].local)
			ck_assert_msg(ps.p[i].cpu_percent > 99 &&
			                  ps.p[i].cpu_percent < 101,
			              "%.1f", ps.p[i].cpu_percent);
}
END_TEST

SUP_MAIN("dashboard_procs", NULL, NULL, 0, test_parse_stat, test_from_stats,
         test_remote_hosts, test_sample_cpu, test_master_found)
