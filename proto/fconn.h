/*
 * fconn.h: a framed connection, the one transport of the mockres protocol,
 * used by mockresd's client connections (resourced/conn.c) and by
 * mrclient, the client side.
 *
 * An fconn is a bufferevent on a stream socket that carries frames (see
 * frame.h).  It reads: every complete frame is decoded into the owner's
 * arena and handed to the owner, the arena is reset after each.  It
 * writes once per loop turn: fconn_send() queues a frame and puts the
 * connection on its fconn_queue; fconn_queue_flush() writes each queued
 * connection with one writev.  The bufferevent's EV_WRITE is enabled only
 * while a socket did not take everything (enabling it per message cost two
 * epoll_ctl calls per connection per turn and another trip through
 * epoll_wait: 2 of the 5 syscalls of a pipelined batch).
 *
 * The output cap is the owner's policy: fconn_send() refuses a message
 * once the output is already past output_max; fconn_over_cap() says when
 * it is (mockresd closes such a client, mrclient refuses new requests).
 *
 * The owner closes: every callback that reports the end of the stream
 * (down) or may end it (message, undecodable) is expected to call
 * fconn_close() when it wants the connection gone; the read loop stops at
 * once when it does.  Inside a read callback fconn_reading() is true: an
 * owner that frees the struct holding the fconn must wait for the closed
 * callback.
 */
#ifndef MOCKRES_FCONN_H
#define MOCKRES_FCONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"

struct fconn_ops {
	/* What the peer sends (mockres__request__descriptor, ...). */
	const ProtobufCMessageDescriptor *desc;
	/* One decoded message, valid during the call. */
	void (*message)(void *arg, ProtobufCMessage *msg);
	/* A frame whose body does not decode; it is skipped after the call
	 * unless the callee closed the connection. */
	void (*undecodable)(void *arg, const unsigned char *body, uint32_t len);
	/* The stream ended: EOF (error 0), a socket error (errno), or a bad
	 * frame header (EPROTO, with WHY for the log; NULL otherwise). */
	void (*down)(void *arg, int error, const char *why);
	/* Optional: the connection was closed during a read callback, which
	 * has now returned; the owner may free what holds the fconn. */
	void (*closed)(void *arg);
};

/* Connections with frames queued this turn, written by one flush. */
struct fconn_queue {
	TAILQ_HEAD(, fconn) dirty;
	struct event *ev; /* NULL: the owner calls fconn_queue_flush() */
	int armed;
};

struct fconn {
	struct bufferevent *bev; /* NULL while closed */
	const struct fconn_ops *ops;
	void *arg;
	struct arena *arena;
	struct fconn_queue *queue;
	size_t output_max;
	TAILQ_ENTRY(fconn) dirty_entry;
	int dirty;   /* on queue->dirty */
	int writing; /* the bufferevent writes what the socket did not take */
	int reading; /* in the read callback */
};

/*
 * With BASE, the queue flushes itself at the end of the loop turn in which
 * the first frame was queued (an event activated then, which runs after
 * the turn's other callbacks).  Without, the owner calls
 * fconn_queue_flush() at the end of each turn (mockresd's end-of-turn
 * hook).  Returns 0, or -1 if the event cannot be made.
 */
int fconn_queue_init(struct fconn_queue *, struct event_base *base);
void fconn_queue_free(struct fconn_queue *);
/* Writes every queued connection; a write error reports it down. */
void fconn_queue_flush(struct fconn_queue *);

/*
 * Adopts FD, a connected non-blocking stream socket: reads frames of at
 * most read_high buffered bytes at a time, and queues output on QUEUE.
 * Returns 0, or -1 (FD is closed).
 */
int fconn_open(struct fconn *, struct event_base *, evutil_socket_t fd,
               const struct fconn_ops *, void *arg, struct arena *,
               struct fconn_queue *, size_t read_high, size_t output_max);
/* Frees the bufferevent (and the socket) at once; unsent output is lost.
 * A no-op on a closed fconn. */
void fconn_close(struct fconn *);

/*
 * Queues MSG, framed, for the end of the turn.  Returns 0, or -1 with
 * errno ENOTCONN (closed), ENOBUFS (output already past output_max) or
 * EMSGSIZE (empty, larger than a frame, or out of memory).
 */
int fconn_send(struct fconn *, const ProtobufCMessage *msg);

int fconn_is_open(const struct fconn *);
int fconn_reading(const struct fconn *);
size_t fconn_output_len(const struct fconn *); /* 0 when closed */
int fconn_over_cap(const struct fconn *);

#endif
