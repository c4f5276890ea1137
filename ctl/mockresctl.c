/*
 * mockresctl.c: command-line client of mockresd: flags, the command table
 * and the one-request-one-reply commands (status, clients, use, limit,
 * hold, reset-peak).
 */
#include <getopt.h>
#include <signal.h>
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

/* status and clients: the same snapshot, printed two ways. */
static int
ctl_stats_reply(struct ctl *ctl, const Mockres__Response *resp)
{
	int rc = ctl_exit_stats(resp);

	if (rc != CTL_OK)
		return rc;
	if (ctl->clients)
		ctl_print_clients(ctl, resp->stats);
	else
		ctl_print_status(ctl, resp->stats);
	return CTL_OK;
}

static int
ctl_cmd_stats(struct ctl *ctl, int argc, char *argv[], int clients)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;

	if (argc > 1)
		return ctl_exit_usage("%s: unexpected argument '%s'", argv[0],
		                      argv[1]);
	sr.has_clients = 1;
	sr.clients = clients;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	ctl->clients = clients;
	return ctl_call(ctl, &req, ctl_stats_reply);
}

static int
ctl_cmd_status(struct ctl *ctl, int argc, char *argv[])
{
	return ctl_cmd_stats(ctl, argc, argv, 0);
}

static int
ctl_cmd_clients(struct ctl *ctl, int argc, char *argv[])
{
	return ctl_cmd_stats(ctl, argc, argv, 1);
}

static uint64_t ctl_use_start_us;

static int
ctl_use_reply(struct ctl *ctl, const Mockres__Response *resp)
{
	double ms = (double)(clock_now_us() - ctl_use_start_us) / 1000.0;
	int rc = ctl_exit_status(resp);

	if (ctl->json)
		printf("{\"status\":\"%s\",\"elapsed_ms\":%.1f}\n",
		       names_status(resp->status), ms);
	else if (rc == CTL_OK)
		printf("%s after %.1f ms\n", names_status(resp->status), ms);
	return rc;
}

/*
 * The longest a serial use can take under mockresd's model, into
 * ctl->hold_wait_ms: the hold; for uniform draws, plus the spread; with
 * slots, plus the queue timeout.  Lognormal draws, contention and a queue
 * without a timeout can take up to the 1 h cap; a stopped mockresd is still
 * given up after CTL_REPLY_TIMEOUT_S, since it stops answering the pings.
 */
static void
ctl_use_bound(struct ctl *ctl, const Mockres__Stats *st)
{
	const Mockres__Model *m = st->model;
	uint64_t ms = st->hold_ms;
	int capped = 0;

	if (m != NULL) {
		if (m->hold_dist == MOCKRES__HOLD_DIST__HOLD_UNIFORM)
			ms += m->hold_spread;
		if (m->hold_dist == MOCKRES__HOLD_DIST__HOLD_LOGNORMAL ||
		    m->contention != MOCKRES__CONTENTION__CONTENTION_NONE) {
			ms = MOCKRES_HOLD_MS_MAX;
			capped = 1;
		}
		if (m->slots > 0)
			ms += m->queue_timeout_ms > 0 ? m->queue_timeout_ms
			                              : MOCKRES_HOLD_MS_MAX;
	}
	ctl->hold_wait_ms = ms;
	if (m == NULL || (ms == st->hold_ms && !capped))
		snprintf(ctl->hold_wait_what, sizeof(ctl->hold_wait_what),
		         "mockresd's hold of %u ms", st->hold_ms);
	else
		snprintf(ctl->hold_wait_what, sizeof(ctl->hold_wait_what),
		         "the longest its model can take, %llu ms",
		         (unsigned long long)ms);
}

static int
ctl_use_hold_reply(struct ctl *ctl, const Mockres__Response *resp)
{
	int rc = ctl_exit_stats(resp);

	if (rc != CTL_OK)
		return rc;
	ctl_use_bound(ctl, resp->stats);
	return CTL_OK;
}

/* Asks mockresd for its current hold, within the plain reply timeout. */
static int
ctl_use_learn_hold(struct ctl *ctl)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;

	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	ctl->hold_wait_ms = 0;
	return ctl_call(ctl, &req, ctl_use_hold_reply);
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
	int ch, rc;

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
				return ctl_exit_usage(
				    "use: --hold-ms must be "
				    "0.." MOCKRES_STR(
				        MOCKRES_HOLD_MS_MAX) ", not '%s'",
				    optarg);
			use.has_hold_ms = 1;
			use.hold_ms = (uint32_t)hold;
			break;
		default:
			return ctl_exit_usage("use: unknown option");
		}
	}
	if (optind != argc)
		return ctl_exit_usage("use: unexpected argument '%s'",
		                      argv[optind]);
	/* A serial use waits for its hold as well as for the reply: the hold
	 * asked for, else the daemon's, which it tells first. */
	if (use.mode == MOCKRES__USE_MODE__SERIAL && use.has_hold_ms) {
		ctl->hold_wait_ms = use.hold_ms;
		snprintf(ctl->hold_wait_what, sizeof(ctl->hold_wait_what),
		         "the %u ms hold asked for", use.hold_ms);
	} else if (use.mode == MOCKRES__USE_MODE__SERIAL &&
	           (rc = ctl_use_learn_hold(ctl)) != CTL_OK) {
		return rc;
	}
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	ctl_use_start_us = clock_now_us();
	return ctl_call(ctl, &req, ctl_use_reply);
}

static int
ctl_setting_reply(struct ctl *ctl, const Mockres__Response *resp)
{
	int rc = ctl_exit_status(resp);

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
ctl_cmd_setting(struct ctl *ctl, int argc, char *argv[])
{
	const char *cmd = argv[0];
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	Mockres__SetLimit sl = MOCKRES__SET_LIMIT__INIT;
	Mockres__SetHold sh = MOCKRES__SET_HOLD__INIT;
	Mockres__ResetPeak rp = MOCKRES__RESET_PEAK__INIT;
	uint64_t v;

	if (argc > 2 || (argc == 2 && strcmp(cmd, "reset-peak") == 0))
		return ctl_exit_usage("%s: too many arguments", cmd);
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	if (strcmp(cmd, "reset-peak") == 0) {
		req.op_case = MOCKRES__REQUEST__OP_RESET_PEAK;
		req.reset_peak = &rp;
	} else if (argc == 2 && strcmp(cmd, "limit") == 0) {
		if (parse_u64(argv[1], 0, MOCKRES_LIMIT_MAX, &v) == -1)
			return ctl_exit_usage(
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
			return ctl_exit_usage(
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

/*
 * The commands: --help is printed from this table and ctl_run() looks the
 * command up in it.  One row per form; a command with several forms
 * (model) has several rows with the same name and handler.  ADMIN: the
 * form changes mockresd, which only root or mockresd's own user may do
 * (mockresd checks; others get exit 4).
 */
struct ctl_cmd {
	const char *name;
	int (*run)(struct ctl *, int argc, char *argv[]);
	const char *usage;
	const char *help;
	int admin;
};

static const struct ctl_cmd ctl_cmds[] = {
    {"status", ctl_cmd_status, "status", "counts, limit, hold, peak", 0},
    {"watch", ctl_watch, "watch [-i MS]",
     "follow the counts live (default every 500 ms)", 0},
    {"clients", ctl_cmd_clients, "clients",
     "connected clients and their counts", 0},
    {"use", ctl_cmd_use, "use [--async] [--hold-ms MS]",
     "use the resource once", 0},
    {"limit", ctl_cmd_setting, "limit [N]",
     "show or set the limit (0 = no limit)", 1},
    {"hold", ctl_cmd_setting, "hold [MS]", "show or set the hold time", 1},
    {"reset-peak", ctl_cmd_setting, "reset-peak",
     "set the peak to the current count", 1},
    {"model", ctl_model, "model", "show the resource model", 0},
    {"model", ctl_model, "model set KEY=VALUE ...",
     "change it (keys: see `model`)", 1},
    {"model", ctl_model, "model preset NAME",
     "io, api, pool, ecto, cpu, overloaded-db", 1},
    {"bench", ctl_bench,
     "bench [-c CONCURRENCY] [-n TOTAL] [-P PIPELINE] [--async] "
     "[--hold-ms MS | --model-hold]",
     "load mockresd, print ops/s and latency", 0},
};

#define CTL_USAGE_COL 30 /* where the help text of a command starts */

static void
ctl_usage(FILE *f)
{
	size_t i;
	int n, pad;

	fprintf(f,
	        "usage: mockresctl [--socket PATH | --socket tls://HOST:PORT "
	        "[--tls-cert FILE\n"
	        "                  --tls-key FILE --tls-ca FILE]] [--json] "
	        "[-v] COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		n = fprintf(f, "  %s", ctl_cmds[i].usage);
		pad = CTL_USAGE_COL - n;
		/* A long usage: its help after it if the line stays
		 * within 79 columns, else under it. */
		if (pad < 2) {
			pad = 2;
			if (n + pad + (int)strlen(ctl_cmds[i].help) > 79) {
				fprintf(f, "\n");
				pad = CTL_USAGE_COL;
			}
		}
		fprintf(f, "%*s%s%s\n", pad, "", ctl_cmds[i].help,
		        ctl_cmds[i].admin ? " *" : "");
	}
	fprintf(f, "\n  * to change mockresd: run as root or as the user "
	           "mockresd runs as\n"
	           "    (over TLS: a certificate whose CN mockresd lists as an "
	           "admin)\n");
	fprintf(f,
	        "\n"
	        "  --socket PATH  mockresd's socket (default: $MOCKRES_SOCKET, "
	        "else\n"
	        "                 " SOCKPATH_DEFAULT "), or "
	        "tls://HOST:PORT\n"
	        "  --tls-cert FILE, --tls-key FILE  this client's certificate "
	        "and key, PEM\n"
	        "                 ($MOCKRES_TLS_CERT, $MOCKRES_TLS_KEY)\n"
	        "  --tls-ca FILE  the CA mockresd's certificate must be signed "
	        "by ($MOCKRES_TLS_CA)\n"
	        "  --json         machine-readable output\n"
	        "\n"
	        "exit status: 0 ok, 1 resource busy, 2 usage error, 3 mockresd "
	        "unreachable,\n"
	        "4 permission denied, 5 other error from mockresd\n");
}

/* Runs ARGV[0] with its arguments; the connection it made is closed. */
static int
ctl_run(struct ctl *ctl, int argc, char *argv[])
{
	size_t i;
	int rc;

	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (strcmp(ctl_cmds[i].name, argv[0]) == 0)
			break;
	if (i == sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))
		return ctl_exit_usage("unknown command '%s'", argv[0]);
	rc = ctl_cmds[i].run(ctl, argc, argv);
	mrclient_free(ctl->mc);
	ctl->mc = NULL;
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
	    ENDPOINT_CLIENT_OPTIONS,
	    {"json", no_argument, NULL, 'j'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct endpoint_flags fl = {NULL, {NULL, NULL, NULL}};
	struct ctl ctl;
	char err[512];
	int ch, verbose = 0, rc;

	memset(&ctl, 0, sizeof(ctl));
	while ((ch = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (ch) {
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
			if (endpoint_flag(&fl, ch, optarg))
				break;
			ctl_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind == argc)
		return ctl_exit_usage("no command given");
	log_init("mockresctl", verbose);
	/* OpenSSL may write an alert to a mockresd that has gone. */
	signal(SIGPIPE, SIG_IGN);
	if (endpoint_client(&fl, &ctl.ep, &ctl.tls, err, sizeof(err)) == -1) {
		fprintf(stderr, "mockresctl: %s\n", err);
		return CTL_USAGE;
	}
	ctl.path = ctl.ep.text;
	if ((ctl.base = event_base_new()) == NULL) {
		fprintf(stderr, "mockresctl: cannot create an event base\n");
		tlsconf_free(&ctl.tls);
		return CTL_ERROR;
	}
	rc = ctl_run(&ctl, argc - optind, argv + optind);
	event_base_free(ctl.base);
	tlsconf_free(&ctl.tls);
	return rc;
}
