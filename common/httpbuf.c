/*
 * httpbuf.c: buffer pools and output chains (see httpbuf.h).
 */
#include <stdlib.h>
#include <string.h>

#include "httpbuf.h"

void
httpbuf_pool_init(struct httpbuf_pool *p, size_t size, size_t keep)
{
	p->free = NULL;
	p->nfree = 0;
	p->keep = keep;
	p->size = size;
	p->nused = 0;
}

void
httpbuf_pool_free(struct httpbuf_pool *p)
{
	struct httpbuf *b;

	while ((b = p->free) != NULL) {
		p->free = b->next;
		free(b);
	}
	p->nfree = 0;
}

struct httpbuf *
httpbuf_get(struct httpbuf_pool *p)
{
	struct httpbuf *b;

	if ((b = p->free) != NULL) {
		p->free = b->next;
		p->nfree--;
	} else if ((b = malloc(sizeof(*b) + p->size)) == NULL) {
		return NULL;
	}
	b->next = NULL;
	b->start = b->end = 0;
	b->size = p->size;
	p->nused++;
	return b;
}

void
httpbuf_put(struct httpbuf_pool *p, struct httpbuf *b)
{
	p->nused--;
	if (p->nfree >= p->keep) {
		free(b);
		return;
	}
	b->next = p->free;
	p->free = b;
	p->nfree++;
}

char *
httpout_reserve(struct httpout *o, struct httpbuf_pool *p, size_t n)
{
	struct httpbuf *b = o->tail;

	if (n > p->size)
		return NULL;
	if (b == NULL || b->size - b->end < n) {
		if ((b = httpbuf_get(p)) == NULL)
			return NULL;
		if (o->tail != NULL)
			o->tail->next = b;
		else
			o->head = b;
		o->tail = b;
	}
	return b->data + b->end;
}

void
httpout_commit(struct httpout *o, size_t n)
{
	o->tail->end += n;
	o->len += n;
	o->queued += n;
}

int
httpout_add(struct httpout *o, struct httpbuf_pool *p, const void *src,
            size_t len)
{
	const char *s = src;
	struct httpbuf *first_new = NULL, *old_tail = o->tail;
	size_t old_end = old_tail ? old_tail->end : 0, room, k;

	while (len > 0) {
		struct httpbuf *b = o->tail;

		if (b == NULL || b->end == b->size) {
			if ((b = httpbuf_get(p)) == NULL)
				goto fail;
			if (first_new == NULL)
				first_new = b;
			if (o->tail != NULL)
				o->tail->next = b;
			else
				o->head = b;
			o->tail = b;
		}
		room = b->size - b->end;
		k = len < room ? len : room;
		memcpy(b->data + b->end, s, k);
		b->end += k;
		s += k;
		len -= k;
		o->len += k;
		o->queued += k;
	}
	return 0;
fail:
	/* Undo: OUT as it was. */
	while (first_new != NULL) {
		struct httpbuf *next = first_new->next;

		o->len -= first_new->end;
		o->queued -= first_new->end;
		httpbuf_put(p, first_new);
		first_new = next;
	}
	if (old_tail != NULL) {
		o->len -= old_tail->end - old_end;
		o->queued -= old_tail->end - old_end;
		old_tail->end = old_end;
		old_tail->next = NULL;
	} else {
		o->head = NULL;
	}
	o->tail = old_tail;
	return -1;
}

int
httpout_iov(const struct httpout *o, struct iovec *iov, int max)
{
	const struct httpbuf *b;
	int n = 0;

	for (b = o->head; b != NULL && n < max; b = b->next) {
		if (b->end == b->start)
			continue;
		iov[n].iov_base = (char *)b->data + b->start;
		iov[n].iov_len = b->end - b->start;
		n++;
	}
	return n;
}

void
httpout_drain(struct httpout *o, struct httpbuf_pool *p, size_t n)
{
	struct httpbuf *b;

	o->len -= n;
	o->sent += n;
	while ((b = o->head) != NULL) {
		size_t have = b->end - b->start;

		if (n < have) {
			b->start += n;
			return;
		}
		n -= have;
		o->head = b->next;
		if (o->head == NULL)
			o->tail = NULL;
		httpbuf_put(p, b);
	}
}

void
httpout_clear(struct httpout *o, struct httpbuf_pool *p)
{
	struct httpbuf *b;

	while ((b = o->head) != NULL) {
		o->head = b->next;
		httpbuf_put(p, b);
	}
	o->tail = NULL;
	o->len = 0;
}
