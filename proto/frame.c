/*
 * frame.c: length-prefixed protobuf frames on evbuffers.
 *
 * The length is checked before anything is buffered for the body, and
 * messages are packed straight into the output buffer (no temporary copy).
 */

#include <string.h>

#include "frame.h"

void
frame_header_put(unsigned char hdr[FRAME_HEADER], uint32_t n)
{
	hdr[0] = (unsigned char)(n >> 24);
	hdr[1] = (unsigned char)(n >> 16);
	hdr[2] = (unsigned char)(n >> 8);
	hdr[3] = (unsigned char)n;
}

int
frame_header_parse(const unsigned char hdr[FRAME_HEADER], uint32_t *len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	             (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];

	if (n == 0 || n > FRAME_BODY_MAX)
		return -1;
	*len = n;
	return 0;
}

int
frame_peek(struct evbuffer *in, const unsigned char **body, uint32_t *len)
{
	unsigned char hdr[FRAME_HEADER];
	unsigned char *p;
	uint32_t n;

	if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)sizeof(hdr))
		return 0;
	if (frame_header_parse(hdr, &n) == -1)
		return -1;
	if (evbuffer_get_length(in) < FRAME_HEADER + (size_t)n)
		return 0;
	if ((p = evbuffer_pullup(in, FRAME_HEADER + (ev_ssize_t)n)) == NULL)
		return -1;
	*body = p + FRAME_HEADER;
	*len = n;
	return 1;
}

void
frame_consume(struct evbuffer *in, uint32_t len)
{
	evbuffer_drain(in, FRAME_HEADER + (size_t)len);
}

int
frame_write(struct evbuffer *out, const ProtobufCMessage *msg)
{
	struct evbuffer_iovec v;
	size_t n = protobuf_c_message_get_packed_size(msg);
	unsigned char *p;

	if (n == 0 || n > FRAME_BODY_MAX)
		return -1;
	if (evbuffer_reserve_space(out, (ev_ssize_t)(FRAME_HEADER + n), &v,
	                           1) != 1 ||
	    v.iov_len < FRAME_HEADER + n)
		return -1;
	p = v.iov_base;
	frame_header_put(p, (uint32_t)n);
	if (protobuf_c_message_pack(msg, p + FRAME_HEADER) != n)
		return -1;
	v.iov_len = FRAME_HEADER + n;
	return evbuffer_commit_space(out, &v, 1) == 0 ? 0 : -1;
}

int
frame_write_with_id(struct evbuffer *out, uint64_t id,
                    const unsigned char *body, size_t len)
{
	unsigned char head[FRAME_HEADER + 11];
	size_t k = FRAME_HEADER, n;

	head[k++] = 0x08; /* field 1, wire type 0 (varint): the id */
	do {
		head[k] = (unsigned char)(id & 0x7f);
		id >>= 7;
		if (id != 0)
			head[k] |= 0x80;
		k++;
	} while (id != 0);
	n = k - FRAME_HEADER + len;
	if (n > FRAME_BODY_MAX)
		return -1;
	frame_header_put(head, (uint32_t)n);
	if (evbuffer_expand(out, k + len) == -1 ||
	    evbuffer_add(out, head, k) == -1 ||
	    evbuffer_add(out, body, len) == -1)
		return -1;
	return 0;
}

int
frame_peek_id(const unsigned char *body, uint32_t len, uint64_t *id)
{
	uint64_t v = 0;
	uint32_t i;

	if (len < 2 || body[0] != 0x08) /* field 1, wire type 0 */
		return -1;
	for (i = 1; i < len && i <= 10; i++) {
		v |= (uint64_t)(body[i] & 0x7f) << (7 * (i - 1));
		if ((body[i] & 0x80) == 0) {
			*id = v;
			return 0;
		}
	}
	return -1;
}

/* A varint at *P (before END); -1 if it is cut short or over 10 bytes. */
static int
frame_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	const unsigned char *q = *p;
	unsigned shift = 0;

	*v = 0;
	while (q < end && shift < 64) {
		*v |= (uint64_t)(*q & 0x7f) << shift;
		if ((*q++ & 0x80) == 0) {
			*p = q;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

int
frame_scan_reply(const unsigned char *body, uint32_t len, struct frame_reply *r)
{
	const unsigned char *p = body, *end = body + len;
	uint64_t key, v;
	int more = 0;

	memset(r, 0, sizeof(*r));
	while (p < end) {
		if (frame_varint(&p, end, &key) == -1 || key >> 32 != 0 ||
		    key >> 3 == 0)
			return -1;
		switch (key & 7) {
		case 0: /* varint */
			if (frame_varint(&p, end, &v) == -1)
				return -1;
			if (key >> 3 == 1) {
				r->id = v;
			} else if (key >> 3 == 2) {
				if (v > INT32_MAX)
					return -1;
				r->has_status = 1;
				r->status = (int32_t)v;
			} else if (key >> 3 == 3 || key >> 3 == 4) {
				return -1; /* a wire type they cannot have */
			}
			break;
		case 2: /* length-delimited */
			if (frame_varint(&p, end, &v) == -1 ||
			    v > (uint64_t)(end - p))
				return -1;
			if (key >> 3 == 4) {
				r->error = p;
				r->error_len = (uint32_t)v;
			} else if (key >> 3 == 3) {
				more = 1;
			} else if (key >> 3 == 1 || key >> 3 == 2) {
				return -1;
			}
			p += v;
			break;
		case 1: /* 64-bit */
			if (key >> 3 <= 4 || end - p < 8)
				return -1;
			p += 8;
			break;
		case 5: /* 32-bit */
			if (key >> 3 <= 4 || end - p < 4)
				return -1;
			p += 4;
			break;
		default: /* groups: not in this schema */
			return -1;
		}
	}
	return more;
}
