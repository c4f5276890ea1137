/*
 * test_frame.c: the framing, byte by byte.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "support.h"
#include "arena.h"
#include "frame.h"
#include "mockres.pb-c.h"

static void
hdr_of(unsigned char h[4], uint32_t n)
{
	h[0] = (unsigned char)(n >> 24);
	h[1] = (unsigned char)(n >> 16);
	h[2] = (unsigned char)(n >> 8);
	h[3] = (unsigned char)n;
}

START_TEST(test_header_bounds)
{
	unsigned char h[4];
	uint32_t len;

	hdr_of(h, 0);
	ck_assert_int_eq(frame_header_parse(h, &len), -1);
	hdr_of(h, 1);
	ck_assert_int_eq(frame_header_parse(h, &len), 0);
	ck_assert_uint_eq(len, 1);
	hdr_of(h, 65536);
	ck_assert_int_eq(frame_header_parse(h, &len), 0);
	ck_assert_uint_eq(len, 65536);
	hdr_of(h, 65537);
	ck_assert_int_eq(frame_header_parse(h, &len), -1);
	hdr_of(h, 0xffffffffu);
	ck_assert_int_eq(frame_header_parse(h, &len), -1);
}
END_TEST

static void
make_use(Mockres__Request *req, Mockres__Use *use, uint64_t id)
{
	mockres__request__init(req);
	mockres__use__init(use);
	req->has_id = 1;
	req->id = id;
	use->has_mode = 1;
	use->mode = MOCKRES__USE_MODE__ASYNC;
	use->has_hold_ms = 1;
	use->hold_ms = 1234;
	req->op_case = MOCKRES__REQUEST__OP_USE;
	req->use = use;
}

START_TEST(test_roundtrip)
{
	struct evbuffer *b = evbuffer_new();
	Mockres__Request req, *got;
	Mockres__Use use;
	const unsigned char *body;
	uint32_t len;

	make_use(&req, &use, 77);
	ck_assert_int_eq(frame_write(b, &req.base), 0);
	ck_assert_uint_eq(evbuffer_get_length(b),
	                  4 + mockres__request__get_packed_size(&req));
	ck_assert_int_eq(frame_peek(b, &body, &len), 1);
	got = mockres__request__unpack(NULL, len, body);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->id, 77);
	ck_assert_int_eq(got->op_case, MOCKRES__REQUEST__OP_USE);
	ck_assert_uint_eq(got->use->hold_ms, 1234);
	mockres__request__free_unpacked(got, NULL);
	frame_consume(b, len);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	ck_assert_int_eq(frame_peek(b, &body, &len), 0);
	evbuffer_free(b);
}
END_TEST

/*
 * One answer packed once without its id, framed for several ids (mockresd's
 * watch pushes): each frame reads back as the whole answer with its own
 * id, small and 10-byte varints alike; too large a body is refused.
 */
START_TEST(test_write_with_id)
{
	static const uint64_t ids[] = {0, 1, 127, 128, 300, UINT64_MAX};
	static unsigned char big[FRAME_BODY_MAX];
	struct evbuffer *b = evbuffer_new();
	Mockres__Response resp = MOCKRES__RESPONSE__INIT, *got;
	Mockres__Stats st = MOCKRES__STATS__INIT;
	unsigned char packed[256];
	const unsigned char *body;
	uint32_t len;
	size_t n, i;

	resp.has_status = 1;
	resp.status = MOCKRES__STATUS__OK;
	resp.stats = &st;
	st.has_in_flight = 1;
	st.in_flight = 42;
	n = mockres__response__pack(&resp, packed);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ck_assert_int_eq(frame_write_with_id(b, ids[i], packed, n), 0);
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		ck_assert_int_eq(frame_peek(b, &body, &len), 1);
		got = mockres__response__unpack(NULL, len, body);
		ck_assert_ptr_nonnull(got);
		ck_assert(got->has_id);
		ck_assert_uint_eq(got->id, ids[i]);
		ck_assert_int_eq(got->status, MOCKRES__STATUS__OK);
		ck_assert_uint_eq(got->stats->in_flight, 42);
		mockres__response__free_unpacked(got, NULL);
		frame_consume(b, len);
	}
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	ck_assert_int_eq(frame_write_with_id(b, 1, big, FRAME_BODY_MAX - 1),
	                 -1);
	ck_assert_int_eq(frame_write_with_id(b, 1, big, FRAME_BODY_MAX - 2), 0);
	ck_assert_uint_eq(evbuffer_get_length(b), 4 + FRAME_BODY_MAX);
	evbuffer_free(b);
}
END_TEST

/* A frame that arrives one byte at a time is complete only at the end. */
START_TEST(test_split_reads)
{
	struct evbuffer *all = evbuffer_new(), *in = evbuffer_new();
	Mockres__Request req;
	Mockres__Use use;
	const unsigned char *body;
	unsigned char *bytes;
	uint32_t len;
	size_t n, i;

	make_use(&req, &use, 5);
	ck_assert_int_eq(frame_write(all, &req.base), 0);
	n = evbuffer_get_length(all);
	bytes = evbuffer_pullup(all, -1);
	for (i = 0; i < n - 1; i++) {
		evbuffer_add(in, bytes + i, 1);
		ck_assert_int_eq(frame_peek(in, &body, &len), 0);
	}
	evbuffer_add(in, bytes + n - 1, 1);
	ck_assert_int_eq(frame_peek(in, &body, &len), 1);
	ck_assert_uint_eq(len, n - 4);
	evbuffer_free(all);
	evbuffer_free(in);
}
END_TEST

/* Several frames in one read come out one by one, in order. */
START_TEST(test_coalesced)
{
	struct evbuffer *b = evbuffer_new();
	Mockres__Request req, *got;
	Mockres__Use use;
	const unsigned char *body;
	uint32_t len;
	uint64_t id;

	for (id = 1; id <= 3; id++) {
		make_use(&req, &use, id);
		ck_assert_int_eq(frame_write(b, &req.base), 0);
	}
	for (id = 1; id <= 3; id++) {
		ck_assert_int_eq(frame_peek(b, &body, &len), 1);
		got = mockres__request__unpack(NULL, len, body);
		ck_assert_ptr_nonnull(got);
		ck_assert_uint_eq(got->id, id);
		mockres__request__free_unpacked(got, NULL);
		frame_consume(b, len);
	}
	ck_assert_int_eq(frame_peek(b, &body, &len), 0);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_bad_headers)
{
	struct evbuffer *b = evbuffer_new();
	const unsigned char zero[4] = {0, 0, 0, 0};
	const unsigned char huge[4] = {0xff, 0xff, 0xff, 0xff};
	const unsigned char over[4] = {0, 1, 0, 1};
	const unsigned char *body;
	uint32_t len;

	evbuffer_add(b, zero, 4);
	ck_assert_int_eq(frame_peek(b, &body, &len), -1);
	evbuffer_drain(b, 4);
	evbuffer_add(b, huge, 4);
	ck_assert_int_eq(frame_peek(b, &body, &len), -1);
	evbuffer_drain(b, 4);
	evbuffer_add(b, over, 4);
	ck_assert_int_eq(frame_peek(b, &body, &len), -1);
	evbuffer_drain(b, 4);
	/* a truncated header is just "more needed" */
	evbuffer_add(b, zero, 3);
	ck_assert_int_eq(frame_peek(b, &body, &len), 0);
	evbuffer_free(b);
}
END_TEST

/* A message over 64 KiB is refused by the writer, nothing is queued. */
START_TEST(test_write_oversized)
{
	struct evbuffer *b = evbuffer_new();
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Hello hello = MOCKRES__HELLO__INIT;
	char *name = malloc(70000);

	memset(name, 'x', 69999);
	name[69999] = '\0';
	hello.name = name;
	req.op_case = MOCKRES__REQUEST__OP_HELLO;
	req.hello = &hello;
	ck_assert_int_eq(frame_write(b, &req.base), -1);
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	free(name);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_peek_id)
{
	const unsigned char ok[] = {0x08, 0x96, 0x01, 0xff, 0xff};
	const unsigned char notid[] = {0x12, 0x00};
	const unsigned char cut[] = {0x08, 0x96};
	uint64_t id;

	ck_assert_int_eq(frame_peek_id(ok, sizeof(ok), &id), 0);
	ck_assert_uint_eq(id, 150);
	ck_assert_int_eq(frame_peek_id(notid, sizeof(notid), &id), -1);
	ck_assert_int_eq(frame_peek_id(cut, sizeof(cut), &id), -1);
}
END_TEST

/* Undecodable bodies are refused by protobuf-c, also with the arena. */
START_TEST(test_garbage_body)
{
	static struct arena a;
	const unsigned char junk[] = {0x08, 0x01, 0x1a, 0xff, 0xff, 0xff};

	arena_init(&a);
	ck_assert_ptr_null(
	    mockres__request__unpack(&a.allocator, sizeof(junk), junk));
	arena_reset(&a);
}
END_TEST

/* The arena serves small messages and spills big ones to malloc. */
START_TEST(test_arena_overflow)
{
	static struct arena a;
	Mockres__Response resp = MOCKRES__RESPONSE__INIT, *got;
	unsigned char *buf;
	char *err = malloc(40000);
	size_t n;

	memset(err, 'e', 39999);
	err[39999] = '\0';
	resp.error = err;
	n = mockres__response__get_packed_size(&resp);
	buf = malloc(n);
	mockres__response__pack(&resp, buf);
	arena_init(&a);
	got = mockres__response__unpack(&a.allocator, n, buf);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(strlen(got->error), 39999);
	ck_assert_ptr_nonnull(a.overflow);
	arena_reset(&a);
	ck_assert_ptr_null(a.overflow);
	ck_assert_uint_eq(a.used, 0);
	free(buf);
	free(err);
}
END_TEST

/* The reply scanner reads what protobuf-c packs, and gives up where it
 * must: stats present (decode whole), broken wire format. */
START_TEST(test_scan_reply)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;
	Mockres__Stats stats = MOCKRES__STATS__INIT;
	unsigned char buf[256];
	struct frame_reply r;
	size_t n;
	static const unsigned char cut[] = {0x08, 0x80}; /* varint cut */
	static const unsigned char wt[] = {0x09, 1, 2, 3, 4, 5, 6, 7, 8};
	static const unsigned char field0[] = {0x00, 0x01};       /* field 0 */
	static const unsigned char longstr[] = {0x22, 0x05, 'a'}; /* past end */
	static const unsigned char unknown[] = {0x08, 0x07, 0x2d, 1,   2,
	                                        3,    4,    0x10, 0x01};

	resp.has_id = 1;
	resp.id = 0x123456789ull;
	resp.has_status = 1;
	resp.status = MOCKRES__STATUS__BUSY;
	resp.error = "resource busy: 15 requests already in flight";
	n = mockres__response__pack(&resp, buf);
	ck_assert_int_eq(frame_scan_reply(buf, (uint32_t)n, &r), 0);
	ck_assert(r.id == 0x123456789ull);
	ck_assert(r.has_status && r.status == MOCKRES__STATUS__BUSY);
	ck_assert_uint_eq(r.error_len, strlen(resp.error));
	ck_assert(memcmp(r.error, resp.error, r.error_len) == 0);

	/* an ADMITTED without an error */
	resp.status = MOCKRES__STATUS__ADMITTED;
	resp.error = NULL;
	n = mockres__response__pack(&resp, buf);
	ck_assert_int_eq(frame_scan_reply(buf, (uint32_t)n, &r), 0);
	ck_assert_ptr_null(r.error);
	ck_assert_int_eq(r.status, MOCKRES__STATUS__ADMITTED);

	/* stats: not for the scanner */
	resp.stats = &stats;
	n = mockres__response__pack(&resp, buf);
	ck_assert_int_eq(frame_scan_reply(buf, (uint32_t)n, &r), 1);

	ck_assert_int_eq(frame_scan_reply(cut, sizeof(cut), &r), -1);
	ck_assert_int_eq(frame_scan_reply(wt, sizeof(wt), &r), -1);
	ck_assert_int_eq(frame_scan_reply(field0, sizeof(field0), &r), -1);
	ck_assert_int_eq(frame_scan_reply(longstr, sizeof(longstr), &r), -1);
	/* an unknown 32-bit field is skipped */
	ck_assert_int_eq(frame_scan_reply(unknown, sizeof(unknown), &r), 0);
	ck_assert(r.id == 7 && r.status == 1);
}
END_TEST

SUP_MAIN("frame", NULL, NULL, 0, test_header_bounds, test_roundtrip,
         test_scan_reply, test_write_with_id, test_split_reads, test_coalesced,
         test_bad_headers, test_write_oversized, test_peek_id,
         test_garbage_body, test_arena_overflow)
