/*
 * heap.c: the indexed binary min-heap.
 */
#include <stdlib.h>
#include <string.h>

#include "heap.h"

void
heap_init(struct heap *h)
{
	memset(h, 0, sizeof(*h));
}

void
heap_free(struct heap *h)
{
	free(h->a);
	free(h->pos);
	heap_init(h);
}

static int
heap_grow_pos(struct heap *h, uint32_t id)
{
	uint32_t n = h->npos ? h->npos : 1024, *p;

	if (id >= UINT32_MAX / 2)
		return -1;
	while (n <= id)
		n *= 2;
	if ((p = realloc(h->pos, (size_t)n * sizeof(*p))) == NULL)
		return -1;
	memset(p + h->npos, 0xff, (size_t)(n - h->npos) * sizeof(*p));
	h->pos = p;
	h->npos = n;
	return 0;
}

static void
heap_place(struct heap *h, uint32_t i, struct heap_entry e)
{
	h->a[i] = e;
	h->pos[e.id] = i;
}

static void
heap_sift_up(struct heap *h, uint32_t i)
{
	struct heap_entry e = h->a[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (h->a[parent].key <= e.key)
			break;
		heap_place(h, i, h->a[parent]);
		i = parent;
	}
	heap_place(h, i, e);
}

static void
heap_sift_down(struct heap *h, uint32_t i)
{
	struct heap_entry e = h->a[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->a[c + 1].key < h->a[c].key)
			c++;
		if (e.key <= h->a[c].key)
			break;
		heap_place(h, i, h->a[c]);
		i = c;
	}
	heap_place(h, i, e);
}

int
heap_push(struct heap *h, uint32_t id, double key)
{
	struct heap_entry e = {key, id};

	if (id >= h->npos && heap_grow_pos(h, id) == -1)
		return -1;
	if (h->n == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 1024;
		struct heap_entry *a;

		if (cap <= h->cap ||
		    (a = realloc(h->a, (size_t)cap * sizeof(*a))) == NULL)
			return -1;
		h->a = a;
		h->cap = cap;
	}
	h->a[h->n] = e;
	h->pos[id] = h->n;
	heap_sift_up(h, h->n++);
	return 0;
}

int
heap_contains(const struct heap *h, uint32_t id)
{
	return id < h->npos && h->pos[id] != HEAP_NONE;
}

int
heap_remove(struct heap *h, uint32_t id)
{
	uint32_t i;

	if (!heap_contains(h, id))
		return 0;
	i = h->pos[id];
	h->pos[id] = HEAP_NONE;
	if (i != --h->n) {
		double old = h->a[i].key;

		heap_place(h, i, h->a[h->n]);
		if (h->a[i].key < old)
			heap_sift_up(h, i);
		else
			heap_sift_down(h, i);
	}
	return 1;
}

uint32_t
heap_pop(struct heap *h)
{
	uint32_t id = h->a[0].id;

	heap_remove(h, id);
	return id;
}

int
heap_check(const struct heap *h)
{
	uint32_t i;

	for (i = 0; i < h->n; i++) {
		if (h->pos[h->a[i].id] != i)
			return -1;
		if (i > 0 && h->a[(i - 1) / 2].key > h->a[i].key)
			return -1;
	}
	return 0;
}
