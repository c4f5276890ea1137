/*
 * fuzz_seeds.c: writes the seed corpus of the fuzz targets, valid frames
 * built with the real framing code:
 *   fuzz_seeds DIR  ->  DIR/mockresd/<name>, DIR/mrclient/<name>
 * The output is committed in tests/fuzz/corpus/; rerun after a protocol
 * change.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>

#include "frame.h"
#include "mockres.pb-c.h"

static const char *seeds_dir;

static void
seeds_write(const char *target, const char *name, unsigned char prefix,
            struct evbuffer *frames)
{
	char path[1024];
	FILE *f;
	size_t n = evbuffer_get_length(frames);
	unsigned char *p = evbuffer_pullup(frames, -1);

	snprintf(path, sizeof(path), "%s/%s", seeds_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", seeds_dir, target, name);
	if ((f = fopen(path, "wb")) == NULL)
		err(1, "%s", path);
	if (strcmp(target, "mockresd") == 0)
		fputc(prefix, f); /* the admin flag */
	if (n > 0 && fwrite(p, 1, n, f) != n)
		err(1, "%s", path);
	if (fclose(f) != 0)
		err(1, "%s", path);
	evbuffer_drain(frames, n);
}

static void
seeds_req(struct evbuffer *out, uint64_t id, Mockres__Request *req)
{
	req->has_id = 1;
	req->id = id;
	if (frame_write(out, &req->base) == -1)
		errx(1, "frame_write");
}

static void
seeds_requests(void)
{
	struct evbuffer *b = evbuffer_new();
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Hello hello = MOCKRES__HELLO__INIT;
	Mockres__Use use = MOCKRES__USE__INIT;
	Mockres__StatsRequest stats = MOCKRES__STATS_REQUEST__INIT;
	Mockres__Watch watch = MOCKRES__WATCH__INIT;
	Mockres__SetLimit lim = MOCKRES__SET_LIMIT__INIT;
	Mockres__SetHold hold = MOCKRES__SET_HOLD__INIT;
	Mockres__ResetPeak peak = MOCKRES__RESET_PEAK__INIT;
	Mockres__SetModel sm = MOCKRES__SET_MODEL__INIT;
	Mockres__Model model = MOCKRES__MODEL__INIT;
	const unsigned char bad_len[] = {0, 0, 0, 0};
	const unsigned char undecodable_id[] = {0,    0,    0,    6,    0x08,
	                                        0x07, 0x1a, 0xff, 0xff, 0xff};
	const unsigned char unknown_field[] = {
	    0, 0, 0, 4, 0x08, 0x09, 0x48, 0x01}; /* id 9, field 9 */
	int i;

	hello.has_role = 1;
	hello.role = MOCKRES__ROLE__ROLE_FRONTEND_WORKER;
	hello.name = "worker 1";
	req.op_case = MOCKRES__REQUEST__OP_HELLO;
	req.hello = &hello;
	seeds_req(b, 0, &req);
	seeds_write("mockresd", "hello", 0, b);

	use.has_mode = 1;
	use.mode = MOCKRES__USE_MODE__SERIAL;
	use.has_hold_ms = 1;
	use.hold_ms = 0;
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	for (i = 1; i <= 5; i++)
		seeds_req(b, (uint64_t)i, &req);
	seeds_write("mockresd", "use-serial-5", 0, b);

	use.mode = MOCKRES__USE_MODE__ASYNC;
	use.has_hold_ms = 0;
	seeds_req(b, 7, &req);
	seeds_write("mockresd", "use-async", 0, b);

	stats.has_clients = 1;
	stats.clients = 1;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &stats;
	seeds_req(b, 8, &req);
	seeds_write("mockresd", "stats-clients", 0, b);

	watch.has_interval_ms = 1;
	watch.interval_ms = 10;
	req.op_case = MOCKRES__REQUEST__OP_WATCH;
	req.watch = &watch;
	seeds_req(b, 9, &req);
	watch.interval_ms = 0;
	seeds_req(b, 10, &req);
	seeds_write("mockresd", "watch-on-off", 0, b);

	lim.has_limit = 1;
	lim.limit = 1;
	req.op_case = MOCKRES__REQUEST__OP_SET_LIMIT;
	req.set_limit = &lim;
	seeds_req(b, 11, &req);
	hold.has_hold_ms = 1;
	hold.hold_ms = 0;
	req.op_case = MOCKRES__REQUEST__OP_SET_HOLD;
	req.set_hold = &hold;
	seeds_req(b, 12, &req);
	req.op_case = MOCKRES__REQUEST__OP_RESET_PEAK;
	req.reset_peak = &peak;
	seeds_req(b, 13, &req);
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	seeds_req(b, 14, &req);
	seeds_req(b, 15, &req);
	{
		struct evbuffer *copy = evbuffer_new();

		evbuffer_add(copy, evbuffer_pullup(b, -1),
		             evbuffer_get_length(b));
		seeds_write("mockresd", "admin-ops", 1, b);
		seeds_write("mockresd", "admin-ops-denied", 0, copy);
		evbuffer_free(copy);
	}

	/* a pool with a short timeout, slots full, a queue, a model
	 * change mid-way, then a bad value (all or nothing) */
	sm.preset = "pool";
	model.has_queue_timeout_ms = 1;
	model.queue_timeout_ms = 1;
	model.has_queue_discipline = 1;
	model.queue_discipline = MOCKRES__QUEUE_DISCIPLINE__QUEUE_CODEL;
	model.has_slots = 1;
	model.slots = 1;
	sm.model = &model;
	req.op_case = MOCKRES__REQUEST__OP_SET_MODEL;
	req.set_model = &sm;
	seeds_req(b, 16, &req);
	use.has_hold_ms = 1;
	use.hold_ms = 2;
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	for (i = 17; i <= 22; i++)
		seeds_req(b, (uint64_t)i, &req);
	sm.preset = NULL;
	model.has_contention = 1;
	model.contention = MOCKRES__CONTENTION__CONTENTION_USL;
	req.op_case = MOCKRES__REQUEST__OP_SET_MODEL;
	seeds_req(b, 23, &req);
	model.has_hold_sigma = 1;
	model.hold_sigma = 99.0;
	seeds_req(b, 24, &req);
	seeds_write("mockresd", "model-queue", 1, b);

	evbuffer_add(b, bad_len, sizeof(bad_len));
	seeds_write("mockresd", "zero-length", 0, b);
	evbuffer_add(b, undecodable_id, sizeof(undecodable_id));
	seeds_write("mockresd", "undecodable-with-id", 0, b);
	evbuffer_add(b, unknown_field, sizeof(unknown_field));
	seeds_write("mockresd", "unknown-op", 0, b);
	evbuffer_free(b);
}

static void
seeds_resp(struct evbuffer *out, uint64_t id, Mockres__Status status,
           Mockres__Stats *stats, const char *error)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;

	resp.has_id = 1;
	resp.id = id;
	resp.has_status = 1;
	resp.status = status;
	resp.stats = stats;
	resp.error = (char *)error;
	if (frame_write(out, &resp.base) == -1)
		errx(1, "frame_write");
}

/* The ids the fuzz_mrclient target's requests get, in order. */
#define ID(n) (((uint64_t)(n) << 16) | ((n)-1))

static void
seeds_responses(void)
{
	struct evbuffer *b = evbuffer_new();
	Mockres__Stats st = MOCKRES__STATS__INIT;
	Mockres__ClientInfo ci = MOCKRES__CLIENT_INFO__INIT, *cip = &ci;

	st.has_in_flight = st.has_limit = st.has_peak = 1;
	st.in_flight = 3;
	st.limit = 15;
	st.peak = 15;
	ci.has_pid = ci.has_role = 1;
	ci.pid = 812;
	ci.role = MOCKRES__ROLE__ROLE_FRONTEND_WORKER;
	ci.name = "worker \"1\"\n";
	st.n_clients = 1;
	st.clients = &cip;

	seeds_resp(b, 0, MOCKRES__STATUS__OK, NULL, NULL); /* the hello */
	seeds_resp(b, ID(1), MOCKRES__STATUS__DONE, NULL, NULL);
	seeds_resp(b, ID(2), MOCKRES__STATUS__ADMITTED, NULL, NULL);
	seeds_resp(b, ID(3), MOCKRES__STATUS__OK, &st, NULL);
	seeds_resp(b, ID(4), MOCKRES__STATUS__OK, &st, NULL);
	seeds_resp(b, ID(4), MOCKRES__STATUS__OK, &st, NULL);
	seeds_resp(b, ID(5), MOCKRES__STATUS__BUSY, NULL,
	           "resource busy: 15 requests already in flight");
	seeds_write("mrclient", "every-reply", 0, b);

	seeds_resp(b, ID(1), MOCKRES__STATUS__DONE, NULL, NULL);
	seeds_resp(b, ID(1), MOCKRES__STATUS__DONE, NULL, NULL); /* again */
	seeds_resp(b, 12345, MOCKRES__STATUS__DENIED, NULL, "no");
	seeds_write("mrclient", "duplicate-and-unknown-id", 0, b);

	seeds_resp(b, ID(2), MOCKRES__STATUS__TIMEOUT, NULL,
	           "timed out after 2000 ms waiting for the resource");
	{
		Mockres__Model m = MOCKRES__MODEL__INIT;
		Mockres__Percentiles pc = MOCKRES__PERCENTILES__INIT;

		m.has_slots = 1;
		m.slots = 10;
		pc.has_p50 = 1;
		pc.p50 = 2000.0;
		st.model = &m;
		st.wait_ms = &pc;
		st.has_waiting = 1;
		st.waiting = 40;
		st.preset = "pool";
		seeds_resp(b, ID(3), MOCKRES__STATUS__OK, &st, NULL);
		st.model = NULL;
		st.wait_ms = NULL;
		st.preset = NULL;
	}
	seeds_write("mrclient", "model-and-timeout", 0, b);

	seeds_resp(b, ID(4), MOCKRES__STATUS__SHUTTING_DOWN, NULL,
	           "mockresd is shutting down");
	evbuffer_add(b, "\0\0\0\0", 4);
	seeds_write("mrclient", "then-bad-length", 0, b);
	evbuffer_free(b);
}

int
main(int argc, char *argv[]) /* cppcheck-suppress constParameter */
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	seeds_dir = argv[1];
	mkdir(seeds_dir, 0755);
	seeds_requests();
	seeds_responses();
	return 0;
}
