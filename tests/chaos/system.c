/*
 * system.c: the system under test: mockresd, the frontend (master and
 * workers), the dashboard and a "mockresctl --json watch", on a temporary
 * socket and free ports, every server with RLIMIT_NOFILE = CHAOS_NOFILE
 * so that a flood can reach it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "chaos.h"
#include "support.h"

struct chaos_system sys;

static char sys_listen[32], sys_dash_listen[32], sys_dash_url[64];
static char sys_timeout[16], sys_limit[16], sys_hold[16];

void
system_init(void)
{
	snprintf(sys.sock, sizeof(sys.sock), "%s", sup_path("mockresd.sock"));
	sys.port = sup_free_port();
	sys.dash_port = sup_free_port();
	snprintf(sys_listen, sizeof(sys_listen), "127.0.0.1:%d", sys.port);
	snprintf(sys_dash_listen, sizeof(sys_dash_listen), "127.0.0.1:%d",
	         sys.dash_port);
	snprintf(sys_dash_url, sizeof(sys_dash_url), "http://127.0.0.1:%d/",
	         sys.dash_port);
	snprintf(sys_timeout, sizeof(sys_timeout), "%d",
	         CHAOS_REQUEST_TIMEOUT_MS);
	snprintf(sys_limit, sizeof(sys_limit), "%d", CHAOS_LIMIT);
	snprintf(sys_hold, sizeof(sys_hold), "%d", CHAOS_HOLD_MS);
	sys.watch_fd = -1;
}

pid_t
system_start_mockresd(void)
{
	const char *argv[] = {MOCKRESD_BIN, "--socket",  sys.sock, "--limit",
	                      sys_limit,    "--hold-ms", sys_hold, NULL};

	sys.mockresd = sup_spawn_nofile(argv, "mockresd", CHAOS_NOFILE);
	if (sys.mockresd > 0 && sup_wait_socket(sys.sock, 10000) == -1)
		check_fail("mockresd (pid %d) did not start listening",
		           (int)sys.mockresd);
	sys.mockresd_starts++;
	return sys.mockresd;
}

pid_t
system_start_master(void)
{
	const char *argv[] = {
	    FRONTEND_BIN, "--listen",        sys_listen,   "--workers",
	    "2",          "--socket",        sys.sock,     "--request-timeout",
	    sys_timeout,  "--dashboard-url", sys_dash_url, NULL};
	double end = clock_now_ms_frac() + 15000;

	sys.master = sup_spawn_nofile(argv, "frontend", CHAOS_NOFILE);
	sys.master_starts++;
	while (sup_wait_port(sys.port, 100) == -1 ||
	       system_workers() != CHAOS_WORKERS) {
		if (clock_now_ms_frac() > end) {
			check_fail("the frontend (pid %d) did not start",
			           (int)sys.master);
			break;
		}
		sup_sleep_ms(20);
	}
	return sys.master;
}

pid_t
system_start_dashboard(void)
{
	const char *argv[] = {DASHBOARD_BIN, "--listen", sys_dash_listen,
	                      "--socket",    sys.sock,   NULL};

	sys.dashboard = sup_spawn_nofile(argv, "dashboard", CHAOS_NOFILE);
	sys.dashboard_starts++;
	if (sys.dashboard > 0 && sup_wait_port(sys.dash_port, 10000) == -1)
		check_fail("the dashboard (pid %d) did not start",
		           (int)sys.dashboard);
	return sys.dashboard;
}

/* The watch's stdout is a pipe we read samples from; its stderr goes to
 * watch.log. */
pid_t
system_start_watch(void)
{
	const char *argv[] = {MOCKRESCTL_BIN, "--socket", sys.sock, "--json",
	                      "watch",        "-i",       "100",    NULL};
	char log[300];
	int p[2], fd;
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	snprintf(log, sizeof(log), "%s.log", sup_path("watch"));
	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], STDOUT_FILENO);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1)
			dup2(fd, STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	sys.watch = pid;
	sys.watch_fd = p[0];
	return pid;
}

pid_t
system_pid(enum chaos_role role, int worker)
{
	switch (role) {
	case ROLE_MOCKRESD:
		return sys.mockresd;
	case ROLE_MASTER:
		return sys.master;
	case ROLE_WORKER:
		return sys.workers[worker];
	case ROLE_DASHBOARD:
		return sys.dashboard;
	}
	return 0;
}

int
system_workers(void)
{
	pid_t kids[8];
	int n = sup_proc_children(sys.master, kids, 8), i;

	if (n < 0)
		return 0;
	for (i = 0; i < CHAOS_WORKERS; i++)
		sys.workers[i] = i < n ? kids[i] : 0;
	return n;
}

int
system_ctl(const char *const args[], char *out, size_t len)
{
	char sink[256];

	if (out == NULL) {
		out = sink;
		len = sizeof(sink);
	}
	return sup_ctl(sys.sock, args, out, len);
}

int
system_wait_healthy(int timeout_ms, char *why, size_t len)
{
	static const char *const status[] = {"--json", "status", NULL};
	static char out[8192];
	struct sup_http_resp r;
	double end = clock_now_ms_frac() + timeout_ms;
	int ok_fe, ok_dash, ok_mrd, i;

	for (;;) {
		ok_mrd = system_ctl(status, out, sizeof(out)) == 0;
		/* Both workers connected: healthz through several fresh
		 * connections (the kernel spreads them over the workers). */
		ok_fe = system_workers() == CHAOS_WORKERS;
		for (i = 0; ok_fe && i < 6; i++)
			ok_fe = sup_http(sys.port, "GET", "/healthz", NULL, &r,
			                 2000) == 0 &&
			        r.status == 200;
		ok_dash = sup_http(sys.dash_port, "GET", "/api/stats", NULL, &r,
		                   2000) == 0 &&
		          r.status == 200 &&
		          strstr(r.body, "\"connected\":true") != NULL;
		if (ok_mrd && ok_fe && ok_dash)
			return 0;
		if (clock_now_ms_frac() > end) {
			snprintf(why, len, "%s%s%s",
			         ok_mrd ? "" : " mockresd (status)",
			         ok_fe ? "" : " frontend (healthz)",
			         ok_dash ? "" : " dashboard (/api/stats)");
			return -1;
		}
		chaos_wait(50);
	}
}

int
system_wait_exit(pid_t pid, int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;
	int status;
	pid_t r;

	for (;;) {
		if ((r = waitpid(pid, &status, WNOHANG)) == pid)
			return status;
		if (r == -1 || clock_now_ms_frac() > end)
			return -1;
		chaos_wait(5);
	}
}

int
system_wait_gone(pid_t pid, int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;

	while (kill(pid, 0) == 0 && sup_alive(pid)) {
		if (clock_now_ms_frac() > end)
			return -1;
		chaos_wait(10);
	}
	return 0;
}

int
system_handles_hup(pid_t pid)
{
	char path[64], line[256];
	unsigned long long caught = 0, ignored = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		sscanf(line, "SigCgt: %llx", &caught);
		sscanf(line, "SigIgn: %llx", &ignored);
	}
	fclose(f);
	return ((caught | ignored) & (1ull << (SIGHUP - 1))) != 0;
}

static int
system_term(pid_t pid, const char *name, int timeout_ms)
{
	int st;

	if (pid <= 0)
		return 0;
	kill(pid, SIGCONT);
	kill(pid, SIGTERM);
	st = system_wait_exit(pid, timeout_ms);
	if (st == -1) {
		check_fail("%s (pid %d) did not exit within %d ms of SIGTERM",
		           name, (int)pid, timeout_ms);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		check_fail("%s (pid %d) exited with status %d on SIGTERM", name,
		           (int)pid, st);
		return 1;
	}
	return 0;
}

int
system_stop_all(void)
{
	int bad = 0;

	if (sys.watch > 0) {
		kill(sys.watch, SIGTERM);
		if (system_wait_exit(sys.watch, 5000) == -1) {
			kill(sys.watch, SIGKILL);
			waitpid(sys.watch, NULL, 0);
		}
	}
	bad += system_term(sys.master, "frontend", 20000);
	bad += system_term(sys.dashboard, "dashboard", 10000);
	bad += system_term(sys.mockresd, "mockresd", 15000);
	return bad;
}
