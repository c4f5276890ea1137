/*
 * httpreply.c: whole answers of the HTTP server layer (httpserv.h; its
 * insides in httpserv_int.h): prebuilt ones (httpserv_answer_init), ones
 * given with their body per request, and the refusals the layer answers
 * itself; and the output budget they pass or become a 503 that closes.
 *
 * Each answer queued records where it ends in the output stream, so that
 * the server hears (done) when its last byte is written, or that it was
 * lost with the connection.  It calls httpconn.c only.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "httpans.h"
#include "httpserv_int.h"
#include "log.h"

size_t
httpserv_output_held(const struct httpserv *srv)
{
	return srv->outpool.nused * srv->outpool.size;
}

/* Would LEN more bytes of output pass the server's budget? */
int
httpreply_over_budget(const struct httpserv *srv, size_t len)
{
	return srv->cf.output_max > 0 &&
	       httpserv_output_held(srv) + len > srv->cf.output_max;
}

void
httpreply_budget_spent(struct httpserv *srv)
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
httpreply_answer(struct httpserv_conn *c, int code, const char *mid,
                 size_t mid_len, const void *body, size_t len, int close)
{
	struct httpserv *srv = c->srv;
	enum httpans_conn conn;
	struct httpserv_done *d;
	struct timeval tv;

	if (!c->head && len > HTTPSERV_BUDGET_SMALL &&
	    httpreply_over_budget(srv, len)) {
		httpreply_budget_spent(srv);
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
		httpconn_close(c); /* out of memory */
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
	httpconn_dirty(c);
	return 0;
}

int
httpreply_valid(const struct httpserv_conn *c, uint32_t ticket)
{
	return c != NULL && c->open && c->busy && !c->streaming &&
	       c->ticket == ticket;
}

int
httpserv_reply(struct httpserv_conn *c, uint32_t ticket,
               const struct httpserv_answer *a)
{
	if (!httpreply_valid(c, ticket))
		return -1;
	return httpreply_answer(c, a->code, a->mid, a->mid_len, a->body,
	                        a->body_len, a->close);
}

int
httpserv_reply_body(struct httpserv_conn *c, uint32_t ticket, int code,
                    const char *ctype, const char *fields, const void *body,
                    size_t len)
{
	char mid[HTTPANS_MID_MAX];
	int n;

	if (!httpreply_valid(c, ticket))
		return -1;
	n = httpans_mid(mid, (long long)len,
	                ctype ? ctype : c->srv->cf.content_type, fields);
	if (n < 0)
		n = httpans_mid(mid, (long long)len, c->srv->cf.content_type,
		                NULL);
	return httpreply_answer(c, code, mid, (size_t)n, body, len, 0);
}

int
httpserv_close_after_reply(struct httpserv_conn *c, uint32_t ticket)
{
	if (!httpreply_valid(c, ticket))
		return -1;
	c->reqclose = 1;
	return 0;
}

/* A refusal by this layer: a request of its own, then the answer. */
void
httpreply_refuse(struct httpserv_conn *c, uint64_t cookie, int code,
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
