/*
 * worker.c: one worker process: its event base, its evhttp server on its
 * slot's listening socket, its one connection to mockresd, and its drain
 * on SIGTERM.
 *
 * Everything here is created after the fork.  The worker tells the master
 * it is serving by writing one byte on READY_FD; it exits 0 after a drain
 * and WORKER_EXIT_NORESPAWN when its own setup fails (retrying would fail
 * the same way).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/listener.h>

#include "accept.h"
#include "clock.h"
#include "frontend.h"
#include "log.h"
#include "mrclient.h"

struct worker *wk;

static void worker_check_exit(void);
static void worker_exit(int) __attribute__((noreturn));

static void
worker_exit(int code)
{
	log_debug("exiting after %llu requests",
	          (unsigned long long)wk->served);
	/* mrclient first: its pending callbacks must not run on freed
	 * requests.  evhttp_free then closes idle keep-alive connections. */
	timing_free();
	mrclient_free(wk->mc);
	if (wk->http != NULL)
		evhttp_free(wk->http);
	exit(code);
}

static void
worker_mrclient_state_cb(struct mrclient *mc, int up, int error, void *arg)
{
	if (up) {
		liveness_up();
		timing_connected();
		if (wk->mrd_warned)
			log_info("connected to mockresd again");
		wk->mrd_warned = 0;
		return;
	}
	if (liveness_stalled())
		return; /* liveness.c dropped it, and said why */
	if (wk->draining) {
		/* Both stopping at once (Ctrl-C on a terminal that started
		 * them): nothing is wrong. */
		if (!wk->mrd_warned)
			log_info("mockresd at %s closed the connection while "
			         "this worker stops; stopping as planned",
			         mrclient_path(mc));
		wk->mrd_warned = 1;
		return;
	}
	if (!wk->mrd_warned) {
		wk->mrd_warned = 1;
		log_warnx("%s%s; answering 503 until it is back, retrying "
		          "in the background",
		          mrclient_error(mc),
		          error == 0 ? " (stopped or restarted?)" : "");
	}
}

/*
 * Called by http.c when a request has ended, from inside libevent (a
 * connection may be half freed): the exit check runs from the loop.
 */
void
worker_request_done(void)
{
	if (wk->draining)
		event_active(wk->done_ev, EV_TIMEOUT, 1);
}

static void
worker_done_cb(evutil_socket_t fd, short what, void *arg)
{
	worker_check_exit();
}

static void
worker_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	log_warnx("%llu requests still unanswered after %d ms; exiting "
	          "without them",
	          (unsigned long long)wk->active, WORKER_DRAIN_MS);
	worker_exit(0);
}

static void
worker_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	wk->lingered = 1;
	worker_check_exit();
}

/* mockresd has the last report (from inside mrclient: exit from the
 * loop). */
static void
worker_reported(void)
{
	wk->reported = 1;
	event_active(wk->done_ev, EV_TIMEOUT, 1);
}

static void
worker_report_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	log_debug("mockresd did not take the last report in %d ms; exiting",
	          WORKER_REPORT_WAIT_MS);
	worker_exit(0);
}

/*
 * A draining worker answers every request with "Connection: close", and
 * exits once nothing is waiting for mockresd, every answer is written, and
 * WORKER_LINGER_MS have passed: a keep-alive client that sends its next
 * request in that time gets an answer and a clean close, not a reset.
 * Before it exits it hands mockresd its last report (timing.c), waiting
 * at most WORKER_REPORT_WAIT_MS for the answer.
 */
static void
worker_check_exit(void)
{
	struct timeval tv = clock_tv(WORKER_REPORT_WAIT_MS);

	if (!wk->lingered || wk->waiting != 0 || wk->active != 0)
		return;
	if (wk->reporting && !wk->reported)
		return;
	/* (Again if a keep-alive client was answered meanwhile: the drain's
	 * deadline still bounds it all.) */
	wk->reporting = wk->reported = 0;
	if (!timing_final(worker_reported))
		worker_exit(0);
	wk->reporting = 1;
	if (evtimer_add(wk->report_ev, &tv) == -1)
		worker_exit(0);
}

static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = clock_tv(WORKER_DRAIN_MS);
	struct timeval linger = clock_tv(WORKER_LINGER_MS);

	if (wk->draining)
		return;
	log_debug("signal %d: draining %llu requests", (int)sig,
	          (unsigned long long)wk->active);
	wk->draining = 1;
	if (wk->bound != NULL) {
		/* Closes our copy only: the master keeps the socket, so
		 * connections queued on it wait for the next worker. */
		accept_unguard(evhttp_bound_socket_get_listener(wk->bound));
		evhttp_del_accept_socket(wk->http, wk->bound);
		wk->bound = NULL;
	}
	evtimer_add(wk->drain_ev, &tv);
	evtimer_add(wk->linger_ev, &linger);
}

static void
worker_setup_http(int fd)
{
	struct evconnlistener *l;
	char what[FRONTEND_URL_MAX];

	if ((wk->http = http_setup(wk->base, wk->conf->request_timeout_ms)) ==
	    NULL)
		fatalx("cannot create the HTTP server");
	if ((wk->bound = evhttp_accept_socket_with_handle(wk->http, fd)) ==
	    NULL)
		fatalx("cannot accept on the listening socket");
	/* Out of fds, pause accepting instead of spinning on EMFILE. */
	l = evhttp_bound_socket_get_listener(wk->bound);
	snprintf(what, sizeof(what), "HTTP on %s", wk->conf->listen_str);
	if (accept_guard(l, what) == -1)
		fatalx("cannot guard the listener");
}

void
worker_main(const struct frontend_config *conf, unsigned slot, int fd,
            int ready_fd)
{
	static struct worker w;
	static const int sigs[2] = {SIGTERM, SIGINT};
	char name[32];
	int i;

	wk = &w;
	w.conf = conf;
	w.slot = slot;
	snprintf(name, sizeof(name), "worker %u", slot);
	log_setprefix(name);

	/* Do not outlive a master that was killed outright. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGHUP, SIG_IGN);

	if ((w.base = event_base_new()) == NULL) {
		log_warnx("cannot create the event base");
		exit(WORKER_EXIT_NORESPAWN);
	}
	worker_setup_http(fd);
	timing_init(w.base, conf->http_timing);
	w.mc = mrclient_new(w.base, conf->socket_path,
	                    MOCKRES__ROLE__ROLE_FRONTEND_WORKER, name);
	if (w.mc == NULL)
		fatal("mrclient_new");
	mrclient_set_tls(w.mc, &conf->tls);
	mrclient_set_reconnect(w.mc, 1);
	mrclient_set_state_cb(w.mc, worker_mrclient_state_cb, NULL);
	if (liveness_init(w.base) == -1)
		fatalx("cannot create the liveness timer");
	w.drain_ev = evtimer_new(w.base, worker_drain_cb, NULL);
	w.linger_ev = evtimer_new(w.base, worker_linger_cb, NULL);
	w.done_ev = evtimer_new(w.base, worker_done_cb, NULL);
	w.report_ev = evtimer_new(w.base, worker_report_wait_cb, NULL);
	if (w.drain_ev == NULL || w.linger_ev == NULL || w.done_ev == NULL ||
	    w.report_ev == NULL)
		fatalx("cannot create timers");
	for (i = 0; i < 2; i++) {
		w.sig_ev[i] =
		    evsignal_new(w.base, sigs[i], worker_signal_cb, NULL);
		if (w.sig_ev[i] == NULL || evsignal_add(w.sig_ev[i], NULL))
			fatalx("cannot set up signal handling");
	}
	/* Signals were blocked across the fork; libevent handles them now. */
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	mrclient_start(w.mc); /* a failure is retried in the loop */

	if (write(ready_fd, "R", 1) != 1)
		log_warn("cannot tell the master we are ready");
	close(ready_fd);
	log_debug("serving (pid %d)", (int)getpid());

	event_base_dispatch(w.base);
	worker_exit(0);
}
