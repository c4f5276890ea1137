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
#include "usewire.h"

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

/* The values the hand-written frames are checked with: the edges of each
 * varint length. */
static const uint64_t uw_ids[] = {0,          1,          127,
                                  128,        0x10000,    0x123456789ull,
                                  UINT32_MAX, 1ull << 63, UINT64_MAX};
static const int64_t uw_holds[] = {-1,
                                   0,
                                   1,
                                   127,
                                   128,
                                   500,
                                   16383,
                                   16384,
                                   (int64_t)UINT32_MAX,
                                   (int64_t)UINT32_MAX + 1};

/* usewire_use writes what protobuf-c packs, byte for byte. */
START_TEST(test_usewire_use_bytes)
{
	unsigned char mine[USEWIRE_USE_MAX], theirs[64];
	size_t i, j, n, m;
	int mode;

	for (i = 0; i < sizeof(uw_ids) / sizeof(uw_ids[0]); i++)
		for (j = 0; j < sizeof(uw_holds) / sizeof(uw_holds[0]); j++)
			for (mode = 0; mode <= 1; mode++) {
				Mockres__Request req = MOCKRES__REQUEST__INIT;
				Mockres__Use use = MOCKRES__USE__INIT;

				use.has_mode = 1;
				use.mode = (Mockres__UseMode)mode;
				if (uw_holds[j] >= 0 &&
				    uw_holds[j] <= UINT32_MAX) {
					use.has_hold_ms = 1;
					use.hold_ms = (uint32_t)uw_holds[j];
				}
				req.has_id = 1;
				req.id = uw_ids[i];
				req.op_case = MOCKRES__REQUEST__OP_USE;
				req.use = &use;
				m = mockres__request__pack(&req, theirs + 4);
				hdr_of(theirs, (uint32_t)m);
				n = usewire_use(mine, sizeof(mine), uw_ids[i],
				                mode, uw_holds[j]);
				ck_assert_uint_eq(n, m + 4);
				ck_assert(memcmp(mine, theirs, n) == 0);
			}
	/* too small a buffer */
	ck_assert_uint_eq(usewire_use(mine, USEWIRE_USE_MAX - 1, 1, 1, -1), 0);
}
END_TEST

/* usewire_status writes what protobuf-c packs, byte for byte. */
START_TEST(test_usewire_status_bytes)
{
	static const char *errors[] = {NULL, "", "x",
	                               "resource busy: 15 requests already in "
	                               "flight"};
	unsigned char mine[256], theirs[256];
	size_t i, j, n, m;
	int status;

	for (i = 0; i < sizeof(uw_ids) / sizeof(uw_ids[0]); i++)
		for (j = 0; j < sizeof(errors) / sizeof(errors[0]); j++)
			for (status = MOCKRES__STATUS__OK;
			     status <= MOCKRES__STATUS__TIMEOUT; status++) {
				Mockres__Response resp =
				    MOCKRES__RESPONSE__INIT;

				resp.has_id = 1;
				resp.id = uw_ids[i];
				resp.has_status = 1;
				resp.status = (Mockres__Status)status;
				resp.error = (char *)errors[j];
				m = mockres__response__pack(&resp, theirs + 4);
				hdr_of(theirs, (uint32_t)m);
				n = usewire_status(mine, sizeof(mine),
				                   uw_ids[i], status,
				                   errors[j]);
				ck_assert_uint_eq(n, m + 4);
				ck_assert(memcmp(mine, theirs, n) == 0);
			}
	/* a negative status takes ten bytes, as protobuf-c writes it */
	{
		Mockres__Response resp = MOCKRES__RESPONSE__INIT;

		resp.has_id = 1;
		resp.id = 9;
		resp.has_status = 1;
		resp.status = (Mockres__Status)-1;
		m = mockres__response__pack(&resp, theirs + 4);
		hdr_of(theirs, (uint32_t)m);
		n = usewire_status(mine, sizeof(mine), 9, -1, NULL);
		ck_assert_uint_eq(n, m + 4);
		ck_assert(memcmp(mine, theirs, n) == 0);
	}
	/* an error text that does not fit: 0, for protobuf-c to send */
	memset(theirs, 'a', sizeof(theirs) - 1);
	theirs[sizeof(theirs) - 1] = '\0';
	ck_assert_uint_eq(
	    usewire_status(mine, sizeof(mine), 1, 3, (const char *)theirs), 0);
}
END_TEST

/* BODY through the scanner and through protobuf-c: when the scanner is
 * sure (0), protobuf-c decodes the same use; returns what it said. */
static int
uw_scan_agrees(const unsigned char *body, size_t len)
{
	struct usewire_request r;
	Mockres__Request *req;
	int sure = usewire_scan_use(body, (uint32_t)len, &r) == 0;

	req = mockres__request__unpack(NULL, len, body);
	if (sure) {
		ck_assert_ptr_nonnull(req);
		ck_assert_int_eq(req->op_case, MOCKRES__REQUEST__OP_USE);
		ck_assert_int_eq(req->has_id, r.has_id);
		ck_assert(req->id == r.id);
		ck_assert_int_eq(req->use->has_mode, r.has_mode);
		ck_assert_int_eq(req->use->mode, r.mode);
		ck_assert_int_eq(req->use->has_hold_ms, r.has_hold_ms);
		ck_assert_uint_eq(req->use->hold_ms, r.hold_ms);
	}
	if (req != NULL)
		mockres__request__free_unpacked(req, NULL);
	return sure ? 0 : 1;
}

START_TEST(test_usewire_scan)
{
	unsigned char frame[USEWIRE_USE_MAX];
	size_t i, j, n;
	/* each a body: what the scanner must leave to protobuf-c */
	static const struct {
		unsigned char b[24];
		size_t len;
	} odd[] = {
	    {{0x08, 0x01}, 2},                         /* no use */
	    {{0x1a, 0x00, 0x1a, 0x00}, 4},             /* two uses (merged) */
	    {{0x08, 0x01, 0x08, 0x02, 0x1a, 0x00}, 6}, /* two ids */
	    {{0x1a, 0x04, 0x08, 0x01, 0x08, 0x00}, 6}, /* two modes */
	    {{0x1a, 0x02, 0x18, 0x01}, 4},             /* unknown in the use */
	    {{0x1a, 0x00, 0x20, 0x01}, 4},             /* unknown field */
	    {{0x22, 0x00}, 2},                         /* stats, not a use */
	    {{0x1a, 0x05, 0x08, 0x01}, 4},             /* use past the end */
	    {{0x1a, 0x02, 0x08}, 3},                   /* mode cut */
	    {{0x08, 0x80}, 2},                         /* id cut */
	    {{0x1a, 0x06, 0x10, 0x80, 0x80, 0x80, 0x80, 0x10}, 8}, /* 2^32 */
	    {{0x1a, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	      0xff, 0x01},
	     13}, /* mode -1 */
	    {{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
	      0x1a, 0x00},
	     13}, /* an id past 64 bits */
	    {{0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x00}, 11}, /* 64-bit id */
	};

	/* what mrclient writes: sure, and the same as protobuf-c */
	for (i = 0; i < sizeof(uw_ids) / sizeof(uw_ids[0]); i++)
		for (j = 0; j < sizeof(uw_holds) / sizeof(uw_holds[0]); j++) {
			n = usewire_use(frame, sizeof(frame), uw_ids[i],
			                (int32_t)(i & 1), uw_holds[j]);
			ck_assert_int_eq(uw_scan_agrees(frame + 4, n - 4), 0);
		}
	/* an empty use (a serial one, the model's hold), an id alone and a
	 * use without an id, non-minimal varints: sure */
	{
		static const unsigned char empty[] = {0x1a, 0x00};
		static const unsigned char padded[] = {0x08, 0x81, 0x00, 0x1a,
		                                       0x03, 0x08, 0x81, 0x00};

		ck_assert_int_eq(uw_scan_agrees(empty, sizeof(empty)), 0);
		ck_assert_int_eq(uw_scan_agrees(padded, sizeof(padded)), 0);
	}
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		ck_assert_msg(uw_scan_agrees(odd[i].b, odd[i].len) == 1,
		              "odd body %zu taken by the scanner", i);
}
END_TEST

SUP_MAIN("frame", NULL, NULL, 0, test_header_bounds, test_roundtrip,
         test_scan_reply, test_write_with_id, test_split_reads, test_coalesced,
         test_bad_headers, test_write_oversized, test_peek_id,
         test_garbage_body, test_arena_overflow, test_usewire_use_bytes,
         test_usewire_status_bytes, test_usewire_scan)
