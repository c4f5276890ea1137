/*
 * usewire.c: a Use request and a status reply, written and read by hand
 * (see usewire.h for why, and for what is left to protobuf-c).
 *
 * The wire format (protobuf): a field is a key, (number << 3) | type,
 * then a varint (type 0) or a length and that many bytes (type 2).  An
 * enum or an int32 that is negative takes ten bytes (sign-extended), as
 * protobuf-c writes it.
 */
#include <string.h>

#include "frame.h"
#include "usewire.h"

/* Field keys (proto/mockres.proto). */
#define KEY_REQUEST_ID     0x08 /* Request.id = 1, varint */
#define KEY_REQUEST_USE    0x1a /* Request.use = 3, length-delimited */
#define KEY_USE_MODE       0x08 /* Use.mode = 1, varint */
#define KEY_USE_HOLD_MS    0x10 /* Use.hold_ms = 2, varint */
#define KEY_RESPONSE_ID    0x08 /* Response.id = 1, varint */
#define KEY_RESPONSE_STAT  0x10 /* Response.status = 2, varint */
#define KEY_RESPONSE_ERROR 0x22 /* Response.error = 4, length-delimited */

#define VARINT_MAX 10

static size_t
usewire_varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* An int32 or an enum: a negative one is sign-extended to 64 bits. */
static size_t
usewire_int32(unsigned char *p, int32_t v)
{
	return usewire_varint(p, (uint64_t)(int64_t)v);
}

size_t
usewire_use(unsigned char *buf, size_t size, uint64_t id, int32_t mode,
            int64_t hold_ms)
{
	unsigned char use[2 + VARINT_MAX + 1 + VARINT_MAX];
	size_t n = FRAME_HEADER, u = 0;

	if (size < USEWIRE_USE_MAX)
		return 0;
	use[u++] = KEY_USE_MODE;
	u += usewire_int32(use + u, mode);
	if (hold_ms >= 0 && hold_ms <= UINT32_MAX) {
		use[u++] = KEY_USE_HOLD_MS;
		u += usewire_varint(use + u, (uint64_t)hold_ms);
	}
	buf[n++] = KEY_REQUEST_ID;
	n += usewire_varint(buf + n, id);
	buf[n++] = KEY_REQUEST_USE;
	n += usewire_varint(buf + n, u);
	memcpy(buf + n, use, u);
	n += u;
	frame_header_put(buf, (uint32_t)(n - FRAME_HEADER));
	return n;
}

size_t
usewire_status(unsigned char *buf, size_t size, uint64_t id, int32_t status,
               const char *error)
{
	size_t elen = error != NULL ? strlen(error) : 0, n = FRAME_HEADER;

	/* header, 3 keys, 3 varints (the error's length one of them) */
	if (size < FRAME_HEADER + 3 + 3 * VARINT_MAX + elen)
		return 0;
	buf[n++] = KEY_RESPONSE_ID;
	n += usewire_varint(buf + n, id);
	buf[n++] = KEY_RESPONSE_STAT;
	n += usewire_int32(buf + n, status);
	if (error != NULL) {
		buf[n++] = KEY_RESPONSE_ERROR;
		n += usewire_varint(buf + n, elen);
		/* bytes, not a C string: no NUL after them */
		while (*error != '\0')
			buf[n++] = (unsigned char)*error++;
	}
	frame_header_put(buf, (uint32_t)(n - FRAME_HEADER));
	return n;
}

/*
 * A varint at *P (before END), at most ten bytes, the tenth 0 or 1 (no
 * bits past 64).  -1 otherwise.
 */
static int
usewire_read_varint(const unsigned char **p, const unsigned char *end,
                    uint64_t *v)
{
	const unsigned char *q = *p;
	unsigned i;

	*v = 0;
	for (i = 0; i < VARINT_MAX && q < end; i++, q++) {
		if (i == VARINT_MAX - 1 && *q > 1)
			return -1;
		*v |= (uint64_t)(*q & 0x7f) << (7 * i);
		if ((*q & 0x80) == 0) {
			*p = q + 1;
			return 0;
		}
	}
	return -1;
}

/* The Use submessage in [P, END).  0, or 1 (not sure). */
static int
usewire_scan_inner(const unsigned char *p, const unsigned char *end,
                   struct usewire_request *r)
{
	uint64_t v;

	while (p < end) {
		unsigned char key = *p++;

		if (usewire_read_varint(&p, end, &v) == -1)
			return 1;
		if (key == KEY_USE_MODE && !r->has_mode && v <= INT32_MAX) {
			r->has_mode = 1;
			r->mode = (int32_t)v;
		} else if (key == KEY_USE_HOLD_MS && !r->has_hold_ms &&
		           v <= UINT32_MAX) {
			r->has_hold_ms = 1;
			r->hold_ms = (uint32_t)v;
		} else {
			return 1;
		}
	}
	return 0;
}

int
usewire_scan_use(const unsigned char *body, uint32_t len,
                 struct usewire_request *r)
{
	const unsigned char *p = body, *end = body + len;
	int has_use = 0;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	while (p < end) {
		unsigned char key = *p++;

		if (usewire_read_varint(&p, end, &v) == -1)
			return 1;
		if (key == KEY_REQUEST_ID && !r->has_id) {
			r->has_id = 1;
			r->id = v;
		} else if (key == KEY_REQUEST_USE && !has_use &&
		           v <= (uint64_t)(end - p)) {
			has_use = 1;
			if (usewire_scan_inner(p, p + v, r) != 0)
				return 1;
			p += v;
		} else {
			return 1;
		}
	}
	return has_use ? 0 : 1;
}
