/*
 * ctl_watch.c: "mockresctl watch": follow the counts until interrupted.
 *
 * On a terminal one line is redrawn in place; otherwise (or with --json)
 * one line per update.  A lost connection is retried until mockresd is
 * back, and the watch starts again.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "mockres_limits.h"
#include "parse.h"

struct ctl_watch_state {
	struct ctl *ctl;
	uint32_t interval_ms;
	int tty;
	int reported_down;
	int rc;
};

static void
ctl_watch_reply(const Mockres__Response *resp, void *arg)
{
	struct ctl_watch_state *w = arg;
	char line[256];

	if (resp == NULL)
		return; /* the state callback reports it */
	if (resp->status != MOCKRES__STATUS__OK || resp->stats == NULL) {
		w->rc = ctl_exit_status(resp);
		event_base_loopbreak(w->ctl->base);
		return;
	}
	if (w->ctl->json) {
		ctl_print_json_stats(resp->stats, 0);
		return;
	}
	ctl_print_line(resp->stats, line, sizeof(line));
	if (w->tty)
		printf("\r\033[K%s", line);
	else
		printf("%s\n", line);
	fflush(stdout);
}

static void
ctl_watch_state_cb(struct mrclient *mc, int up, int error, void *arg)
{
	struct ctl_watch_state *w = arg;

	if (!up) {
		if (!w->reported_down) {
			if (w->tty)
				printf("\n");
			fprintf(stderr, "mockresctl: %s; retrying\n",
			        mrclient_error(mc));
			w->reported_down = 1;
		}
		return;
	}
	w->reported_down = 0;
	if (mrclient_watch(mc, w->interval_ms, 0, ctl_watch_reply, w) == 0)
		fprintf(stderr, "mockresctl: cannot send watch: %s\n",
		        strerror(errno));
}

static void
ctl_watch_signal(evutil_socket_t sig, short what, void *arg)
{
	struct ctl_watch_state *w = arg;

	if (w->tty)
		printf("\n");
	event_base_loopbreak(w->ctl->base);
}

int
ctl_watch(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_watch_state w = {ctl, 500, 0, 0, 0};
	struct event *sig;
	uint64_t v;
	int ch, rc;

	optind = 1;
	while ((ch = getopt(argc, argv, "+i:")) != -1) {
		if (ch != 'i' || parse_u64(optarg, MOCKRES_WATCH_MIN_MS,
		                           MOCKRES_WATCH_MAX_MS, &v) == -1)
			return ctl_exit_usage("watch: -i takes an interval "
			                      "of " MOCKRES_STR(MOCKRES_WATCH_MIN_MS) ".." MOCKRES_STR(
			                          MOCKRES_WATCH_MAX_MS) " ms");
		w.interval_ms = (uint32_t)v;
	}
	if (optind != argc)
		return ctl_exit_usage("watch: unexpected argument '%s'",
		                      argv[optind]);
	w.tty = !ctl->json && isatty(STDOUT_FILENO);

	/* Ctrl-C ends the watch with exit 0, so set that up first. */
	if ((sig = evsignal_new(ctl->base, SIGINT, ctl_watch_signal, &w)) ==
	        NULL ||
	    evsignal_add(sig, NULL) == -1) {
		if (sig != NULL)
			event_free(sig);
		fprintf(stderr, "mockresctl: watch: cannot catch SIGINT\n");
		return CTL_ERROR;
	}
	if ((rc = ctl_call_connect(ctl, &ctl->mc, MOCKRES__ROLE__ROLE_CTL,
	                           1)) != CTL_OK) {
		event_free(sig);
		return rc;
	}
	mrclient_set_state_cb(ctl->mc, ctl_watch_state_cb, &w);
	if (mrclient_connected(ctl->mc))
		ctl_watch_state_cb(ctl->mc, 1, 0, &w);
	else
		ctl_watch_state_cb(ctl->mc, 0, ECONNREFUSED, &w);
	event_base_dispatch(ctl->base);
	event_free(sig);
	return w.rc; /* ctl_run frees ctl->mc */
}
