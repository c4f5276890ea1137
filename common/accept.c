/*
 * accept.c: pausing a listener whose accept() fails (see accept.h).
 *
 * Each guarded listener is in one of three states: accepting; paused
 * (disabled, the timer re-enables it); or on probation (enabled again, the
 * timer checks that no accept failed meanwhile and then logs the
 * recovery).  Its owner may also hold it (accept_hold): held, it stays
 * disabled whatever the state, and a pause that ends while it is held
 * waits for the release.  The guard is the one place that enables a
 * guarded listener, so that a pause and a hold never undo each other.  libevent
 * passes the error callback the listener's user argument, which belongs to
 * whoever made the listener (evhttp passes its own struct), so a guard is found
 * by its listener pointer.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "accept.h"
#include "clock.h"
#include "log.h"

enum accept_state { ACCEPT_OK, ACCEPT_PAUSED, ACCEPT_PROBATION };

struct accept_guard {
	struct evconnlistener *l;
	struct event *timer;
	enum accept_state state;
	int held; /* by its owner (accept_hold) */
	char what[96];
	unsigned long long failed;   /* accept() failures since the first */
	unsigned long long unlogged; /* of which not yet in a log line */
	uint64_t first_ms, logged_ms;
};

static struct accept_guard accept_guards[ACCEPT_GUARD_MAX];

static struct accept_guard *
accept_find(const struct evconnlistener *l)
{
	int i;

	for (i = 0; i < ACCEPT_GUARD_MAX; i++)
		if (accept_guards[i].l == l && l != NULL)
			return &accept_guards[i];
	return NULL;
}

static void
accept_arm(struct accept_guard *g)
{
	struct timeval tv = clock_tv(ACCEPT_PAUSE_MS);

	evtimer_add(g->timer, &tv);
}

/* What to tell the operator about ERR. */
static void
accept_hint(int err, char *buf, size_t len)
{
	struct rlimit rl;

	buf[0] = '\0';
	if (err == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		snprintf(buf, len,
		         " (this process's limit of %llu open files is reached;"
		         " raise LimitNOFILE= or ulimit -n)",
		         (unsigned long long)rl.rlim_cur);
	else if (err == ENFILE)
		snprintf(buf, len, " (the system's open-file table is full)");
	else if (err == ENOBUFS || err == ENOMEM)
		snprintf(buf, len, " (the kernel is out of memory)");
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct accept_guard *g = accept_find(l);
	char hint[160];
	uint64_t now;

	if (g == NULL)
		return; /* cannot happen: only guarded listeners get here */
	now = clock_now_ms();
	g->failed++;
	g->unlogged++;
	if (g->state == ACCEPT_OK) {
		accept_hint(err, hint, sizeof(hint));
		log_warnx("%s: accept: %s%s; not accepting for %d ms at a "
		          "time until it works (connections already open are "
		          "still served)",
		          g->what, strerror(err), hint, ACCEPT_PAUSE_MS);
		g->first_ms = g->logged_ms = now;
		g->unlogged = 0;
	} else if (now - g->logged_ms >= ACCEPT_LOG_MS) {
		log_warnx(
		    "%s: accept still failing: %s (%llu times in the last "
		    "%.0f s, %llu since the first)",
		    g->what, strerror(err), g->unlogged,
		    (double)(now - g->logged_ms) / 1000.0, g->failed);
		g->logged_ms = now;
		g->unlogged = 0;
	}
	if (g->state != ACCEPT_PAUSED) {
		evconnlistener_disable(l);
		g->state = ACCEPT_PAUSED;
		accept_arm(g);
	}
}

static void
accept_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct accept_guard *g = arg;

	if (g->state == ACCEPT_PAUSED) {
		if (g->held) { /* the owner releases it first */
			accept_arm(g);
			return;
		}
		g->state = ACCEPT_PROBATION;
		evconnlistener_enable(g->l);
		accept_arm(g);
		return;
	}
	if (g->state == ACCEPT_PROBATION) {
		log_info("%s: accepting again (%llu accepts failed in %.1f s)",
		         g->what, g->failed,
		         (double)(clock_now_ms() - g->first_ms) / 1000.0);
		g->state = ACCEPT_OK;
		g->failed = g->unlogged = 0;
	}
}

int
accept_guard(struct evconnlistener *l, const char *what)
{
	struct accept_guard *g = NULL;
	int i;

	for (i = 0; g == NULL && i < ACCEPT_GUARD_MAX; i++)
		if (accept_guards[i].l == NULL)
			g = &accept_guards[i];
	if (g == NULL)
		return -1;
	memset(g, 0, sizeof(*g));
	g->timer = evtimer_new(evconnlistener_get_base(l), accept_timer_cb, g);
	if (g->timer == NULL)
		return -1;
	g->l = l;
	snprintf(g->what, sizeof(g->what), "%s", what);
	evconnlistener_set_error_cb(l, accept_error_cb);
	return 0;
}

int
accept_hold(struct evconnlistener *l, int held)
{
	struct accept_guard *g = accept_find(l);

	if (g == NULL)
		return -1;
	held = held != 0;
	if (held == g->held)
		return 0;
	g->held = held;
	if (held)
		evconnlistener_disable(l);
	else if (g->state != ACCEPT_PAUSED)
		evconnlistener_enable(l);
	return 0;
}

void
accept_unguard(struct evconnlistener *l)
{
	struct accept_guard *g = accept_find(l);

	if (g == NULL)
		return;
	event_free(g->timer);
	memset(g, 0, sizeof(*g));
}
