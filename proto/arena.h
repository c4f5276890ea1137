/*
 * arena.h: a bump allocator for protobuf-c unpacking.
 *
 * Decoding one message allocates from a fixed buffer; what does not fit
 * goes to malloc and is freed by arena_reset().  Nothing is freed one by
 * one: decode, use, then arena_reset().  Not thread-safe (nothing here is).
 */
#ifndef MOCKRES_ARENA_H
#define MOCKRES_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

#define ARENA_SIZE 16384

struct arena_chunk;

struct arena {
	ProtobufCAllocator allocator;
	size_t used;
	struct arena_chunk *overflow; /* malloc'd blocks, freed on reset */
	_Alignas(16) unsigned char buf[ARENA_SIZE];
};

void arena_init(struct arena *);
void arena_reset(struct arena *);

#endif
