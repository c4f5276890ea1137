/*
 * mockresd.c: the resource daemon's start-up, signals and shutdown.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "rlimit.h"
#include "mockresd.h"
#include "parse.h"
#include "sdnotify.h"
#include "sockpath.h"

static const char *mockresd_path;
static int mockresd_owns_path; /* we created the file: remove it at exit */

static void
mockresd_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mockresd [--socket PATH] [--limit N] [--hold-ms MS] [-v]\n"
	    "\n"
	    "The mockres resource daemon: admits uses of a mock resource held\n"
	    "for --hold-ms, refuses them (BUSY) past --limit in flight.\n"
	    "\n"
	    "  --socket PATH  listen here (default: $MOCKRES_SOCKET, else\n"
	    "                 " SOCKPATH_DEFAULT "; or systemd's socket)\n"
	    "  --limit N      uses in flight at once, 0 = no limit "
	    "(default 15)\n"
	    "  --hold-ms MS   how long each use holds the resource "
	    "(default 500)\n"
	    "  -v, --verbose  debug logs\n"
	    "  --help, --version\n");
}

static void
mockresd_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                   struct sockaddr *sa, int salen, void *arg)
{
	conn_accept(fd);
}

static void
mockresd_accept_error_cb(struct evconnlistener *l, void *arg)
{
	/* EMFILE and the like: the next accept may succeed, keep going. */
	log_warn("accept");
}

static void
mockresd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	if (mrd->shutting_down) {
		log_info("second signal %d: exiting with %llu holds in flight",
		         (int)sig, (unsigned long long)mrd->res.in_flight);
		event_base_loopbreak(mrd->base);
		return;
	}
	log_info("signal %d: shutting down after %llu holds in flight end",
	         (int)sig, (unsigned long long)mrd->res.in_flight);
	sdnotify_send("STOPPING=1");
	mrd->shutting_down = 1;
	if (mrd->listener != NULL) {
		evconnlistener_free(mrd->listener);
		mrd->listener = NULL;
	}
	daemon_check_exit();
}

static int
mockresd_open_socket(const char *flag)
{
	char err[512];
	const char *why;
	int fd;

	if ((fd = sdnotify_listen_fd()) != -1) {
		log_debug("using the socket passed by systemd");
		return fd;
	}
	if ((mockresd_path = sockpath_resolve(flag, &why)) == NULL)
		fatalx("%s", why);
	if (strcmp(mockresd_path, SOCKPATH_DEFAULT) == 0)
		mkdir("/run/mockres", 0755); /* EEXIST is fine */
	if ((fd = listen_unix(mockresd_path, err, sizeof(err))) == -1)
		fatalx("%s", err);
	mockresd_owns_path = 1;
	return fd;
}

/*
 * epoll_wait takes milliseconds and libevent rounds a timeout up, so a
 * hold used to end 0..1 ms late; a precise timer (a timerfd) ends it within
 * microseconds, which is what a 500 ms hold should mean.
 */
static struct event_base *
mockresd_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"limit", required_argument, NULL, 'l'},
	    {"hold-ms", required_argument, NULL, 'H'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct mockresd state;
	struct event_base *base;
	struct event *sigterm, *sigint;
	struct conn *c;
	const char *socket_flag = NULL;
	uint64_t limit = LIMIT_DEFAULT, hold_ms = HOLD_MS_DEFAULT;
	int ch, verbose = 0, fd;

	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			socket_flag = optarg;
			break;
		case 'l':
			if (parse_u64(optarg, 0, MOCKRES_LIMIT_MAX, &limit) ==
			    -1) {
				fprintf(stderr,
				        "mockresd: --limit must be a "
				        "whole number 0.." MOCKRES_STR(
				            MOCKRES_LIMIT_MAX) " (0 = no "
				                               "limit), not "
				                               "'%s'\n",
				        optarg);
				return 2;
			}
			break;
		case 'H':
			if (parse_u64(optarg, 0, MOCKRES_HOLD_MS_MAX,
			              &hold_ms) == -1) {
				fprintf(stderr,
				        "mockresd: --hold-ms must be a "
				        "whole number 0.." MOCKRES_STR(
				            MOCKRES_HOLD_MS_MAX) ", not '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			mockresd_usage(stdout);
			return 0;
		case 'V':
			printf("mockresd %s\n", MOCKRES_VERSION);
			return 0;
		default:
			mockresd_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mockresd: unexpected argument '%s'\n",
		        argv[optind]);
		mockresd_usage(stderr);
		return 2;
	}
	log_init("mockresd", verbose);
	signal(SIGPIPE, SIG_IGN);
	rlimit_raise_nofile();

	fd = mockresd_open_socket(socket_flag);
	if ((base = mockresd_base()) == NULL)
		fatalx("cannot create the event base");
	daemon_init(&state, base, (uint32_t)limit, (uint32_t)hold_ms);
	mrd->listener = evconnlistener_new(mrd->base, mockresd_accept_cb, NULL,
	                                   LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (mrd->listener == NULL)
		fatalx("cannot listen on the socket");
	evconnlistener_set_error_cb(mrd->listener, mockresd_accept_error_cb);
	sigterm = evsignal_new(mrd->base, SIGTERM, mockresd_signal_cb, NULL);
	sigint = evsignal_new(mrd->base, SIGINT, mockresd_signal_cb, NULL);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL))
		fatalx("cannot set up signal handling");

	log_info("ready on %s: limit %u, hold %u ms",
	         mockresd_path ? mockresd_path : "the systemd socket",
	         mrd->res.limit, mrd->res.hold_ms);
	sdnotify_send("READY=1");
	event_base_dispatch(mrd->base);

	if (mockresd_owns_path)
		unlink(mockresd_path);
	log_info("exiting: admitted %llu, rejected %llu, completed %llu",
	         (unsigned long long)mrd->res.admitted,
	         (unsigned long long)mrd->res.rejected,
	         (unsigned long long)mrd->res.completed);

	/* Free everything, so that leak checkers report only real leaks. */
	while ((c = TAILQ_FIRST(&mrd->conns)) != NULL)
		conn_close(c, NULL);
	holds_free(&mrd->holds);
	if (mrd->listener != NULL)
		evconnlistener_free(mrd->listener);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	return 0;
}
