/*
 * httpserv.c: the HTTP/1.1 server layer (see httpserv.h).
 *
 * A connection is a record from a free list with two libevent events on
 * its socket: a persistent read event, added while the connection may
 * read (not while its input buffer is full, nor after EOF), and a write
 * event, added only while the socket did not take all the output.
 * Output is written at the end of the loop turn: a connection that
 * queued output goes on the server's dirty list, and one event, made
 * active when the list stops being empty, runs after the turn's other
 * callbacks and writes each listed connection with one sendmsg.  So the
 * answers of a turn (several pipelined ones on a connection, every
 * answer mockresd's replies brought) cost one system call per connection.
 *
 * Deadlines: three FIFOs of connections, one per duration (the whole
 * head, output that does not move, lingering), each served by one timer
 * armed for its oldest entry: O(1) per request, no timer per connection.
 * A connection is in at most one.
 *
 * Requests: the input buffer is scanned for the end of a head
 * (httpparse_end, incrementally), then the head is parsed at once
 * (httpparse_request) and the request handed over; its bytes are
 * consumed when the callback returns.  Each answer queued records where
 * it ends in the output stream, so that the server hears (done) when its
 * last byte is written, or that it was lost with the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/listener.h>

#include "accept.h"
#include "clock.h"
#include "httpans.h"
#include "httpbuf.h"
#include "httpserv.h"
#include "log.h"
#include "ratelog.h"

#define HTTPSERV_OUTBUF    (16 << 10) /* output buffers, chained */
#define HTTPSERV_POOL_KEEP 64         /* free buffers kept, per pool */
#define HTTPSERV_CHUNK     64         /* records allocated at once */
#define HTTPSERV_DONE_MAX  4          /* answers queued, not yet written */
#define HTTPSERV_IOV       16

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

static void httpserv_read_cb(evutil_socket_t, short, void *);
static void httpserv_write_cb(evutil_socket_t, short, void *);
static void httpserv_conn_close(struct httpserv_conn *);
static void httpserv_run(struct httpserv_conn *);

/* ---- deadlines ---------------------------------------------------- */

static void
httpserv_fifo_arm(struct httpserv_fifo *f, uint64_t deadline, uint64_t now)
{
	struct timeval tv = clock_tv(deadline > now ? deadline - now : 0);

	evtimer_add(f->ev, &tv);
}

/* Moves C to the tail of FIFO WHICH (a new deadline), or out of all. */
static void
httpserv_timer(struct httpserv_conn *c, enum httpserv_fifo_id which)
{
	struct httpserv *srv = c->srv;
	struct httpserv_fifo *f;
	uint64_t now;
	int was_empty;

	if (c->fifo != FIFO_NONE)
		TAILQ_REMOVE(&srv->fifo[c->fifo].q, c, tlink);
	c->fifo = which;
	if (which == FIFO_NONE)
		return;
	f = &srv->fifo[which];
	now = clock_now_ms();
	was_empty = TAILQ_EMPTY(&f->q);
	c->deadline_ms = now + f->ms;
	TAILQ_INSERT_TAIL(&f->q, c, tlink);
	/* Otherwise it is armed already, for an earlier deadline. */
	if (was_empty)
		httpserv_fifo_arm(f, c->deadline_ms, now);
}

static void
httpserv_fifo_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpserv_fifo *f = arg;
	uint64_t now = clock_now_ms();
	struct httpserv_conn *c;

	while ((c = TAILQ_FIRST(&f->q)) != NULL && c->deadline_ms <= now)
		httpserv_conn_close(c); /* leaves the FIFO */
	if (c != NULL)
		httpserv_fifo_arm(f, c->deadline_ms, now);
}

/* ---- connection records ------------------------------------------- */

static struct httpserv_conn *
httpserv_conn_get(struct httpserv *srv)
{
	struct httpserv_chunk *ch;
	struct httpserv_conn *c;
	int i;

	if (srv->free == NULL) {
		if ((ch = calloc(1, sizeof(*ch))) == NULL)
			return NULL;
		ch->next = srv->chunks;
		srv->chunks = ch;
		for (i = 0; i < HTTPSERV_CHUNK; i++) {
			ch->c[i].next_free = srv->free;
			srv->free = &ch->c[i];
		}
	}
	c = srv->free;
	srv->free = c->next_free;
	return c;
}

int
httpserv_adopt(struct httpserv *srv, int fd)
{
	struct httpserv_conn *c;
	uint32_t ticket;
	int one = 1, fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (c = httpserv_conn_get(srv)) == NULL) {
		close(fd);
		return -1;
	}
	/* Answers go out whole, one write each: no reason to wait for an
	 * ACK before the next (fails harmlessly on a Unix socket). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (srv->cf.sndbuf > 0) /* no autotuning up to megabytes */
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &srv->cf.sndbuf,
		                 sizeof(srv->cf.sndbuf));
	ticket = c->ticket; /* never reset: a stale ticket stays stale */
	memset(c, 0, sizeof(*c));
	c->ticket = ticket;
	c->srv = srv;
	c->fd = fd;
	c->open = 1;
	c->fifo = FIFO_NONE;
	event_assign(&c->rev, srv->base, fd, EV_READ | EV_PERSIST,
	             httpserv_read_cb, c);
	event_assign(&c->wev, srv->base, fd, EV_WRITE | EV_PERSIST,
	             httpserv_write_cb, c);
	if (event_add(&c->rev, NULL) == -1) {
		close(fd);
		c->open = 0;
		c->next_free = srv->free;
		srv->free = c;
		return -1;
	}
	c->reading = 1;
	TAILQ_INSERT_TAIL(&srv->all, c, alink);
	if (++srv->nconns > srv->peak)
		srv->peak = srv->nconns;
	httpserv_timer(c, FIFO_HEAD);
	if (srv->ops->conn != NULL)
		srv->ops->conn(srv->arg, 1);
	return 0;
}

/* Ends C now: the answers not written and the request in progress are
 * lost (done with written 0); the socket is closed. */
static void
httpserv_conn_close(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;
	const struct httpserv_ops *ops = srv->ops;

	if (!c->open)
		return;
	c->open = 0;
	if (c->reading)
		event_del(&c->rev);
	if (c->writing)
		event_del(&c->wev);
	c->reading = c->writing = 0;
	httpserv_timer(c, FIFO_NONE);
	if (c->dirty)
		TAILQ_REMOVE(&srv->dirty, c, dlink);
	c->dirty = 0;
	if (c->starved)
		TAILQ_REMOVE(&srv->starved, c, slink);
	c->starved = 0;
	close(c->fd);
	c->fd = -1;
	if (c->in != NULL)
		httpbuf_put(&srv->inpool, c->in);
	c->in = NULL;
	httpout_clear(&c->out, &srv->outpool);
	TAILQ_REMOVE(&srv->all, c, alink);
	srv->nconns--;
	if (ops->conn != NULL && !srv->freeing)
		ops->conn(srv->arg, 0);
	while (c->ndone > 0) {
		struct httpserv_done *d = &c->done[c->done_first];

		c->done_first = (c->done_first + 1) % HTTPSERV_DONE_MAX;
		c->ndone--;
		if (ops->done != NULL)
			ops->done(srv->arg, d->cookie, d->code, 0);
	}
	if (c->busy) {
		c->busy = 0;
		if (ops->done != NULL)
			ops->done(srv->arg, c->cookie,
			          c->streaming ? c->code : 0, 0);
	}
	c->streaming = 0;
	c->next_free = srv->free;
	srv->free = c;
}

void
httpserv_close(struct httpserv_conn *c)
{
	httpserv_conn_close(c);
}

/* C has output to write at the end of this turn. */
static void
httpserv_dirty(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;

	if (c->dirty || !c->open)
		return;
	c->dirty = 1;
	TAILQ_INSERT_TAIL(&srv->dirty, c, dlink);
	if (!srv->flush_armed) {
		srv->flush_armed = 1;
		event_active(srv->flush_ev, EV_TIMEOUT, 1);
	}
}

/* ---- answers ------------------------------------------------------ */

size_t
httpserv_output_held(const struct httpserv *srv)
{
	return srv->outpool.nused * srv->outpool.size;
}

/* Would LEN more bytes of output pass the server's budget? */
static int
httpserv_over_budget(const struct httpserv *srv, size_t len)
{
	return srv->cf.output_max > 0 &&
	       httpserv_output_held(srv) + len > srv->cf.output_max;
}

static void
httpserv_budget_spent(struct httpserv *srv)
{
	uint64_t more;

	if (ratelog_allow(&srv->budget_log, clock_now_ms(), &more))
		log_warnx("HTTP output budget spent: %zu KiB of answers unsent "
		          "on %zu connections (the most is %zu KiB); answering "
		          "503 until clients read or leave (%llu more not "
		          "logged)",
		          httpserv_output_held(srv) >> 10, srv->nconns,
		          srv->cf.output_max >> 10, (unsigned long long)more);
}

/* Queues an answer to the request in progress; one over the budget
 * becomes a 503 that closes. */
static int
httpserv_answer(struct httpserv_conn *c, int code, const char *mid,
                size_t mid_len, const void *body, size_t len, int close)
{
	struct httpserv *srv = c->srv;
	enum httpans_conn conn;
	struct httpserv_done *d;
	struct timeval tv;

	if (!c->head && len > HTTPSERV_BUDGET_SMALL &&
	    httpserv_over_budget(srv, len)) {
		httpserv_budget_spent(srv);
		code = srv->a503.code;
		mid = srv->a503.mid;
		mid_len = srv->a503.mid_len;
		body = srv->a503.body;
		len = srv->a503.body_len;
		close = 1;
	}
	if (close || c->reqclose || srv->draining)
		conn = HTTPANS_CLOSE;
	else
		conn = c->ka10 ? HTTPANS_KEEP10 : HTTPANS_KEEP;
	event_base_gettimeofday_cached(srv->base, &tv);
	if (httpans_head(&c->out, &srv->outpool, code, c->minor, mid, mid_len,
	                 conn, tv.tv_sec) == -1 ||
	    (!c->head && len > 0 &&
	     httpout_add(&c->out, &srv->outpool, body, len) == -1)) {
		httpserv_conn_close(c); /* out of memory */
		return -1;
	}
	d = &c->done[(c->done_first + c->ndone) % HTTPSERV_DONE_MAX];
	c->ndone++;
	d->end = c->out.queued;
	d->cookie = c->cookie;
	d->code = code;
	c->busy = 0;
	if (conn == HTTPANS_CLOSE)
		c->closing = 1;
	httpserv_dirty(c);
	return 0;
}

static int
httpserv_valid(const struct httpserv_conn *c, uint32_t ticket)
{
	return c != NULL && c->open && c->busy && !c->streaming &&
	       c->ticket == ticket;
}

int
httpserv_reply(struct httpserv_conn *c, uint32_t ticket,
               const struct httpserv_answer *a)
{
	if (!httpserv_valid(c, ticket))
		return -1;
	return httpserv_answer(c, a->code, a->mid, a->mid_len, a->body,
	                       a->body_len, a->close);
}

int
httpserv_reply_body(struct httpserv_conn *c, uint32_t ticket, int code,
                    const char *ctype, const char *fields, const void *body,
                    size_t len)
{
	char mid[HTTPANS_MID_MAX];
	int n;

	if (!httpserv_valid(c, ticket))
		return -1;
	n = httpans_mid(mid, (long long)len,
	                ctype ? ctype : c->srv->cf.content_type, fields);
	if (n < 0)
		n = httpans_mid(mid, (long long)len, c->srv->cf.content_type,
		                NULL);
	return httpserv_answer(c, code, mid, (size_t)n, body, len, 0);
}

int
httpserv_close_after_reply(struct httpserv_conn *c, uint32_t ticket)
{
	if (!httpserv_valid(c, ticket))
		return -1;
	c->reqclose = 1;
	return 0;
}

/* A refusal by this layer: a request of its own, then the answer. */
static void
httpserv_refuse(struct httpserv_conn *c, uint64_t cookie, int code,
                const char *fields, const char *text, int close)
{
	c->busy = 1;
	c->ticket++;
	c->cookie = cookie;
	if (close) {
		c->reqclose = 1;
		c->unread = 1; /* what follows may still come */
	}
	if (httpserv_reply_body(c, c->ticket, code, NULL, fields, text,
	                        strlen(text)) == 0 &&
	    close)
		c->closing = 1;
}

int
httpserv_answer_init(struct httpserv_answer *a, const struct httpserv *srv,
                     int code, const char *ctype, const char *fields,
                     const void *body, size_t len)
{
	char mid[HTTPANS_MID_MAX];
	int n;

	memset(a, 0, sizeof(*a));
	n = httpans_mid(mid, (long long)len,
	                ctype ? ctype : srv->cf.content_type, fields);
	if (n < 0 || (a->mid = malloc((size_t)n + 1)) == NULL)
		return -1;
	memcpy(a->mid, mid, (size_t)n + 1);
	a->mid_len = (size_t)n;
	a->code = code;
	a->body = body;
	a->body_len = len;
	return 0;
}

void
httpserv_answer_free(struct httpserv_answer *a)
{
	free(a->mid);
	a->mid = NULL;
}

/* ---- streams ------------------------------------------------------ */

int
httpserv_stream_start(struct httpserv_conn *c, uint32_t ticket, int code,
                      const char *ctype, const char *fields)
{
	struct httpserv *srv;
	char mid[HTTPANS_MID_MAX];
	struct timeval tv;
	int n;

	if (!httpserv_valid(c, ticket))
		return -1;
	srv = c->srv;
	if (httpserv_over_budget(srv, 1)) {
		httpserv_budget_spent(srv);
		(void)httpserv_reply(c, ticket, &srv->a503);
		return -1;
	}
	/* HTTP/1.1: chunked, the connection may go on; 1.0: until close */
	c->chunked = c->minor == 1;
	if (!c->chunked)
		c->reqclose = 1;
	n = httpans_mid(mid, c->chunked ? -1 : -2,
	                ctype ? ctype : srv->cf.content_type, fields);
	if (n < 0)
		return -1;
	event_base_gettimeofday_cached(srv->base, &tv);
	if (httpans_head(&c->out, &srv->outpool, code, c->minor, mid, (size_t)n,
	                 c->reqclose || srv->draining
	                     ? HTTPANS_CLOSE
	                     : (c->ka10 ? HTTPANS_KEEP10 : HTTPANS_KEEP),
	                 tv.tv_sec) == -1) {
		httpserv_conn_close(c);
		return -1;
	}
	if (c->reqclose || srv->draining)
		c->reqclose = 1;
	c->streaming = 1;
	c->code = code;
	httpserv_dirty(c);
	if (c->head)
		return httpserv_stream_end(c);
	return 0;
}

/*
 * With nothing queued before them, IOV's bytes go to the socket at once
 * (unless a producer writes them: the layer sends its pieces together);
 * what it does not take is queued.  Returns 0, or -1 (C is closed).
 */
static int
httpserv_stream_send(struct httpserv_conn *c, struct iovec *iov, int cnt)
{
	struct httpserv *srv = c->srv;
	struct msghdr m;
	ssize_t n = 0;
	size_t skip;
	int i;

	if (c->out.len == 0 && !c->writing && !c->producing) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)cnt;
		n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			httpserv_conn_close(c); /* it left */
			return -1;
		}
		if (n < 0)
			n = 0;
		c->out.queued += (size_t)n;
		c->out.sent += (size_t)n;
	}
	skip = (size_t)n;
	for (i = 0; i < cnt; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (httpout_add(&c->out, &srv->outpool,
		                (char *)iov[i].iov_base + skip,
		                iov[i].iov_len - skip) == -1) {
			httpserv_conn_close(c); /* out of memory */
			return -1;
		}
		skip = 0;
	}
	if (c->out.len > 0)
		httpserv_dirty(c);
	return 0;
}

int
httpserv_stream_write(struct httpserv_conn *c, const void *p, size_t len)
{
	struct iovec iov[3];
	char hex[24];
	int cnt = 0;

	if (c == NULL || !c->open || !c->streaming)
		return -1;
	if (len == 0 || c->head)
		return 0;
	if (c->chunked) {
		iov[cnt].iov_base = hex;
		iov[cnt++].iov_len =
		    (size_t)snprintf(hex, sizeof(hex), "%zx\r\n", len);
	}
	iov[cnt].iov_base = (void *)p;
	iov[cnt++].iov_len = len;
	if (c->chunked) {
		iov[cnt].iov_base = (void *)"\r\n";
		iov[cnt++].iov_len = 2;
	}
	return httpserv_stream_send(c, iov, cnt);
}

int
httpserv_stream_end(struct httpserv_conn *c)
{
	struct httpserv_done *d;

	if (c == NULL || !c->open || !c->streaming)
		return -1;
	if (c->chunked && !c->head &&
	    httpout_add(&c->out, &c->srv->outpool, "0\r\n\r\n", 5) == -1) {
		httpserv_conn_close(c);
		return -1;
	}
	d = &c->done[(c->done_first + c->ndone) % HTTPSERV_DONE_MAX];
	c->ndone++;
	d->end = c->out.queued;
	d->cookie = c->cookie;
	d->code = c->code;
	c->streaming = 0;
	c->busy = 0;
	c->fill = NULL;
	c->quiet = 0;
	if (c->reqclose)
		c->closing = 1;
	httpserv_dirty(c);
	return 0;
}

void
httpserv_stream_quiet(struct httpserv_conn *c)
{
	if (c == NULL || !c->open || !c->streaming)
		return;
	c->quiet = 1;
	httpserv_dirty(c); /* httpserv_after drops what input it has */
}

void
httpserv_stream_producer(struct httpserv_conn *c, httpserv_fill_fn fill,
                         void *arg)
{
	if (c == NULL || !c->open || !c->streaming)
		return;
	c->fill = fill;
	c->fill_arg = arg;
	httpserv_dirty(c);
}

size_t
httpserv_unsent(const struct httpserv_conn *c)
{
	return c != NULL && c->open ? c->out.len : 0;
}

/*
 * Is some of the producers' budget left?  It is given back when the
 * producers that ran out of it resume (httpserv_starved_cb), after the
 * loop polled: so the loop polls at least every HTTPSERV_PRODUCE_TURN
 * bytes produced.  (Not counted per loop turn by the loop's cached
 * time: that clock is coarse, 4 ms, and producers waited for it to
 * tick, spinning the loop.)
 */
static int
httpserv_turn_left(const struct httpserv *srv)
{
	return srv->turn_bytes < HTTPSERV_PRODUCE_TURN;
}

/* C's producer waits for the next turn (httpserv_starved_cb). */
static void
httpserv_starve(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;
	struct timeval zero = {0, 0};

	if (c->starved)
		return;
	c->starved = 1;
	TAILQ_INSERT_TAIL(&srv->starved, c, slink);
	if (!evtimer_pending(srv->starved_ev, NULL))
		evtimer_add(srv->starved_ev, &zero);
}

/* A producer tops up C's output while it is low and the turn's budget
 * lasts. */
static void
httpserv_produce(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;

	while (c->open && c->streaming && c->fill != NULL &&
	       c->out.len < HTTPSERV_PRODUCE_LOW) {
		uint64_t before = c->out.queued;

		if (!httpserv_turn_left(srv)) {
			httpserv_starve(c);
			break;
		}
		c->producing = 1; /* its pieces go out together, after */
		if (!c->fill(c->fill_arg, c)) {
			c->producing = 0;
			if (c->open && c->streaming)
				httpserv_stream_end(c);
			break;
		}
		c->producing = 0;
		srv->turn_bytes += c->out.queued - before;
		if (c->out.queued == before)
			break; /* nothing now: it writes when it has some */
	}
}

/* ---- requests ----------------------------------------------------- */

/* Drops N bytes of input, which the request just handed over used. */
static void
httpserv_consume(struct httpserv_conn *c, size_t n)
{
	c->in->start += n;
	if (c->in->start == c->in->end)
		c->in->start = c->in->end = 0;
	c->scan = 0;
}

/*
 * The head REQ announces a body not all in yet: the server's check may
 * answer it from the head alone.  Returns 1 if it did (the connection
 * closes after the answer, the body unread, or is gone), 0 to wait for
 * the body.
 */
static int
httpserv_check(struct httpserv_conn *c, const struct httpparse_req *req)
{
	struct httpserv *srv = c->srv;
	const struct httpserv_ops *ops = srv->ops;
	struct httpserv_request r;

	c->cookie = ops->begin != NULL ? ops->begin(srv->arg) : 0;
	c->begun = 1;
	c->minor = (unsigned)req->minor;
	c->head = 0;
	c->ka10 = 0;
	c->reqclose = 1; /* an answer now closes: the body is left unread */
	c->busy = 1;
	c->ticket++;
	r.conn = c;
	r.ticket = c->ticket;
	r.head = req;
	r.body = NULL;
	r.body_len = 0;
	r.cookie = &c->cookie;
	ops->check(srv->arg, &r);
	if (!c->open)
		return 1;
	if (c->busy) { /* not answered: wait for the body */
		c->busy = 0;
		c->reqclose = 0;
		return 0;
	}
	c->unread = 1; /* the body may still come: linger after */
	c->closing = 1;
	if (c->fifo == FIFO_HEAD)
		httpserv_timer(c, FIFO_NONE);
	return 1;
}

/*
 * A head is in: refuse it, answer what this layer answers, or hand the
 * request over.  Returns 1 to go on with the next, 0 to stop (a body to
 * wait for, the connection closing or gone).
 */
static int
httpserv_request(struct httpserv_conn *c, const char *data, size_t avail,
                 size_t hlen)
{
	struct httpserv *srv = c->srv;
	const struct httpserv_ops *ops = srv->ops;
	struct httpparse_req req;
	struct httpserv_request r;
	enum httpparse_error e;
	uint64_t cookie, cl;
	size_t need;
	int served;

	e = httpparse_request(data, hlen, HTTPSERV_HEAD_MAX, &req);
	if (e == HTTPPARSE_OK && (req.flags & HTTPPARSE_LENGTH) &&
	    req.content_length > 0 && req.method != HTTPPARSE_GET &&
	    req.method != HTTPPARSE_HEAD &&
	    (srv->cf.methods & HTTPSERV_M(req.method)) &&
	    req.content_length <= srv->cf.body_max &&
	    avail < hlen + req.content_length) {
		/* a served method's body, not all in yet: the server may
		 * refuse it now; else wait (the head deadline still runs),
		 * said to go ahead once */
		if (!c->checked) {
			c->checked = 1;
			if (ops->check != NULL && httpserv_check(c, &req))
				return 0;
		}
		if ((req.flags & HTTPPARSE_CONTINUE) && req.minor == 1 &&
		    !c->continued) {
			c->continued = 1;
			if (httpout_add(&c->out, &srv->outpool,
			                "HTTP/1.1 100 Continue\r\n\r\n",
			                25) == 0)
				httpserv_dirty(c);
		}
		return 0;
	}
	/* a whole request: the head deadline stops here (the write of its
	 * answer starts the next one) */
	if (c->fifo == FIFO_HEAD)
		httpserv_timer(c, FIFO_NONE);
	if (c->begun)
		cookie = c->cookie; /* begun when its head was checked */
	else
		cookie = ops->begin != NULL ? ops->begin(srv->arg) : 0;
	c->minor = e == HTTPPARSE_OK ? (unsigned)req.minor : 1;
	c->head = e == HTTPPARSE_OK && req.method == HTTPPARSE_HEAD;
	c->ka10 = e == HTTPPARSE_OK && (req.flags & HTTPPARSE_KEEPALIVE);
	c->reqclose = e != HTTPPARSE_OK || (req.flags & HTTPPARSE_CLOSE);
	c->continued = c->checked = c->begun = 0;
	if (e != HTTPPARSE_OK) {
		httpserv_refuse(c, cookie, httpparse_status(e), NULL,
		                httpparse_text(e), 1);
		return 0;
	}
	cl = req.content_length;
	served = (srv->cf.methods & HTTPSERV_M(req.method)) != 0;
	if (cl > 0 &&
	    (req.method == HTTPPARSE_GET || req.method == HTTPPARSE_HEAD)) {
		httpserv_refuse(c, cookie, 400, NULL,
		                "a GET or HEAD request must not carry a body",
		                1);
		return 0;
	}
	if (cl > srv->cf.body_max) {
		httpserv_refuse(c, cookie, 413, NULL, "request body too large",
		                1);
		return 0;
	}
	if (!served) {
		c->busy = 1;
		c->ticket++;
		c->cookie = cookie;
		if (cl > 0)
			c->unread = 1;
		httpserv_reply(c, c->ticket,
		               req.method == HTTPPARSE_OPTIONS &&
		                       req.target_len == 1 &&
		                       req.target[0] == '*'
		                   ? &srv->aoptions
		                   : (cl > 0 ? &srv->a405close : &srv->a405));
		if (!c->open || c->closing)
			return 0;
		httpserv_consume(c, hlen);
		return 1;
	}
	need = hlen + (size_t)cl;
	c->busy = 1;
	c->ticket++;
	c->cookie = cookie;
	r.conn = c;
	r.ticket = c->ticket;
	r.head = &req;
	r.body = cl > 0 ? data + hlen : NULL;
	r.body_len = (size_t)cl;
	r.cookie = &c->cookie;
	ops->request(srv->arg, &r);
	if (!c->open)
		return 0;
	httpserv_consume(c, need);
	return !c->closing;
}

/* Parses and hands over what C's input holds, a request at a time. */
static void
httpserv_process(struct httpserv_conn *c)
{
	struct httpbuf *b;
	size_t avail, hlen;

	while (c->open && !c->busy && !c->closing && !c->linger &&
	       c->ndone < HTTPSERV_DONE_MAX &&
	       c->out.len < HTTPSERV_OUTPUT_HIGH && (b = c->in) != NULL &&
	       (avail = b->end - b->start) > 0) {
		hlen = httpparse_end(b->data + b->start, avail, &c->scan);
		if (hlen == 0 && avail > HTTPSERV_HEAD_MAX)
			hlen = avail; /* refused as too large */
		if (hlen == 0) {
			if (b->end == b->size && b->start > 0) {
				memmove(b->data, b->data + b->start, avail);
				b->start = 0;
				b->end = avail;
			}
			return;
		}
		if (!httpserv_request(c, b->data + b->start, avail, hlen))
			return;
	}
}

/* After C's input or output moved: buffers, reading, closing. */
static void
httpserv_after(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;
	int want;

	if (!c->open)
		return;
	if (c->in != NULL && (c->in->start == c->in->end || c->quiet)) {
		/* (a quiet stream's: what came after its request is dropped,
		 * as what comes later) */
		httpbuf_put(&srv->inpool, c->in);
		c->in = NULL;
		c->scan = 0;
	}
	if (c->eof && !c->busy && !c->streaming && c->out.len == 0 &&
	    !c->linger) {
		httpserv_conn_close(c); /* nothing more will come */
		return;
	}
	want = c->linger || (!c->eof && (c->in == NULL || c->in->start > 0 ||
	                                 c->in->end < c->in->size));
	if (want && !c->reading) {
		if (event_add(&c->rev, NULL) == 0)
			c->reading = 1;
	} else if (!want && c->reading) {
		event_del(&c->rev);
		c->reading = 0;
	}
}

static void
httpserv_read_cb(evutil_socket_t fd, short what, void *arg)
{
	static char sink[16 << 10];
	struct httpserv_conn *c = arg;
	struct httpserv *srv = c->srv;
	struct httpbuf *b;
	ssize_t n;

	if (c->quiet) {
		/* an event stream's client sent something, or left */
		n = read(fd, sink, sizeof(sink));
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			httpserv_conn_close(c);
		return;
	}
	if (c->linger) {
		/* what a refused client still sends: read and dropped */
		n = read(fd, sink, sizeof(sink));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			httpserv_conn_close(c);
		return;
	}
	if (c->in == NULL && (c->in = httpbuf_get(&srv->inpool)) == NULL) {
		httpserv_conn_close(c);
		return;
	}
	b = c->in;
	if (b->end == b->size && b->start > 0) {
		/* room at the front only (a body waited for behind
		 * requests already answered) */
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	n = read(fd, b->data + b->end, b->size - b->end);
	if (n > 0) {
		b->end += (size_t)n;
	} else if (n == 0) {
		c->eof = 1;
	} else if (errno != EAGAIN && errno != EINTR) {
		httpserv_conn_close(c); /* reset */
		return;
	}
	httpserv_process(c);
	httpserv_after(c);
}

/* Half-closes C and reads what the client still sends, for a while,
 * before the close: its answer is read, not lost to a reset. */
static void
httpserv_linger(struct httpserv_conn *c)
{
	if (shutdown(c->fd, SHUT_WR) == -1 || c->eof) {
		httpserv_conn_close(c);
		return;
	}
	c->linger = 1;
	if (c->in != NULL)
		httpbuf_put(&c->srv->inpool, c->in);
	c->in = NULL;
	httpserv_timer(c, FIFO_LINGER);
	httpserv_after(c);
}

/* Writes C's output with one sendmsg; answers written are done. */
static void
httpserv_write(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;
	struct iovec iov[HTTPSERV_IOV];
	struct msghdr m;
	ssize_t n;

	if (c->out.len > 0) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)httpout_iov(&c->out, iov, HTTPSERV_IOV);
		n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			httpserv_conn_close(c);
			return;
		}
		if (n > 0) {
			httpout_drain(&c->out, &srv->outpool, (size_t)n);
			if (c->out.len > 0)
				httpserv_timer(c, FIFO_IO); /* it moved */
		}
	}
	while (c->ndone > 0 && c->done[c->done_first].end <= c->out.sent) {
		struct httpserv_done *d = &c->done[c->done_first];

		c->done_first = (c->done_first + 1) % HTTPSERV_DONE_MAX;
		c->ndone--;
		if (srv->ops->done != NULL)
			srv->ops->done(srv->arg, d->cookie, d->code, 1);
	}
	if (c->out.len > 0) {
		if (!c->writing && event_add(&c->wev, NULL) == 0)
			c->writing = 1;
		if (c->fifo != FIFO_IO)
			httpserv_timer(c, FIFO_IO);
		return;
	}
	if (c->writing) {
		event_del(&c->wev);
		c->writing = 0;
	}
	if (c->closing) {
		if ((c->in != NULL && c->in->end > c->in->start) || c->unread)
			httpserv_linger(c);
		else
			httpserv_conn_close(c);
		return;
	}
	/* the next request has HTTPSERV_HEAD_MS from now */
	httpserv_timer(c, c->busy ? FIFO_NONE : FIFO_HEAD);
}

/*
 * Produce, parse what waits, write; again while the socket takes it and
 * that gave room for more: a producer's next piece (while the turn's
 * budget lasts), or the requests behind answers that took every slot
 * (HTTPSERV_DONE_MAX) and are now written.  Then tidy up.
 */
static void
httpserv_run(struct httpserv_conn *c)
{
	uint64_t queued, sent;
	unsigned ndone;

	for (;;) {
		queued = c->out.queued;
		sent = c->out.sent;
		ndone = c->ndone;
		httpserv_produce(c);
		httpserv_process(c);
		if (!c->open)
			return;
		if (!c->writing || c->out.len == 0)
			httpserv_write(c);
		if (!c->open)
			return;
		if (c->writing)
			break; /* the socket is full: its event comes back */
		if (c->fill != NULL &&
		    (c->out.queued != queued || c->out.sent != sent))
			continue; /* it moved: the producer may add more */
		if (c->ndone < ndone && c->in != NULL &&
		    c->in->end > c->in->start)
			continue; /* slots freed, requests waiting */
		break;
	}
	httpserv_after(c);
}

static void
httpserv_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpserv_conn *c = arg;

	if (c->writing) {
		event_del(&c->wev);
		c->writing = 0;
	}
	httpserv_run(c);
}

/* End of the loop turn: every connection that queued output. */
static void
httpserv_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpserv *srv = arg;
	struct httpserv_conn *c;

	/* (connections made dirty meanwhile join the list: one pass) */
	while ((c = TAILQ_FIRST(&srv->dirty)) != NULL) {
		TAILQ_REMOVE(&srv->dirty, c, dlink);
		c->dirty = 0;
		httpserv_run(c);
	}
	srv->flush_armed = 0;
}

/*
 * The producers that waited for a turn, in the order they came, while
 * its budget lasts: the others' events of the turn ran first (a timer
 * runs after the turn's I/O), and so does the next turn's.
 */
static void
httpserv_starved_cb(evutil_socket_t fd, short what, void *arg)
{
	struct httpserv *srv = arg;
	struct timeval zero = {0, 0};
	struct httpserv_conn *c;

	srv->turn_bytes = 0; /* a new turn: the loop polled */
	while ((c = TAILQ_FIRST(&srv->starved)) != NULL &&
	       httpserv_turn_left(srv)) {
		TAILQ_REMOVE(&srv->starved, c, slink);
		c->starved = 0;
		httpserv_run(c); /* may come back at the tail */
	}
	if (!TAILQ_EMPTY(&srv->starved))
		evtimer_add(srv->starved_ev, &zero);
}

/* ---- the server --------------------------------------------------- */

static void
httpserv_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
                   struct sockaddr *sa, int len, void *arg)
{
	(void)httpserv_adopt(arg, fd);
}

int
httpserv_listen(struct httpserv *srv, int fd, const char *what)
{
	struct evconnlistener *l;

	if (srv->nls == HTTPSERV_LISTEN_MAX || srv->draining)
		return -1;
	l = evconnlistener_new(srv->base, httpserv_accept_cb, srv,
	                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	                       -1, fd);
	if (l == NULL)
		return -1;
	if (accept_guard(l, what) == -1) {
		evconnlistener_free(l);
		return -1;
	}
	srv->ls[srv->nls++] = l;
	return 0;
}

void
httpserv_drain(struct httpserv *srv)
{
	int i;

	srv->draining = 1;
	for (i = 0; i < srv->nls; i++) {
		/* Closes our copy only: whoever gave us the socket keeps
		 * it. */
		accept_unguard(srv->ls[i]);
		evconnlistener_free(srv->ls[i]);
	}
	srv->nls = 0;
}

void
httpserv_close_after(struct httpserv *srv, int on)
{
	srv->draining = on != 0;
}

size_t
httpserv_conns(const struct httpserv *srv)
{
	return srv->nconns;
}

size_t
httpserv_conns_peak(struct httpserv *srv)
{
	size_t peak = srv->peak;

	srv->peak = srv->nconns;
	return peak;
}

struct httpserv *
httpserv_new(struct event_base *base, const struct httpserv_config *cf,
             const struct httpserv_ops *ops, void *arg)
{
	const uint64_t ms[FIFO_N] = {
	    cf->head_ms > 0 ? cf->head_ms : HTTPSERV_HEAD_MS,
	    cf->io_ms > 0 ? cf->io_ms : HTTPSERV_IO_MS, HTTPSERV_LINGER_MS};
	struct httpserv *srv;
	char allow[HTTPSERV_FIELDS_MAX];
	int i, n;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->base = base;
	srv->cf = *cf;
	srv->ops = ops;
	srv->arg = arg;
	TAILQ_INIT(&srv->all);
	TAILQ_INIT(&srv->dirty);
	TAILQ_INIT(&srv->starved);
	httpbuf_pool_init(&srv->inpool, HTTPSERV_INPUT_MAX, HTTPSERV_POOL_KEEP);
	httpbuf_pool_init(&srv->outpool, HTTPSERV_OUTBUF, HTTPSERV_POOL_KEEP);
	srv->flush_ev = event_new(base, -1, 0, httpserv_flush_cb, srv);
	srv->starved_ev = evtimer_new(base, httpserv_starved_cb, srv);
	for (i = 0; i < FIFO_N; i++) {
		TAILQ_INIT(&srv->fifo[i].q);
		srv->fifo[i].ms = ms[i];
		srv->fifo[i].ev =
		    evtimer_new(base, httpserv_fifo_cb, &srv->fifo[i]);
	}
	snprintf(srv->text503, sizeof(srv->text503),
	         "busy: answers waiting for clients that do not read hold "
	         "this server's output budget (%zu KiB); try again\n",
	         cf->output_max >> 10);
	n = snprintf(srv->text405, sizeof(srv->text405),
	             strcmp(cf->allow, "GET, HEAD") == 0
	                 ? "method not allowed: use GET or HEAD"
	                 : "method not allowed: use %s",
	             cf->allow);
	snprintf(allow, sizeof(allow), "Allow: %s\r\n", cf->allow);
	if (srv->flush_ev == NULL || srv->starved_ev == NULL ||
	    srv->fifo[0].ev == NULL || srv->fifo[1].ev == NULL ||
	    srv->fifo[2].ev == NULL || n < 0 ||
	    httpserv_answer_init(&srv->a405, srv, 405, NULL, allow,
	                         srv->text405, strlen(srv->text405)) == -1 ||
	    httpserv_answer_init(&srv->a405close, srv, 405, NULL, allow,
	                         srv->text405, strlen(srv->text405)) == -1 ||
	    httpserv_answer_init(&srv->aoptions, srv, 200, NULL, allow, "",
	                         0) == -1 ||
	    httpserv_answer_init(&srv->a503, srv, 503, "text/plain",
	                         "Retry-After: 1\r\n", srv->text503,
	                         strlen(srv->text503)) == -1) {
		httpserv_free(srv);
		return NULL;
	}
	srv->a405close.close = 1;
	srv->a503.close = 1;
	return srv;
}

void
httpserv_free(struct httpserv *srv)
{
	struct httpserv_chunk *ch;
	struct httpserv_conn *c;
	int i;

	if (srv == NULL)
		return;
	httpserv_drain(srv);
	srv->freeing = 1;
	while ((c = TAILQ_FIRST(&srv->all)) != NULL) {
		c->ndone = 0; /* no callbacks */
		c->busy = 0;
		httpserv_conn_close(c);
	}
	while ((ch = srv->chunks) != NULL) {
		srv->chunks = ch->next;
		free(ch);
	}
	for (i = 0; i < FIFO_N; i++)
		if (srv->fifo[i].ev != NULL)
			event_free(srv->fifo[i].ev);
	if (srv->flush_ev != NULL)
		event_free(srv->flush_ev);
	if (srv->starved_ev != NULL)
		event_free(srv->starved_ev);
	httpserv_answer_free(&srv->a405);
	httpserv_answer_free(&srv->a405close);
	httpserv_answer_free(&srv->aoptions);
	httpserv_answer_free(&srv->a503);
	httpbuf_pool_free(&srv->inpool);
	httpbuf_pool_free(&srv->outpool);
	free(srv);
}
