/*
 * httpstream.c: streamed answers of the HTTP server layer (httpserv.h;
 * its insides in httpserv_int.h): the head, the writes (chunked on
 * HTTP/1.1), the end; the producers that write as the client drains, and
 * the budget all of them share between two polls of the loop (past it
 * they wait on the starved list, which httpserv.c's timer runs).  It calls
 * httpreply.c (a stream past the output budget is a 503) and httpconn.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "httpans.h"
#include "httpserv_int.h"

int
httpserv_stream_start(struct httpserv_conn *c, uint32_t ticket, int code,
                      const char *ctype, const char *fields)
{
	struct httpserv *srv;
	char mid[HTTPANS_MID_MAX];
	struct timeval tv;
	int n;

	if (!httpreply_valid(c, ticket))
		return -1;
	srv = c->srv;
	if (httpreply_over_budget(srv, 1)) {
		httpreply_budget_spent(srv);
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
		httpconn_close(c);
		return -1;
	}
	if (c->reqclose || srv->draining)
		c->reqclose = 1;
	c->streaming = 1;
	c->code = code;
	httpconn_dirty(c);
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
httpstream_send(struct httpserv_conn *c, struct iovec *iov, int cnt)
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
			httpconn_close(c); /* it left */
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
			httpconn_close(c); /* out of memory */
			return -1;
		}
		skip = 0;
	}
	if (c->out.len > 0)
		httpconn_dirty(c);
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
	return httpstream_send(c, iov, cnt);
}

int
httpserv_stream_end(struct httpserv_conn *c)
{
	struct httpserv_done *d;

	if (c == NULL || !c->open || !c->streaming)
		return -1;
	if (c->chunked && !c->head &&
	    httpout_add(&c->out, &c->srv->outpool, "0\r\n\r\n", 5) == -1) {
		httpconn_close(c);
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
	httpconn_dirty(c);
	return 0;
}

void
httpserv_stream_quiet(struct httpserv_conn *c)
{
	if (c == NULL || !c->open || !c->streaming)
		return;
	c->quiet = 1;
	httpconn_dirty(c); /* httpserv_after drops what input it has */
}

void
httpserv_stream_producer(struct httpserv_conn *c, httpserv_fill_fn fill,
                         void *arg)
{
	if (c == NULL || !c->open || !c->streaming)
		return;
	c->fill = fill;
	c->fill_arg = arg;
	httpconn_dirty(c);
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
int
httpstream_turn_left(const struct httpserv *srv)
{
	return srv->turn_bytes < HTTPSERV_PRODUCE_TURN;
}

/* C's producer waits for the next turn (httpserv_starved_cb). */
static void
httpstream_starve(struct httpserv_conn *c)
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
void
httpstream_produce(struct httpserv_conn *c)
{
	struct httpserv *srv = c->srv;

	while (c->open && c->streaming && c->fill != NULL &&
	       c->out.len < HTTPSERV_PRODUCE_LOW) {
		uint64_t before = c->out.queued;

		if (!httpstream_turn_left(srv)) {
			httpstream_starve(c);
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
