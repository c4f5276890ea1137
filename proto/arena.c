/*
 * arena.c: bump allocation for protobuf-c, overflow to malloc.
 */
#include <stdint.h>
#include <stdlib.h>

#include "arena.h"

struct arena_chunk {
	struct arena_chunk *next;
	_Alignas(16) unsigned char data[];
};

static void *
arena_alloc(void *data, size_t size)
{
	struct arena *a = data;
	struct arena_chunk *c;
	size_t rounded = (size + 15) & ~(size_t)15;

	if (rounded >= size && rounded <= ARENA_SIZE - a->used) {
		void *p = a->buf + a->used;

		a->used += rounded;
		return p;
	}
	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	if ((c = malloc(sizeof(*c) + size)) == NULL)
		return NULL;
	c->next = a->overflow;
	a->overflow = c;
	return c->data;
}

static void
arena_free(void *data, void *p)
{
	/* Everything is released at once by arena_reset(). */
	(void)data;
	(void)p;
}

void
arena_init(struct arena *a)
{
	a->allocator.alloc = arena_alloc;
	a->allocator.free = arena_free;
	a->allocator.allocator_data = a;
	a->used = 0;
	a->overflow = NULL;
}

void
arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->overflow; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->overflow = NULL;
	a->used = 0;
}
