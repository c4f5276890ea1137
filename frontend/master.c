/*
 * master.c: the master process: forks the workers and supervises them.
 *
 * Policy:
 * - One worker per slot; a slot owns a listening socket that the master
 *   keeps open for its whole life, so connections queued on it while its
 *   worker is replaced wait instead of being refused.
 * - A worker that dies is respawned, after MASTER_BACKOFF_MIN ms if it had
 *   lived MASTER_STABLE_MS, else after a back-off doubling up to
 *   MASTER_BACKOFF_MAX (a crash loop does not spin).  Exit code
 *   WORKER_EXIT_NORESPAWN means "retrying cannot help": the slot stays
 *   empty until the next SIGHUP; when every slot is empty the master
 *   exits 1.  Nothing is respawned during shutdown.
 * - SIGTERM/SIGINT: the workers get SIGTERM (they stop accepting and
 *   finish their requests), SIGKILL after MASTER_KILL_MS; the master exits
 *   0 once all are gone.  A second signal kills them at once.
 * - SIGHUP: slot by slot, start a new worker on the slot's socket, wait for
 *   its readiness byte (MASTER_READY_MS at most), then retire the old one.
 *   A new worker that fails stops the reload and the old ones stay.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "frontend.h"
#include "log.h"
#include "sdnotify.h"

enum master_wstate { MW_STARTING, MW_READY, MW_RETIRING };

struct master_worker {
	TAILQ_ENTRY(master_worker) entry;
	pid_t pid;
	unsigned slot;
	enum master_wstate state;
	int ready_fd;
	struct event *ready_ev;
	uint64_t started_ms;
	int conn_cell; /* its connection count (conncount.c), or -1 */
};

struct master_slot {
	int fd;
	struct master_worker *current;
	struct event *respawn_ev;
	int backoff_ms;
	int failed;
};

static struct master {
	const struct frontend_config *conf;
	struct event_base *base;
	struct master_slot *slots;
	TAILQ_HEAD(, master_worker) workers;
	int shutting_down;
	int notified_ready;
	int exit_code;
	int reloading;
	int reload_again;
	unsigned reload_slot;
	struct master_worker *reload_new;
	struct event *reload_timer;
	struct event *kill_timer;
	struct event *sig_ev[4];
} m;

static void master_ready_cb(evutil_socket_t, short, void *);
static void master_reload_next(void);

static void
master_timer(struct event *ev, int ms)
{
	struct timeval tv = clock_tv((uint64_t)ms);

	evtimer_add(ev, &tv);
}

/*
 * In the child: drop everything of the master.  event_reinit first gives
 * the base a private epoll set, so that freeing it does not remove the
 * master's registrations from the epoll set both processes share.
 */
static void
master_child_cleanup(unsigned slot)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
	struct master_worker *mw;
	unsigned i;

	event_reinit(m.base);
	event_base_free(m.base);
	m.base = NULL;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	for (i = 0; i < m.conf->workers; i++)
		if (i != slot && m.slots[i].fd != -1)
			close(m.slots[i].fd);
	TAILQ_FOREACH(mw, &m.workers, entry)
	if (mw->ready_fd != -1)
		close(mw->ready_fd);
}

static struct master_worker *
master_spawn(unsigned slot)
{
	struct master_worker *mw;
	sigset_t all, old;
	int p[2];
	pid_t pid;

	if ((mw = calloc(1, sizeof(*mw))) == NULL) {
		log_warn("cannot start worker %u", slot);
		return NULL;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("cannot start worker %u: pipe", slot);
		free(mw);
		return NULL;
	}
	/* Blocked across the fork so that no signal reaches the child
	 * before it has its own handlers; the child unblocks them. */
	mw->conn_cell = conncount_take();
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0) {
		close(p[0]);
		master_child_cleanup(slot);
		conncount_worker(mw->conn_cell);
		worker_main(m.conf, slot, m.slots[slot].fd, p[1]);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid == -1) {
		log_warn("cannot start worker %u: fork", slot);
		close(p[0]);
		conncount_give(mw->conn_cell);
		free(mw);
		return NULL;
	}
	mw->pid = pid;
	mw->slot = slot;
	mw->state = MW_STARTING;
	mw->ready_fd = p[0];
	mw->started_ms = clock_now_ms();
	mw->ready_ev = event_new(m.base, p[0], EV_READ, master_ready_cb, mw);
	if (mw->ready_ev == NULL || event_add(mw->ready_ev, NULL) == -1)
		fatalx("cannot watch worker %u's readiness", slot);
	TAILQ_INSERT_TAIL(&m.workers, mw, entry);
	log_debug("started worker %u (pid %d)", slot, (int)pid);
	return mw;
}

static void
master_check_exit(void)
{
	unsigned i;

	if (!TAILQ_EMPTY(&m.workers))
		return;
	if (m.shutting_down) {
		event_base_loopbreak(m.base);
		return;
	}
	for (i = 0; i < m.conf->workers; i++)
		if (!m.slots[i].failed)
			return;
	log_warnx("every worker failed to set up; exiting (see the messages "
	          "above)");
	m.exit_code = 1;
	event_base_loopbreak(m.base);
}

static void
master_check_ready(void)
{
	unsigned i;

	if (m.notified_ready || m.shutting_down)
		return;
	for (i = 0; i < m.conf->workers; i++)
		if (!m.slots[i].failed &&
		    (m.slots[i].current == NULL ||
		     m.slots[i].current->state != MW_READY))
			return;
	m.notified_ready = 1;
	log_info("ready on %s with %u workers, mockresd at %s",
	         m.conf->listen_str, m.conf->workers, m.conf->socket_path);
	sdnotify_send("READY=1");
}

static void
master_reload_end(void)
{
	m.reloading = 0;
	m.reload_new = NULL;
	evtimer_del(m.reload_timer);
	sdnotify_send("READY=1");
	if (m.reload_again && !m.shutting_down) {
		m.reload_again = 0;
		m.reloading = 1;
		m.reload_slot = 0;
		sdnotify_send("RELOADING=1");
		master_reload_next();
	}
}

static void
master_reload_abort(void)
{
	m.reload_again = 0;
	master_reload_end();
}

static void
master_reload_next(void)
{
	if (m.reload_slot == m.conf->workers) {
		log_info("reload done: %u new workers", m.conf->workers);
		master_reload_end();
		return;
	}
	if ((m.reload_new = master_spawn(m.reload_slot)) == NULL) {
		log_warnx("reload stopped at worker %u; the others keep "
		          "running",
		          m.reload_slot);
		master_reload_abort();
		return;
	}
	master_timer(m.reload_timer, MASTER_READY_MS);
}

/* The new worker of a reload is serving: retire the old one. */
static void
master_reload_ready(struct master_worker *mw)
{
	struct master_slot *s = &m.slots[mw->slot];
	struct master_worker *old = s->current;

	evtimer_del(m.reload_timer);
	evtimer_del(s->respawn_ev);
	s->current = mw;
	s->failed = 0;
	m.reload_new = NULL;
	if (old != NULL) {
		old->state = MW_RETIRING;
		kill(old->pid, SIGTERM);
	}
	m.reload_slot++;
	master_reload_next();
}

static void
master_reload_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master_worker *mw = m.reload_new;

	log_warnx("reload: new worker %u (pid %d) not ready after %d ms; "
	          "killing it, the old workers keep running",
	          mw->slot, (int)mw->pid, MASTER_READY_MS);
	mw->state = MW_RETIRING;
	kill(mw->pid, SIGKILL);
	master_reload_abort();
}

static void
master_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master_worker *mw = arg;
	ssize_t n;
	char c;

	n = read(fd, &c, 1);
	if (n == -1 && errno == EINTR)
		return;
	event_free(mw->ready_ev);
	mw->ready_ev = NULL;
	close(mw->ready_fd);
	mw->ready_fd = -1;
	if (n != 1)
		return; /* it died first: the reaper takes it from here */
	if (mw->state == MW_STARTING)
		mw->state = MW_READY;
	log_debug("worker %u (pid %d) ready", mw->slot, (int)mw->pid);
	if (mw == m.reload_new)
		master_reload_ready(mw);
	else
		master_check_ready();
}

static void
master_respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	unsigned slot = (unsigned)(uintptr_t)arg;
	struct master_slot *s = &m.slots[slot];

	if (m.shutting_down || s->current != NULL)
		return;
	if ((s->current = master_spawn(slot)) == NULL) {
		master_timer(s->respawn_ev, s->backoff_ms);
		if (s->backoff_ms < MASTER_BACKOFF_MAX)
			s->backoff_ms *= 2;
	}
}

static void
master_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with status %#x", status);
}

static void
master_reap(pid_t pid, int status)
{
	struct master_worker *mw;
	struct master_slot *s;
	char how[96];
	int delay;

	TAILQ_FOREACH(mw, &m.workers, entry)
	if (mw->pid == pid)
		break;
	if (mw == NULL)
		return;
	TAILQ_REMOVE(&m.workers, mw, entry);
	if (mw->ready_ev != NULL) {
		event_free(mw->ready_ev);
		close(mw->ready_fd);
	}
	conncount_give(mw->conn_cell);
	s = &m.slots[mw->slot];
	master_describe(status, how, sizeof(how));

	if (mw == m.reload_new) {
		log_warnx("reload: new worker %u (pid %d) %s before it was "
		          "ready; the old workers keep running",
		          mw->slot, (int)pid, how);
		master_reload_abort();
	} else if (mw == s->current && !m.shutting_down) {
		s->current = NULL;
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == WORKER_EXIT_NORESPAWN) {
			log_warnx("worker %u (pid %d) %s: its setup failed, "
			          "not respawning it (SIGHUP retries)",
			          mw->slot, (int)pid, how);
			s->failed = 1;
		} else {
			if (clock_now_ms() - mw->started_ms >= MASTER_STABLE_MS)
				s->backoff_ms = MASTER_BACKOFF_MIN;
			delay = s->backoff_ms;
			if (s->backoff_ms < MASTER_BACKOFF_MAX)
				s->backoff_ms *= 2;
			if (s->backoff_ms > MASTER_BACKOFF_MAX)
				s->backoff_ms = MASTER_BACKOFF_MAX;
			log_warnx("worker %u (pid %d) %s; respawning it in "
			          "%d ms",
			          mw->slot, (int)pid, how, delay);
			master_timer(s->respawn_ev, delay);
		}
	} else {
		if (mw == s->current)
			s->current = NULL;
		log_debug("worker %u (pid %d) %s", mw->slot, (int)pid, how);
	}
	free(mw);
	master_check_ready();
	master_check_exit();
}

static void
master_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master_worker *mw;
	unsigned n = 0;

	TAILQ_FOREACH(mw, &m.workers, entry)
	{
		kill(mw->pid, SIGKILL);
		n++;
	}
	/* ARG is non-NULL when a second signal asked for this at once. */
	if (n != 0 && arg == NULL)
		log_warnx("%u workers still running after %d ms: killed them",
		          n, MASTER_KILL_MS);
}

static void
master_shutdown(int sig)
{
	struct master_worker *mw;
	unsigned i, n = 0;

	if (m.shutting_down) {
		log_info("second signal %d: killing the workers now", sig);
		master_kill_cb(-1, 0, &m);
		return;
	}
	m.shutting_down = 1;
	sdnotify_send("STOPPING=1");
	if (m.reloading) {
		m.reloading = 0;
		m.reload_new = NULL;
		evtimer_del(m.reload_timer);
	}
	for (i = 0; i < m.conf->workers; i++) {
		evtimer_del(m.slots[i].respawn_ev);
		/* New connections are refused from now on instead of
		 * waiting in a queue that nobody will serve. */
		if (m.slots[i].fd != -1) {
			close(m.slots[i].fd);
			m.slots[i].fd = -1;
		}
	}
	TAILQ_FOREACH(mw, &m.workers, entry)
	{
		kill(mw->pid, SIGTERM);
		n++;
	}
	log_info("signal %d: stopping %u workers (in-flight requests finish "
	         "first)",
	         sig, n);
	master_timer(m.kill_timer, MASTER_KILL_MS);
	master_check_exit();
}

static void
master_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	int status;
	pid_t pid;

	switch (sig) {
	case SIGCHLD:
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			master_reap(pid, status);
		break;
	case SIGHUP:
		if (m.shutting_down)
			break;
		if (m.reloading) {
			m.reload_again = 1;
			log_info("SIGHUP during a reload: reloading again "
			         "after it");
			break;
		}
		log_info("SIGHUP: replacing the workers one by one");
		sdnotify_send("RELOADING=1");
		m.reloading = 1;
		m.reload_slot = 0;
		master_reload_next();
		break;
	default:
		master_shutdown((int)sig);
		break;
	}
}

/*
 * Runs the master until every worker is gone after a shutdown.  FDS are
 * the slots' listening sockets.  Returns the exit code.
 */
int
master_run(const struct frontend_config *conf, const int *fds)
{
	static const int sigs[4] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
	struct master_worker *mw;
	unsigned i;

	m.conf = conf;
	TAILQ_INIT(&m.workers);
	conncount_init(); /* without it, runs lack their client count */
	if ((m.base = event_base_new()) == NULL)
		fatalx("cannot create the event base");
	if ((m.slots = calloc(conf->workers, sizeof(*m.slots))) == NULL)
		fatal("calloc");
	for (i = 0; i < 4; i++) {
		m.sig_ev[i] =
		    evsignal_new(m.base, sigs[i], master_signal_cb, NULL);
		if (m.sig_ev[i] == NULL || evsignal_add(m.sig_ev[i], NULL))
			fatalx("cannot set up signal handling");
	}
	m.reload_timer = evtimer_new(m.base, master_reload_timeout_cb, NULL);
	m.kill_timer = evtimer_new(m.base, master_kill_cb, NULL);
	if (m.reload_timer == NULL || m.kill_timer == NULL)
		fatalx("cannot create timers");
	for (i = 0; i < conf->workers; i++) {
		m.slots[i].fd = fds[i];
		m.slots[i].backoff_ms = MASTER_BACKOFF_MIN;
		m.slots[i].respawn_ev = evtimer_new(m.base, master_respawn_cb,
		                                    (void *)(uintptr_t)i);
		if (m.slots[i].respawn_ev == NULL)
			fatalx("cannot create timers");
	}
	for (i = 0; i < conf->workers; i++)
		if ((m.slots[i].current = master_spawn(i)) == NULL)
			master_timer(m.slots[i].respawn_ev,
			             m.slots[i].backoff_ms);

	event_base_dispatch(m.base);

	while ((mw = TAILQ_FIRST(&m.workers)) != NULL) {
		TAILQ_REMOVE(&m.workers, mw, entry);
		if (mw->ready_ev != NULL) {
			event_free(mw->ready_ev);
			close(mw->ready_fd);
		}
		free(mw);
	}
	for (i = 0; i < conf->workers; i++) {
		event_free(m.slots[i].respawn_ev);
		if (m.slots[i].fd != -1)
			close(m.slots[i].fd);
	}
	for (i = 0; i < 4; i++)
		event_free(m.sig_ev[i]);
	event_free(m.reload_timer);
	event_free(m.kill_timer);
	event_base_free(m.base);
	free(m.slots);
	if (m.exit_code == 0)
		log_info("all workers gone; exiting");
	return m.exit_code;
}
