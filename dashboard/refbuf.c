/*
 * refbuf.c: a formatted snapshot, reference counted so that one copy of the
 * bytes serves every browser: each output buffer holds a reference
 * (evbuffer_add_reference) that is released once those bytes are sent.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define REFBUF_PREFIX "data: "

/* Makes a snapshot of the JSON in JSON (drained).  NULL if out of memory. */
struct refbuf *
refbuf_new(struct evbuffer *json)
{
	size_t jlen = evbuffer_get_length(json);
	size_t plen = sizeof(REFBUF_PREFIX) - 1;
	struct refbuf *sn;

	if ((sn = malloc(sizeof(*sn) + plen + jlen + 2)) == NULL)
		return NULL;
	sn->refs = 1;
	sn->json_off = plen;
	sn->json_len = jlen;
	sn->len = plen + jlen + 2;
	memcpy(sn->buf, REFBUF_PREFIX, plen);
	evbuffer_remove(json, sn->buf + plen, jlen);
	memcpy(sn->buf + plen + jlen, "\n\n", 2);
	return sn;
}

void
refbuf_unref(struct refbuf *sn)
{
	if (sn != NULL && --sn->refs == 0)
		free(sn);
}

static void
refbuf_release(const void *data, size_t len, void *arg)
{
	refbuf_unref(arg);
}

static int
refbuf_add(struct refbuf *sn, struct evbuffer *out, const char *p, size_t len)
{
	sn->refs++;
	if (evbuffer_add_reference(out, p, len, refbuf_release, sn) == -1) {
		sn->refs--;
		return -1;
	}
	return 0;
}

/* Appends the whole SSE event "data: {...}\n\n" to OUT. */
int
refbuf_add_event(struct refbuf *sn, struct evbuffer *out)
{
	return refbuf_add(sn, out, sn->buf, sn->len);
}

/* Appends the JSON alone to OUT. */
int
refbuf_add_json(struct refbuf *sn, struct evbuffer *out)
{
	return refbuf_add(sn, out, sn->buf + sn->json_off, sn->json_len);
}
