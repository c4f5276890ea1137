/*
 * frame.h: the mockres framing, a 4-byte big-endian length N (1..65536)
 * followed by N bytes of one protobuf message.
 */
#ifndef MOCKRES_FRAME_H
#define MOCKRES_FRAME_H

#include <stdint.h>
#include <event2/buffer.h>
#include <protobuf-c/protobuf-c.h>

#include "mockres_limits.h"

#define FRAME_HEADER   4
#define FRAME_BODY_MAX MOCKRES_FRAME_BODY_MAX

/* Writes the header of a body of N bytes (N checked by the caller). */
void frame_header_put(unsigned char hdr[FRAME_HEADER], uint32_t n);

/* Decodes a header.  Returns 0 and the body length, or -1 if N is 0 or
 * larger than FRAME_BODY_MAX. */
int frame_header_parse(const unsigned char hdr[FRAME_HEADER], uint32_t *len);

/*
 * Looks at the front of IN.  Returns 1 with *body pointing at a contiguous
 * complete body of *len bytes (valid until IN changes), 0 if more bytes are
 * needed, -1 if the header is bad (the stream cannot be trusted any more).
 * Call frame_consume() after using the body.
 */
int frame_peek(struct evbuffer *in, const unsigned char **body, uint32_t *len);
void frame_consume(struct evbuffer *in, uint32_t len);

/*
 * Appends MSG, framed, to OUT, packing it in place.  Returns 0, or -1 if
 * the message is empty, larger than FRAME_BODY_MAX, or OUT cannot grow.
 */
int frame_write(struct evbuffer *out, const ProtobufCMessage *msg);

/*
 * Appends one frame whose body is the id (field 1, varint) followed by
 * BODY, LEN bytes of a message packed without its id: the same packed
 * answer goes to many requests (mockresd's watch pushes) at the cost of a
 * copy each.  Field order does not matter to a protobuf reader.  Returns
 * 0, or -1 if the frame would be larger than FRAME_BODY_MAX or OUT cannot
 * grow.
 */
int frame_write_with_id(struct evbuffer *out, uint64_t id,
                        const unsigned char *body, size_t len);

/*
 * Reads the id (field 1, varint) from the front of an undecodable body, so
 * that bad input can still be answered.  Returns 0 and *id, or -1.
 */
int frame_peek_id(const unsigned char *body, uint32_t len, uint64_t *id);

/*
 * The fields of a Response a client acts on for most replies: the id,
 * the status and the error text, read straight from the wire without
 * protobuf_c_message_unpack (and its allocations).  ERROR points into the
 * body (not NUL-terminated; NULL when absent).
 */
struct frame_reply {
	uint64_t id;
	int has_status;
	int32_t status;
	const unsigned char *error;
	uint32_t error_len;
};

/*
 * Scans BODY as a Response (proto/mockres.proto: id = 1, status = 2,
 * stats = 3, error = 4).  Returns 0 with R filled; 1 when the body holds
 * more than those (stats): decode it whole; -1 when it is not a wire
 * format this scanner is sure of (decode it whole, which decides).  Of
 * repeated fields the last counts, as in protobuf; unknown fields are
 * skipped.
 */
int frame_scan_reply(const unsigned char *body, uint32_t len,
                     struct frame_reply *r);

#endif
