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
		w->rc = ctl_status_exit(w->ctl, resp);
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
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Watch watch = MOCKRES__WATCH__INIT;

	if (!up) {
		if (!w->reported_down) {
			if (w->tty)
				printf("\n");
			fprintf(stderr,
			        "mockresctl: lost mockresd at %s (%s); "
			        "retrying\n",
			        w->ctl->path,
			        error ? strerror(error) : "connection closed");
			w->reported_down = 1;
		}
		return;
	}
	w->reported_down = 0;
	watch.has_interval_ms = 1;
	watch.interval_ms = w->interval_ms;
	req.op_case = MOCKRES__REQUEST__OP_WATCH;
	req.watch = &watch;
	if (mrclient_send(mc, &req, ctl_watch_reply, w, 1) == 0)
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
			return ctl_usage_error("watch: -i takes an interval "
			                       "of " MOCKRES_STR(MOCKRES_WATCH_MIN_MS) ".." MOCKRES_STR(
			                           MOCKRES_WATCH_MAX_MS) " ms");
		w.interval_ms = (uint32_t)v;
	}
	if (optind != argc)
		return ctl_usage_error("watch: unexpected argument '%s'",
		                       argv[optind]);
	w.tty = !ctl->json && isatty(STDOUT_FILENO);

	if ((rc = ctl_connect(ctl, &ctl->mc, MOCKRES__ROLE__ROLE_CTL, 1)) !=
	    CTL_OK)
		return rc;
	mrclient_set_state_cb(ctl->mc, ctl_watch_state_cb, &w);
	if (mrclient_connected(ctl->mc))
		ctl_watch_state_cb(ctl->mc, 1, 0, &w);
	else
		ctl_watch_state_cb(ctl->mc, 0, ECONNREFUSED, &w);
	sig = evsignal_new(ctl->base, SIGINT, ctl_watch_signal, &w);
	evsignal_add(sig, NULL);
	event_base_dispatch(ctl->base);
	event_free(sig);
	mrclient_free(ctl->mc);
	return w.rc;
}
