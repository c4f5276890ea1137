/*
 * dashboard.c: mockres-dashboard's start-up, signals and shutdown.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "dashboard.h"
#include "log.h"
#include "rlimit.h"
#include "parse.h"
#include "sdnotify.h"
#include "endpoint.h"

#define DASH_BACKLOG 1024

static void
dashboard_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mockres-dashboard [--listen ADDR:PORT] [--socket PATH |\n"
	    "                         --socket tls://HOST:PORT [--tls-cert "
	    "FILE\n"
	    "                         --tls-key FILE --tls-ca FILE]] [-v]\n"
	    "\n"
	    "The live page of mockres: the in-flight count sampled every "
	    "20 ms,\n"
	    "its rolling average, the limit, and the CPU and memory of each\n"
	    "process.  GET / (the page), /events (Server-Sent Events),\n"
	    "/api/stats (JSON), /metrics (Prometheus).\n"
	    "\n"
	    "  --listen ADDR:PORT  HTTP address (default " DASH_LISTEN_DEFAULT
	    ";\n"
	    "                      [ADDR]:PORT for IPv6)\n"
	    "  --socket PATH       mockresd's socket (default: "
	    "$MOCKRES_SOCKET,\n"
	    "                      else " SOCKPATH_DEFAULT "), or "
	    "tls://HOST:PORT\n"
	    "  --tls-cert FILE, --tls-key FILE  the dashboard's client "
	    "certificate and\n"
	    "                      key, PEM ($MOCKRES_TLS_CERT, "
	    "$MOCKRES_TLS_KEY)\n"
	    "  --tls-ca FILE       the CA mockresd's certificate must be "
	    "signed by\n"
	    "                      ($MOCKRES_TLS_CA)\n"
	    "  -v, --verbose       debug logs\n"
	    "  --help, --version\n");
}

static void
dashboard_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: exiting", (int)sig);
	event_base_loopbreak(arg);
}

/* SIGHUP: nothing to reload (every setting is a flag, the logs go to
 * stderr), but the dashboard must not die of it as by default. */
static void
dashboard_sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("SIGHUP: nothing to reload (settings come from the command "
	         "line; restart to change them); still serving");
}

struct dashboard_config {
	const char *listen; /* as given, for messages */
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct endpoint ep; /* mockresd: a Unix socket or tls://HOST:PORT */
	struct tlsconf tls; /* for a tls:// one */
	uint64_t history_s;
	int history_prefill;
	int verbose;
};

/*
 * The command line into CF: -1 to go on, else the exit code (0 after
 * --help or --version, 2 for a bad flag, with its message).
 */
static int
dashboard_args(int argc, char *argv[], struct dashboard_config *cf)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    ENDPOINT_CLIENT_OPTIONS,
	    {"verbose", no_argument, NULL, 'v'},
	    /* Hidden: a shorter history, for tests (docs/dashboard.md). */
	    {"history-seconds", required_argument, NULL, 'H'},
	    /* Hidden: a made-up full history at start, for tests. */
	    {"history-prefill", no_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct endpoint_flags fl = {NULL, {NULL, NULL, NULL}};
	char err[512];
	int ch;

	memset(cf, 0, sizeof(*cf));
	cf->listen = DASH_LISTEN_DEFAULT;
	cf->history_s = HISTORY_WINDOW_S;
	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			cf->listen = optarg;
			break;
		case 'v':
			cf->verbose = 1;
			break;
		case 'H':
			if (parse_u64(optarg, 1, HISTORY_WINDOW_S,
			              &cf->history_s) == -1) {
				fprintf(stderr,
				        "mockres-dashboard: --history-seconds "
				        "must be 1..%d, not '%s'\n",
				        HISTORY_WINDOW_S, optarg);
				return 2;
			}
			break;
		case 'P':
			cf->history_prefill = 1;
			break;
		case 'h':
			dashboard_usage(stdout);
			return 0;
		case 'V':
			printf("mockres-dashboard %s\n", MOCKRES_VERSION);
			return 0;
		default:
			if (endpoint_flag(&fl, ch, optarg))
				break;
			dashboard_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mockres-dashboard: unexpected argument '%s'\n",
		        argv[optind]);
		dashboard_usage(stderr);
		return 2;
	}
	if (parse_listen_addr(cf->listen, &cf->ss, &cf->sslen) == -1) {
		fprintf(stderr,
		        "mockres-dashboard: --listen takes ADDR:PORT "
		        "(e.g. 127.0.0.1:4001 or [::1]:4001) with a port of "
		        "1..65535, not '%s'\n",
		        cf->listen);
		return 2;
	}
	if (endpoint_client(&fl, &cf->ep, &cf->tls, err, sizeof(err)) == -1) {
		fprintf(stderr, "mockres-dashboard: %s\n", err);
		return 2;
	}
	return -1;
}

/* A non-blocking listening socket on CF's address, or -1 (errno set). */
static int
dashboard_listen(const struct dashboard_config *cf)
{
	int fd, on = 1, e;

	fd = socket(cf->ss.ss_family,
	            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, (const struct sockaddr *)&cf->ss, cf->sslen) == -1 ||
	    listen(fd, DASH_BACKLOG) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
main(int argc, char *argv[])
{
	struct dashboard_config cf;
	struct event_base *base;
	struct event *sigterm, *sigint, *sighup;
	static struct dash dash; /* big (the history's rings are not) */
	struct dash *d = &dash;
	int r, fd;

	if ((r = dashboard_args(argc, argv, &cf)) != -1)
		return r;
	/* Memory that clients took goes back when they leave (issue 21):
	 * see DASH_MMAP_THRESHOLD. */
	mallopt(M_MMAP_THRESHOLD, DASH_MMAP_THRESHOLD);
	log_init("mockres-dashboard", cf.verbose);
	signal(SIGPIPE, SIG_IGN);
	rlimit_raise_nofile();

	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event base");
	if ((fd = dashboard_listen(&cf)) == -1)
		fatal("cannot listen on %s (another dashboard running? pick "
		      "another with --listen)",
		      cf.listen);

	d->base = base;
	sse_init(&d->sse);
	runs_init(&d->runs);
	if (history_init(&d->history, (unsigned)cf.history_s,
	                 sysconf(_SC_CLK_TCK)) == -1 ||
	    traffic_init(&d->traffic) == -1)
		fatalx("out of memory for the history");
	if (cf.history_prefill)
		history_prefill(&d->history, clock_now_ms());
	feed_init(d, cf.ep.text, &cf.tls);
	/* (accept pauses on EMFILE instead of spinning: common/accept.c) */
	if (web_init(d, fd, cf.listen) == -1)
		fatalx("cannot set up the HTTP server");

	sigterm = evsignal_new(base, SIGTERM, dashboard_signal_cb, base);
	sigint = evsignal_new(base, SIGINT, dashboard_signal_cb, base);
	sighup = evsignal_new(base, SIGHUP, dashboard_sighup_cb, NULL);
	if (sigterm == NULL || sigint == NULL || sighup == NULL ||
	    evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL) ||
	    evsignal_add(sighup, NULL))
		fatalx("cannot set up signal handling");

	log_info("serving http://%s/ for mockresd at %s", cf.listen,
	         cf.ep.text);
	sdnotify_send("READY=1");
	event_base_dispatch(base);

	sdnotify_send("STOPPING=1");
	web_free(d); /* closes the listening socket too */
	sse_free(&d->sse);
	feed_free(d);
	traffic_free(&d->traffic);
	history_free(&d->history);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(base);
	tlsconf_free(&cf.tls);
	return 0;
}
