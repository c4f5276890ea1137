/*
 * test_fault.c: faults injected while real load runs (issue 6).
 *
 * Every scenario starts the real mockresd, mockres-frontend (2 workers)
 * and mockres-dashboard on a temporary socket and free ports, runs the
 * load generator of load.c against the frontend, injects one fault, and
 * then checks the accounting: every request the load sent has exactly
 * one outcome; 200s and 500s equal mockresd's admitted and rejected
 * counts wherever the scenario allows an exact count; 503 appears only
 * while mockresd is down or shutting down; in_flight returns to 0 and
 * admitted == completed + in_flight; the peak stays under the limit; no
 * process but the one killed died; fds and RSS of the survivors did not
 * grow.  Measured times are printed to the test log.
 *
 * Requests are counted per phase (load_set_phase): the phase current when
 * the request was sent.  Before mockresd is started again the test waits
 * until every request of the earlier phases has its answer, so that each
 * mockresd instance's counters can be compared with exactly the requests
 * it could have seen.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "frame.h"
#include "load.h"
#include "mockres.pb-c.h"
#include "rawclient.h"
#include "support.h"

#define HOLD_MS  200
#define HOLD     "200"
#define CLIENTS  8
#define PACE_US  2000
#define WORKERS  2
#define FD_SLACK 2
#if defined(__SANITIZE_ADDRESS__)
/* ASan keeps freed memory in quarantine (256 MiB by default): RSS says
 * nothing about leaks there, LeakSanitizer does. */
#define RSS_SLACK (512L * 1024) /* kB */
#else
#define RSS_SLACK 4096L /* kB */
#endif
#define PROCS_MAX 8
#define WARMUP_MS 300
#define RUN_MS    700

static char sock[256];
static pid_t mrd_pid, fe_pid, dash_pid;
static pid_t wk_pid[WORKERS];
static int port, dash_port;

/* ---- processes ---- */

static void
setup(void)
{
	snprintf(sock, sizeof(sock), "%s", sup_path("mockresd.sock"));
	mrd_pid = fe_pid = dash_pid = 0;
}

static void
mrd_start(const char *limit)
{
	const char *extra[] = {"--limit", limit, "--hold-ms", HOLD, NULL};

	mrd_pid = sup_start_mockresd(sock, extra);
	ck_assert_int_gt(mrd_pid, 0);
}

static int
clients_json(char *out, size_t len)
{
	const char *args[] = {"--json", "clients", NULL};

	return sup_ctl(sock, args, out, len);
}

/* How many clients of ROLE (and of PID, unless 0) mockresd lists. */
static int
clients_count(const char *json, const char *role, pid_t pid)
{
	char want[64];
	const char *p = json;
	int n = 0;

	snprintf(want, sizeof(want), "\"role\":\"%s\"", role);
	while ((p = strstr(p, "{\"pid\":")) != NULL) {
		const char *next = strstr(p + 1, "{\"pid\":");
		const char *r = strstr(p, want);
		long v = strtol(p + 7, NULL, 10);

		if (r != NULL && (next == NULL || r < next) &&
		    (pid == 0 || v == pid))
			n++;
		p += 7;
	}
	return n;
}

/*
 * Waits until mockresd lists both frontend workers (and the dashboard and
 * WATCH_PID when given); returns the milliseconds it took, -1 on timeout.
 */
static double
wait_clients(pid_t watch_pid, int timeout_ms)
{
	static char out[65536];
	double t0 = clock_now_ms_frac();
	int i, ok;

	for (;;) {
		ok = clients_json(out, sizeof(out)) == 0;
		for (i = 0; ok && i < WORKERS; i++)
			ok = clients_count(out, "frontend-worker", wk_pid[i]) ==
			     1;
		if (ok && dash_pid > 0)
			ok = clients_count(out, "dashboard", dash_pid) == 1;
		if (ok && watch_pid > 0)
			ok = clients_count(out, "ctl", watch_pid) == 1;
		if (ok)
			return clock_now_ms_frac() - t0;
		if (clock_now_ms_frac() - t0 > timeout_ms)
			return -1;
		sup_sleep_ms(5);
	}
}

static void
workers_read(void)
{
	pid_t kids[8];
	double end = clock_now_ms_frac() + 10000;

	while (sup_proc_children(fe_pid, kids, 8) != WORKERS) {
		ck_assert_msg(clock_now_ms_frac() < end,
		              "frontend workers missing");
		sup_sleep_ms(10);
	}
	memcpy(wk_pid, kids, sizeof(wk_pid));
}

/* Starts the frontend; with mockresd up, waits until both workers are
 * connected to it. */
static void
fe_start(int mrd_up)
{
	const char *extra[] = {"--workers", "2", NULL};

	fe_pid = sup_http_server(FRONTEND_BIN, "frontend", sock, extra, &port);
	workers_read();
	if (mrd_up)
		ck_assert_msg(wait_clients(0, 10000) >= 0,
		              "frontend workers never connected to mockresd");
}

static void
dash_start(void)
{
	dash_pid =
	    sup_http_server(DASHBOARD_BIN, "dashboard", sock, NULL, &dash_port);
}

/* The whole system, up and connected. */
static void
all_start(const char *limit)
{
	mrd_start(limit);
	dash_start();
	fe_start(1);
	ck_assert_msg(wait_clients(0, 10000) >= 0, "dashboard not connected");
}

static void
fe_stop(void)
{
	int st = sup_stop(fe_pid, SIGTERM, 20000);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	              "frontend did not exit 0 on SIGTERM (status %#x)", st);
}

static void
all_stop(void)
{
	int st;

	fe_stop();
	st = sup_stop(dash_pid, SIGTERM, 10000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	              "dashboard did not exit 0 on SIGTERM (status %#x)", st);
	st = sup_stop(mrd_pid, SIGTERM, 10000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	              "mockresd did not exit 0 on SIGTERM (status %#x)", st);
}

/* mockresd's last "exiting: admitted X, rejected Y, completed Z" line. */
static void
mrd_exit_counts(uint64_t *adm, uint64_t *rej, uint64_t *comp)
{
	static char buf[1 << 20];
	const char *p, *last = NULL;
	unsigned long long a, r, c;
	ssize_t n;
	int fd;

	fd = open(sup_path("mockresd.log"), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, "exiting: admitted ")) != NULL; p++)
		last = p;
	ck_assert_ptr_nonnull(last);
	ck_assert_int_eq(sscanf(last,
	                        "exiting: admitted %llu, rejected %llu, "
	                        "completed %llu",
	                        &a, &r, &c),
	                 3);
	*adm = a;
	*rej = r;
	*comp = c;
}

/*
 * Waits for mockresd's holds to end, checking its invariants on every
 * sample: admitted == completed + in_flight, peak <= limit.
 */
static void
stats_settle(struct sup_stats *s)
{
	double end = clock_now_ms_frac() + 10000;

	for (;;) {
		ck_assert_int_eq(sup_stats(sock, s), 0);
		ck_assert_msg(
		    s->admitted == s->completed + s->in_flight,
		    "admitted %llu != completed %llu + in_flight %llu",
		    (unsigned long long)s->admitted,
		    (unsigned long long)s->completed,
		    (unsigned long long)s->in_flight);
		if (s->limit > 0)
			ck_assert_uint_le(s->peak, s->limit);
		if (s->in_flight == 0)
			return;
		ck_assert_msg(clock_now_ms_frac() < end,
		              "in_flight stuck at %llu",
		              (unsigned long long)s->in_flight);
		sup_sleep_ms(20);
	}
}

/* ---- survivors: alive, fds and RSS ---- */

struct proc {
	const char *what;
	pid_t pid;
	long fds, rss;
};

static int
procs_snap(struct proc *p)
{
	int n = 0, i;

	p[n++] = (struct proc){"mockresd", mrd_pid, 0, 0};
	p[n++] = (struct proc){"frontend master", fe_pid, 0, 0};
	for (i = 0; i < WORKERS; i++)
		p[n++] = (struct proc){"frontend worker", wk_pid[i], 0, 0};
	if (dash_pid > 0)
		p[n++] = (struct proc){"dashboard", dash_pid, 0, 0};
	for (i = 0; i < n; i++) {
		if (p[i].pid <= 0)
			continue;
		p[i].fds = sup_proc_fds(p[i].pid);
		p[i].rss = sup_proc_rss_kb(p[i].pid);
		ck_assert_msg(p[i].fds > 0 && p[i].rss > 0, "cannot read %s",
		              p[i].what);
	}
	return n;
}

/*
 * The processes of BEFORE are alive and, once their clients' connections
 * are closed, hold no more fds and little more memory than then.  PIDS
 * that a scenario replaced on purpose are compared by role: NOW gives the
 * current process of each entry (0 = skip).
 */
static void
procs_check(const struct proc *before, int n, const pid_t *now)
{
	double end = clock_now_ms_frac() + 5000;
	int i;

	for (i = 0; i < n; i++) {
		pid_t pid = now ? now[i] : before[i].pid;
		long fds, rss;

		if (pid <= 0 || before[i].pid <= 0)
			continue;
		ck_assert_msg(sup_alive(pid), "%s (pid %d) died",
		              before[i].what, (int)pid);
		while ((fds = sup_proc_fds(pid)) > before[i].fds + FD_SLACK &&
		       clock_now_ms_frac() < end)
			sup_sleep_ms(20);
		rss = sup_proc_rss_kb(pid);
		printf("  %-16s pid %-7d fds %ld -> %ld, rss %ld -> %ld kB\n",
		       before[i].what, (int)pid, before[i].fds, fds,
		       before[i].rss, rss);
		ck_assert_msg(fds <= before[i].fds + FD_SLACK,
		              "%s holds %ld fds, %ld before", before[i].what,
		              fds, before[i].fds);
		ck_assert_msg(rss <= before[i].rss + RSS_SLACK,
		              "%s grew from %ld to %ld kB", before[i].what,
		              before[i].rss, rss);
	}
	fflush(stdout);
}

/* ---- load ---- */

static struct load *
load_go(const char *path, int clients, int one_conn)
{
	struct load_opts o = {port, path, clients, PACE_US, 5000, one_conn, 0};
	struct load *ld = load_start(&o);

	ck_assert_ptr_nonnull(ld);
	return ld;
}

/* mockresd's counters after the warm-up: the scenario's deltas start here. */
static struct sup_stats warm;

/* A short load first, so that the baseline includes what a warm process
 * keeps allocated. */
static void
warm_up(const char *path)
{
	struct load *ld = load_go(path, CLIENTS, 0);

	sup_sleep_ms(WARMUP_MS);
	ck_assert_int_eq(load_stop(ld), 0);
	ck_assert_uint_eq(load_sum_failed(ld, -1), 0);
	load_free(ld);
	stats_settle(&warm);
}

static void
finish_load(struct load *ld, const char *title)
{
	ck_assert_int_eq(load_stop(ld), 0);
	load_print(ld, title, stdout);
}

static uint64_t
nstat(const struct load *ld, int p, enum load_status s)
{
	return load_sum_status(ld, p, s);
}

static uint64_t
ph(const struct load *ld, int p, size_t off)
{
	return atomic_load(
	    (const atomic_uint_fast64_t *)((const char *)&ld->sh->ph[p] + off));
}
#define PH(ld, p, field) ph(ld, p, offsetof(struct load_phase, field))

/* Milliseconds from T0_MS to the first / last answer S of phase P. */
static double
first_ms(const struct load *ld, int p, enum load_status s, double t0_ms)
{
	uint64_t us = atomic_load(&ld->sh->ph[p].first_us[s]);

	return us == UINT64_MAX ? -1 : (double)us / 1000.0 - t0_ms;
}

static double
last_ms(const struct load *ld, int p, enum load_status s, double t0_ms)
{
	uint64_t us = atomic_load(&ld->sh->ph[p].last_us[s]);

	return us == 0 ? -1 : (double)us / 1000.0 - t0_ms;
}

/* Every request of phase P has one of the outcomes 200, 500, 503. */
static void
assert_no_failure(const struct load *ld, int p)
{
	ck_assert_msg(load_sum_failed(ld, p) == 0,
	              "phase %d: %llu requests not answered", p,
	              (unsigned long long)load_sum_failed(ld, p));
	ck_assert_uint_eq(nstat(ld, p, LOAD_OTHER), 0);
	ck_assert_uint_eq(load_answered(ld, p), PH(ld, p, sent));
}

/* The 503s of phase P came fast: median under 50 ms, none over 1 s. */
static void
assert_fast_503(const struct load *ld, int p)
{
	double med = load_quantile_ms(ld, p, LOAD_503, 0.5);
	double max = load_max_ms(ld, p, LOAD_503);

	printf("  phase %d: 503 median <= %.0f ms, max %.1f ms\n", p, med, max);
	ck_assert_msg(med >= 0 && med <= 50, "503 median %.0f ms", med);
	ck_assert_msg(max < 1000, "a 503 took %.1f ms", max);
}

/*
 * mockresd is back (started at T_UP) for PHASE: the first 200 came within
 * 1 s, the new mockresd saw exactly that phase's requests, and no other
 * process was restarted.  Ends the scenario.
 */
static void
assert_back_and_stop(struct load *ld, int phase, double t_up,
                     struct proc *before, int n)
{
	double first200 = first_ms(ld, phase, LOAD_200, t_up);
	struct sup_stats s;

	printf("  first 200 %.0f ms after the restart began\n", first200);
	ck_assert_msg(first200 >= 0 && first200 < 1000, "first 200 at %.0f",
	              first200);
	stats_settle(&s);
	ck_assert_uint_eq(s.admitted, nstat(ld, phase, LOAD_200));
	ck_assert_uint_eq(s.rejected, nstat(ld, phase, LOAD_500));
	before[0].pid = mrd_pid;
	procs_check(before, n, NULL);
	load_free(ld);
	all_stop();
}

/* ---- 1. kill -9 mockresd during async load ---- */

START_TEST(test_kill_mockresd)
{
	struct proc before[PROCS_MAX];
	struct load *ld;
	double t_up, last503;
	int n;

	all_start("200");
	warm_up("/part1/async");
	n = procs_snap(before);

	ld = load_go("/part1/async", CLIENTS, 0);
	sup_sleep_ms(RUN_MS);
	sup_stop(mrd_pid, SIGKILL, 5000);
	load_set_phase(ld, 1);
	/* Requests waiting on the dead connection get 503, not a hang. */
	ck_assert_int_eq(load_wait_phase(ld, 0, 2000), 0);
	sup_sleep_ms(500);
	load_set_phase(ld, 2);
	ck_assert_int_eq(load_wait_phase(ld, 1, 2000), 0);
	t_up = clock_now_ms_frac();
	mrd_start("200");
	sup_sleep_ms(1000);
	finish_load(ld, "kill -9 mockresd");

	assert_no_failure(ld, 0);
	assert_no_failure(ld, 1);
	assert_no_failure(ld, 2);
	ck_assert_uint_gt(nstat(ld, 0, LOAD_200), 0);
	/* Down: every request answered 503, fast. */
	ck_assert_uint_gt(PH(ld, 1, sent), 0);
	ck_assert_uint_eq(nstat(ld, 1, LOAD_503), PH(ld, 1, sent));
	assert_fast_503(ld, 1);
	/* Back: no 503 after 1 s, 200 within 1 s, exact counts. */
	last503 = last_ms(ld, 2, LOAD_503, t_up);
	printf("  last 503 %.0f ms after the restart began\n", last503);
	ck_assert_msg(last503 < 1000, "503 at %.0f ms after restart", last503);
	assert_back_and_stop(ld, 2, t_up, before, n);
}
END_TEST

/* ---- 2. kill -9 one frontend worker during load ---- */

START_TEST(test_kill_worker)
{
	struct proc before[PROCS_MAX];
	pid_t kids[8], victim, now[PROCS_MAX];
	struct sup_stats s;
	struct load *ld;
	double t_kill, t_new = -1, t_conn;
	uint64_t ok, failed;
	int n, i, k;

	all_start("0");
	warm_up("/part1/async");
	n = procs_snap(before);

	ld = load_go("/part1/async", CLIENTS, 0);
	sup_sleep_ms(RUN_MS);
	victim = wk_pid[0];
	t_kill = clock_now_ms_frac();
	ck_assert_int_eq(kill(victim, SIGKILL), 0);
	/* Phase 1 starts when the victim is gone (a zombie: its fds are
	 * closed), so that no phase-1 connection can have reached it. */
	while (sup_alive(victim)) {
		ck_assert(clock_now_ms_frac() - t_kill < 5000);
		sup_sleep_ms(1);
	}
	load_set_phase(ld, 1);
	while (t_new < 0) {
		k = sup_proc_children(fe_pid, kids, 8);
		for (i = 0; i < k; i++)
			if (kids[i] != victim && kids[i] != wk_pid[1])
				t_new = clock_now_ms_frac() - t_kill;
		ck_assert_msg(clock_now_ms_frac() - t_kill < 5000,
		              "worker not replaced");
		sup_sleep_ms(2);
	}
	workers_read();
	t_conn = wait_clients(0, 5000);
	ck_assert(t_conn >= 0);
	t_conn += t_new;
	printf("  replacement forked %.0f ms after the kill, connected to "
	       "mockresd by %.0f ms\n",
	       t_new, t_conn);
	ck_assert_msg(t_new < 1000, "replaced after %.0f ms", t_new);
	ck_assert_msg(t_conn < 1500, "connected after %.0f ms", t_conn);
	sup_sleep_ms(RUN_MS);
	finish_load(ld, "kill -9 worker");

	/* Only connections open on the dead worker failed: at most one per
	 * client, none opened after the kill. */
	failed = load_sum_failed(ld, -1);
	ck_assert_msg(failed <= CLIENTS, "%llu failed requests",
	              (unsigned long long)failed);
	ck_assert_uint_eq(PH(ld, 1, conn_fail), 0);
	ck_assert_uint_eq(PH(ld, 0, hung) + PH(ld, 1, hung), 0);
	ck_assert_uint_eq(nstat(ld, -1, LOAD_503) + nstat(ld, -1, LOAD_OTHER) +
	                      nstat(ld, -1, LOAD_500),
	                  0);
	ck_assert_uint_gt(nstat(ld, 1, LOAD_200), 0);
	/* The dead worker's uses in flight were admitted but never
	 * answered: admitted is between the 200s and the 200s + failures. */
	ok = nstat(ld, -1, LOAD_200);
	stats_settle(&s);
	ck_assert_uint_ge(s.admitted - warm.admitted, ok);
	ck_assert_uint_le(s.admitted - warm.admitted, ok + failed);
	for (i = 0; i < n; i++)
		now[i] = before[i].pid == victim ? 0 : before[i].pid;
	procs_check(before, n, now);
	ck_assert(!sup_alive(victim));
	load_free(ld);
	all_stop();
}
END_TEST

/* ---- 3. SIGTERM to the frontend during serial load ---- */

START_TEST(test_term_frontend)
{
	struct proc before[PROCS_MAX];
	struct sup_stats s;
	struct load *ld;
	double t_term, t_exit;
	pid_t now[PROCS_MAX];
	int n, i, status;

	all_start("0");
	warm_up("/part1/serial");
	n = procs_snap(before);

	/* One connection per client, all open before the signal. */
	ld = load_go("/part1/serial", CLIENTS, 1);
	while (PH(ld, 0, conns) < CLIENTS) {
		ck_assert_msg(PH(ld, 0, connect_err) == 0, "connect failed");
		ck_assert_int_eq(load_wait_sent(ld, 1, 5000), 0);
		sup_sleep_ms(5);
	}
	sup_sleep_ms(RUN_MS);
	t_term = clock_now_ms_frac();
	kill(fe_pid, SIGTERM);
	status = sup_wait_exit(fe_pid, 20000);
	t_exit = clock_now_ms_frac() - t_term;
	printf("  master exited %.0f ms after SIGTERM\n", t_exit);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "master status %#x", status);
	finish_load(ld, "SIGTERM frontend");

	/* Every request sent on an accepted connection got its 200. */
	assert_no_failure(ld, 0);
	ck_assert_uint_eq(PH(ld, 0, connect_err), 0);
	ck_assert_uint_eq(nstat(ld, 0, LOAD_200), PH(ld, 0, sent));
	for (i = 0; i < WORKERS; i++)
		ck_assert(!sup_alive(wk_pid[i]));
	ck_assert_int_eq(sup_wait_port(port, 100), -1);
	stats_settle(&s);
	ck_assert_uint_eq(s.admitted - warm.admitted, nstat(ld, 0, LOAD_200));
	ck_assert_uint_eq(s.rejected, 0);
	/* mockresd and the dashboard live on; mockresd lost two clients. */
	for (i = 0; i < n; i++)
		now[i] = strcmp(before[i].what, "mockresd") == 0 ||
		                 strcmp(before[i].what, "dashboard") == 0
		             ? before[i].pid
		             : 0;
	procs_check(before, n, now);
	load_free(ld);
	sup_stop(dash_pid, SIGTERM, 10000);
	sup_stop_ok(mrd_pid, "mockresd", 10000);
}
END_TEST

/* ---- 4. SIGTERM to mockresd during serial load ---- */

static Mockres__Response *
raw_reply(int fd, uint64_t id)
{
	Mockres__Response *r;
	int eof;

	while ((r = raw_recv(fd, 5000, &eof)) != NULL) {
		if (r->id == id)
			return r;
		mockres__response__free_unpacked(r, NULL);
	}
	ck_abort_msg("no reply %llu from mockresd (eof %d)",
	             (unsigned long long)id, eof);
	return NULL;
}

static Mockres__Stats *
raw_stats(int fd, uint64_t id, Mockres__Response **keep)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;

	req.has_id = 1;
	req.id = id;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	ck_assert_int_eq(raw_send_req(fd, &req), 0);
	*keep = raw_reply(fd, id);
	ck_assert_ptr_nonnull((*keep)->stats);
	return (*keep)->stats;
}

START_TEST(test_term_mockresd)
{
	struct proc before[PROCS_MAX];
	struct load *ld;
	Mockres__Response *r, *keep;
	Mockres__Stats *stats;
	const char *use_args[] = {"use", NULL};
	double t_term, t_exit, t_up;
	uint64_t adm, rej, comp, id = 10;
	int n, fd, status, eof;

	all_start("15");
	warm_up("/part1/serial");
	n = procs_snap(before);

	/* A raw client holds the resource 1 s across the signal. */
	fd = raw_connect(sock);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(raw_send_use(fd, 1, 0, 1000), 0);
	stats = raw_stats(fd, 2, &keep); /* in order: the use came first */
	ck_assert_uint_ge(stats->in_flight, 1);
	mockres__response__free_unpacked(keep, NULL);

	ld = load_go("/part1/serial", 20, 0);
	sup_sleep_ms(RUN_MS);
	t_term = clock_now_ms_frac();
	kill(mrd_pid, SIGTERM);
	load_set_phase(ld, 1);
	do {
		stats = raw_stats(fd, ++id, &keep);
		status = stats->shutting_down;
		mockres__response__free_unpacked(keep, NULL);
		ck_assert(clock_now_ms_frac() - t_term < 5000);
	} while (!status);
	/* New uses: SHUTTING_DOWN; mockresctl cannot connect at all. */
	ck_assert_int_eq(raw_send_use(fd, ++id, 1, -1), 0);
	r = raw_reply(fd, id);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__SHUTTING_DOWN);
	mockres__response__free_unpacked(r, NULL);
	ck_assert_int_eq(sup_ctl(sock, use_args, NULL, 0), 3);
	/* The running hold finishes and its client gets DONE. */
	r = raw_reply(fd, 1);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__DONE);
	mockres__response__free_unpacked(r, NULL);
	printf("  raw serial use DONE %.0f ms after SIGTERM\n",
	       clock_now_ms_frac() - t_term);
	ck_assert_ptr_null(raw_recv(fd, 5000, &eof));
	ck_assert_int_eq(eof, 1);
	close(fd);
	status = sup_wait_exit(mrd_pid, 10000);
	t_exit = clock_now_ms_frac() - t_term;
	printf("  mockresd exited %.0f ms after SIGTERM\n", t_exit);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "mockresd status %#x", status);

	/* Every use it admitted completed and reached its client as 200;
	 * every refusal as 500.  The raw client's use is the +1. */
	ck_assert_int_eq(load_wait_phase(ld, 0, 3000), 0);
	load_set_phase(ld, 2);
	ck_assert_int_eq(load_wait_phase(ld, 1, 3000), 0);
	mrd_exit_counts(&adm, &rej, &comp);
	printf("  mockresd: admitted %llu, rejected %llu, completed %llu\n",
	       (unsigned long long)adm, (unsigned long long)rej,
	       (unsigned long long)comp);
	ck_assert_uint_eq(adm, comp);
	ck_assert_uint_eq(adm - warm.admitted,
	                  nstat(ld, 0, LOAD_200) + nstat(ld, 1, LOAD_200) + 1);
	ck_assert_uint_eq(rej - warm.rejected,
	                  nstat(ld, 0, LOAD_500) + nstat(ld, 1, LOAD_500));
	ck_assert_uint_gt(nstat(ld, 0, LOAD_500), 0);
	ck_assert_uint_gt(nstat(ld, 1, LOAD_503), 0);
	assert_fast_503(ld, 1);

	/* Back again: the same frontend serves 200. */
	t_up = clock_now_ms_frac();
	mrd_start("15");
	sup_sleep_ms(1000);
	finish_load(ld, "SIGTERM mockresd");
	assert_no_failure(ld, 0);
	assert_no_failure(ld, 1);
	assert_no_failure(ld, 2);
	assert_back_and_stop(ld, 2, t_up, before, n);
}
END_TEST

/* ---- 5. SIGHUP to the frontend during load ---- */

START_TEST(test_hup_frontend)
{
	struct proc before[PROCS_MAX];
	pid_t old[WORKERS], kids[8], now[PROCS_MAX];
	struct sup_stats s;
	struct load *ld;
	double t_hup, t_done;
	int n, i, k, fresh;

	all_start("0");
	warm_up("/part1/async");
	n = procs_snap(before);
	memcpy(old, wk_pid, sizeof(old));

	ld = load_go("/part1/async", CLIENTS, 0);
	sup_sleep_ms(RUN_MS);
	t_hup = clock_now_ms_frac();
	kill(fe_pid, SIGHUP);
	load_set_phase(ld, 1);
	for (;;) {
		k = sup_proc_children(fe_pid, kids, 8);
		for (i = 0, fresh = 0; i < k; i++)
			fresh += kids[i] != old[0] && kids[i] != old[1];
		if (k == WORKERS && fresh == WORKERS)
			break;
		ck_assert_msg(clock_now_ms_frac() - t_hup < 15000,
		              "workers not replaced");
		sup_sleep_ms(5);
	}
	t_done = clock_now_ms_frac() - t_hup;
	printf("  both workers replaced, old ones gone, %.0f ms after "
	       "SIGHUP\n",
	       t_done);
	workers_read();
	ck_assert(wait_clients(0, 5000) >= 0);
	sup_sleep_ms(RUN_MS);
	finish_load(ld, "SIGHUP frontend");

	/* The load saw no failure at all: not even a keep-alive race. */
	for (i = 0; i < 2; i++) {
		assert_no_failure(ld, i);
		ck_assert_uint_eq(PH(ld, i, connect_err), 0);
		ck_assert_uint_eq(nstat(ld, i, LOAD_200), PH(ld, i, sent));
	}
	ck_assert_uint_gt(nstat(ld, 1, LOAD_200), 0);
	stats_settle(&s);
	ck_assert_uint_eq(s.admitted - warm.admitted, nstat(ld, -1, LOAD_200));
	for (i = 0; i < n; i++) {
		now[i] = before[i].pid;
		if (before[i].pid == old[0])
			now[i] = wk_pid[0];
		if (before[i].pid == old[1])
			now[i] = wk_pid[1];
	}
	procs_check(before, n, now);
	load_free(ld);
	all_stop();
}
END_TEST

/* ---- 6. mockresd restarted with clients attached ---- */

static int
file_size(const char *path)
{
	FILE *f = fopen(path, "r");
	long n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return (int)n;
}

START_TEST(test_restart_reconnect)
{
	struct proc before[PROCS_MAX];
	const char *watch_argv[] = {MOCKRESCTL_BIN, "--socket", sock, "watch",
	                            "-i",           "50",       NULL};
	struct sup_http_resp r;
	struct sup_stats s;
	struct load *ld;
	pid_t watch_pid;
	uint64_t pid;
	double t_up, t_conn, t_sig0 = 0;
	int n, round, size, p;
	char path[300];

	all_start("0");
	watch_pid = sup_spawn(watch_argv, "watch");
	ck_assert_int_gt(watch_pid, 0);
	ck_assert(wait_clients(watch_pid, 10000) >= 0);
	warm_up("/part1/async");
	n = procs_snap(before);
	snprintf(path, sizeof(path), "%s", sup_path("watch.log"));

	ld = load_go("/part1/async", CLIENTS, 0);
	for (round = 0, p = 0; round < 2; round++) {
		sup_sleep_ms(400);
		/* A restart as systemd does it, then a crash. */
		load_set_phase(ld, ++p);
		if (round == 0)
			t_sig0 = clock_now_ms_frac();
		sup_stop(mrd_pid, round == 0 ? SIGTERM : SIGKILL, 10000);
		load_set_phase(ld, ++p);
		ck_assert_int_eq(load_wait_phase(ld, p - 1, 3000), 0);
		sup_sleep_ms(200);
		load_set_phase(ld, ++p);
		ck_assert_int_eq(load_wait_phase(ld, p - 1, 3000), 0);
		ck_assert_uint_gt(PH(ld, p - 1, sent), 0);
		ck_assert_uint_eq(nstat(ld, p - 1, LOAD_503),
		                  PH(ld, p - 1, sent));
		size = file_size(path);
		t_up = clock_now_ms_frac();
		mrd_start("0");
		/* Every client is back by itself. */
		ck_assert_msg(wait_clients(watch_pid, 5000) >= 0,
		              "clients did not reconnect");
		t_conn = clock_now_ms_frac() - t_up;
		printf("  round %d: workers, dashboard and watch reconnected "
		       "%.0f ms after mockresd started\n",
		       round, t_conn);
		/* The dashboard shows the new daemon; watch prints again. */
		for (;;) {
			ck_assert_int_eq(sup_http(dash_port, "GET",
			                          "/api/stats", NULL, &r, 5000),
			                 0);
			if (r.status == 200 &&
			    sup_json_u64(r.body, "daemon_pid", &pid) == 0 &&
			    pid == (uint64_t)mrd_pid &&
			    strstr(r.body, "\"connected\":true") != NULL)
				break;
			ck_assert_msg(clock_now_ms_frac() - t_up < 5000,
			              "dashboard still shows %s", r.body);
			sup_sleep_ms(20);
		}
		while (file_size(path) <= size + 200) {
			ck_assert_msg(
			    clock_now_ms_frac() - t_up < 5000,
			    "watch printed nothing after the restart");
			sup_sleep_ms(20);
		}
		ck_assert(sup_alive(watch_pid));
		sup_sleep_ms(300);
	}
	finish_load(ld, "mockresd restarts");
	for (round = 0; round <= p; round++)
		assert_no_failure(ld, round);
	/* 503 only once mockresd was stopping (a request sent just before
	 * the signal may reach it after); the last daemon saw exactly the
	 * requests of the last phase. */
	ck_assert_msg(nstat(ld, 0, LOAD_503) == 0 ||
	                  first_ms(ld, 0, LOAD_503, t_sig0) >= 0,
	              "503 before mockresd was stopped");
	stats_settle(&s);
	ck_assert_uint_eq(s.admitted, nstat(ld, p, LOAD_200));
	before[0].pid = mrd_pid;
	procs_check(before, n, NULL);
	load_free(ld);
	ck_assert_int_eq(sup_stop(watch_pid, SIGINT, 5000), 0);
	all_stop();
}
END_TEST

/* ---- 7. a client that sends uses and never reads ---- */

/* Writes Use frames until the socket has taken nothing for 1 s (mockresd
 * stopped reading: its sends back up); returns how many were written, -1
 * if mockresd cut the connection off or the socket never stopped taking
 * them within TIMEOUT_MS. */
static long
flood_unread(int fd, long *peak_rss, int timeout_ms)
{
	unsigned char frame[64], batch[64 * 256];
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Use use = MOCKRES__USE__INIT;
	struct pollfd pfd = {fd, POLLOUT, 0};
	double end = clock_now_ms_frac() + timeout_ms, sample = 0;
	double taken = clock_now_ms_frac(); /* when it last took something */
	size_t len, blen = 0, off = 0;
	long sent = 0, rss;
	ssize_t w;
	int i;

	use.has_mode = 1;
	use.mode = MOCKRES__USE_MODE__ASYNC;
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	req.has_id = 1;
	for (i = 0; i < 256; i++) {
		req.id = (uint64_t)i + 1000;
		len = mockres__request__pack(&req, frame + 4);
		frame[0] = 0;
		frame[1] = 0;
		frame[2] = (unsigned char)(len >> 8);
		frame[3] = (unsigned char)len;
		memcpy(batch + blen, frame, len + 4);
		blen += len + 4;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (clock_now_ms_frac() < end) {
		if (clock_now_ms_frac() > sample) {
			rss = sup_proc_rss_kb(mrd_pid);
			if (rss > *peak_rss)
				*peak_rss = rss;
			sample = clock_now_ms_frac() + 10;
		}
		w = send(fd, batch + off, blen - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			taken = clock_now_ms_frac();
			if (off == blen) {
				off = 0;
				sent += 256;
			}
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return -1; /* cut off (EPIPE, ECONNRESET) */
		if (clock_now_ms_frac() - taken >= 1000)
			return sent;
		poll(&pfd, 1, 20);
	}
	return -1;
}

START_TEST(test_unread_client)
{
	struct proc before[PROCS_MAX];
	struct sup_stats s;
	struct load *ld;
	long sent, peak = 0, base_rss;
	int n, i, fd;
	char log[1 << 16];

	all_start("50");
	warm_up("/part1/async");
	n = procs_snap(before);
	base_rss = before[0].rss;

	ld = load_go("/part1/async", CLIENTS, 0);
	sup_sleep_ms(200);
	for (i = 0; i < 5; i++) {
		fd = raw_connect(sock);
		ck_assert_int_ge(fd, 0);
		sent = flood_unread(fd, &peak, 15000);
		printf("  flood %d: held back after %ld uses; mockresd rss "
		       "peak %ld kB (baseline %ld)\n",
		       i, sent, peak, base_rss);
		ck_assert_msg(sent > 0,
		              "mockresd cut the client off, or never stopped "
		              "reading it");
		close(fd);
	}
	sup_sleep_ms(200);
	finish_load(ld, "unread client");

	/* Bounded: 256 KiB of replies unsent per client (its reading paused
	 * past that), plus the read buffer. */
	ck_assert_msg(peak - base_rss < 8192 + RSS_SLACK - 4096,
	              "mockresd grew by %ld kB", peak - base_rss);
	sup_read_log("mockresd.log", log, sizeof(log));
	ck_assert_ptr_null(strstr(log, "client not reading"));
	/* Everyone else was served: only 200 and 500, no 503, no loss. */
	assert_no_failure(ld, 0);
	ck_assert_uint_eq(nstat(ld, 0, LOAD_503), 0);
	ck_assert_uint_gt(nstat(ld, 0, LOAD_200), 0);
	stats_settle(&s);
	ck_assert_uint_le(s.peak, 50);
	procs_check(before, n, NULL);
	load_free(ld);
	all_stop();
}
END_TEST

/* ---- 8. the frontend starts before mockresd exists ---- */

START_TEST(test_frontend_first)
{
	struct proc before[PROCS_MAX];
	struct sup_http_resp r;
	struct sup_stats s;
	struct load *ld;
	double t_up, first200, t_health;
	int n;

	dash_start();
	fe_start(0);
	ck_assert_int_eq(sup_http(port, "GET", "/healthz", NULL, &r, 5000), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_int_eq(
	    sup_http(dash_port, "GET", "/api/stats", NULL, &r, 5000), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"connected\":false"));
	n = procs_snap(before);

	ld = load_go("/part1/async", CLIENTS, 0);
	sup_sleep_ms(500);
	load_set_phase(ld, 1);
	ck_assert_int_eq(load_wait_phase(ld, 0, 2000), 0);
	t_up = clock_now_ms_frac();
	mrd_start("0");
	for (;;) {
		ck_assert_int_eq(
		    sup_http(port, "GET", "/healthz", NULL, &r, 5000), 0);
		if (r.status == 200)
			break;
		ck_assert_int_eq(r.status, 503);
		ck_assert(clock_now_ms_frac() - t_up < 5000);
		sup_sleep_ms(5);
	}
	t_health = clock_now_ms_frac() - t_up;
	ck_assert(wait_clients(0, 5000) >= 0);
	sup_sleep_ms(1000);
	finish_load(ld, "frontend before mockresd");

	assert_no_failure(ld, 0);
	assert_no_failure(ld, 1);
	ck_assert_uint_gt(PH(ld, 0, sent), 0);
	ck_assert_uint_eq(nstat(ld, 0, LOAD_503), PH(ld, 0, sent));
	assert_fast_503(ld, 0);
	first200 = first_ms(ld, 1, LOAD_200, t_up);
	printf("  /healthz 200 %.0f ms and first 200 %.0f ms after mockresd "
	       "started; last 503 at %.0f ms\n",
	       t_health, first200, last_ms(ld, 1, LOAD_503, t_up));
	ck_assert_msg(first200 >= 0 && first200 < 1000, "first 200 at %.0f",
	              first200);
	ck_assert(last_ms(ld, 1, LOAD_503, t_up) < 1000);
	stats_settle(&s);
	ck_assert_uint_eq(s.admitted, nstat(ld, 1, LOAD_200));
	/* No restart of anything: same master, same workers. */
	procs_check(before, n, NULL);
	load_free(ld);
	all_stop();
}
END_TEST

/* ---- 9. the dashboard dies: nobody else notices ---- */

START_TEST(test_kill_dashboard)
{
	struct proc before[PROCS_MAX];
	pid_t now[PROCS_MAX];
	struct sup_stats s;
	struct load *ld;
	double t_kill;
	int n, i;

	all_start("0");
	warm_up("/part1/async");
	n = procs_snap(before);
	ld = load_go("/part1/async", CLIENTS, 0);
	sup_sleep_ms(RUN_MS / 2);
	t_kill = clock_now_ms_frac();
	sup_stop(dash_pid, SIGKILL, 5000);
	sup_sleep_ms(RUN_MS / 2);
	finish_load(ld, "kill -9 dashboard");
	assert_no_failure(ld, 0);
	ck_assert_uint_eq(nstat(ld, 0, LOAD_200), PH(ld, 0, sent));
	stats_settle(&s);
	ck_assert_uint_eq(s.admitted - warm.admitted, nstat(ld, 0, LOAD_200));
	/* mockresd dropped the dashboard's watch and its connection. */
	for (i = 0; i < n; i++)
		now[i] = before[i].pid == dash_pid ? 0 : before[i].pid;
	procs_check(before, n, now);
	while (sup_proc_fds(mrd_pid) > before[0].fds - 1) {
		ck_assert_msg(clock_now_ms_frac() - t_kill < 5000,
		              "mockresd kept the dashboard's connection");
		sup_sleep_ms(10);
	}
	dash_pid = 0;
	load_free(ld);
	fe_stop();
	i = sup_stop(mrd_pid, SIGTERM, 10000);
	ck_assert(WIFEXITED(i) && WEXITSTATUS(i) == 0);
}
END_TEST

static Suite *
fault_suite(void)
{
	Suite *s = suite_create("fault");
	const struct {
		const char *name;
		const TTest *test;
	} cases[] = {
	    {"kill_mockresd", test_kill_mockresd},
	    {"kill_worker", test_kill_worker},
	    {"term_frontend", test_term_frontend},
	    {"term_mockresd", test_term_mockresd},
	    {"hup_frontend", test_hup_frontend},
	    {"restart_reconnect", test_restart_reconnect},
	    {"unread_client", test_unread_client},
	    {"frontend_first", test_frontend_first},
	    {"kill_dashboard", test_kill_dashboard},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TCase *tc = tcase_create(cases[i].name);

		tcase_set_timeout(tc, 90);
		tcase_add_checked_fixture(tc, setup, NULL);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return sup_run_suite(fault_suite());
}
