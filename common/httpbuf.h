/*
 * httpbuf.h: the buffers of the HTTP layer (httpserv.c): fixed-size
 * buffers from a free list, and the output queue of a connection, a
 * chain of them.
 *
 * A pool keeps at most `keep` free buffers and gives the rest back to
 * malloc, so that a burst of connections does not hold its memory for
 * ever.  A connection holds a buffer only while it has bytes in it: an
 * idle keep-alive connection holds none.
 */
#ifndef MOCKRES_HTTPBUF_H
#define MOCKRES_HTTPBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct httpbuf {
	struct httpbuf *next;
	size_t start, end; /* the bytes in use: data[start..end) */
	size_t size;
	char data[];
};

struct httpbuf_pool {
	struct httpbuf *free;
	size_t nfree, keep, size;
	size_t nused; /* buffers handed out, not yet put back */
};

void httpbuf_pool_init(struct httpbuf_pool *, size_t size, size_t keep);
void httpbuf_pool_free(struct httpbuf_pool *);
/* An empty buffer, or NULL (out of memory). */
struct httpbuf *httpbuf_get(struct httpbuf_pool *);
void httpbuf_put(struct httpbuf_pool *, struct httpbuf *);

/* Output: a chain of buffers, written from its head. */
struct httpout {
	struct httpbuf *head, *tail;
	size_t len;      /* bytes queued, not yet written */
	uint64_t queued; /* bytes ever queued (offsets of answers' ends) */
	uint64_t sent;   /* bytes ever written */
};

/* Appends LEN bytes; returns 0, or -1 (out of memory: OUT unchanged). */
int httpout_add(struct httpout *, struct httpbuf_pool *, const void *src,
                size_t len);
/* Room for at least N contiguous bytes at the tail, or NULL; commit what
 * was written with httpout_commit. */
char *httpout_reserve(struct httpout *, struct httpbuf_pool *, size_t n);
void httpout_commit(struct httpout *, size_t n);
/* Up to MAX iovecs of the queued bytes; returns how many. */
int httpout_iov(const struct httpout *, struct iovec *iov, int max);
/* N bytes were written: frees the buffers emptied. */
void httpout_drain(struct httpout *, struct httpbuf_pool *, size_t n);
/* Drops everything queued. */
void httpout_clear(struct httpout *, struct httpbuf_pool *);

#endif
