/*
 * fuzz_mrclient.c: libFuzzer target for what mockresd (or anything posing
 * as it on the socket) can send to a client: the reply path of mrclient.c,
 * which every frontend worker, the dashboard and mockresctl use.
 *
 * Each input: an mrclient adopts one end of a socketpair (mrclient_attach),
 * queues a few requests (uses, a stats, a persistent watch) whose ids are
 * the first ids an mrclient hands out (0x10000 | slot, then 0x20000 | slot,
 * ...; the seed corpus answers them), then the input arrives as the
 * daemon's byte stream.  Every reply a callback gets is read in full and
 * turned into JSON the way the dashboard and mockresctl do.
 *
 * Each frame of the input is also read by frame_scan_reply (the scanner
 * mrclient reads use replies with) and by protobuf_c_message_unpack: when
 * the scanner is sure of a body, the decoder must take it and agree on
 * the id, the status and the error text.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "frame.h"
#include "fuzz_frames.h"
#include "mrclient.h"
#include "names.h"
#include "statsjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_state {
	struct mrclient *mc;
	struct evbuffer *json;
	uint64_t watch_id;
	int replies;
};

static void
fuzz_reply_cb(const Mockres__Response *resp, void *arg)
{
	struct fuzz_state *st = arg;
	size_t i;

	st->replies++;
	if (resp == NULL)
		return;
	evbuffer_add_printf(st->json, "%s ", names_status(resp->status));
	statsjson_string(st->json, resp->error);
	if (resp->stats != NULL) {
		statsjson_fields(st->json, resp->stats);
		for (i = 0; i < resp->stats->n_clients; i++)
			statsjson_client(st->json, resp->stats->clients[i]);
	}
	/* What a caller may do from a callback: cancel, send again. */
	if (st->replies == 3 && st->watch_id != 0) {
		mrclient_cancel(st->mc, st->watch_id);
		st->watch_id = 0;
	}
	if (st->replies == 5)
		mrclient_use(st->mc, MOCKRES__USE_MODE__ASYNC, -1,
		             fuzz_reply_cb, st);
	evbuffer_drain(st->json, evbuffer_get_length(st->json));
}

/* The scanner against the decoder, on every frame of DATA. */
static void
fuzz_scanner(const uint8_t *data, size_t size)
{
	const unsigned char *body;
	size_t off = 0;
	uint32_t len;

	while (fuzz_frame_next(data, size, &off, &body, &len)) {
		struct frame_reply r;
		Mockres__Response *resp;
		int sc = frame_scan_reply(body, len, &r);

		resp = mockres__response__unpack(NULL, len, body);
		if (sc == 0) {
			if (resp == NULL || resp->id != r.id ||
			    resp->has_status != r.has_status ||
			    (r.has_status &&
			     (int32_t)resp->status != r.status) ||
			    (resp->error == NULL) != (r.error == NULL) ||
			    (r.error != NULL &&
			     strncmp(resp->error, (const char *)r.error,
			             r.error_len) != 0) ||
			    (r.error != NULL &&
			     strlen(resp->error) !=
			         strnlen((const char *)r.error, r.error_len)))
				abort();
		}
		if (resp != NULL)
			mockres__response__free_unpacked(resp, NULL);
	}
}

static void
fuzz_drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sreq = MOCKRES__STATS_REQUEST__INIT;
	Mockres__Watch w = MOCKRES__WATCH__INIT;
	struct fuzz_state st;
	struct event_base *base;
	size_t off = 0;
	int sv[2], i;

	fuzz_scanner(data, size);
	memset(&st, 0, sizeof(st));
	if ((base = event_base_new()) == NULL)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv) == -1)
		abort();
	st.mc =
	    mrclient_new(base, "fuzz.sock", MOCKRES__ROLE__ROLE_CTL, "fuzz");
	st.json = evbuffer_new();
	if (st.mc == NULL || st.json == NULL ||
	    mrclient_attach(st.mc, sv[0]) == -1)
		abort();

	mrclient_use(st.mc, MOCKRES__USE_MODE__SERIAL, -1, fuzz_reply_cb, &st);
	mrclient_use(st.mc, MOCKRES__USE_MODE__ASYNC, 10, fuzz_reply_cb, &st);
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sreq;
	mrclient_send(st.mc, &req, fuzz_reply_cb, &st, 0);
	req.op_case = MOCKRES__REQUEST__OP_WATCH;
	req.watch = &w;
	st.watch_id = mrclient_send(st.mc, &req, fuzz_reply_cb, &st, 1);
	mrclient_use(st.mc, MOCKRES__USE_MODE__SERIAL, -1, fuzz_reply_cb, &st);

	while (off < size && mrclient_connected(st.mc)) {
		ssize_t n = write(sv[1], data + off, size - off);

		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno != EAGAIN)
			break;
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		fuzz_drain(sv[1]);
	}
	for (i = 0; i < 2; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	close(sv[1]);
	for (i = 0; i < 4 && mrclient_connected(st.mc); i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	mrclient_free(st.mc);
	evbuffer_free(st.json);
	event_base_free(base);
	return 0;
}
