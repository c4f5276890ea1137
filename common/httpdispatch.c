/*
 * httpdispatch.c: the requests of the HTTP server layer (httpserv.h; its
 * insides in httpserv_int.h).  The input buffer is scanned for the end
 * of a head (httpparse_end, incrementally), then the head is parsed at
 * once (httpparse_request) and the request refused, answered by the
 * layer (405, OPTIONS *), or handed over; its bytes are consumed when
 * the callback returns.  A served method's body not all in yet may be
 * refused from its head first (ops->check).  It calls httpreply.c and
 * httpconn.c.
 */
#include <string.h>

#include "httpserv_int.h"

/* Drops N bytes of input, which the request just handed over used. */
static void
httpdispatch_consume(struct httpserv_conn *c, size_t n)
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
httpdispatch_check(struct httpserv_conn *c, const struct httpparse_req *req)
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
		httpconn_timer(c, FIFO_NONE);
	return 1;
}

/*
 * A head is in: refuse it, answer what this layer answers, or hand the
 * request over.  Returns 1 to go on with the next, 0 to stop (a body to
 * wait for, the connection closing or gone).
 */
static int
httpdispatch_request(struct httpserv_conn *c, const char *data, size_t avail,
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
			if (ops->check != NULL && httpdispatch_check(c, &req))
				return 0;
		}
		if ((req.flags & HTTPPARSE_CONTINUE) && req.minor == 1 &&
		    !c->continued) {
			c->continued = 1;
			if (httpout_add(&c->out, &srv->outpool,
			                "HTTP/1.1 100 Continue\r\n\r\n",
			                25) == 0)
				httpconn_dirty(c);
		}
		return 0;
	}
	/* a whole request: the head deadline stops here (the write of its
	 * answer starts the next one) */
	if (c->fifo == FIFO_HEAD)
		httpconn_timer(c, FIFO_NONE);
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
		httpreply_refuse(c, cookie, httpparse_status(e), NULL,
		                 httpparse_text(e), 1);
		return 0;
	}
	cl = req.content_length;
	served = (srv->cf.methods & HTTPSERV_M(req.method)) != 0;
	if (cl > 0 &&
	    (req.method == HTTPPARSE_GET || req.method == HTTPPARSE_HEAD)) {
		httpreply_refuse(c, cookie, 400, NULL,
		                 "a GET or HEAD request must not carry a body",
		                 1);
		return 0;
	}
	if (cl > srv->cf.body_max) {
		httpreply_refuse(c, cookie, 413, NULL, "request body too large",
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
		httpdispatch_consume(c, hlen);
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
	httpdispatch_consume(c, need);
	return !c->closing;
}

/* Parses and hands over what C's input holds, a request at a time. */
void
httpdispatch_process(struct httpserv_conn *c)
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
		if (!httpdispatch_request(c, b->data + b->start, avail, hlen))
			return;
	}
}
