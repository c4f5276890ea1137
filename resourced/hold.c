/*
 * hold.c: the 500 ms holds, O(1) each.
 *
 * Holds of one duration end in the order they started, so each distinct
 * duration gets a FIFO queue and one timer armed for its head: starting or
 * ending a hold is a list operation, whatever the number in flight.  Hold
 * records come from a free list refilled in chunks and never returned to
 * malloc, so memory follows the peak number of holds (bounded by max).
 */
#include <stdlib.h>
#include "clock.h"
#include "log.h"
#include "mockresd.h"

#define HOLD_CHUNK 1024

struct hold_queue {
	struct holds *holds;
	uint32_t hold_ms;
	struct hold *head;
	struct hold *tail;
	struct event *timer;
};

static void hold_queue_fire(evutil_socket_t, short, void *);

void
holds_init(struct holds *h, struct event_base *base, size_t max,
           hold_expire_cb expire, void *arg)
{
	h->base = base;
	h->expire = expire;
	h->arg = arg;
	h->nqueues = 0;
	h->free_list = NULL;
	h->chunks = NULL;
	h->nchunks = 0;
	h->count = 0;
	h->max = max;
}

void
holds_free(struct holds *h)
{
	size_t i;
	int q;

	for (q = 0; q < h->nqueues; q++) {
		event_free(h->queues[q]->timer);
		free(h->queues[q]);
	}
	for (i = 0; i < h->nchunks; i++)
		free(h->chunks[i]);
	free(h->chunks);
	h->nqueues = 0;
	h->nchunks = 0;
	h->chunks = NULL;
	h->free_list = NULL; /* it pointed into the chunks */
	h->count = 0;
}

static struct hold *
hold_alloc(struct holds *h)
{
	struct hold *chunk, *hd;
	void **chunks;
	size_t i;

	if (h->free_list == NULL) {
		chunks = realloc(h->chunks, (h->nchunks + 1) * sizeof(*chunks));
		if (chunks == NULL)
			return NULL;
		h->chunks = chunks;
		if ((chunk = malloc(HOLD_CHUNK * sizeof(*chunk))) == NULL)
			return NULL;
		h->chunks[h->nchunks++] = chunk;
		for (i = 0; i < HOLD_CHUNK; i++) {
			chunk[i].next = h->free_list;
			h->free_list = &chunk[i];
		}
	}
	hd = h->free_list;
	h->free_list = hd->next;
	return hd;
}

static struct hold_queue *
hold_queue_get(struct holds *h, uint32_t hold_ms)
{
	struct hold_queue *q;
	int i;

	for (i = 0; i < h->nqueues; i++)
		if (h->queues[i]->hold_ms == hold_ms)
			return h->queues[i];
	if (h->nqueues == HOLD_QUEUES_MAX)
		return NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->holds = h;
	q->hold_ms = hold_ms;
	if ((q->timer = evtimer_new(h->base, hold_queue_fire, q)) == NULL) {
		free(q);
		return NULL;
	}
	h->queues[h->nqueues++] = q;
	return q;
}

static void
hold_queue_drop(struct holds *h, struct hold_queue *q)
{
	int i;

	for (i = 0; i < h->nqueues; i++) {
		if (h->queues[i] == q) {
			h->queues[i] = h->queues[--h->nqueues];
			break;
		}
	}
	event_free(q->timer);
	free(q);
}

static void
hold_queue_arm(struct hold_queue *q, uint64_t now)
{
	uint64_t left =
	    q->head->deadline_us > now ? q->head->deadline_us - now : 0;
	/* In µs, not clock_tv()'s ms: mockresd's base has a precise timer
	 * (see mockresd_base), so a hold ends within µs of its deadline. */
	struct timeval tv = {(time_t)(left / 1000000),
	                     (suseconds_t)(left % 1000000)};

	evtimer_add(q->timer, &tv);
}

int
holds_start(struct holds *h, uint32_t hold_ms, void *owner, uint64_t tag,
            int serial)
{
	struct hold_queue *q;
	struct hold *hd;
	uint64_t now;

	if (h->count >= h->max)
		return -1;
	if ((hd = hold_alloc(h)) == NULL)
		return -1;
	if ((q = hold_queue_get(h, hold_ms)) == NULL) {
		hd->next = h->free_list;
		h->free_list = hd;
		return -1;
	}
	now = clock_now_us();
	hd->next = NULL;
	hd->deadline_us = now + (uint64_t)hold_ms * 1000;
	hd->owner = owner;
	hd->tag = tag;
	hd->serial = serial;
	if (q->tail != NULL) {
		q->tail->next = hd;
	} else {
		q->head = hd;
		hold_queue_arm(q, now);
	}
	q->tail = hd;
	h->count++;
	return 0;
}

static void
hold_queue_fire(evutil_socket_t fd, short what, void *arg)
{
	struct hold_queue *q = arg;
	struct holds *h = q->holds;
	uint64_t now = clock_now_us();
	struct hold *hd;

	while ((hd = q->head) != NULL && hd->deadline_us <= now) {
		q->head = hd->next;
		if (q->head == NULL)
			q->tail = NULL;
		h->count--;
		h->expire(hd, h->arg);
		hd->next = h->free_list;
		h->free_list = hd;
	}
	/* The callbacks may have started holds of this duration. */
	if (q->head != NULL)
		hold_queue_arm(q, now);
	else
		hold_queue_drop(h, q);
}
