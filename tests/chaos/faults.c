/*
 * faults.c: what the soak does to the system, one fault per epoch.
 *
 * A fault is drawn from the table below (weights, then a target and
 * parameters from the same seeded generator), logged, injected, and
 * undone: a SIGSTOP gets its SIGCONT, a process killed or stopped by
 * SIGTERM is started again (a worker by its master), a flood's connections
 * are closed.  Every wait is bounded; a process that does not behave
 * (does not exit on SIGTERM, exits non-zero, is not respawned) is a
 * failure.  SIGHUP goes only to a process that catches or ignores it
 * (the frontend's master reloads; the others may not handle it yet, and
 * would just die).  Model changes need "mockresctl model".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "chaos.h"
#include "clock.h"
#include "support.h"

enum fault_kind {
	F_NONE,
	F_KILL,
	F_STOP,
	F_TERM,
	F_HUP,
	F_LIMIT,
	F_HOLD,
	F_MODEL,
	F_FLOOD,
	F_N
};

static const int fault_weights[F_N] = {
    [F_NONE] = 1,  [F_KILL] = 3, [F_STOP] = 3,  [F_TERM] = 3,  [F_HUP] = 2,
    [F_LIMIT] = 2, [F_HOLD] = 1, [F_MODEL] = 2, [F_FLOOD] = 2,
};

static const char *const fault_roles[] = {"mockresd", "frontend master",
                                          "a frontend worker", "dashboard"};

/* ROLE's pid; for a worker, one of them at random. */
static pid_t
fault_pid(enum chaos_role role, uint64_t *rng)
{
	if (role != ROLE_WORKER)
		return system_pid(role, 0);
	system_workers();
	return system_pid(role, (int)(chaos_rand(rng) % CHAOS_WORKERS));
}

int
fault_model_available(void)
{
	static int known = -1;
	const char *const args[] = {"model", NULL};

	if (known == -1)
		known = system_ctl(args, NULL, 0) == 0;
	return known;
}

/* The old master's workers drain and exit; the port is free after. */
static void
fault_restart_master(pid_t old_workers[CHAOS_WORKERS])
{
	int i;

	for (i = 0; i < CHAOS_WORKERS; i++)
		if (old_workers[i] > 0 &&
		    system_wait_gone(old_workers[i], 20000) == -1)
			check_fail(
			    "worker %d of a dead master still runs after "
			    "20 s",
			    (int)old_workers[i]);
	system_start_master();
}

/* A worker died: its master must fork a replacement. */
static void
fault_check_respawn(pid_t old)
{
	double end = clock_now_ms_frac() + 15000;

	for (;;) {
		system_workers();
		if (sys.workers[0] != old && sys.workers[1] != old &&
		    sys.workers[0] > 0 && sys.workers[1] > 0)
			return;
		if (clock_now_ms_frac() > end) {
			check_fail("the master did not replace worker %d",
			           (int)old);
			return;
		}
		chaos_wait(20);
	}
}

/* Starts ROLE again after its process PID ended (by itself or killed). */
static void
fault_restart(enum chaos_role role, pid_t pid, pid_t old_workers[],
              struct chaos_fault *f)
{
	switch (role) {
	case ROLE_MOCKRESD:
		system_start_mockresd();
		f->mockresd_restarted = 1;
		check_mockresd_restarted();
		break;
	case ROLE_MASTER:
		fault_restart_master(old_workers);
		break;
	case ROLE_WORKER:
		fault_check_respawn(pid);
		break;
	case ROLE_DASHBOARD:
		system_start_dashboard();
		break;
	}
}

static void
fault_kill(enum chaos_role role, pid_t pid, struct chaos_fault *f)
{
	pid_t old_workers[CHAOS_WORKERS];

	system_workers();
	memcpy(old_workers, sys.workers, sizeof(old_workers));
	kill(pid, SIGKILL);
	if (role != ROLE_WORKER)
		system_wait_exit(pid, 5000);
	chaos_wait(200); /* a moment of it being down */
	fault_restart(role, pid, old_workers, f);
}

static void
fault_term(enum chaos_role role, pid_t pid, struct chaos_fault *f)
{
	pid_t old_workers[CHAOS_WORKERS];
	int st;

	system_workers();
	memcpy(old_workers, sys.workers, sizeof(old_workers));
	kill(pid, SIGTERM);
	if (role == ROLE_WORKER) {
		fault_restart(role, pid, old_workers, f);
		return;
	}
	/* mockresd lets its holds end first and the master drains its
	 * workers: each at most 10 s (+ a linger). */
	st = system_wait_exit(pid, 20000);
	if (st == -1) {
		check_fail("%s (pid %d) did not exit within 20 s of SIGTERM",
		           fault_roles[role], (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	} else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		check_fail("%s (pid %d) exited with status 0x%x on SIGTERM",
		           fault_roles[role], (int)pid, st);
	}
	fault_restart(role, pid, old_workers, f);
}

static void
fault_stop(pid_t pid, int ms, enum chaos_role role)
{
	uint64_t t0 = clock_now_us();

	kill(pid, SIGSTOP);
	chaos_wait(ms);
	kill(pid, SIGCONT);
	/* A stopped frontend process delays what it was serving. */
	if (role == ROLE_MASTER || role == ROLE_WORKER)
		chaos_stop_window(t0, clock_now_us());
}

static int
fault_connect(int port, const char *path)
{
	int fd;

	if (path != NULL) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd != -1 &&
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			close(fd);
			return -1;
		}
		return fd;
	} else {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd != -1 &&
		    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
		    errno != EINPROGRESS) {
			close(fd);
			return -1;
		}
		return fd;
	}
}

/* CHAOS_FLOOD connections that send nothing, held MS, then closed. */
static int
fault_flood(int port, const char *path, int ms)
{
	static int fds[CHAOS_FLOOD];
	int n, i;

	for (n = 0; n < CHAOS_FLOOD; n++)
		if ((fds[n] = fault_connect(port, path)) == -1)
			break;
	chaos_wait(ms);
	for (i = 0; i < n; i++)
		close(fds[i]);
	return n;
}

static void
fault_model(uint64_t *rng, char *what, size_t len)
{
	static const char *const presets[] = {"io",   "api", "pool",
	                                      "ecto", "cpu", "overloaded-db"};
	const char *args[8] = {"model", NULL};
	int rc;

	if (chaos_rand(rng) % 3 == 0) {
		args[1] = "set";
		args[2] = "slots=4";
		args[3] = "queue=8";
		args[4] = "queue-timeout-ms=300";
		args[5] = NULL;
		snprintf(what, len,
		         "model set slots=4 queue=8 "
		         "queue-timeout-ms=300");
	} else {
		args[1] = "preset";
		args[2] = presets[chaos_rand(rng) % 6];
		args[3] = NULL;
		snprintf(what, len, "model preset %s", args[2]);
	}
	if ((rc = system_ctl(args, NULL, 0)) != 0)
		check_fail("mockresctl %s exited %d", what, rc);
}

void
fault_inject(uint64_t *rng, struct chaos_fault *f)
{
	int total = 0, k, i;
	enum fault_kind kind = F_NONE;
	enum chaos_role role = (enum chaos_role)(chaos_rand(rng) % 4);
	pid_t pid;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < F_N; i++)
		total += fault_weights[i];
	k = (int)(chaos_rand(rng) % (uint64_t)total);
	for (i = 0; i < F_N; i++) {
		if (k < fault_weights[i]) {
			kind = (enum fault_kind)i;
			break;
		}
		k -= fault_weights[i];
	}
	if (kind == F_MODEL && !fault_model_available())
		kind = F_LIMIT;
	pid = fault_pid(role, rng);
	if (kind == F_HUP && !system_handles_hup(pid)) {
		role = ROLE_MASTER; /* it would just die of it */
		pid = sys.master;
	}

	switch (kind) {
	case F_NONE:
		snprintf(f->what, sizeof(f->what), "nothing");
		chaos_log("fault: %s", f->what);
		chaos_wait(1000);
		break;
	case F_KILL:
		snprintf(f->what, sizeof(f->what), "kill -9 %s (pid %d)",
		         fault_roles[role], (int)pid);
		chaos_log("fault: %s", f->what);
		f->frontend_died = role == ROLE_MASTER || role == ROLE_WORKER;
		fault_kill(role, pid, f);
		break;
	case F_TERM:
		snprintf(f->what, sizeof(f->what),
		         "SIGTERM %s (pid %d), start "
		         "again",
		         fault_roles[role], (int)pid);
		chaos_log("fault: %s", f->what);
		f->frontend_died = role == ROLE_MASTER || role == ROLE_WORKER;
		fault_term(role, pid, f);
		break;
	case F_STOP: {
		int ms = 1000 + (int)(chaos_rand(rng) %
		                      (CHAOS_STOP_MAX_MS - 1000 + 1));

		snprintf(f->what, sizeof(f->what),
		         "SIGSTOP %s (pid %d) for %.1f s", fault_roles[role],
		         (int)pid, ms / 1000.0);
		chaos_log("fault: %s", f->what);
		fault_stop(pid, ms, role);
		break;
	}
	case F_HUP:
		snprintf(f->what, sizeof(f->what), "SIGHUP %s (pid %d)",
		         fault_roles[role], (int)pid);
		chaos_log("fault: %s", f->what);
		kill(pid, SIGHUP);
		chaos_wait(1500);
		break;
	case F_LIMIT: {
		static const unsigned limits[] = {0, 5, 15, 50};
		unsigned n = limits[chaos_rand(rng) % 4];
		char v[16];
		const char *args[] = {"limit", v, NULL};
		int rc;

		snprintf(v, sizeof(v), "%u", n);
		snprintf(f->what, sizeof(f->what), "mockresctl limit %u", n);
		chaos_log("fault: %s", f->what);
		if ((rc = system_ctl(args, NULL, 0)) != 0)
			check_fail("mockresctl limit %u exited %d", n, rc);
		check_limit_set(n);
		f->limit_changed = 1;
		chaos_wait(1000);
		break;
	}
	case F_HOLD: {
		static const unsigned holds[] = {20, 100, 300};
		unsigned n = holds[chaos_rand(rng) % 3];
		char v[16];
		const char *args[] = {"hold", v, NULL};
		int rc;

		snprintf(v, sizeof(v), "%u", n);
		snprintf(f->what, sizeof(f->what), "mockresctl hold %u", n);
		chaos_log("fault: %s", f->what);
		if ((rc = system_ctl(args, NULL, 0)) != 0)
			check_fail("mockresctl hold %u exited %d", n, rc);
		chaos_wait(1000);
		break;
	}
	case F_MODEL:
		fault_model(rng, f->what, sizeof(f->what));
		chaos_log("fault: %s", f->what);
		chaos_wait(1500);
		break;
	case F_FLOOD: {
		static const char *const names[] = {
		    "mockresd's socket", "the frontend", "the frontend",
		    "the dashboard"};
		int n;

		chaos_log("fault: flood %s up to %d connections for 2 s",
		          names[role], CHAOS_FLOOD);
		n = role == ROLE_MOCKRESD
		        ? fault_flood(0, sys.sock, 2000)
		        : fault_flood(role == ROLE_DASHBOARD ? sys.dash_port
		                                             : sys.port,
		                      NULL, 2000);
		snprintf(f->what, sizeof(f->what),
		         "flood %s with %d connections (fd limit %d) for 2 s",
		         names[role], n, CHAOS_NOFILE);
		break;
	}
	case F_N:
		break;
	}
}
