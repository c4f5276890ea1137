/*
 * pending.c: the uses a worker has sent to mockresd and not yet seen
 * answered, and their deadline (--request-timeout).
 *
 * Each use gets a record: the HTTP request it answers (its connection and
 * ticket, see httpserv.h), its mrclient id and
 * its deadline.  Every deadline is the same distance from the moment it
 * was set, so the records form one FIFO in deadline order, and one timer,
 * armed for the oldest, serves them all: O(1) per request, as mockresd's
 * holds of one duration.  When a reply arrives its record leaves the FIFO
 * and the timer stays as it is: when it fires it just finds the new oldest
 * record younger than its deadline and re-arms for it.  A record whose
 * deadline passes has its id cancelled (mockresd's late answer is
 * dropped) and goes to the expire callback, which answers 504.
 *
 * Records come from a free list refilled PENDING_CHUNK at a time and never
 * returned to malloc, so a warm worker does not malloc per request; there
 * are at most MRCLIENT_PENDING_MAX at once, since mrclient refuses more.
 */
#include <stdlib.h>

#include "clock.h"
#include "frontend.h"
#include "mrclient.h"

#define PENDING_CHUNK 1024

static struct wstate *pws;
static TAILQ_HEAD(pending_fifo,
                  pending) pending_fifo = TAILQ_HEAD_INITIALIZER(pending_fifo);
static struct pending *pending_free_list;
static struct event *pending_timer;
static uint64_t pending_timeout_ms;
static void (*pending_expire)(struct pending *);

static void
pending_arm(uint64_t deadline_ms, uint64_t now)
{
	struct timeval tv = clock_tv(deadline_ms > now ? deadline_ms - now : 0);

	evtimer_add(pending_timer, &tv);
}

static void
pending_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = clock_now_ms();
	struct pending *p;

	while ((p = TAILQ_FIRST(&pending_fifo)) != NULL &&
	       p->deadline_ms <= now) {
		TAILQ_REMOVE(&pending_fifo, p, link);
		p->linked = 0;
		mrclient_cancel(pws->mc, p->id);
		pending_expire(p); /* answers, then pending_free */
	}
	if (p != NULL)
		pending_arm(p->deadline_ms, now);
}

int
pending_init(struct wstate *ws, uint64_t timeout_ms,
             void (*expire)(struct pending *))
{
	pws = ws;
	pending_timeout_ms = timeout_ms;
	pending_expire = expire;
	pending_timer = evtimer_new(ws->base, pending_timer_cb, NULL);
	return pending_timer == NULL ? -1 : 0;
}

struct pending *
pending_new(struct httpserv_conn *conn, uint32_t ticket)
{
	struct pending *p;
	int i;

	if (pending_free_list == NULL) {
		if ((p = calloc(PENDING_CHUNK, sizeof(*p))) == NULL)
			return NULL;
		for (i = 0; i < PENDING_CHUNK; i++) {
			p[i].next_free = pending_free_list;
			pending_free_list = &p[i];
		}
	}
	p = pending_free_list;
	pending_free_list = p->next_free;
	p->conn = conn;
	p->ticket = ticket;
	p->id = 0;
	p->linked = 0;
	return p;
}

void
pending_start(struct pending *p, uint64_t id)
{
	uint64_t now = clock_now_ms();
	int was_empty = TAILQ_EMPTY(&pending_fifo);

	p->id = id;
	p->deadline_ms = now + pending_timeout_ms;
	TAILQ_INSERT_TAIL(&pending_fifo, p, link);
	p->linked = 1;
	/* A non-empty FIFO has its timer armed already, for an earlier
	 * deadline. */
	if (was_empty)
		pending_arm(p->deadline_ms, now);
}

void
pending_free(struct pending *p)
{
	if (p->linked)
		TAILQ_REMOVE(&pending_fifo, p, link);
	p->linked = 0;
	p->conn = NULL;
	p->next_free = pending_free_list;
	pending_free_list = p;
}
