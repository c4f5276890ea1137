/*
 * httpconn.c: one record per HTTP connection of a worker: the deadline
 * for its next request, and whether a request on it is in progress.
 *
 * The deadline.  evhttp 2.1 restarts a connection's read timeout on every
 * byte, so a client dripping its request head one byte every few seconds
 * would keep its connection until the 8 KiB header cap.  Here a connection
 * with no request in progress (just accepted, or answered and kept alive)
 * must deliver a whole request within HTTP_HEAD_DEADLINE_MS of being
 * accepted or of its previous answer, whatever it sends meanwhile, or it
 * is closed.  The deadline stops when the request reaches http.c (its
 * head, and its body if it has one, are in) and starts again when its
 * answer has been written.
 *
 * The request in progress.  http.c counts requests not yet fully answered
 * (wk->active, which the drain waits for) and uncounts one when its answer
 * is written (the completion callback).  A connection that goes first (a
 * reset, a write error or timeout, the worker's exit) never gets there, so
 * each record knows whether a request is in progress on its connection
 * (from httpconn_request to httpconn_answered), and if the connection
 * closes meanwhile the lost callback ends that request.  (One waiting for
 * mockresd is detached by evhttp and answered into the void later.)
 *
 * libevent 2.1.12 has no callback for a new connection (evhttp_set_newreqcb
 * came with 2.2).  So evhttp's bufferevent callback (evhttp_set_bevcb)
 * makes each new connection's bufferevent here and notes it, holding a
 * reference; at the end of the same loop turn, once evhttp has set the
 * connection up and before a byte of it can have been read, the note
 * becomes a record.  The connection is the bufferevent's callback argument
 * (evhttp sets it so), and its close callback
 * (evhttp_connection_set_closecb) ends the record when evhttp frees the
 * connection.  Nothing else in the frontend may set the close callback.
 * The bufferevent itself is httpreq.c's (input cap, NUL marking).
 *
 * Each record's birth and end are counted in conncount.c too (the
 * frontend's open connections, all workers).
 *
 * All deadlines are HTTP_HEAD_DEADLINE_MS from when they were set, so they
 * form one FIFO served by one timer.  A connection's record is found from
 * its fd, in a table indexed by fd.  Records come from a free list, as in
 * pending.c.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <event2/http.h>

#include "clock.h"
#include "frontend.h"
#include "httpreq.h"

#define HTTPCONN_CHUNK 256

struct httpconn {
	TAILQ_ENTRY(httpconn) link;
	struct evhttp_connection *evcon;
	struct bufferevent *bev; /* while noted, not yet set up */
	uint64_t deadline_ms;
	int fd;
	int linked;            /* the deadline runs */
	int busy;              /* a request is in progress */
	struct httpconn *next; /* in the noted list or the free list */
};

static TAILQ_HEAD(httpconn_fifo, httpconn)
    httpconn_fifo = TAILQ_HEAD_INITIALIZER(httpconn_fifo);
static struct httpconn *httpconn_free_list, *httpconn_noted;
static struct httpconn **httpconn_by_fd;
static size_t httpconn_nfd;
static struct event *httpconn_timer, *httpconn_setup_ev;
static int httpconn_setup_armed;
static size_t httpconn_open; /* connections with a record */
static void (*httpconn_lost)(void);

static struct httpconn *
httpconn_alloc(void)
{
	struct httpconn *h;
	int i;

	if (httpconn_free_list == NULL) {
		if ((h = calloc(HTTPCONN_CHUNK, sizeof(*h))) == NULL)
			return NULL;
		for (i = 0; i < HTTPCONN_CHUNK; i++) {
			h[i].next = httpconn_free_list;
			httpconn_free_list = &h[i];
		}
	}
	h = httpconn_free_list;
	httpconn_free_list = h->next;
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	return h;
}

/* Unlinks H, forgets its fd and returns it to the free list. */
static void
httpconn_release(struct httpconn *h)
{
	if (h->linked)
		TAILQ_REMOVE(&httpconn_fifo, h, link);
	if (h->fd >= 0 && (size_t)h->fd < httpconn_nfd &&
	    httpconn_by_fd[h->fd] == h)
		httpconn_by_fd[h->fd] = NULL;
	h->linked = 0;
	h->evcon = NULL;
	h->next = httpconn_free_list;
	httpconn_free_list = h;
}

static void
httpconn_arm_timer(uint64_t deadline_ms, uint64_t now)
{
	struct timeval tv = clock_tv(deadline_ms > now ? deadline_ms - now : 0);

	evtimer_add(httpconn_timer, &tv);
}

/* (Re)starts H's deadline: to the FIFO's tail. */
static void
httpconn_start(struct httpconn *h)
{
	uint64_t now = clock_now_ms();
	int was_empty;

	if (h->linked)
		TAILQ_REMOVE(&httpconn_fifo, h, link);
	was_empty = TAILQ_EMPTY(&httpconn_fifo);
	h->deadline_ms = now + HTTP_HEAD_DEADLINE_MS;
	TAILQ_INSERT_TAIL(&httpconn_fifo, h, link);
	h->linked = 1;
	/* Otherwise the timer is armed already, for an earlier deadline. */
	if (was_empty)
		httpconn_arm_timer(h->deadline_ms, now);
}

static void
httpconn_stop(struct httpconn *h)
{
	if (h->linked)
		TAILQ_REMOVE(&httpconn_fifo, h, link);
	h->linked = 0;
}

static void
httpconn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = clock_now_ms();
	struct evhttp_connection *evcon;
	struct httpconn *h;

	while ((h = TAILQ_FIRST(&httpconn_fifo)) != NULL &&
	       h->deadline_ms <= now) {
		/* Detach first: the close callback must not find H. */
		evcon = h->evcon;
		evhttp_connection_set_closecb(evcon, NULL, NULL);
		httpconn_open--;
		conncount_close();
		httpconn_release(h);
		/* What evhttp itself does on a read timeout: the request was
		 * never handed to http.c, so it goes with the connection. */
		evhttp_connection_free(evcon);
	}
	if (h != NULL)
		httpconn_arm_timer(h->deadline_ms, now);
}

static void
httpconn_close_cb(struct evhttp_connection *evcon, void *arg)
{
	struct httpconn *h = arg;
	int lost = h->busy;

	httpconn_open--;
	conncount_close();
	httpconn_release(h);
	if (lost)
		httpconn_lost();
}

static int
httpconn_index(struct httpconn *h)
{
	size_t n = httpconn_nfd ? httpconn_nfd : 64;
	struct httpconn **t;

	while (n <= (size_t)h->fd)
		n *= 2;
	if (n != httpconn_nfd) {
		if ((t = realloc(httpconn_by_fd,
		                 n * sizeof(struct httpconn *))) == NULL)
			return -1;
		memset(t + httpconn_nfd, 0,
		       (n - httpconn_nfd) * sizeof(struct httpconn *));
		httpconn_by_fd = t;
		httpconn_nfd = n;
	}
	httpconn_by_fd[h->fd] = h;
	return 0;
}

/* End of the accepting turn: the noted bufferevents have connections. */
static void
httpconn_setup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpconn *h, *next;
	bufferevent_data_cb readcb;
	void *cbarg;

	httpconn_setup_armed = 0;
	for (h = httpconn_noted, httpconn_noted = NULL; h != NULL; h = next) {
		struct bufferevent *bev = h->bev;

		next = h->next;
		h->bev = NULL;
		bufferevent_getcb(bev, &readcb, NULL, NULL, &cbarg);
		h->fd = bufferevent_getfd(bev);
		/* No callback: evhttp failed to set the connection up, or
		 * freed it already. */
		if (readcb == NULL || cbarg == NULL || h->fd < 0 ||
		    httpconn_index(h) == -1) {
			h->fd = -1;
			httpconn_release(h);
		} else {
			h->evcon = cbarg;
			evhttp_connection_set_closecb(h->evcon,
			                              httpconn_close_cb, h);
			httpconn_open++;
			conncount_open();
			httpconn_start(h);
		}
		bufferevent_decref(bev);
	}
}

struct bufferevent *
httpconn_bevcb(struct event_base *base, void *arg)
{
	struct bufferevent *bev = httpreq_bev_new(base, arg);
	struct httpconn *h;

	if (bev == NULL || (h = httpconn_alloc()) == NULL)
		return bev; /* no deadline, evhttp's timeouts still apply */
	bufferevent_incref(bev);
	h->bev = bev;
	h->next = httpconn_noted;
	httpconn_noted = h;
	if (!httpconn_setup_armed) {
		httpconn_setup_armed = 1;
		event_active(httpconn_setup_ev, EV_TIMEOUT, 1);
	}
	return bev;
}

static struct httpconn *
httpconn_find(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct httpconn *h;
	int fd;

	if (evcon == NULL)
		return NULL;
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	if (fd < 0 || (size_t)fd >= httpconn_nfd)
		return NULL;
	h = httpconn_by_fd[fd];
	return h != NULL && h->evcon == evcon ? h : NULL;
}

void
httpconn_request(struct evhttp_request *req)
{
	struct httpconn *h = httpconn_find(req);

	if (h != NULL) {
		h->busy = 1;
		httpconn_stop(h);
	}
}

void
httpconn_answered(struct evhttp_request *req)
{
	struct httpconn *h = httpconn_find(req);

	if (h != NULL) {
		h->busy = 0;
		httpconn_start(h);
	}
}

int
httpconn_init(struct event_base *base, void (*lost)(void))
{
	httpconn_lost = lost;
	httpconn_timer = evtimer_new(base, httpconn_timer_cb, NULL);
	httpconn_setup_ev = event_new(base, -1, 0, httpconn_setup_cb, NULL);
	return httpconn_timer == NULL || httpconn_setup_ev == NULL ? -1 : 0;
}

size_t
httpconn_connections(void)
{
	return httpconn_open;
}
