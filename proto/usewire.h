/*
 * usewire.h: the hot path's two messages on the wire without protobuf-c:
 * a Request carrying a Use (a worker to mockresd) and a Response with an
 * id, a status and an optional error text (mockresd's answer to it).
 *
 * Every async HTTP request costs one of each, and protobuf-c's generic
 * packing and unpacking (the descriptor walk, the arena) was a tenth of
 * the worker's and of mockresd's instructions for them.  The bytes are
 * exactly those protobuf_c_message_pack writes for the same message
 * (fields in number order, minimal varints): tests/test_frame.c compares
 * them, and fuzz_mockresd checks the scanner against protobuf-c's
 * decoder.  Anything else on the wire is decoded by protobuf-c as before.
 */
#ifndef MOCKRES_USEWIRE_H
#define MOCKRES_USEWIRE_H

#include <stddef.h>
#include <stdint.h>

/* A frame with a Use Request: 4 + 11 + 2 + 2 + 11 bytes at most. */
#define USEWIRE_USE_MAX 32

/*
 * Writes the frame of Request{id, use{mode, hold_ms}} into BUF (SIZE
 * bytes), hold_ms left out when HOLD_MS is negative or above UINT32_MAX.
 * Returns its length, or 0 if SIZE is too small.
 */
size_t usewire_use(unsigned char *buf, size_t size, uint64_t id, int32_t mode,
                   int64_t hold_ms);

/*
 * Writes the frame of Response{id, status, error} into BUF (SIZE bytes),
 * error left out when NULL.  Returns its length, or 0 if SIZE is too
 * small (a long error text: send it with protobuf-c).
 */
size_t usewire_status(unsigned char *buf, size_t size, uint64_t id,
                      int32_t status, const char *error);

/* A Use request as read off the wire. */
struct usewire_request {
	uint64_t id;
	int has_id;
	int has_mode;
	int32_t mode;
	int has_hold_ms;
	uint32_t hold_ms;
};

/*
 * Scans BODY (a frame's body) as a Request.  Returns 0 with R filled when
 * it is a Use request this scanner is sure of: each of id and use at most
 * once, in the use each of mode and hold_ms at most once, nothing else,
 * every value in its field's range.  Returns 1 for anything else (another
 * operation, repeated or unknown fields, odd values, bad input): decode
 * it with protobuf-c, which decides.
 */
int usewire_scan_use(const unsigned char *body, uint32_t len,
                     struct usewire_request *r);

#endif
