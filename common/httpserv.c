/*
 * httpserv.c: the HTTP/1.1 server layer (see httpserv.h): the server,
 * its connections' sockets and the loop's callbacks.  The rest of the
 * layer is below it (httpserv_int.h lists the files): requests in
 * httpdispatch.c, answers in httpreply.c and httpstream.c, connection
 * records and deadlines in httpconn.c.
 *
 * A connection has two libevent events on its socket: a persistent read
 * event, added while the connection may read (not while its input buffer
 * is full, nor after EOF), and a write event, added only while the
 * socket did not take all the output.  Output is written at the end of
 * the loop turn: a connection that queued output goes on the server's
 * dirty list, and one event, made active when the list stops being
 * empty, runs after the turn's other callbacks and writes each listed
 * connection with one sendmsg.  So the answers of a turn (several
 * pipelined ones on a connection, every answer mockresd's replies
 * brought) cost one system call per connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "accept.h"
#include "httpserv_int.h"

#define HTTPSERV_OUTBUF    (16 << 10) /* output buffers, chained */
#define HTTPSERV_POOL_KEEP 64         /* free buffers kept, per pool */
#define HTTPSERV_IOV       16

static void httpserv_read_cb(evutil_socket_t, short, void *);
static void httpserv_write_cb(evutil_socket_t, short, void *);

/* ---- connections -------------------------------------------------- */

int
httpserv_adopt(struct httpserv *srv, int fd)
{
	struct httpserv_conn *c;
	uint32_t ticket;
	int one = 1, fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (c = httpconn_get(srv)) == NULL) {
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
	httpconn_timer(c, FIFO_HEAD);
	if (srv->ops->conn != NULL)
		srv->ops->conn(srv->arg, 1);
	return 0;
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
		httpconn_close(c); /* nothing more will come */
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
			httpconn_close(c);
		return;
	}
	if (c->linger) {
		/* what a refused client still sends: read and dropped */
		n = read(fd, sink, sizeof(sink));
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			httpconn_close(c);
		return;
	}
	if (c->in == NULL && (c->in = httpbuf_get(&srv->inpool)) == NULL) {
		httpconn_close(c);
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
		httpconn_close(c); /* reset */
		return;
	}
	httpdispatch_process(c);
	httpserv_after(c);
}

/* Half-closes C and reads what the client still sends, for a while,
 * before the close: its answer is read, not lost to a reset. */
static void
httpserv_linger(struct httpserv_conn *c)
{
	if (shutdown(c->fd, SHUT_WR) == -1 || c->eof) {
		httpconn_close(c);
		return;
	}
	c->linger = 1;
	if (c->in != NULL)
		httpbuf_put(&c->srv->inpool, c->in);
	c->in = NULL;
	httpconn_timer(c, FIFO_LINGER);
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
			httpconn_close(c);
			return;
		}
		if (n > 0) {
			httpout_drain(&c->out, &srv->outpool, (size_t)n);
			if (c->out.len > 0)
				httpconn_timer(c, FIFO_IO); /* it moved */
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
			httpconn_timer(c, FIFO_IO);
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
			httpconn_close(c);
		return;
	}
	/* the next request has HTTPSERV_HEAD_MS from now */
	httpconn_timer(c, c->busy ? FIFO_NONE : FIFO_HEAD);
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
		httpstream_produce(c);
		httpdispatch_process(c);
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
	       httpstream_turn_left(srv)) {
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
		    evtimer_new(base, httpconn_fifo_cb, &srv->fifo[i]);
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
		httpconn_close(c);
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
