/*
 * httpserv.h: the HTTP/1.1 server layer of mockres, on libevent events.
 *
 * libevent gives the loop, the timers and the signals; this layer reads
 * and writes the sockets itself (read(2) into a fixed buffer, one
 * sendmsg(2) of an iovec per connection per loop turn), parses with
 * httpparse.c and hands the server a parsed request.  Nothing is
 * allocated per request once a process is warm: connection records and
 * buffers come from free lists, answers are copied into the connection's
 * output from bytes prebuilt at start-up (struct httpserv_answer) with a
 * Date cached once a second.
 *
 * What every server on it gets, the same way:
 * - the refusals of httpparse.h (400, 505, with "Connection: close"),
 *   a GET or HEAD with a body (400, closed), a body over the server's cap
 *   (413, closed), methods the server does not serve (405 with Allow; the
 *   connection is kept unless the request carries a body), "OPTIONS *"
 *   (200 with Allow); never a "100 Continue" before a refusal;
 * - keep-alive: HTTP/1.1 unless "Connection: close", HTTP/1.0 only with
 *   "Connection: keep-alive" (answered with it); a request after one that
 *   closes is never read; HEAD answers carry the GET's Content-Length and
 *   Content-Type and no body;
 * - pipelining: one request at a time per connection, answered in order;
 *   the next is parsed once the previous one is answered;
 * - deadlines: a whole request within HTTPSERV_HEAD_MS (or the server's
 *   head_ms) of the accept or of the previous answer written (whatever it
 *   drips); output that does not move for HTTPSERV_IO_MS (or io_ms)
 *   closes the connection; a request waiting for its answer has no
 *   deadline here (the server has its own);
 * - caps: HTTPSERV_HEAD_MAX bytes of head, HTTPSERV_INPUT_MAX of unread
 *   input (past it the connection is not read: TCP slows the client),
 *   HTTPSERV_OUTPUT_HIGH of unsent output before the next request is
 *   parsed, and accept that pauses on EMFILE (common/accept.c);
 * - an output budget, if the server sets one (output_max): the bytes of
 *   output buffers all its connections hold together.  Past it an answer
 *   with a body over HTTPSERV_BUDGET_SMALL, or a stream, is not queued:
 *   the layer answers 503 with "Retry-After: 1" and closes instead, and
 *   logs it (a line per 10 s).  Small answers (refusals, errors) and the
 *   streams already running go on;
 * - a connection closed with input unread is half-closed and drained for
 *   up to HTTPSERV_LINGER_MS first, so that the client reads its answer
 *   rather than a reset.
 *
 * Answers: whole (prebuilt, or a body given per request), or streamed
 * (chunked on HTTP/1.1, closed at the end on 1.0), optionally produced as
 * the client drains them (a producer is called whenever the unsent output
 * falls under HTTPSERV_PRODUCE_LOW; all of them HTTPSERV_PRODUCE_TURN
 * bytes between two polls of the loop at most, then they wait for the
 * next poll in the order they came), so that an answer nobody reads
 * holds little memory and many read at once do not hold the loop.  A
 * stream's write goes to the socket at once when nothing is queued
 * before it and no producer writes it (one sendmsg: no buffer is taken
 * for a client that keeps up).
 *
 * One request is in progress per connection; it is named by the
 * connection and a ticket (struct httpserv_request), which stay usable
 * after the callback: an answer given after the connection went (or to a
 * stale ticket) is dropped and the call returns -1.  Connection records
 * are never given back to malloc, so a stale pointer is safe to pass.
 */
#ifndef MOCKRES_HTTPSERV_H
#define MOCKRES_HTTPSERV_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "httpparse.h"

#define HTTPSERV_HEAD_MAX     8192        /* request line + fields + CRLFs */
#define HTTPSERV_INPUT_MAX    (64 << 10)  /* unread input per connection */
#define HTTPSERV_OUTPUT_HIGH  (64 << 10)  /* no new request past this */
#define HTTPSERV_PRODUCE_LOW  (16 << 10)  /* a producer refills under this */
#define HTTPSERV_PRODUCE_TURN (256 << 10) /* all producers', per poll */
#define HTTPSERV_HEAD_MS      10000       /* to send a whole request */
#define HTTPSERV_IO_MS        15000       /* output that does not move */
#define HTTPSERV_LINGER_MS    2000        /* draining a closed client */
#define HTTPSERV_BUDGET_SMALL 4096        /* answers the budget lets through */
#define HTTPSERV_LISTEN_MAX   4
#define HTTPSERV_FIELDS_MAX   512 /* bytes of extra fields of one answer */

/* Bits of httpserv_config.methods. */
#define HTTPSERV_M(m) (1u << (m))

struct httpserv;
struct httpserv_conn;

/* A request handed to the server; valid during the request callback. */
struct httpserv_request {
	struct httpserv_conn *conn;
	uint32_t ticket;
	const struct httpparse_req *head;
	const char *body; /* Content-Length bytes (methods that take one) */
	size_t body_len;
	uint64_t *cookie; /* the server's, from begin: may be changed */
};

struct httpserv_ops {
	/*
	 * A whole request head arrived (or one over the cap): returns the
	 * server's cookie for it (a start time, a route), given back with
	 * the request and to done.  Optional.
	 */
	uint64_t (*begin)(void *arg);
	/* A sound request of a served method: answer it now or later. */
	void (*request)(void *arg, struct httpserv_request *r);
	/*
	 * A request ended: its answer of status CODE was handed to the
	 * kernel to the last byte (WRITTEN 1), or its connection went
	 * first (WRITTEN 0; CODE 0 if it had no answer yet).  Also for the
	 * refusals this layer answers itself.  Optional.
	 */
	void (*done)(void *arg, uint64_t cookie, int code, int written);
	/* A client connection opened (OPEN 1) or closed (0).  Optional. */
	void (*conn)(void *arg, int open);
	/*
	 * A request of a served method announces a body that has not all
	 * come in.  Before the layer waits for it, and before any
	 * "100 Continue", the server may refuse it from its head alone:
	 * answer R now (the connection then closes after the answer, its
	 * body unread).  If it does not, the request comes back whole to
	 * request() (with the same cookie).  R->body is NULL.  Optional.
	 */
	void (*check)(void *arg, struct httpserv_request *r);
};

struct httpserv_config {
	unsigned methods;         /* HTTPSERV_M(HTTPPARSE_GET) | ... */
	const char *allow;        /* their Allow value: "GET, HEAD" */
	size_t body_max;          /* Content-Length cap of those methods */
	const char *content_type; /* of answers that name none */
	uint64_t head_ms;         /* 0: HTTPSERV_HEAD_MS */
	uint64_t io_ms;           /* 0: HTTPSERV_IO_MS */
	size_t output_max;        /* the output budget, bytes; 0: none */
	int sndbuf; /* SO_SNDBUF of each connection; 0: the kernel's */
};

/* An answer prebuilt once and sent many times. */
struct httpserv_answer {
	int code;
	int close; /* the connection closes after it */
	char *mid; /* Content-Length, Content-Type and the extra fields */
	size_t mid_len;
	const char *body;
	size_t body_len;
};

struct httpserv *httpserv_new(struct event_base *,
                              const struct httpserv_config *,
                              const struct httpserv_ops *, void *arg);
/* Closes every connection, without callbacks. */
void httpserv_free(struct httpserv *);

/* Serves the listening socket FD (WHAT names it in the logs), accept
 * guarded against EMFILE.  Returns 0 or -1. */
int httpserv_listen(struct httpserv *, int fd, const char *what);
/* Serves FD, a connected stream socket (made non-blocking here); returns
 * 0, or -1 (FD is closed). */
int httpserv_adopt(struct httpserv *, int fd);
/*
 * Stops accepting (the listening sockets are closed); from now on every
 * answer says "Connection: close" and closes its connection.  Idle
 * connections stay open until httpserv_free.
 */
void httpserv_drain(struct httpserv *);
/* Every answer from now on closes its connection (ON 1), or not (0). */
void httpserv_close_after(struct httpserv *, int on);

size_t httpserv_conns(const struct httpserv *); /* open now */
/* The most open at once since the last call (then reset to the count
 * open now). */
size_t httpserv_conns_peak(struct httpserv *);

/*
 * Prebuilds A: CODE, a body of LEN bytes (not copied: it must outlive A),
 * CTYPE (NULL: the server's), FIELDS (NULL, or lines each ending in CRLF,
 * e.g. "Retry-After: 1\r\n").  Returns 0, or -1 (out of memory, fields
 * too long).  httpserv_answer_free frees what it allocated.
 */
int httpserv_answer_init(struct httpserv_answer *a, const struct httpserv *srv,
                         int code, const char *ctype, const char *fields,
                         const void *body, size_t len);
void httpserv_answer_free(struct httpserv_answer *a);

/*
 * Answers the request C, TICKET: a prebuilt answer, or one whose body
 * (and extra fields, as above) are given now (copied).  Returns 0, or -1
 * when the request is gone (the client left, or it was answered).
 */
int httpserv_reply(struct httpserv_conn *c, uint32_t ticket,
                   const struct httpserv_answer *a);
int httpserv_reply_body(struct httpserv_conn *c, uint32_t ticket, int code,
                        const char *ctype, const char *fields, const void *body,
                        size_t len);

/*
 * The answer to request C, TICKET, given next, says "Connection: close"
 * and the connection closes after it (a refusal that leaves what follows
 * unread, or untrusted).  Returns 0, or -1 when the request is gone.
 */
int httpserv_close_after_reply(struct httpserv_conn *c, uint32_t ticket);

/*
 * A streamed answer: the head now (no Content-Length: chunked on
 * HTTP/1.1, closed at the end on HTTP/1.0), then any number of writes,
 * then the end.  With a producer, FILL(ARG, C) is called whenever the
 * unsent output falls under HTTPSERV_PRODUCE_LOW; it writes some more and
 * returns 1, or ends the stream and returns 0.  Each returns 0, or -1
 * when the request is gone.
 */
typedef int (*httpserv_fill_fn)(void *arg, struct httpserv_conn *c);
int httpserv_stream_start(struct httpserv_conn *c, uint32_t ticket, int code,
                          const char *ctype, const char *fields);
int httpserv_stream_write(struct httpserv_conn *c, const void *p, size_t len);
int httpserv_stream_end(struct httpserv_conn *c);
void httpserv_stream_producer(struct httpserv_conn *c, httpserv_fill_fn fill,
                              void *arg);
size_t httpserv_unsent(const struct httpserv_conn *c);

/*
 * The client sends nothing more on C (an event stream): from now on any
 * byte from it, or its EOF, closes the connection, and nothing it sends
 * is kept.
 */
void httpserv_stream_quiet(struct httpserv_conn *c);

/* Closes C now (a stream whose reader fell behind); its request ends
 * with written 0. */
void httpserv_close(struct httpserv_conn *c);
/* Bytes of output buffers the connections of SRV hold now. */
size_t httpserv_output_held(const struct httpserv *srv);

#endif
