/*
 * accept.h: listeners that pause, instead of spinning, when accept fails.
 *
 * Out of file descriptors, accept() fails with EMFILE (or ENFILE, ENOBUFS,
 * ENOMEM) while the connection stays queued, so the listening socket stays
 * readable: libevent's evconnlistener calls accept() again at once, for
 * ever, at 100% of a core, and logs every failure (1.3 million lines in
 * 3 s).  A guarded listener does what OpenBSD httpd does instead: on an
 * accept error it stops accepting (evconnlistener_disable), starts again
 * ACCEPT_PAUSE_MS later, and logs the first failure at once, then at most
 * one line per ACCEPT_LOG_MS with the count, then one line when accepting
 * works again.  Connections already open are served throughout; new ones
 * wait in the kernel's listen backlog (or are refused once it is full).
 *
 * mockresd, every frontend worker and the dashboard guard their listener.
 */
#ifndef MOCKRES_ACCEPT_H
#define MOCKRES_ACCEPT_H

#define ACCEPT_PAUSE_MS  1000  /* no accept() for this long after one fails */
#define ACCEPT_LOG_MS    10000 /* at most one log line per this interval */
#define ACCEPT_GUARD_MAX 8     /* guarded listeners per process */

struct evconnlistener;

/*
 * Guards L (installs its error callback); WHAT names it in the logs
 * ("HTTP on 127.0.0.1:4000").  Returns 0, or -1 if ACCEPT_GUARD_MAX
 * listeners are guarded already or a timer cannot be made.
 */
int accept_guard(struct evconnlistener *l, const char *what);

/*
 * The owner's hold on L (HELD 1) or its release (0): held, L accepts
 * nothing, whatever the guard's state; released, it accepts again unless
 * the guard has it paused (then when the pause ends).  mockresd holds its
 * TLS listeners while its handshake budget is spent.  Returns 0, or -1 if
 * L is not guarded.
 */
int accept_hold(struct evconnlistener *l, int held);

/* Forgets L and cancels its pause; call before L is freed. */
void accept_unguard(struct evconnlistener *l);

#endif
