/*
 * fconn.h: a framed connection, the one connection type of the mockres
 * protocol, used by mockresd's client connections (resourced/conn.c) and
 * by mrclient, the client side (frontend workers, the dashboard,
 * mockresctl).
 *
 * An fconn carries frames (see frame.h) over a bufferevent.  Which kind of
 * bufferevent is the business of its transport, a table of functions
 * (struct fconn_transport, after Redis's ConnectionType): fconn_unix
 * (fconn_unix.c: a stream socket, a Unix one in practice) and fconn_tls
 * (fconn_tls.c: TLS 1.3 over TCP through libevent's bufferevent_openssl).
 * Owners never ask which one they hold: they open, send, close and ask
 * for the peer's identity through this header alone.
 *
 * It reads (through the bufferevent, or with the transport's own read on
 * an event of fconn.c's: the Unix one): every complete frame is decoded
 * into the owner's arena and handed to the owner, the arena is reset
 * after each.  It writes once per
 * loop turn: fconn_send() queues a frame and puts the connection on its
 * fconn_queue; fconn_queue_flush() has each queued connection's transport
 * write it now (a Unix socket: one writev; TLS: one SSL_write per 16 KiB).
 * The bufferevent's EV_WRITE is enabled only while a socket did not take
 * everything (enabling it per message cost two epoll_ctl calls per
 * connection per turn and another trip through epoll_wait: 2 of the 5
 * syscalls of a pipelined batch).
 *
 * A connection is first "opening" (TLS: the handshake, under a deadline of
 * its own), then "up": frames flow only once it is up; frames sent before
 * are queued and written when it comes up.  A Unix connection is up at
 * once.
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
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "arena.h"
#include "mockres_limits.h"

struct fconn;

struct fconn_ops {
	/* What the peer sends (mockres__request__descriptor, ...). */
	const ProtobufCMessageDescriptor *desc;
	/* One decoded message, valid during the call. */
	void (*message)(void *arg, ProtobufCMessage *msg);
	/*
	 * Optional: each frame's body first, undecoded.  Returns 1 when the
	 * owner took it (no decoding), 0 to have it decoded and handed to
	 * message as usual.  Lets a client read the few fields most of its
	 * replies need without protobuf_c_message_unpack.
	 */
	int (*frame)(void *arg, const unsigned char *body, uint32_t len);
	/* A frame whose body does not decode; it is skipped after the call
	 * unless the callee closed the connection. */
	void (*undecodable)(void *arg, const unsigned char *body, uint32_t len);
	/*
	 * The stream ended: EOF (error 0), a socket error (errno), a bad
	 * frame header (EPROTO, with WHY for the log; NULL otherwise), or,
	 * before the connection was up, a failed opening (see
	 * fconn_describe() for what to tell the user).
	 */
	void (*down)(void *arg, int error, const char *why);
	/* Optional: the connection was closed during a read callback, which
	 * has now returned; the owner may free what holds the fconn. */
	void (*closed)(void *arg);
	/* Optional: a connection that was opening is up (TLS: the handshake
	 * is done and the peer's identity known). */
	void (*up)(void *arg);
	/* Optional: the socket has taken everything that was backlogged
	 * (fconn_backlogged() is false again). */
	void (*drained)(void *arg);
};

/* Connections with frames queued this turn, written by one flush; and
 * those whose socket did not take everything (backlogged), whose unsent
 * bytes fconn_queue_backlog() adds up. */
struct fconn_queue {
	TAILQ_HEAD(, fconn) dirty;
	TAILQ_HEAD(, fconn) backlog;
	struct event *ev; /* NULL: the owner calls fconn_queue_flush() */
	int armed;
	/* Optional: called at the end of every flush (the owner's checks of
	 * what is left unsent). */
	void (*flushed)(void *arg);
	void *flushed_arg;
};

/* Who is at the other end, as far as the transport can tell. */
#define FCONN_CN_MAX   64 /* bytes of a certificate's Common Name */
#define FCONN_ADDR_MAX 64 /* "[v6]:port" */

struct fconn_peer {
	int verified_cn; /* cn is from a certificate that verified */
	int has_cred;    /* uid and pid are the kernel's (SO_PEERCRED) */
	uid_t uid;
	pid_t pid;
	char cn[FCONN_CN_MAX + 1];
	char addr[FCONN_ADDR_MAX]; /* "local" for a Unix socket */
};

/*
 * A transport: how frames reach the kernel, and what it knows of the
 * peer.  ARG is the transport's configuration, given to fconn_open (the
 * TLS one's is a struct tlsconf).
 */
struct fconn_transport {
	const char *name; /* "unix", "tls" */
	/* Makes fc->bev for FD, points fc->out where frames go, and starts
	 * opening.  Returns 1 if the connection is up at once, 0 if it is
	 * opening, -1 (FD closed). */
	int (*open)(struct fconn *, struct event_base *, evutil_socket_t fd,
	            void *arg);
	/* Writes what is queued now: 0 all of it, 1 the rest is left to the
	 * bufferevent (EV_WRITE enabled), -1 an error (errno).  fc->out
	 * always holds every byte not yet handed to the kernel. */
	int (*write_now)(struct fconn *);
	/* The bufferevent wrote the rest: back to writing at turn ends. */
	void (*written)(struct fconn *);
	/* Optional: bytes the transport has read from the socket but the
	 * bufferevent will not hand over until more arrive; puts some into
	 * the input.  1 it did, 0 nothing there, -1 an error (errno). */
	int (*more)(struct fconn *);
	/*
	 * Optional: the transport reads the socket itself into fc->in, one
	 * read(2) per readiness of an event of fconn.c's, instead of the
	 * bufferevent (whose every read first asks the socket how much it
	 * holds: an ioctl(FIONREAD) more per read).  Returns the bytes
	 * read, 0 at the end of the stream, -1 with errno (EAGAIN: none).
	 * open() then leaves the bufferevent's reading off, and must be up
	 * at once (the event gets the owner's pri_up from the start).
	 */
	ssize_t (*read)(struct fconn *);
	/* An event came (BEV_EVENT_*): returns 1 if the connection just came
	 * up, 0 if it is the end of the stream (error in *error). */
	int (*event)(struct fconn *, short what, int *error);
	/* Frees the bufferevent.  GRACEFUL: hand over what is queued and
	 * close cleanly (TLS: close_notify) if that can be done without
	 * waiting long; otherwise drop it. */
	void (*close)(struct fconn *, int graceful);
	void (*peer)(const struct fconn *, struct fconn_peer *);
	/* The last failure, for a person; ERROR as given to down().  For
	 * a connection that was up (and, on a client, heard from): the
	 * reason alone ("connection reset by peer"); for an opening that
	 * failed: a sentence saying what failed and what to do.  Valid
	 * until the fconn is closed. */
	void (*describe)(const struct fconn *, int error, char *buf,
	                 size_t len);
};

extern const struct fconn_transport fconn_unix; /* fconn_unix.c */
extern const struct fconn_transport fconn_tls;  /* fconn_tls.c */

/* What an owner sets up its connections with; one per owner. */
struct fconn_setup {
	const struct fconn_transport *tp;
	void *tp_arg; /* the transport's configuration */
	const struct fconn_ops *ops;
	struct arena *arena;
	struct fconn_queue *queue;
	size_t read_high; /* hold at most this much unread (Unix) */
	size_t output_max;
	/* With PRIORITISE, the connection's events run at libevent priority
	 * PRI_OPENING while it opens and PRI_UP once it is up (the base has
	 * event_base_priority_init'd at least that many): mockresd keeps
	 * the TLS handshakes behind its connected clients. */
	int prioritise;
	int pri_opening, pri_up;
};

struct fconn_tls_state; /* fconn_tls.c */

struct fconn {
	struct bufferevent *bev; /* NULL while closed */
	struct evbuffer *in;     /* what was read, not yet framed */
	struct evbuffer *out;    /* where frames go, all not yet written */
	struct event *rev;       /* its read event, if the transport reads */
	const struct fconn_transport *tp;
	const struct fconn_ops *ops;
	void *arg;
	struct arena *arena;
	struct fconn_queue *queue;
	size_t read_high;
	size_t output_max;
	int pri_up;                  /* once up, or -1: libevent's default */
	struct fconn_tls_state *tls; /* the TLS transport's, or NULL */
	TAILQ_ENTRY(fconn) dirty_entry;
	TAILQ_ENTRY(fconn) backlog_entry;
	int dirty;   /* on queue->dirty */
	int writing; /* the bufferevent writes what the socket did not take
	                (on queue->backlog) */
	int reading; /* in the read callback */
	int paused;  /* the owner stopped reading (fconn_pause) */
	int up;      /* frames flow (TLS: the handshake is done) */
	int heard;   /* bytes came from the peer since it opened */
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
/* The bytes the backlogged connections hold unsent, in all; *BIGGEST (if
 * not NULL) is the one that holds the most, or NULL if none.  O(number
 * backlogged). */
size_t fconn_queue_backlog(const struct fconn_queue *, struct fconn **biggest);

/*
 * Adopts FD, a connected non-blocking stream socket, with SETUP's
 * transport; ARG goes to the callbacks.  Returns 1 if the connection is
 * up, 0 if it is opening (the up or the down callback says how that
 * ends), -1 if it cannot be set up (FD is closed).
 */
int fconn_open(struct fconn *, struct event_base *, evutil_socket_t fd,
               const struct fconn_setup *, void *arg);
/* Frees the bufferevent (and the socket) at once; unsent output is lost.
 * A no-op on a closed fconn. */
void fconn_close(struct fconn *);
/* The same, after handing what is queued to the kernel if it takes it
 * now, and for TLS a close_notify: for a client that is done. */
void fconn_close_graceful(struct fconn *);

/*
 * Queues MSG, framed, for the end of the turn.  Returns 0, or -1 with
 * errno ENOTCONN (closed), ENOBUFS (output already past output_max) or
 * EMSGSIZE (empty, larger than a frame, or out of memory).
 */
int fconn_send(struct fconn *, const ProtobufCMessage *msg);
/* The same for a message packed once for many (frame_write_with_id). */
int fconn_send_with_id(struct fconn *, uint64_t id, const unsigned char *body,
                       size_t len);
/* The same for a whole frame, header and body, written by hand
 * (usewire.h). */
int fconn_send_frame(struct fconn *, const unsigned char *frame, size_t len);

/*
 * Reading paused by the owner, for backpressure: after fconn_pause() no
 * more frames are handed over (not even the rest of those already read,
 * when called from the message callback) and nothing more is read from
 * the socket, so that the peer's sends back up into its own buffers.
 * fconn_resume() reads again, the frames already read first, from a
 * callback of the loop (never from within the call).
 */
void fconn_pause(struct fconn *);
void fconn_resume(struct fconn *);
int fconn_paused(const struct fconn *);

int fconn_is_open(const struct fconn *);
int fconn_is_up(const struct fconn *);
int fconn_reading(const struct fconn *);
size_t fconn_output_len(const struct fconn *); /* 0 when closed */
int fconn_over_cap(const struct fconn *);
const char *fconn_transport_name(const struct fconn *);
/* The peer, as the transport knows it (zeroed if closed). */
void fconn_peer(const struct fconn *, struct fconn_peer *);
/* What went wrong, for a person (see struct fconn_transport). */
void fconn_describe(const struct fconn *, int error, char *buf, size_t len);
/* The socket did not take all that was written at the last turn's end:
 * the peer is not reading as fast as it is sent to (or not at all). */
int fconn_backlogged(const struct fconn *);

#endif
