/*
 * worker.c: one worker process: its event base, its HTTP server (http.c)
 * on its slot's listening socket, its one connection to mockresd, and its
 * drain on SIGTERM.
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

#include "clock.h"
#include "frontend.h"
#include "httpserv.h"
#include "log.h"
#include "mrclient.h"

/* The worker: the state its files share (struct wstate, handed down)
 * and what only this file uses. */
static struct worker {
	struct wstate ws;
	unsigned slot;
	int mrd_warned; /* "cannot reach mockresd" logged once */
	struct event *drain_ev;
	struct event *linger_ev;
	struct event *done_ev;   /* a request ended: may a drain be over? */
	struct event *report_ev; /* the wait for the last report's answer */
	int lingered;
	int reporting; /* the last report is sent, its answer awaited */
	int reported;  /* ... and it came (or the connection went) */
	struct event *sig_ev[2];
} w;

static void worker_check_exit(void);
static void worker_exit(int) __attribute__((noreturn));

static void
worker_exit(int code)
{
	log_debug("exiting after %llu requests",
	          (unsigned long long)w.ws.served);
	/* mrclient first: its pending callbacks would answer requests.
	 * httpserv_free then closes the connections left. */
	timing_free();
	mrclient_free(w.ws.mc);
	httpserv_free(w.ws.http);
	exit(code);
}

static void
worker_mrclient_state_cb(struct mrclient *mc, int up, int error, void *arg)
{
	if (up) {
		liveness_up();
		timing_connected();
		if (w.mrd_warned)
			log_info("connected to mockresd again");
		w.mrd_warned = 0;
		return;
	}
	if (liveness_stalled())
		return; /* liveness.c dropped it, and said why */
	if (w.ws.draining) {
		/* Both stopping at once (Ctrl-C on a terminal that started
		 * them): nothing is wrong. */
		if (!w.mrd_warned)
			log_info("mockresd at %s closed the connection while "
			         "this worker stops; stopping as planned",
			         mrclient_path(mc));
		w.mrd_warned = 1;
		return;
	}
	if (!w.mrd_warned) {
		w.mrd_warned = 1;
		log_warnx("%s%s; answering 503 until it is back, retrying "
		          "in the background",
		          mrclient_error(mc),
		          error == 0 ? " (stopped or restarted?)" : "");
	}
}

/*
 * Called by http.c (through ws.request_done) when a request has ended,
 * from inside the HTTP layer: the exit check runs from the loop.
 */
static void
worker_request_done(void)
{
	if (w.ws.draining)
		event_active(w.done_ev, EV_TIMEOUT, 1);
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
	          (unsigned long long)w.ws.active, WORKER_DRAIN_MS);
	worker_exit(0);
}

static void
worker_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	w.lingered = 1;
	worker_check_exit();
}

/* mockresd has the last report (from inside mrclient: exit from the
 * loop). */
static void
worker_reported(void)
{
	w.reported = 1;
	event_active(w.done_ev, EV_TIMEOUT, 1);
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

	if (!w.lingered || w.ws.waiting != 0 || w.ws.active != 0)
		return;
	if (w.reporting && !w.reported)
		return;
	/* (Again if a keep-alive client was answered meanwhile: the drain's
	 * deadline still bounds it all.) */
	w.reporting = w.reported = 0;
	if (!timing_final(worker_reported))
		worker_exit(0);
	w.reporting = 1;
	if (evtimer_add(w.report_ev, &tv) == -1)
		worker_exit(0);
}

static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = clock_tv(WORKER_DRAIN_MS);
	struct timeval linger = clock_tv(WORKER_LINGER_MS);

	if (w.ws.draining)
		return;
	log_debug("signal %d: draining %llu requests", (int)sig,
	          (unsigned long long)w.ws.active);
	w.ws.draining = 1;
	/* Closes our copy of the socket only: the master keeps it, so
	 * connections queued on it wait for the next worker. */
	httpserv_drain(w.ws.http);
	evtimer_add(w.drain_ev, &tv);
	evtimer_add(w.linger_ev, &linger);
}

static void
worker_setup_http(int fd)
{
	char what[FRONTEND_URL_MAX];

	if ((w.ws.http = http_setup(&w.ws)) == NULL)
		fatalx("cannot create the HTTP server");
	/* Out of fds, it pauses accepting instead of spinning on EMFILE. */
	snprintf(what, sizeof(what), "HTTP on %s", w.ws.conf->listen_str);
	if (httpserv_listen(w.ws.http, fd, what) == -1)
		fatalx("cannot accept on the listening socket");
}

void
worker_main(const struct frontend_config *conf, unsigned slot, int fd,
            int ready_fd)
{
	static const int sigs[2] = {SIGTERM, SIGINT};
	char name[32];
	int i;

	w.ws.conf = conf;
	w.ws.request_done = worker_request_done;
	w.slot = slot;
	snprintf(name, sizeof(name), "worker %u", slot);
	log_setprefix(name);

	/* Do not outlive a master that was killed outright. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGHUP, SIG_IGN);

	if ((w.ws.base = event_base_new()) == NULL) {
		log_warnx("cannot create the event base");
		exit(WORKER_EXIT_NORESPAWN);
	}
	worker_setup_http(fd);
	w.ws.mc = mrclient_new(w.ws.base, conf->socket_path,
	                       MOCKRES__ROLE__ROLE_FRONTEND_WORKER, name);
	if (w.ws.mc == NULL)
		fatal("mrclient_new");
	timing_init(&w.ws, conf->http_timing);
	mrclient_set_tls(w.ws.mc, &conf->tls);
	mrclient_set_reconnect(w.ws.mc, 1);
	mrclient_set_state_cb(w.ws.mc, worker_mrclient_state_cb, NULL);
	if (liveness_init(&w.ws) == -1)
		fatalx("cannot create the liveness timer");
	w.drain_ev = evtimer_new(w.ws.base, worker_drain_cb, NULL);
	w.linger_ev = evtimer_new(w.ws.base, worker_linger_cb, NULL);
	w.done_ev = evtimer_new(w.ws.base, worker_done_cb, NULL);
	w.report_ev = evtimer_new(w.ws.base, worker_report_wait_cb, NULL);
	if (w.drain_ev == NULL || w.linger_ev == NULL || w.done_ev == NULL ||
	    w.report_ev == NULL)
		fatalx("cannot create timers");
	for (i = 0; i < 2; i++) {
		w.sig_ev[i] =
		    evsignal_new(w.ws.base, sigs[i], worker_signal_cb, NULL);
		if (w.sig_ev[i] == NULL || evsignal_add(w.sig_ev[i], NULL))
			fatalx("cannot set up signal handling");
	}
	/* Signals were blocked across the fork; libevent handles them now. */
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	mrclient_start(w.ws.mc); /* a failure is retried in the loop */

	if (write(ready_fd, "R", 1) != 1)
		log_warn("cannot tell the master we are ready");
	close(ready_fd);
	log_debug("serving (pid %d)", (int)getpid());

	event_base_dispatch(w.ws.base);
	worker_exit(0);
}
