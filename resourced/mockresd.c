/*
 * mockresd.c: the resource daemon's start-up, its loop with the
 * end-of-turn hook, signals and shutdown.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accept.h"
#include "clock.h"
#include "log.h"
#include "rlimit.h"
#include "mockresd.h"
#include "parse.h"
#include "sdnotify.h"
#include "sockpath.h"

static const char *mockresd_path;
static int mockresd_owns_path; /* we created the file and still hold it */
static struct listen_file mockresd_file; /* which file that is */
static int mockresd_done;                /* leave the loop after this turn */

static void
mockresd_usage(FILE *f)
{
	size_t i;

	fprintf(
	    f,
	    "usage: mockresd [--socket PATH] [--limit N] [--MODEL-KEY VALUE "
	    "...] [-v]\n"
	    "\n"
	    "The mockres resource daemon: admits uses of a mock resource, "
	    "queues them\n"
	    "for a slot or refuses them (BUSY) past --limit, and serves each "
	    "as its\n"
	    "model says.\n"
	    "\n"
	    "  --socket PATH  listen here (default: $MOCKRES_SOCKET, else\n"
	    "                 " SOCKPATH_DEFAULT "; or systemd's socket)\n"
	    "  --limit N      uses in the resource at once (in service + "
	    "waiting),\n"
	    "                 0 = no limit (default 15)\n"
	    "  -v, --verbose  debug logs\n"
	    "  --help, --version\n"
	    "\n"
	    "The model (also $MOCKRES_MODEL: a preset name and/or "
	    "key=value words;\n"
	    "flags win; `mockresctl model` shows it, `mockresctl model set` "
	    "changes it):\n");
	for (i = 0; i < model_nkeys(); i++)
		fprintf(f, "  --%-18s %s\n", model_key_name(i),
		        model_key_help(i));
	fprintf(f, "\nPresets (MOCKRES_MODEL=NAME):\n");
	{
		const struct model_preset_info *p;
		size_t n;

		p = model_presets(&n);
		for (i = 0; i < n; i++)
			fprintf(f, "  %-14s %s\n", p[i].name, p[i].summary);
	}
}

static void
mockresd_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                   struct sockaddr *sa, int salen, void *arg)
{
	conn_accept(fd);
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
	log_info("drain deadline: %llu uses still in service after %d s are "
	         "cut short (answered SHUTTING_DOWN, counted cancelled)",
	         (unsigned long long)mrd->engine.in_flight, MOCKRESD_DRAIN_S);
	engine_cut_serving(&mrd->engine, clock_now_us());
	resource_arm();
	conn_flush_all();
	mockresd_done = 1;
}

/*
 * Stops accepting, and gives up the socket path at the same moment: the
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
	if (mockresd_owns_path) {
		listen_unlink(mockresd_path, &mockresd_file);
		mockresd_owns_path = 0;
	}
	if (mrd->listener != NULL) {
		accept_unguard(mrd->listener);
		evconnlistener_free(mrd->listener);
		mrd->listener = NULL;
	}
}

static void
mockresd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval drain = {MOCKRESD_DRAIN_S, 0};

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
 * beforeSleep): write the turn's replies, each connection's with one
 * writev, then see whether a shutting-down daemon is done, that is, no use
 * is in the resource and every reply has been written (a socket that took
 * only part is written by its bufferevent in a later turn, and this hook
 * runs again after it).  Whatever ends a use, closes a client or drains a
 * socket is a callback, so this one place sees it.
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
	log_info("SIGHUP: nothing to reload (change the limit, the hold and "
	         "the model with mockresctl); %llu uses in service and %llu "
	         "waiting go on",
	         (unsigned long long)mrd->engine.in_flight,
	         (unsigned long long)mrd->engine.waiting);
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
	if ((fd = listen_unix(mockresd_path, &mockresd_file, err,
	                      sizeof(err))) == -1)
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

/* Up to 6 fixed options, one per model key, and the terminator. */
#define MOCKRESD_OPTS_MAX 32
#define MOCKRESD_OPT_KEY  256 /* getopt value of model key i: 256 + i */

struct mockresd_config {
	const char *socket_flag;
	uint64_t limit;
	struct model model;
	int verbose;
};

static int
mockresd_args(int argc, char *argv[], struct mockresd_config *cf)
{
	static const struct option fixed[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"limit", required_argument, NULL, 'l'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	};
	struct option opts[MOCKRESD_OPTS_MAX];
	char err[MODEL_ERR_MAX];
	const char *env;
	size_t i, n = 0;
	int ch;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		opts[n++] = fixed[i];
	for (i = 0; i < model_nkeys() && n + 1 < MOCKRESD_OPTS_MAX; i++) {
		opts[n].name = model_key_name(i);
		opts[n].has_arg = required_argument;
		opts[n].flag = NULL;
		opts[n++].val = MOCKRESD_OPT_KEY + (int)i;
	}
	memset(&opts[n], 0, sizeof(opts[n]));

	if ((env = getenv("MOCKRES_MODEL")) != NULL &&
	    model_apply(&cf->model, env, cf->model.cores, err, sizeof(err)) ==
	        -1) {
		fprintf(stderr, "mockresd: MOCKRES_MODEL: %s\n", err);
		return 2;
	}
	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (ch >= MOCKRESD_OPT_KEY) {
			if (model_set(
			        &cf->model,
			        model_key_name((size_t)(ch - MOCKRESD_OPT_KEY)),
			        optarg, err, sizeof(err)) == -1) {
				fprintf(stderr, "mockresd: --%s\n", err);
				return 2;
			}
			continue;
		}
		switch (ch) {
		case 's':
			cf->socket_flag = optarg;
			break;
		case 'l':
			if (parse_u64(optarg, 0, MOCKRES_LIMIT_MAX,
			              &cf->limit) == -1) {
				fprintf(stderr,
				        "mockresd: --limit must be a whole "
				        "number 0.." MOCKRES_STR(
				            MOCKRES_LIMIT_MAX) " (0 = no "
				                               "limit), not "
				                               "'%s'\n",
				        optarg);
				return 2;
			}
			break;
		case 'v':
			cf->verbose = 1;
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
	return -1;
}

int
main(int argc, char *argv[])
{
	struct mockresd_config cf;
	struct mockresd state;
	struct event_base *base;
	struct event *sigterm, *sigint, *sighup;
	struct conn *c;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char what[128];
	int fd, r;

	memset(&cf, 0, sizeof(cf));
	cf.limit = MOCKRES_LIMIT_DEFAULT;
	model_defaults(&cf.model, ncpu > 0 ? (uint32_t)ncpu : 1);
	if ((r = mockresd_args(argc, argv, &cf)) != -1)
		return r;
	log_init("mockresd", cf.verbose);
	signal(SIGPIPE, SIG_IGN);
	rlimit_raise_nofile();

	fd = mockresd_open_socket(cf.socket_flag);
	if ((base = mockresd_base()) == NULL)
		fatalx("cannot create the event base");
	conn_init(&state, base);
	dispatch_init((uint32_t)cf.limit, &cf.model);
	mrd->listener = evconnlistener_new(mrd->base, mockresd_accept_cb, NULL,
	                                   LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (mrd->listener == NULL)
		fatalx("cannot listen on the socket");
	/* Out of fds, pause accepting instead of spinning on EMFILE. */
	snprintf(what, sizeof(what), "socket %s",
	         mockresd_path ? mockresd_path : "from systemd");
	if (accept_guard(mrd->listener, what) == -1)
		fatalx("cannot guard the listener");
	sigterm = evsignal_new(mrd->base, SIGTERM, mockresd_signal_cb, NULL);
	sigint = evsignal_new(mrd->base, SIGINT, mockresd_signal_cb, NULL);
	sighup = evsignal_new(mrd->base, SIGHUP, mockresd_sighup_cb, NULL);
	if (sigterm == NULL || sigint == NULL || sighup == NULL ||
	    evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL) ||
	    evsignal_add(sighup, NULL))
		fatalx("cannot set up signal handling");

	log_info("ready on %s: limit %u, model %s (hold %u ms, slots %u, "
	         "contention %s)",
	         mockresd_path ? mockresd_path : "the systemd socket",
	         mrd->engine.limit, mrd->preset[0] ? mrd->preset : "custom",
	         mrd->engine.model.hold_ms, mrd->engine.model.slots,
	         model_contention_name(mrd->engine.model.contention));
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

	/* Free everything, so that leak checkers report only real leaks.
	 * Clients closed with uses still in service (a second signal) are
	 * freed by the engine's memory going away with them. */
	while ((c = TAILQ_FIRST(&mrd->conns)) != NULL)
		conn_close(c, NULL);
	resource_free(mrd);
	report_free_all();
	if (mrd->drain != NULL)
		event_free(mrd->drain);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(base);
	return 0;
}
