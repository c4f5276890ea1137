/*
 * mockresctl.c: command-line client of mockresd: flags, the command table
 * and the one-request-one-reply commands.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "log.h"
#include "mockres_limits.h"
#include "names.h"
#include "parse.h"
#include "sockpath.h"

static void
ctl_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mockresctl [--socket PATH] [--json] [-v] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  status                      counts, limit, hold, peak\n"
	    "  watch [-i MS]               follow the counts live "
	    "(default every 500 ms)\n"
	    "  clients                     connected clients and their "
	    "counts\n"
	    "  use [--async] [--hold-ms MS]  use the resource once\n"
	    "  limit [N]                   show or set the limit "
	    "(0 = no limit)\n"
	    "  hold [MS]                   show or set the hold time\n"
	    "  reset-peak                  set the peak to the current count\n"
	    "  model                       show the resource model\n"
	    "  model set KEY=VALUE ...     change it (admins; keys: see "
	    "`model`)\n"
	    "  model preset NAME           io, api, pool, ecto, cpu, "
	    "overloaded-db\n"
	    "  bench [-c CONCURRENCY] [-n TOTAL] [-P PIPELINE] [--async] "
	    "[--hold-ms MS | --model-hold]\n"
	    "                              load mockresd, print ops/s and "
	    "latency\n"
	    "\n"
	    "  --socket PATH  mockresd's socket (default: $MOCKRES_SOCKET, "
	    "else\n"
	    "                 " SOCKPATH_DEFAULT ")\n"
	    "  --json         machine-readable output\n"
	    "\n"
	    "exit status: 0 ok, 1 resource busy, 2 usage error, 3 mockresd "
	    "unreachable,\n"
	    "4 permission denied, 5 other error from mockresd\n");
}

int
ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mockresctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see mockresctl --help)\n");
	return CTL_USAGE;
}

void
ctl_unreachable(const struct ctl *ctl, int error)
{
	const char *hint = "is mockresd running?";
	char why[128];

	if (error == EACCES || error == EPERM)
		hint = "are you root or in the mockres group?";
	snprintf(why, sizeof(why), "%s",
	         error ? strerror(error) : "connection closed");
	why[0] = (char)tolower((unsigned char)why[0]); /* mid-sentence */
	fprintf(stderr, "mockresctl: cannot reach mockresd at %s: %s (%s)\n",
	        ctl->path, why, hint);
}

int
ctl_connect(struct ctl *ctl, struct mrclient **out, Mockres__Role role,
            int reconnect)
{
	struct mrclient *mc;

	mc = mrclient_new(ctl->base, ctl->path, role, "mockresctl");
	if (mc == NULL) {
		fprintf(stderr, "mockresctl: %s\n", strerror(errno));
		return CTL_ERROR;
	}
	mrclient_set_reconnect(mc, reconnect);
	if (mrclient_start(mc) == -1 && !reconnect) {
		ctl_unreachable(ctl, errno);
		mrclient_free(mc);
		return CTL_UNREACHABLE;
	}
	*out = mc;
	return CTL_OK;
}

struct ctl_call_state {
	struct ctl *ctl;
	ctl_reply_fn fn;
	int done;
	int rc;
};

static void
ctl_call_cb(const Mockres__Response *resp, void *arg)
{
	struct ctl_call_state *st = arg;

	st->done = 1;
	if (resp == NULL) {
		ctl_unreachable(st->ctl, ECONNRESET);
		st->rc = CTL_UNREACHABLE;
	} else {
		st->rc = st->fn(st->ctl, resp);
	}
	event_base_loopbreak(st->ctl->base);
}

static void
ctl_call_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_call_state *st = arg;

	fprintf(stderr,
	        "mockresctl: mockresd at %s did not answer within %d s (is it "
	        "stopped or overloaded?)\n",
	        st->ctl->path, st->ctl->timeout_s);
	st->done = 1;
	st->rc = CTL_UNREACHABLE;
}

/* Sends REQ on the ctl's connection (made on first use), runs FN on the
 * reply and returns its exit code.  A daemon that accepts but never
 * answers costs ctl->timeout_s, not a hang. */
int
ctl_call(struct ctl *ctl, Mockres__Request *req, ctl_reply_fn fn)
{
	struct ctl_call_state st = {ctl, fn, 0, CTL_ERROR};
	struct timeval tv = {ctl->timeout_s, 0};
	struct event *timer;
	uint64_t id;
	int rc;

	if (ctl->mc == NULL &&
	    (rc = ctl_connect(ctl, &ctl->mc, MOCKRES__ROLE__ROLE_CTL, 0)) !=
	        CTL_OK)
		return rc;
	if ((id = mrclient_send(ctl->mc, req, ctl_call_cb, &st, 0)) == 0) {
		ctl_unreachable(ctl, errno);
		return CTL_UNREACHABLE;
	}
	if ((timer = evtimer_new(ctl->base, ctl_call_timeout, &st)) == NULL ||
	    evtimer_add(timer, &tv) == -1) {
		fprintf(stderr, "mockresctl: cannot set a timer\n");
		return CTL_ERROR;
	}
	while (!st.done)
		if (event_base_loop(ctl->base, EVLOOP_ONCE) == -1)
			break;
	event_free(timer);
	mrclient_cancel(ctl->mc, id); /* a late reply must not find ST */
	return st.rc;
}

/* Maps an unsuccessful status to its message and exit code. */
int
ctl_status_exit(struct ctl *ctl, const Mockres__Response *resp)
{
	const char *error = resp->error ? resp->error : "";

	switch (resp->status) {
	case MOCKRES__STATUS__OK:
	case MOCKRES__STATUS__ADMITTED:
	case MOCKRES__STATUS__DONE:
		return CTL_OK;
	case MOCKRES__STATUS__BUSY:
		fprintf(stderr, "mockresctl: %s\n",
		        error[0] ? error : "resource busy");
		return CTL_BUSY;
	case MOCKRES__STATUS__TIMEOUT:
		fprintf(stderr, "mockresctl: %s\n",
		        error[0] ? error
		                 : "timed out waiting for the resource");
		return CTL_BUSY;
	case MOCKRES__STATUS__DENIED:
		fprintf(stderr,
		        "mockresctl: %s (run as root or as the user "
		        "mockresd runs as)\n",
		        error[0] ? error : "permission denied");
		return CTL_DENIED;
	default:
		fprintf(stderr, "mockresctl: mockresd answered %s%s%s\n",
		        names_status(resp->status), error[0] ? ": " : "",
		        error);
		return CTL_ERROR;
	}
}

/* status and clients: the same snapshot, printed two ways. */
static int
ctl_stats_reply(struct ctl *ctl, const Mockres__Response *resp)
{
	int rc = ctl_status_exit(ctl, resp);

	if (rc != CTL_OK)
		return rc;
	if (resp->stats == NULL) {
		fprintf(stderr, "mockresctl: mockresd sent no stats\n");
		return CTL_ERROR;
	}
	if (ctl->clients)
		ctl_print_clients(ctl, resp->stats);
	else
		ctl_print_status(ctl, resp->stats);
	return CTL_OK;
}

static int
ctl_cmd_status(struct ctl *ctl, int clients)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;

	sr.has_clients = 1;
	sr.clients = clients;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	ctl->clients = clients;
	return ctl_call(ctl, &req, ctl_stats_reply);
}

static uint64_t ctl_use_start_us;

static int
ctl_use_reply(struct ctl *ctl, const Mockres__Response *resp)
{
	double ms = (double)(clock_now_us() - ctl_use_start_us) / 1000.0;
	int rc = ctl_status_exit(ctl, resp);

	if (ctl->json)
		printf("{\"status\":\"%s\",\"elapsed_ms\":%.1f}\n",
		       names_status(resp->status), ms);
	else if (rc == CTL_OK)
		printf("%s after %.1f ms\n", names_status(resp->status), ms);
	return rc;
}

static int
ctl_cmd_use(struct ctl *ctl, int argc, char *argv[])
{
	static const struct option opts[] = {
	    {"async", no_argument, NULL, 'a'},
	    {"hold-ms", required_argument, NULL, 'H'},
	    {NULL, 0, NULL, 0},
	};
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Use use = MOCKRES__USE__INIT;
	uint64_t hold;
	int ch;

	use.has_mode = 1;
	use.mode = MOCKRES__USE_MODE__SERIAL;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			use.mode = MOCKRES__USE_MODE__ASYNC;
			break;
		case 'H':
			if (parse_u64(optarg, 0, MOCKRES_HOLD_MS_MAX, &hold) ==
			    -1)
				return ctl_usage_error(
				    "use: --hold-ms must be "
				    "0.." MOCKRES_STR(
				        MOCKRES_HOLD_MS_MAX) ", not '%s'",
				    optarg);
			use.has_hold_ms = 1;
			use.hold_ms = (uint32_t)hold;
			break;
		default:
			return ctl_usage_error("use: unknown option");
		}
	}
	if (optind != argc)
		return ctl_usage_error("use: unexpected argument '%s'",
		                       argv[optind]);
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	/* a serial use waits for its hold: the daemon's may be up to 1 h */
	if (use.mode == MOCKRES__USE_MODE__SERIAL)
		ctl->timeout_s +=
		    (int)((use.has_hold_ms ? use.hold_ms
		                           : MOCKRES_HOLD_MS_MAX) /
		          1000);
	ctl_use_start_us = clock_now_us();
	return ctl_call(ctl, &req, ctl_use_reply);
}

static int
ctl_setting_reply(struct ctl *ctl, const Mockres__Response *resp)
{
	int rc = ctl_status_exit(ctl, resp);

	if (rc != CTL_OK || resp->stats == NULL)
		return rc == CTL_OK ? CTL_ERROR : rc;
	if (ctl->json) {
		ctl_print_json_stats(resp->stats, 0);
	} else {
		if (resp->stats->limit == 0)
			printf("limit: none\n");
		else
			printf("limit: %u\n", resp->stats->limit);
		printf("hold: %u ms\npeak: %llu\n", resp->stats->hold_ms,
		       (unsigned long long)resp->stats->peak);
	}
	return CTL_OK;
}

/* limit [N], hold [MS], reset-peak: show, or change then show. */
static int
ctl_cmd_setting(struct ctl *ctl, const char *cmd, int argc, char *argv[])
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	Mockres__SetLimit sl = MOCKRES__SET_LIMIT__INIT;
	Mockres__SetHold sh = MOCKRES__SET_HOLD__INIT;
	Mockres__ResetPeak rp = MOCKRES__RESET_PEAK__INIT;
	uint64_t v;

	if (argc > 2 || (argc == 2 && strcmp(cmd, "reset-peak") == 0))
		return ctl_usage_error("%s: too many arguments", cmd);
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	if (strcmp(cmd, "reset-peak") == 0) {
		req.op_case = MOCKRES__REQUEST__OP_RESET_PEAK;
		req.reset_peak = &rp;
	} else if (argc == 2 && strcmp(cmd, "limit") == 0) {
		if (parse_u64(argv[1], 0, MOCKRES_LIMIT_MAX, &v) == -1)
			return ctl_usage_error(
			    "limit: N must be a whole number "
			    "0.." MOCKRES_STR(
			        MOCKRES_LIMIT_MAX) " (0 = no limit), not '%s'",
			    argv[1]);
		sl.has_limit = 1;
		sl.limit = (uint32_t)v;
		req.op_case = MOCKRES__REQUEST__OP_SET_LIMIT;
		req.set_limit = &sl;
	} else if (argc == 2) {
		if (parse_u64(argv[1], 0, MOCKRES_HOLD_MS_MAX, &v) == -1)
			return ctl_usage_error(
			    "hold: MS must be a whole number "
			    "0.." MOCKRES_STR(MOCKRES_HOLD_MS_MAX) ", not '%s'",
			    argv[1]);
		sh.has_hold_ms = 1;
		sh.hold_ms = (uint32_t)v;
		req.op_case = MOCKRES__REQUEST__OP_SET_HOLD;
		req.set_hold = &sh;
	}
	return ctl_call(ctl, &req, ctl_setting_reply);
}

static int
ctl_run(struct ctl *ctl, int argc, char *argv[])
{
	const char *cmd = argv[0];
	int rc;

	if (strcmp(cmd, "watch") == 0)
		return ctl_watch(ctl, argc, argv);
	if (strcmp(cmd, "bench") == 0)
		return ctl_bench(ctl, argc, argv);
	if (strcmp(cmd, "status") != 0 && strcmp(cmd, "clients") != 0 &&
	    strcmp(cmd, "use") != 0 && strcmp(cmd, "limit") != 0 &&
	    strcmp(cmd, "hold") != 0 && strcmp(cmd, "reset-peak") != 0 &&
	    strcmp(cmd, "model") != 0)
		return ctl_usage_error("unknown command '%s'", cmd);
	if ((strcmp(cmd, "status") == 0 || strcmp(cmd, "clients") == 0) &&
	    argc > 1)
		return ctl_usage_error("%s: unexpected argument '%s'", cmd,
		                       argv[1]);
	if (strcmp(cmd, "status") == 0)
		rc = ctl_cmd_status(ctl, 0);
	else if (strcmp(cmd, "clients") == 0)
		rc = ctl_cmd_status(ctl, 1);
	else if (strcmp(cmd, "use") == 0)
		rc = ctl_cmd_use(ctl, argc, argv);
	else if (strcmp(cmd, "model") == 0)
		rc = ctl_model(ctl, argc, argv);
	else
		rc = ctl_cmd_setting(ctl, cmd, argc, argv);
	mrclient_free(ctl->mc);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct ctl ctl;
	const char *flag = NULL, *why;
	int ch, verbose = 0, rc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.timeout_s = CTL_REPLY_TIMEOUT_S;
	while ((ch = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			flag = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			ctl_usage(stdout);
			return CTL_OK;
		case 'V':
			printf("mockresctl %s\n", MOCKRES_VERSION);
			return CTL_OK;
		default:
			ctl_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind == argc)
		return ctl_usage_error("no command given");
	log_init("mockresctl", verbose);
	signal(SIGPIPE, SIG_IGN);
	if ((ctl.path = sockpath_resolve(flag, &why)) == NULL)
		return ctl_usage_error("%s", why);
	if ((ctl.base = event_base_new()) == NULL) {
		fprintf(stderr, "mockresctl: cannot create an event base\n");
		return CTL_ERROR;
	}
	rc = ctl_run(&ctl, argc - optind, argv + optind);
	event_base_free(ctl.base);
	return rc;
}
