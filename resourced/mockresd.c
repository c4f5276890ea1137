/*
 * mockresd.c: the resource daemon's start-up (its sockets: the Unix one,
 * the TLS ones, or systemd's), its loop with the end-of-turn hook,
 * signals and shutdown.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accept.h"
#include "clock.h"
#include "dial.h"
#include "log.h"
#include "rlimit.h"
#include "mockresd.h"
#include "sdnotify.h"
#include "sockpath.h"

static const char *mockresd_path;
static int mockresd_owns_path; /* we created the file and still hold it */
static struct listen_file mockresd_file; /* which file that is */
static int mockresd_done;                /* leave the loop after this turn */

/* The listening sockets, before the loop exists. */
struct mockresd_sockets {
	int unix_fd;
	int tls_fds[MOCKRES_LISTEN_TLS_MAX];
	char tls_what[MOCKRES_LISTEN_TLS_MAX][64];
	size_t ntls;
	int from_systemd_tcp; /* systemd passed TCP sockets */
};

static void
mockresd_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                   struct sockaddr *sa, int salen, void *arg)
{
	conn_accept(fd, &fconn_unix, NULL);
}

/* A TCP connection: the kernel watches the peer too (tcp_tune), and its
 * TLS handshake starts. */
static void
mockresd_accept_tls_cb(struct evconnlistener *l, evutil_socket_t fd,
                       struct sockaddr *sa, int salen, void *arg)
{
	if (tcp_tune(fd) == -1)
		log_debug("TCP options on an accepted connection: %s",
		          strerror(errno));
	conn_accept(fd, &fconn_tls, &mrd->tls);
	gate_pass(); /* may hold the listeners: this loop stops then */
}

/*
 * The drain deadline: holds may be long (an admin's hour) and a thrashing
 * model may need minutes for the uses in service, so a shutdown gives them
 * MOCKRESD_DRAIN_S, then cuts the rest short, answers them SHUTTING_DOWN
 * (counted as cancelled) and exits once the replies are handed to the
 * kernel, whether or not every client reads them.
 */
static void
mockresd_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	resource_now();
	log_info("drain deadline: %llu uses still in service after %d s are "
	         "cut short (answered SHUTTING_DOWN, counted cancelled)",
	         (unsigned long long)mrd->engine.in_flight, MOCKRESD_DRAIN_S);
	engine_cut_serving(&mrd->engine, clock_now_us());
	resource_arm();
	conn_flush_all();
	mockresd_done = 1;
}

/*
 * Stops accepting (on the Unix socket and every TLS one), and gives up
 * the socket path at the same moment: the
 * file is removed while our socket is still bound to it, so the path
 * still names our own socket (its inode cannot have been freed and given
 * to another), and a daemon started after this finds no file and binds a
 * fresh one.  From here on the path is never touched again: a check at
 * exit could not tell our old file from a successor's (once our socket
 * is closed, the successor's may get the very inode number ours had).
 */
static void
mockresd_stop_accepting(void)
{
	size_t i;

	if (mockresd_owns_path) {
		listen_unlink(mockresd_path, &mockresd_file);
		mockresd_owns_path = 0;
	}
	if (mrd->listener != NULL) {
		accept_unguard(mrd->listener);
		evconnlistener_free(mrd->listener);
		mrd->listener = NULL;
	}
	gate_free();
	for (i = 0; i < mrd->ntls_listeners; i++) {
		accept_unguard(mrd->tls_listeners[i]);
		evconnlistener_free(mrd->tls_listeners[i]);
	}
	mrd->ntls_listeners = 0;
}

static void
mockresd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval drain = {MOCKRESD_DRAIN_S, 0};

	resource_now(); /* the counts in the log */
	if (mrd->shutting_down) {
		log_info("second signal %d: exiting with %llu uses in service",
		         (int)sig, (unsigned long long)mrd->engine.in_flight);
		mockresd_done = 1;
		return;
	}
	log_info("signal %d: shutting down after the %llu uses in service "
	         "end (at most %d s); %llu waiting leave the queue",
	         (int)sig, (unsigned long long)mrd->engine.in_flight,
	         MOCKRESD_DRAIN_S, (unsigned long long)mrd->engine.waiting);
	sdnotify_send("STOPPING=1");
	mrd->shutting_down = 1;
	engine_cancel_waiting(&mrd->engine, clock_now_us());
	resource_arm();
	mrd->drain = evtimer_new(mrd->base, mockresd_drain_cb, NULL);
	if (mrd->drain == NULL || evtimer_add(mrd->drain, &drain) == -1)
		fatalx("cannot arm the shutdown's drain deadline");
	mockresd_stop_accepting();
}

/*
 * The end of every loop turn, after all its callbacks (Redis's
 * beforeSleep): write what replies are left (the flush event of conn.c
 * has written those of the turn), then see whether a shutting-down daemon
 * is done, that is, no use is in the resource and every reply has been
 * written (a socket that took only part is written by its bufferevent in
 * a later turn, and this hook runs again after it).  Whatever ends a use,
 * closes a client or drains a socket is a callback, so this one place
 * sees it.
 */
static void
mockresd_turn_end(void)
{
	conn_flush_all();
	if (mrd->shutting_down &&
	    mrd->engine.in_flight + mrd->engine.waiting == 0 &&
	    conn_all_written())
		mockresd_done = 1;
}

/* One turn: wait for events, run their callbacks, then the hook. */
static void
mockresd_loop(void)
{
	int rc;

	while (!mockresd_done) {
		rc = event_base_loop(mrd->base, EVLOOP_ONCE);
		mockresd_turn_end();
		if (rc != 0) /* -1: an error; 1: nothing left to wait for */
			break;
	}
}

/*
 * SIGHUP: nothing to reload.  The limit, the hold and the model change at
 * run time through mockresctl, the logs go to stderr; what matters is that
 * the default action (exit, dropping every use) does not happen.
 */
static void
mockresd_sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	resource_now();
	log_info("SIGHUP: nothing to reload (change the limit, the hold and "
	         "the model with mockresctl); %llu uses in service and %llu "
	         "waiting go on",
	         (unsigned long long)mrd->engine.in_flight,
	         (unsigned long long)mrd->engine.waiting);
}

static int
mockresd_open_unix(const char *flag)
{
	char err[512];
	const char *why;
	int fd;

	if ((mockresd_path = sockpath_resolve(flag, &why)) == NULL)
		fatalx("%s", why);
	if (strcmp(mockresd_path, SOCKPATH_DEFAULT) == 0)
		mkdir("/run/mockres", 0755); /* EEXIST is fine */
	if ((fd = listen_unix(mockresd_path, &mockresd_file, err,
	                      sizeof(err))) == -1)
		fatalx("%s", err);
	mockresd_owns_path = 1;
	return fd;
}

/*
 * Systemd's sockets, told apart by what they are: a Unix one is the
 * socket of mockresd.socket; a TCP one is a TLS listener (a resource
 * host's unit may pass one).  Systemd's TCP sockets replace
 * --listen-tls; without a Unix one from systemd, --socket is bound as
 * usual.
 */
static void
mockresd_systemd_sockets(struct mockresd_sockets *so)
{
	int fds[1 + MOCKRES_LISTEN_TLS_MAX], n, i;

	n = sdnotify_listen_fds(fds, (int)(sizeof(fds) / sizeof(fds[0])));
	for (i = 0; i < n; i++) {
		switch (listen_family(fds[i])) {
		case AF_UNIX:
			if (so->unix_fd != -1)
				fatalx("systemd passed two Unix sockets (fds "
				       "%d and %d): mockresd takes one",
				       so->unix_fd, fds[i]);
			so->unix_fd = fds[i];
			break;
		case AF_INET:
		case AF_INET6:
			so->tls_fds[so->ntls] = fds[i];
			snprintf(so->tls_what[so->ntls],
			         sizeof(so->tls_what[0]),
			         "TLS on systemd's socket %d", fds[i]);
			so->ntls++;
			break;
		default:
			fatalx("systemd passed fd %d, which is not a stream "
			       "socket (check ListenStream= in "
			       "mockresd.socket)",
			       fds[i]);
		}
	}
	so->from_systemd_tcp = so->ntls > 0;
}

/*
 * The TLS side, when there will be a TLS listener (NTLS of them): its files
 * are checked before any socket is opened, so that a bad file is a
 * start-up error with nothing left behind.
 */
static void
mockresd_tls_setup(const struct mockresd_config *cf, size_t ntls,
                   struct tlsconf *tc)
{
	char err[512];

	memset(tc, 0, sizeof(*tc));
	if (ntls == 0) {
		if (tlsconf_files_any(&cf->tls) || cf->nadmins > 0 ||
		    cf->nfrontends > 0)
			log_warnx(
			    "TLS settings given but no --listen-tls "
			    "(or $MOCKRES_LISTEN_TLS): mockresd listens on "
			    "its Unix socket only");
		return;
	}
	if (tlsconf_server(tc, &cf->tls, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (cf->nadmins == 0)
		log_info("no --tls-admin: no TLS client may steer mockresd");
}

static void
mockresd_open_sockets(const struct mockresd_config *cf,
                      struct mockresd_sockets *so, struct tlsconf *tc)
{
	char err[512];
	size_t i;
	int fd;

	memset(so, 0, sizeof(*so));
	so->unix_fd = -1;
	mockresd_systemd_sockets(so);
	mockresd_tls_setup(cf, so->ntls > 0 ? so->ntls : cf->nlisten_tls, tc);
	if (so->ntls > 0 && cf->nlisten_tls > 0)
		log_info(
		    "systemd passed TCP sockets: --listen-tls is not used");
	/* The TCP ones first: once the Unix socket answers, every listener
	 * is up (what a test or a script waits for). */
	for (i = 0; !so->from_systemd_tcp && i < cf->nlisten_tls; i++) {
		if ((fd = listen_inet(cf->listen_tls[i], err, sizeof(err))) ==
		    -1)
			fatalx("%s", err);
		so->tls_fds[so->ntls] = fd;
		snprintf(so->tls_what[so->ntls], sizeof(so->tls_what[0]),
		         "TLS on %s", cf->listen_tls[i]);
		so->ntls++;
	}
	if (so->unix_fd == -1)
		so->unix_fd = mockresd_open_unix(cf->socket_flag);
	else
		log_debug("using the Unix socket passed by systemd");
}

static void
mockresd_listen(const struct mockresd_sockets *so)
{
	char what[128];
	size_t i;

	mrd->listener =
	    evconnlistener_new(mrd->base, mockresd_accept_cb, NULL,
	                       LEV_OPT_CLOSE_ON_FREE, -1, so->unix_fd);
	if (mrd->listener == NULL)
		fatalx("cannot listen on the socket");
	/* Out of fds, pause accepting instead of spinning on EMFILE. */
	snprintf(what, sizeof(what), "socket %s",
	         mockresd_path ? mockresd_path : "from systemd");
	if (accept_guard(mrd->listener, what) == -1)
		fatalx("cannot guard the listener");
	for (i = 0; i < so->ntls; i++) {
		struct evconnlistener *l = evconnlistener_new(
		    mrd->base, mockresd_accept_tls_cb, NULL,
		    LEV_OPT_CLOSE_ON_FREE, -1, so->tls_fds[i]);

		if (l == NULL || accept_guard(l, so->tls_what[i]) == -1)
			fatalx("cannot listen: %s", so->tls_what[i]);
		mrd->tls_listeners[mrd->ntls_listeners++] = l;
	}
	if (mrd->ntls_listeners > 0)
		gate_init();
}

/*
 * The base is not EVENT_BASE_FLAG_PRECISE_TIMER: libevent 2.1's epoll
 * backend then calls timerfd_settime before every epoll_wait, a system
 * call per wake-up (6-7% of mockresd's CPU under the async benchmark).
 * The one timer that must be exact, the end of a hold, has a timerfd of
 * its own, set only when it moves (resource.c).  The others run on
 * libevent's coarse clock (CLOCK_MONOTONIC_COARSE, 4 ms steps here),
 * with epoll_wait's milliseconds rounded up: each may fire up to a step
 * early or a step and a millisecond late by clock_now_us, and each can
 * take it:
 * - the watches' (watch.c): early, watch_fire finds no push due (within
 *   WATCH_SHARE_US) and arms again; a push comes up to ~5 ms late, the
 *   next one still on its grid (watch_schedule adds the interval to the
 *   due time, not to the push's);
 * - the handshake budget's (gate.c): early, gate_timer_cb sees the token
 *   not yet due and waits again; late, a new TLS client waits ~5 ms more;
 * - the connections' deadlines (proto/fconn_tls.c: a TLS handshake's
 *   3 s, the linger before a TLS close), the shutdown's drain deadline
 *   (10 s) and the accept guard's pause after EMFILE (common/accept.c,
 *   1 s): a few ms either way on seconds.
 *
 * Priorities (see mockresd.h, MOCKRESD_PRI_*): the connected clients, the
 * timers of the resource and the watches and the flush of the replies
 * first; then the rest (accepting, signals); the TLS handshakes last, and
 * at most MOCKRESD_LOW_MAX_US or MOCKRESD_LOW_MAX_CB of them before the
 * loop looks at its timers and sockets again.  A handshake costs ~0.3 ms
 * of CPU: without this a loop turn ran every handshake that was ready (64
 * at once, ~20 ms) before a hold that had ended was answered.  libevent
 * tells the time budget by its coarse clock (0..4 ms, not 1), hence the
 * count as well.
 */
static struct event_base *
mockresd_base(void)
{
	struct event_config *cfg = event_config_new();
	struct timeval low_max = {0, MOCKRESD_LOW_MAX_US};
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	if (event_config_set_max_dispatch_interval(
	        cfg, &low_max, MOCKRESD_LOW_MAX_CB, MOCKRESD_PRI_LOW) == -1) {
		event_config_free(cfg);
		return NULL;
	}
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base != NULL &&
	    event_base_priority_init(base, MOCKRESD_PRIORITIES) == -1) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

int
main(int argc, char *argv[])
{
	struct mockresd_config cf;
	struct mockresd_sockets so;
	struct tlsconf tls;
	struct mockresd state;
	struct event_base *base;
	struct event *sigterm, *sigint, *sighup;
	sigset_t stops;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i;
	int r;

	config_defaults(&cf, ncpu > 0 ? (uint32_t)ncpu : 1);
	if ((r = config_parse(argc, argv, &cf)) != -1)
		return r;
	log_init("mockresd", cf.verbose);
	/* OpenSSL may write an alert to a peer that has gone. */
	signal(SIGPIPE, SIG_IGN);
	/* A stop signal that comes once the socket answers but before the
	 * loop handles signals waits for it, instead of killing the daemon
	 * (a test's SIGTERM right after its connect did, under ASan). */
	sigemptyset(&stops);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGHUP);
	sigprocmask(SIG_BLOCK, &stops, NULL);
	rlimit_raise_nofile();

	mockresd_open_sockets(&cf, &so, &tls);
	if ((base = mockresd_base()) == NULL)
		fatalx("cannot create the event base");
	conn_init(&state, base);
	mrd->tls = tls;
	trust_init(cf.admins, cf.frontends);
	dispatch_init((uint32_t)cf.limit, &cf.model);
	mockresd_listen(&so);
	sigterm = evsignal_new(mrd->base, SIGTERM, mockresd_signal_cb, NULL);
	sigint = evsignal_new(mrd->base, SIGINT, mockresd_signal_cb, NULL);
	sighup = evsignal_new(mrd->base, SIGHUP, mockresd_sighup_cb, NULL);
	if (sigterm == NULL || sigint == NULL || sighup == NULL ||
	    evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL) ||
	    evsignal_add(sighup, NULL))
		fatalx("cannot set up signal handling");
	sigprocmask(SIG_UNBLOCK, &stops, NULL);

	log_info("ready on %s%s%s: limit %u, model %s (hold %u ms, slots %u, "
	         "contention %s)",
	         mockresd_path ? mockresd_path : "the systemd socket",
	         so.ntls > 0 ? " and " : "",
	         so.ntls == 0          ? ""
	         : so.from_systemd_tcp ? "systemd's TCP sockets (TLS)"
	         : cf.nlisten_tls == 1 ? cf.listen_tls[0]
	                               : "the --listen-tls addresses",
	         mrd->engine.limit, mrd->preset[0] ? mrd->preset : "custom",
	         mrd->engine.model.hold_ms, mrd->engine.model.slots,
	         model_contention_name(mrd->engine.model.contention));
	for (i = 0; i < so.ntls && so.ntls > 1; i++)
		log_info("listening: %s", so.tls_what[i]);
	sdnotify_send("READY=1");
	mockresd_loop();

	mockresd_stop_accepting(); /* if a signal did not already */
	log_info("exiting: admitted %llu, rejected %llu, completed %llu, "
	         "timed out %llu, cancelled %llu",
	         (unsigned long long)mrd->engine.admitted,
	         (unsigned long long)mrd->engine.rejected,
	         (unsigned long long)mrd->engine.completed,
	         (unsigned long long)mrd->engine.timed_out,
	         (unsigned long long)mrd->engine.cancelled);

	/* Free everything, so that leak checkers report only real leaks
	 * (clients closed with uses still in service after a second signal
	 * included). */
	dispatch_free();
	tlsconf_free(&mrd->tls);
	if (mrd->drain != NULL)
		event_free(mrd->drain);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(base);
	return 0;
}
