/*
 * fuzz_mockresd.c: libFuzzer target for what a client can send mockresd.
 *
 * Each input runs a fresh daemon core (mockresd_core, the code of the real
 * daemon) in this process: the bytes go through a socketpair into one
 * connection, so frame decoding, protobuf unpacking, validation and the
 * dispatch of every operation run exactly as in mockresd.  The first byte
 * picks whether the peer is an admin (so both the DENIED and the allowed
 * paths of set_limit, set_hold, set_model and reset_peak are reached); the rest
 * is the byte stream.  Holds and watches left over are torn down after each
 * input.
 *
 * Each frame of the input is also read by usewire_scan_use (the scanner
 * mockresd reads uses with) and by protobuf_c_message_unpack: when the
 * scanner is sure of a body, the decoder must take it as the same use.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "fuzz_frames.h"
#include "mockresd.h"
#include "usewire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One loop turn, with mockresd's end-of-turn flush. */
static void
fuzz_turn(struct event_base *base)
{
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	conn_flush_all();
}

/* The scanner against the decoder, on every frame of DATA. */
static void
fuzz_scanner(const uint8_t *data, size_t size)
{
	const unsigned char *body;
	size_t off = 0;
	uint32_t len;

	while (fuzz_frame_next(data, size, &off, &body, &len)) {
		struct usewire_request r;
		Mockres__Request *req;
		int sure = usewire_scan_use(body, len, &r) == 0;

		req = mockres__request__unpack(NULL, len, body);
		if (sure &&
		    (req == NULL || req->op_case != MOCKRES__REQUEST__OP_USE ||
		     req->has_id != r.has_id || req->id != r.id ||
		     req->use->has_mode != r.has_mode ||
		     (int32_t)req->use->mode != r.mode ||
		     req->use->has_hold_ms != r.has_hold_ms ||
		     req->use->hold_ms != r.hold_ms))
			abort();
		if (req != NULL)
			mockres__request__free_unpacked(req, NULL);
	}
}

static void
fuzz_drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mockresd d;
	struct event_base *base;
	struct conn *c;
	size_t off = 0;
	int sv[2], i;

	if (size < 1)
		return 0;
	if ((base = event_base_new()) == NULL)
		abort();
	{
		struct model m;

		model_defaults(&m, 2);
		m.hold_ms = 0;
		m.slots = 2;
		m.queue = 4;
		conn_init(&d, base);
		dispatch_init(3, &m);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv) == -1)
		abort();
	conn_accept(sv[0], &fconn_unix, NULL);
	if ((c = TAILQ_FIRST(&d.conns)) == NULL)
		abort();
	c->rights = (data[0] & 1) ? TRUST_STEER | TRUST_REPORT : 0;
	data++;
	size--;
	fuzz_scanner(data, size);

	/* Feed the stream as the socket takes it, serving in between. */
	while (off < size && d.nconns > 0) {
		ssize_t n = write(sv[1], data + off, size - off);

		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno != EAGAIN)
			break;
		fuzz_turn(base);
		fuzz_drain(sv[1]);
	}
	/* Let zero-length holds end and replies flush, then hang up. */
	for (i = 0; i < 4; i++) {
		fuzz_turn(base);
		fuzz_drain(sv[1]);
	}
	close(sv[1]);
	for (i = 0; i < 4 && d.nconns > 0; i++)
		fuzz_turn(base);

	/*
	 * The client is gone.  Its struct lives on exactly while uses in
	 * service point to it, and goes with the core (dispatch_free);
	 * never touch C once it may have been freed.
	 */
	if (d.nconns > 0)
		conn_close(c, NULL);
	if (engine_check(&d.engine) != 0)
		abort(); /* an accounting invariant broke */
	dispatch_free();
	event_base_free(base);
	return 0;
}
