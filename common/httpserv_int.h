/*
 * httpserv_int.h: the insides of the HTTP/1.1 server layer (httpserv.h),
 * shared by the five files below and by no one else (nothing outside
 * them includes it): the server and connection records, and the calls
 * between the files.
 *
 * The layer's files, each calling only those below it:
 * - httpserv.c: the server (new, free, listen, drain), adopting a
 *   connection, reading, writing, and the loop's callbacks that run a
 *   connection (its output written at the end of the turn, the
 *   producers' next turn);
 * - httpdispatch.c: requests: a head found in the input, parsed, refused,
 *   answered by the layer or handed to the server;
 * - httpstream.c: streamed answers, their producers, and the producers'
 *   budget per turn of the loop;
 * - httpreply.c: whole answers, refusals, prebuilt answers and the output
 *   budget;
 * - httpconn.c: connection records, closing one, the deadline FIFOs and
 *   the dirty list.
 * The public functions of httpserv.h keep their httpserv_ names in
 * whichever file holds them; the internal ones bear their file's prefix.
 */
#ifndef MOCKRES_HTTPSERV_INT_H
#define MOCKRES_HTTPSERV_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>

#include "httpbuf.h"
#include "httpparse.h"
#include "httpserv.h"
#include "ratelog.h"

#define HTTPSERV_CHUNK    64 /* records allocated at once */
#define HTTPSERV_DONE_MAX 4  /* answers queued, not yet written */

enum httpserv_fifo_id { FIFO_HEAD, FIFO_IO, FIFO_LINGER, FIFO_N, FIFO_NONE };

struct httpserv_done {
	uint64_t end; /* out.queued after the answer's last byte */
	uint64_t cookie;
	int code;
};

struct httpserv_conn {
	struct httpserv *srv;
	int fd;
	uint32_t ticket; /* the request in progress (or the last one) */
	unsigned open : 1;
	unsigned busy : 1;      /* a request handed over, not answered */
	unsigned streaming : 1; /* ... answered by a stream not ended */
	unsigned chunked : 1;   /* ... in chunks */
	unsigned closing : 1;   /* close once the output is written */
	unsigned eof : 1;       /* the client sent all it will */
	unsigned reading : 1;   /* rev is added */
	unsigned writing : 1;   /* wev is added */
	unsigned dirty : 1;     /* on srv->dirty */
	unsigned linger : 1;    /* half-closed, draining the client */
	unsigned unread : 1;    /* a refused request's body may follow */
	unsigned continued : 1; /* 100 Continue sent for the waiting body */
	unsigned checked : 1;   /* ops->check saw the waiting body's head */
	unsigned begun : 1;     /* ... and its cookie is in c->cookie */
	unsigned quiet : 1;     /* any input closes (httpserv_stream_quiet) */
	unsigned starved : 1;   /* on srv->starved: its producer waits */
	unsigned producing : 1; /* in its producer: writes are queued */
	/* the request in progress, as its answer needs it */
	unsigned minor : 1;
	unsigned ka10 : 1;
	unsigned reqclose : 1;
	unsigned head : 1;
	int code; /* of a stream */
	uint64_t cookie;
	struct event rev, wev;
	struct httpbuf *in; /* unparsed input, NULL when none */
	size_t scan;        /* httpparse_end's progress in it */
	struct httpout out;
	struct httpserv_done done[HTTPSERV_DONE_MAX];
	unsigned ndone, done_first;
	httpserv_fill_fn fill;
	void *fill_arg;
	enum httpserv_fifo_id fifo;
	uint64_t deadline_ms;
	TAILQ_ENTRY(httpserv_conn) tlink; /* in a FIFO */
	TAILQ_ENTRY(httpserv_conn) dlink; /* on the dirty list */
	TAILQ_ENTRY(httpserv_conn) slink; /* on the starved list */
	TAILQ_ENTRY(httpserv_conn) alink; /* open connections */
	struct httpserv_conn *next_free;
};

struct httpserv_fifo {
	TAILQ_HEAD(, httpserv_conn) q;
	struct event *ev;
	uint64_t ms;
};

struct httpserv_chunk {
	struct httpserv_chunk *next;
	struct httpserv_conn c[HTTPSERV_CHUNK];
};

struct httpserv {
	struct event_base *base;
	struct httpserv_config cf;
	const struct httpserv_ops *ops;
	void *arg;
	struct evconnlistener *ls[HTTPSERV_LISTEN_MAX];
	int nls;
	struct httpbuf_pool inpool, outpool;
	struct httpserv_conn *free;
	struct httpserv_chunk *chunks;
	TAILQ_HEAD(, httpserv_conn) all;
	TAILQ_HEAD(, httpserv_conn) dirty;
	TAILQ_HEAD(, httpserv_conn) starved; /* producers waiting a turn */
	struct event *starved_ev;
	size_t turn_bytes; /* produced since the starved last resumed */
	struct event *flush_ev;
	int flush_armed;
	struct httpserv_fifo fifo[FIFO_N];
	size_t nconns, peak;
	int draining;
	int freeing; /* httpserv_free: no callbacks */
	struct httpserv_answer a405, a405close, aoptions, a503;
	char text405[128], text503[160];
	struct ratelog budget_log;
};

/* httpconn.c */
struct httpserv_conn *httpconn_get(struct httpserv *srv);
void httpconn_close(struct httpserv_conn *c);
void httpconn_timer(struct httpserv_conn *c, enum httpserv_fifo_id which);
void httpconn_fifo_cb(evutil_socket_t fd, short what, void *arg);
void httpconn_dirty(struct httpserv_conn *c);

/* httpreply.c */
int httpreply_over_budget(const struct httpserv *srv, size_t len);
void httpreply_budget_spent(struct httpserv *srv);
int httpreply_valid(const struct httpserv_conn *c, uint32_t ticket);
void httpreply_refuse(struct httpserv_conn *c, uint64_t cookie, int code,
                      const char *fields, const char *text, int close);

/* httpstream.c */
int httpstream_turn_left(const struct httpserv *srv);
void httpstream_produce(struct httpserv_conn *c);

/* httpdispatch.c */
void httpdispatch_process(struct httpserv_conn *c);

#endif
