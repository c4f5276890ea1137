/*
 * attack.c: a hostile, unprivileged client of the whole system (issue 21),
 * for the chaos soak and for measuring by hand (mockres-attack).
 *
 * One forked process, switched to another uid when started as root (in
 * the group of mockresd's socket, as a local user allowed to connect),
 * that until it is killed:
 *
 * - floods watches: `watchers` connections to mockresd, each asking for a
 *   watch at watch_ms (with the client list if asked; with watch_mixed
 *   every other one plain at 100 ms, what an unprivileged peer may ask),
 *   reading nothing; every reopen_ms it closes them all and opens them
 *   again;
 * - forges the frontend workers' HTTP reports: every forge_ms, on fresh
 *   connections, a report claiming 10^15 serial 200s, one whose burst ends
 *   10^15 us in the future, and two whose counts add past 2^64;
 *   and it keeps `reporters` connections each holding a reporter record
 *   of its own (to fill mockresd's table);
 * - leaves /api/history unread: `history` TCP connections to the
 *   dashboard with a 4 KiB receive buffer, each asking for 600 s of
 *   history and never reading; reopened every 30 s.
 *
 * What mockresd answered is counted in shared memory (attack_counts), so
 * that a caller can see which attacks were refused.  Nothing here checks
 * anything: the caller measures the victims.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attack.h"
#include "clock.h"
#include "rawclient.h"
#include "support.h"

#define ATTACK_NOBODY 65534
#define ATTACK_FD_MAX 4096

struct attack_shared { /* the counts, in memory shared with the parent */
	atomic_uint_fast64_t watches, reports_taken, reports_refused, histories;
};

static struct attack_shared *at_counts;
static int at_verbose; /* print the first refusals */

static void
attack_sleep_ms(int ms)
{
	sup_sleep_ms(ms);
}

/* Drops to uid/gid nobody, keeping the socket's group so that a socket
 * of mode 0660 still lets us in (an unprivileged user of that group). */
static int
attack_drop(const char *sock)
{
	struct stat st;
	gid_t g;

	if (geteuid() != 0)
		return 0;
	if (stat(sock, &st) == -1)
		return -1;
	g = st.st_gid;
	if (setgroups(1, &g) == -1 ||
	    setresgid(ATTACK_NOBODY, ATTACK_NOBODY, ATTACK_NOBODY) == -1 ||
	    setresuid(ATTACK_NOBODY, ATTACK_NOBODY, ATTACK_NOBODY) == -1)
		return -1;
	return 0;
}

static int
attack_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- watches ---- */

static int
attack_watch_open(const struct attack_opts *o, int i)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Watch w = MOCKRES__WATCH__INIT;
	int fd = raw_connect(o->sock);

	if (fd == -1)
		return -1;
	req.has_id = 1;
	req.id = 1;
	req.op_case = MOCKRES__REQUEST__OP_WATCH;
	req.watch = &w;
	w.has_interval_ms = 1;
	w.interval_ms = o->watch_ms;
	w.has_clients = 1;
	w.clients = o->watch_clients != 0;
	if (o->watch_mixed && i % 2 == 1) {
		w.interval_ms = 100;
		w.clients = 0;
	}
	if (raw_send_req(fd, &req) == -1) {
		close(fd);
		return -1;
	}
	atomic_fetch_add(&at_counts->watches, 1);
	return fd;
}

/* ---- reports ---- */

/* The answer to a report: counted as taken or refused; -1 if none came
 * (mockresd stopped or gone: the round ends). */
static int
attack_report_answer(int fd)
{
	Mockres__Response *r;
	int eof;

	if ((r = raw_recv(fd, 500, &eof)) == NULL)
		return -1;
	if (r->status == MOCKRES__STATUS__OK)
		atomic_fetch_add(&at_counts->reports_taken, 1);
	else if (atomic_fetch_add(&at_counts->reports_refused, 1) < 5 &&
	         at_verbose)
		fprintf(stderr, "attack: report refused: %s\n",
		        r->error ? r->error : "(no reason)");
	mockres__response__free_unpacked(r, NULL);
	return 0;
}

/* The three forgeries, each on a fresh connection of its own (a reporter
 * is a pid and a started_us: new started_us values make new reporters).
 * Their connections are kept until the next round. */
static void
attack_forge(const struct attack_opts *o, int fds[4], uint64_t *seq)
{
	uint64_t now = clock_now_us(), big = UINT64_C(1000000000000000);
	int i;

	for (i = 0; i < 4; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		fds[i] = raw_connect(o->sock);
	}
	if (fds[0] != -1 &&
	    raw_send_report(fds[0], 1, ++*seq, big, 1, now, now) == 0)
		attack_report_answer(fds[0]);
	if (fds[1] != -1 &&
	    raw_send_report(fds[1], 1, ++*seq, 1, 1, now, now + big) == 0)
		attack_report_answer(fds[1]);
	/* 2^63 answers of 1 us, then of 0 us: the merged count passes 2^64 */
	for (i = 2; i < 4; i++)
		if (fds[i] != -1 &&
		    raw_send_report(fds[i], 1, ++*seq, UINT64_C(1) << 63,
		                    i == 2 ? 1 : 0, now, now) == 0)
			attack_report_answer(fds[i]);
}

/* Keeps N connections, each holding a reporter record of its own. */
static void
attack_fill(const struct attack_opts *o, int *fds, uint64_t *seq)
{
	uint64_t now = clock_now_us();
	int i;

	for (i = 0; i < o->reporters; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		if ((fds[i] = raw_connect(o->sock)) == -1)
			continue;
		if (raw_send_report(fds[i], 1, ++*seq, 1, 1, now, now) == -1 ||
		    attack_report_answer(fds[i]) == -1)
			return;
	}
}

/* ---- /api/history, never read ---- */

static int
attack_history_open(const struct attack_opts *o, int i)
{
	static const char req[] = "GET /api/history?seconds=600 HTTP/1.1\r\n"
	                          "Host: x\r\n\r\n";
	struct sockaddr_in sin;
	int fd, rcv = 4096;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)o->dash_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
	        (ssize_t)sizeof(req) - 1) {
		close(fd);
		return -1;
	}
	atomic_fetch_add(&at_counts->histories, 1);
	return fd;
}

static void
attack_reopen(int *fds, int n, int (*open_one)(const struct attack_opts *, int),
              const struct attack_opts *o)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		fds[i] = open_one(o, i);
		if (fds[i] != -1)
			attack_nonblock(fds[i]);
	}
}

static void __attribute__((noreturn)) attack_run(const struct attack_opts *o)
{
	static int watch[ATTACK_FD_MAX], fill[ATTACK_FD_MAX],
	    history[ATTACK_FD_MAX];
	int forged[4] = {-1, -1, -1, -1};
	uint64_t seq = clock_now_us(), now, next_watch = 0, next_forge = 0,
	         next_fill = 0, next_history = 0;
	int i;

	for (i = 0; i < ATTACK_FD_MAX; i++)
		watch[i] = fill[i] = history[i] = -1;
	for (;;) {
		now = clock_now_ms();
		if (o->watchers > 0 && now >= next_watch) {
			attack_reopen(watch, o->watchers, attack_watch_open, o);
			next_watch = o->reopen_ms > 0
			                 ? now + (uint64_t)o->reopen_ms
			                 : UINT64_MAX;
			/* mockresd restarted under us: try again soon */
			for (i = 0; i < o->watchers; i++)
				if (watch[i] == -1)
					next_watch = now + 1000;
		}
		if (o->forge_ms > 0 && now >= next_forge) {
			attack_forge(o, forged, &seq);
			next_forge = now + (uint64_t)o->forge_ms;
		}
		if (o->reporters > 0 && now >= next_fill) {
			attack_fill(o, fill, &seq);
			next_fill = now + 10000;
		}
		if (o->history > 0 && o->dash_port > 0 && now >= next_history) {
			attack_reopen(history, o->history, attack_history_open,
			              o);
			next_history = now + 30000;
		}
		attack_sleep_ms(50);
	}
}

pid_t
attack_start(const struct attack_opts *o)
{
	pid_t pid;

	if (at_counts == NULL) {
		at_counts =
		    mmap(NULL, sizeof(*at_counts), PROT_READ | PROT_WRITE,
		         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (at_counts == MAP_FAILED) {
			at_counts = NULL;
			return -1;
		}
		memset(at_counts, 0, sizeof(*at_counts));
	}
	if (o->watchers > ATTACK_FD_MAX || o->reporters > ATTACK_FD_MAX ||
	    o->history > ATTACK_FD_MAX) {
		errno = EINVAL;
		return -1;
	}
	if ((pid = fork()) != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	at_verbose = o->verbose;
	if (!o->keep_uid && attack_drop(o->sock) == -1) {
		fprintf(stderr, "attack: cannot switch to uid %d: %s\n",
		        ATTACK_NOBODY, strerror(errno));
		_exit(1);
	}
	attack_run(o);
}

void
attack_counts(struct attack_counts *c)
{
	if (at_counts == NULL) {
		memset(c, 0, sizeof(*c));
		return;
	}
	c->watches = atomic_load(&at_counts->watches);
	c->reports_taken = atomic_load(&at_counts->reports_taken);
	c->reports_refused = atomic_load(&at_counts->reports_refused);
	c->histories = atomic_load(&at_counts->histories);
}
