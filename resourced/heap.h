/*
 * heap.h: a binary min-heap of (key, id) pairs that knows where each id
 * is, so that insert, remove-by-id and pop are all O(log n).
 *
 * Ids are small integers (the engine's use numbers); the heap keeps a
 * position table indexed by id, grown on demand.  Keys are doubles: real
 * deadlines in microseconds (exact up to 2^53) or virtual finish times.
 * Equal keys leave in no particular order.
 */
#ifndef MOCKRES_HEAP_H
#define MOCKRES_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define HEAP_NONE UINT32_MAX

struct heap_entry {
	double key;
	uint32_t id;
};

struct heap {
	struct heap_entry *a;
	uint32_t n, cap;
	uint32_t *pos; /* pos[id]: index in a, or HEAP_NONE */
	uint32_t npos;
};

void heap_init(struct heap *);
void heap_free(struct heap *);
/* Returns 0, or -1 if out of memory (nothing changed).  ID must not be in
 * the heap already. */
int heap_push(struct heap *, uint32_t id, double key);
/* Removes ID if it is in the heap; returns 1 if it was. */
int heap_remove(struct heap *, uint32_t id);
int heap_contains(const struct heap *, uint32_t id);

static inline size_t
heap_size(const struct heap *h)
{
	return h->n;
}

/* The smallest entry; only when heap_size() > 0. */
static inline const struct heap_entry *
heap_min(const struct heap *h)
{
	return &h->a[0];
}

/* Removes and returns the smallest id; only when heap_size() > 0. */
uint32_t heap_pop(struct heap *);

/* 0 if the heap order and the position table agree (for tests). */
int heap_check(const struct heap *);

#endif
