/*
 * frontend.c: mockres-frontend's command line and start-up.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"
#include "log.h"
#include "rlimit.h"
#include "parse.h"
#include "sockpath.h"

static void
frontend_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mockres-frontend [--listen ADDR:PORT] [--workers N]\n"
	    "                        [--socket PATH | --socket "
	    "tls://HOST:PORT\n"
	    "                        [--tls-cert FILE --tls-key FILE "
	    "--tls-ca FILE]]\n"
	    "                        [--dashboard-url URL] "
	    "[--request-timeout MS] [-v]\n"
	    "\n"
	    "The mockres HTTP frontend: GET /part1/serial and /part1/async\n"
	    "use the mock resource of mockresd; N pre-forked workers.\n"
	    "\n"
	    "  --listen ADDR:PORT   where to serve HTTP "
	    "(default " FRONTEND_LISTEN_DEFAULT ")\n"
	    "  --workers N          worker processes, 1..%d; 0 = one per "
	    "CPU (default)\n"
	    "  --socket PATH        mockresd's socket (default: "
	    "$MOCKRES_SOCKET,\n"
	    "                       else " SOCKPATH_DEFAULT "),\n"
	    "                       or tls://HOST:PORT\n"
	    "  --tls-cert FILE, --tls-key FILE  the workers' client "
	    "certificate and\n"
	    "                       key, PEM, whose CN mockresd lists as a "
	    "frontend\n"
	    "                       ($MOCKRES_TLS_CERT, $MOCKRES_TLS_KEY)\n"
	    "  --tls-ca FILE        the CA mockresd's certificate must be "
	    "signed by\n"
	    "                       ($MOCKRES_TLS_CA)\n"
	    "  --dashboard-url URL  where GET / and /part1 redirect (default\n"
	    "                       " FRONTEND_DASHBOARD_DEFAULT ")\n"
	    "  --request-timeout MS  answer 504 when mockresd has not "
	    "answered a\n"
	    "                       use within MS, 1..%d (default %d)\n"
	    "  -v, --verbose        debug logs\n"
	    "  --help, --version\n"
	    "\n"
	    "Signals: TERM/INT stop gracefully, HUP replaces the workers one "
	    "by one.\n",
	    FRONTEND_WORKERS_MAX, FRONTEND_REQUEST_TIMEOUT_MAX,
	    FRONTEND_REQUEST_TIMEOUT_DEFAULT);
}

/* An absolute http(s) URL of printable ASCII: it goes into a header. */
static int
frontend_valid_url(const char *url)
{
	size_t i, n = strlen(url);

	if (n == 0 || n > FRONTEND_URL_MAX)
		return 0;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (url[i] <= ' ' || url[i] >= 0x7f)
			return 0;
	return 1;
}

static unsigned
frontend_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	if (n > FRONTEND_WORKERS_MAX)
		return FRONTEND_WORKERS_MAX;
	return (unsigned)n;
}

/*
 * The command line into CONF: -1 to go on, else the exit code (0 after
 * --help or --version, 2 for a bad flag, with its message).
 */
static int
frontend_args(int argc, char *argv[], struct frontend_config *conf)
{
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"workers", required_argument, NULL, 'w'},
	    ENDPOINT_CLIENT_OPTIONS,
	    {"dashboard-url", required_argument, NULL, 'd'},
	    {"request-timeout", required_argument, NULL, 't'},
	    {"verbose", no_argument, NULL, 'v'},
	    /* Hidden: for bench/run's on/off comparison (docs/frontend.md). */
	    {"no-http-timing", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct endpoint_flags fl = {NULL, {NULL, NULL, NULL}};
	char err[512];
	uint64_t n;
	int ch;

	memset(conf, 0, sizeof(*conf));
	conf->listen_str = FRONTEND_LISTEN_DEFAULT;
	conf->dashboard_url = FRONTEND_DASHBOARD_DEFAULT;
	conf->workers = frontend_default_workers();
	conf->http_timing = 1;
	conf->request_timeout_ms = FRONTEND_REQUEST_TIMEOUT_DEFAULT;

	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			conf->listen_str = optarg;
			break;
		case 'w':
			if (parse_u64(optarg, 0, FRONTEND_WORKERS_MAX, &n) ==
			    -1) {
				fprintf(stderr,
				        "mockres-frontend: --workers must be a "
				        "whole number 0..%d (0 = one per CPU), "
				        "not '%s'\n",
				        FRONTEND_WORKERS_MAX, optarg);
				return 2;
			}
			conf->workers =
			    n == 0 ? frontend_default_workers() : (unsigned)n;
			break;
		case 'd':
			if (!frontend_valid_url(optarg)) {
				fprintf(stderr,
				        "mockres-frontend: "
				        "--dashboard-url must be an http:// or "
				        "https:// URL of at most %d printable "
				        "characters, not '%s'\n",
				        FRONTEND_URL_MAX, optarg);
				return 2;
			}
			conf->dashboard_url = optarg;
			break;
		case 't':
			if (parse_u64(optarg, 1, FRONTEND_REQUEST_TIMEOUT_MAX,
			              &conf->request_timeout_ms) == -1) {
				fprintf(
				    stderr,
				    "mockres-frontend: --request-timeout "
				    "must be a whole number of milliseconds "
				    "1..%d, not '%s'\n",
				    FRONTEND_REQUEST_TIMEOUT_MAX, optarg);
				return 2;
			}
			break;
		case 'v':
			conf->verbose = 1;
			break;
		case 'T':
			conf->http_timing = 0;
			break;
		case 'h':
			frontend_usage(stdout);
			return 0;
		case 'V':
			printf("mockres-frontend %s\n", MOCKRES_VERSION);
			return 0;
		default:
			if (endpoint_flag(&fl, ch, optarg))
				break;
			frontend_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mockres-frontend: unexpected argument '%s'\n",
		        argv[optind]);
		frontend_usage(stderr);
		return 2;
	}
	if (parse_listen_addr(conf->listen_str, &conf->listen_ss,
	                      &conf->listen_len) == -1) {
		fprintf(stderr,
		        "mockres-frontend: --listen must be ADDR:PORT "
		        "(e.g. 127.0.0.1:4000 or [::1]:4000), not '%s'\n",
		        conf->listen_str);
		return 2;
	}
	/* The TLS files are read here, once, before any worker starts. */
	if (endpoint_client(&fl, &conf->ep, &conf->tls, err, sizeof(err)) ==
	    -1) {
		fprintf(stderr, "mockres-frontend: %s\n", err);
		return 2;
	}
	conf->socket_path = conf->ep.text;
	return -1;
}

int
main(int argc, char *argv[])
{
	struct frontend_config conf;
	char err[512];
	unsigned i;
	int r, *fds;

	if ((r = frontend_args(argc, argv, &conf)) != -1)
		return r;
	log_init("mockres-frontend", conf.verbose);
	signal(SIGPIPE, SIG_IGN);
	rlimit_raise_nofile();

	if (listen_check_free(&conf.listen_ss, conf.listen_len, err,
	                      sizeof(err)) == -1)
		fatalx("cannot listen on %s: %s", conf.listen_str, err);
	if ((fds = calloc(conf.workers, sizeof(*fds))) == NULL)
		fatal("calloc");
	for (i = 0; i < conf.workers; i++)
		if ((fds[i] = listen_tcp(&conf.listen_ss, conf.listen_len, err,
		                         sizeof(err))) == -1)
			fatalx("cannot listen on %s: %s", conf.listen_str, err);

	r = master_run(&conf, fds);
	free(fds);
	tlsconf_free(&conf.tls);
	return r;
}
