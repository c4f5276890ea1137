/*
 * dial.c: connecting to HOST:PORT without blocking (see dial.h).
 *
 * A dial is: resolve (evdns, or nothing for a literal), then one
 * non-blocking connect after another over the addresses, all under one
 * timer.  Every outcome goes through the "done" event, so the callback
 * never runs inside dial_start or inside evdns (which must not see its
 * base freed under it).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "clock.h"
#include "dial.h"

struct dial {
	struct event_base *base;
	dial_cb cb;
	void *arg;
	struct evdns_base *dns;
	struct evdns_getaddrinfo_request *req;
	struct evutil_addrinfo *addrs; /* from evdns */
	struct evutil_addrinfo *next;  /* the next to try */
	struct sockaddr_storage lit;   /* HOST as a literal */
	socklen_t litlen;
	int fd;               /* connecting */
	struct event *connev; /* EV_WRITE on fd */
	struct event *timer;  /* the deadline */
	struct event *done;   /* runs the callback from the loop */
	int error;
	char why[320];
	char host[256];
};

int
tcp_tune(int fd)
{
	int one = 1, idle = TCP_IDLE_S, intvl = TCP_INTVL_S, cnt = TCP_PROBES;
	unsigned int ut = TCP_USER_TIMEOUT_MS;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ==
	        -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) ==
	        -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) == -1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut)) ==
	        -1)
		return -1;
	return 0;
}

static void
dial_free(struct dial *d)
{
	if (d->req != NULL)
		evdns_getaddrinfo_cancel(d->req); /* runs its callback */
	if (d->addrs != NULL)
		evutil_freeaddrinfo(d->addrs);
	if (d->dns != NULL)
		evdns_base_free(d->dns, 0);
	if (d->fd != -1)
		close(d->fd);
	if (d->connev != NULL)
		event_free(d->connev);
	if (d->timer != NULL)
		event_free(d->timer);
	if (d->done != NULL)
		event_free(d->done);
	free(d);
}

/* The outcome is known: report it from the loop. */
static void
dial_finish(struct dial *d, int error, const char *why)
{
	d->error = error;
	if (error != 0 && why != d->why)
		snprintf(d->why, sizeof(d->why), "%s", why);
	evtimer_del(d->timer);
	event_active(d->done, EV_TIMEOUT, 1);
}

static void
dial_done_cb(evutil_socket_t unused, short what, void *arg)
{
	struct dial *d = arg;
	int fd = d->error == 0 ? d->fd : -1;

	if (fd != -1)
		d->fd = -1; /* the caller's now */
	d->cb(fd, d->error, d->why, d->arg);
	dial_free(d);
}

static void dial_next(struct dial *);

/* One address failed with ERR: the next, or the end. */
static void
dial_failed(struct dial *d, int err)
{
	snprintf(d->why, sizeof(d->why), "%s", strerror(err));
	d->why[0] = (char)tolower((unsigned char)d->why[0]);
	if (d->next != NULL)
		dial_next(d);
	else
		dial_finish(d, err, d->why);
}

static void
dial_connected_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dial *d = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err == 0) {
		dial_finish(d, 0, NULL);
		return;
	}
	close(d->fd);
	d->fd = -1;
	dial_failed(d, err);
}

/* One connect: to the literal, or to the next address of the name. */
static void
dial_try(struct dial *d, const struct sockaddr *sa, socklen_t salen)
{
	int fd, err;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd == -1) {
		err = errno;
		dial_finish(d, err, strerror(err));
		return;
	}
	if (tcp_tune(fd) == -1) {
		err = errno;
		close(fd);
		dial_finish(d, err, strerror(err));
		return;
	}
	d->fd = fd;
	if (connect(fd, sa, salen) == 0) {
		dial_finish(d, 0, NULL);
		return;
	}
	if (errno != EINPROGRESS) {
		err = errno;
		close(fd);
		d->fd = -1;
		dial_failed(d, err);
		return;
	}
	if (d->connev != NULL)
		event_free(d->connev);
	d->connev = event_new(d->base, fd, EV_WRITE, dial_connected_cb, d);
	if (d->connev == NULL || event_add(d->connev, NULL) == -1)
		dial_finish(d, ENOMEM, "out of memory");
}

static void
dial_next(struct dial *d)
{
	struct evutil_addrinfo *ai = d->next;

	d->next = ai->ai_next;
	dial_try(d, ai->ai_addr, (socklen_t)ai->ai_addrlen);
}

static void
dial_resolved_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct dial *d = arg;
	char why[sizeof(d->why)];

	d->req = NULL;
	if (result == EVUTIL_EAI_CANCEL)
		return; /* dial_free is cancelling it */
	if (result != 0 || res == NULL) {
		snprintf(why, sizeof(why), "cannot resolve %.200s: %.100s",
		         d->host, evutil_gai_strerror(result));
		if (res != NULL)
			evutil_freeaddrinfo(res);
		dial_finish(d, EHOSTUNREACH, why);
		return;
	}
	d->addrs = d->next = res;
	dial_next(d);
}

static void
dial_timeout_cb(evutil_socket_t unused, short what, void *arg)
{
	struct dial *d = arg;
	char why[sizeof(d->why)];

	snprintf(why, sizeof(why), "no connection within %d s%s%.200s",
	         DIAL_TIMEOUT_MS / 1000, d->why[0] ? " (last: " : "", d->why);
	if (d->why[0])
		strncat(why, ")", sizeof(why) - strlen(why) - 1);
	dial_finish(d, ETIMEDOUT, why);
}

/* HOST as an IP literal into d->lit: 1 it is one, 0 it is a name. */
static int
dial_literal(struct dial *d, const char *host, const char *port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&d->lit;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&d->lit;
	long p = strtol(port, NULL, 10);

	memset(&d->lit, 0, sizeof(d->lit));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		d->litlen = sizeof(*sin);
		return 1;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		d->litlen = sizeof(*sin6);
		return 1;
	}
	return 0;
}

struct dial *
dial_start(struct event_base *base, const char *host, const char *port,
           dial_cb cb, void *arg)
{
	struct evutil_addrinfo hints;
	struct timeval tv = clock_tv(DIAL_TIMEOUT_MS);
	struct dial *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->base = base;
	d->cb = cb;
	d->arg = arg;
	d->fd = -1;
	snprintf(d->host, sizeof(d->host), "%s", host);
	d->timer = evtimer_new(base, dial_timeout_cb, d);
	d->done = event_new(base, -1, 0, dial_done_cb, d);
	if (d->timer == NULL || d->done == NULL ||
	    evtimer_add(d->timer, &tv) == -1) {
		dial_free(d);
		errno = ENOMEM;
		return NULL;
	}
	if (dial_literal(d, host, port)) {
		dial_try(d, (struct sockaddr *)&d->lit, d->litlen);
		return d;
	}
	d->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	                                  EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (d->dns == NULL) {
		dial_finish(d, EHOSTUNREACH,
		            "cannot read /etc/resolv.conf to resolve the name");
		return d;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_ADDRCONFIG;
	/* May answer at once (the hosts file), calling dial_resolved_cb. */
	d->req =
	    evdns_getaddrinfo(d->dns, host, port, &hints, dial_resolved_cb, d);
	return d;
}

void
dial_cancel(struct dial *d)
{
	if (d != NULL)
		dial_free(d);
}
