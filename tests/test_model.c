/*
 * test_model.c: model keys, presets and the wire form: every way in says
 * the same thing about bad input, and changes nothing when it is bad.
 */
#include <check.h>
#include <string.h>

#include "model.h"
#include "parse.h"
#include "support.h"

static char err[MODEL_ERR_MAX];

START_TEST(test_defaults_are_io)
{
	struct model m;

	model_defaults(&m, 8);
	ck_assert_uint_eq(m.hold_ms, 500);
	ck_assert_int_eq(m.hold_dist, MODEL_DIST_FIXED);
	ck_assert_uint_eq(m.slots, 0);
	ck_assert_uint_eq(m.queue, 1000);
	ck_assert_uint_eq(m.queue_timeout_ms, 5000);
	ck_assert_int_eq(m.queue_discipline, MODEL_QUEUE_FIFO);
	ck_assert_uint_eq(m.codel_target_ms, 50);
	ck_assert_uint_eq(m.codel_interval_ms, 1000);
	ck_assert_int_eq(m.contention, MODEL_CONTENTION_NONE);
	ck_assert_uint_eq(m.cores, 8);
	ck_assert_str_eq(model_preset_of(&m, 8), "io");
}
END_TEST

START_TEST(test_presets_as_documented)
{
	struct model m;

	model_defaults(&m, 2);
	ck_assert_int_eq(model_preset(&m, "api", 2), 0);
	ck_assert_int_eq(m.hold_dist, MODEL_DIST_LOGNORMAL);
	ck_assert_uint_eq(m.hold_ms, 200);
	ck_assert_double_eq(m.hold_sigma, 0.6);
	ck_assert_str_eq(model_preset_of(&m, 2), "api");

	ck_assert_int_eq(model_preset(&m, "pool", 2), 0);
	ck_assert_uint_eq(m.slots, 10);
	ck_assert_uint_eq(m.queue, 1000);
	ck_assert_uint_eq(m.queue_timeout_ms, 2000);
	ck_assert_int_eq(m.hold_dist, MODEL_DIST_FIXED); /* reset, not kept */

	ck_assert_int_eq(model_preset(&m, "ecto", 2), 0);
	ck_assert_uint_eq(m.slots, 10);
	ck_assert_int_eq(m.queue_discipline, MODEL_QUEUE_CODEL);

	ck_assert_int_eq(model_preset(&m, "cpu", 2), 0);
	ck_assert_int_eq(m.contention, MODEL_CONTENTION_CPU);
	ck_assert_uint_eq(m.hold_ms, 100);
	ck_assert_uint_eq(m.cores, 2);

	ck_assert_int_eq(model_preset(&m, "overloaded-db", 2), 0);
	ck_assert_int_eq(m.contention, MODEL_CONTENTION_USL);
	ck_assert_uint_eq(m.hold_ms, 50);
	ck_assert_double_eq(m.usl_sigma, 0.1);
	ck_assert_double_eq(m.usl_kappa, 0.01);
	ck_assert_str_eq(model_preset_of(&m, 2), "overloaded-db");

	ck_assert_int_eq(model_preset(&m, "nosuch", 2), -1);
	ck_assert_int_eq(m.contention, MODEL_CONTENTION_USL);
	m.hold_ms = 51;
	ck_assert_ptr_null(model_preset_of(&m, 2));
}
END_TEST

START_TEST(test_every_preset_applies)
{
	const struct model_preset_info *p;
	struct model m;
	size_t i, n;

	p = model_presets(&n);
	ck_assert_uint_eq(n, 6);
	for (i = 0; i < n; i++) {
		model_defaults(&m, 4);
		ck_assert_msg(model_apply(&m, p[i].spec, 4, err, sizeof(err)) ==
		                  0,
		              "%s: %s", p[i].name, err);
		ck_assert_str_eq(model_preset_of(&m, 4), p[i].name);
		ck_assert_ptr_nonnull(p[i].summary);
	}
}
END_TEST

START_TEST(test_apply_spec)
{
	struct model m;

	model_defaults(&m, 4);
	ck_assert_int_eq(
	    model_apply(&m, "pool queue-timeout-ms=1000", 4, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(m.slots, 10);
	ck_assert_uint_eq(m.queue_timeout_ms, 1000);
	ck_assert_int_eq(
	    model_apply(&m, "slots=3,hold-dist=uniform", 4, err, sizeof(err)),
	    0);
	ck_assert_uint_eq(m.slots, 3);
	ck_assert_int_eq(m.hold_dist, MODEL_DIST_UNIFORM);
	ck_assert_int_eq(model_apply(&m, "", 4, err, sizeof(err)), 0);
	ck_assert_uint_eq(m.slots, 3);
}
END_TEST

START_TEST(test_bad_input_changes_nothing)
{
	static const char *const bad[] = {
	    "slots=ten",
	    "slots=1000001",
	    "slots=-1",
	    "slots=",
	    "slots= 5",
	    "hold-ms=3600001",
	    "hold-sigma=3.5",
	    "hold-sigma=nan",
	    "hold-sigma=inf",
	    "hold-sigma=0.5x",
	    "usl-kappa=0x1p-1", /* hexadecimal: decimal only */
	    "usl-kappa=0X.8",
	    "hold-sigma=0x1",
	    "hold-sigma=infinity",
	    "hold-sigma= 1",
	    "hold-sigma=1e",
	    "hold-sigma=.",
	    "hold-sigma=1.5e+",
	    "usl-kappa=-0.1",
	    "hold-dist=gaussian",
	    "queue-discipline=lifo",
	    "contention=gpu",
	    "cores=0",
	    "codel-target-ms=0",
	    "nosuchkey=1",
	    "slots=5 pool", /* a preset only first */
	    "nosuchpreset",
	    "slots=2 queue=oops", /* all or nothing */
	};
	struct model m, before;
	size_t i;

	model_defaults(&m, 4);
	before = m;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(model_apply(&m, bad[i], 4, err, sizeof(err)) ==
		                  -1,
		              "'%s' accepted", bad[i]);
		ck_assert_msg(err[0] != '\0', "'%s': no reason", bad[i]);
		ck_assert_msg(model_equal(&m, &before),
		              "'%s' changed the model", bad[i]);
	}
	ck_assert_int_eq(model_set(&m, "slots", "ten", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	                 "slots must be a whole number 0..1000000, not 'ten'");
	ck_assert_int_eq(model_set(&m, "hold-dist", "x", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "hold-dist must be one of fixed, uniform, "
	                      "lognormal, not 'x'");
}
END_TEST

/* Decimal numbers in every usual form, and only them. */
START_TEST(test_parse_double_decimal_only)
{
	static const struct {
		const char *s;
		double v;
	} good[] = {{"0", 0},       {"1", 1},       {"0.5", 0.5},
	            {".5", 0.5},    {"5.", 5},      {"+0.25", 0.25},
	            {"1e-2", 0.01}, {"1E-2", 0.01}, {"2.5e+0", 2.5},
	            {"-0", 0},      {"0.01", 0.01}};
	static const char *const bad[] = {
	    "",    "0x1p-1", "0X1",  "0x0", "inf",  "nan",  "-inf",
	    " 1",  "1 ",     "1e",   "e1",  ".",    "+",    "1.5e+",
	    "1,5", "0.5x",   "1..2", "--1", "1e2.", "1e400"};
	double v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(parse_double(good[i].s, -10, 10, &v) == 0,
		              "'%s' refused", good[i].s);
		ck_assert_double_eq_tol(v, good[i].v, 1e-12);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse_double(bad[i], -1e300, 1e300, &v) == -1,
		              "'%s' accepted", bad[i]);
	ck_assert_int_eq(parse_double("1.5", 0, 1, &v), -1); /* range */
}
END_TEST

START_TEST(test_wire_round_trip)
{
	Mockres__Model pb;
	struct model a, b;

	model_defaults(&a, 4);
	ck_assert_int_eq(model_apply(&a,
	                             "ecto hold-dist=lognormal hold-sigma=0.25 "
	                             "seed=123456789012 contention=usl "
	                             "usl-kappa=0.003",
	                             4, err, sizeof(err)),
	                 0);
	model_to_pb(&a, &pb);
	model_defaults(&b, 2);
	ck_assert_int_eq(model_from_pb(&b, &pb, err, sizeof(err)), 0);
	ck_assert(model_equal(&a, &b));
	ck_assert_uint_eq(b.seed, 123456789012ull);

	/* only present fields change */
	mockres__model__init(&pb);
	pb.has_slots = 1;
	pb.slots = 7;
	ck_assert_int_eq(model_from_pb(&b, &pb, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.slots, 7);
	ck_assert_int_eq(b.queue_discipline, MODEL_QUEUE_CODEL);

	/* bad values from the wire are refused, all or nothing */
	pb.has_contention = 1;
	pb.contention = 9;
	ck_assert_int_eq(model_from_pb(&b, &pb, err, sizeof(err)), -1);
	pb.has_contention = 0;
	pb.slots = 9;
	pb.has_hold_sigma = 1;
	pb.hold_sigma = 4.0;
	ck_assert_int_eq(model_from_pb(&b, &pb, err, sizeof(err)), -1);
	ck_assert_uint_eq(b.slots, 7);
}
END_TEST

START_TEST(test_key_table)
{
	char buf[64];
	struct model m;
	size_t i;

	model_defaults(&m, 4);
	ck_assert_uint_eq(model_nkeys(), 15);
	for (i = 0; i < model_nkeys(); i++) {
		struct model copy = m;

		model_key_format(&m, i, buf, sizeof(buf));
		/* every key takes its own printed value back */
		ck_assert_int_eq(
		    model_set(&copy, model_key_name(i), buf, err, sizeof(err)),
		    0);
		ck_assert(model_equal(&copy, &m));
		ck_assert_ptr_nonnull(model_key_help(i));
	}
	ck_assert_str_eq(model_key_name(0), "hold-ms");
	ck_assert_ptr_null(model_key_name(model_nkeys()));
	/* the values and defaults --help prints (and the man page must say) */
	model_key_range((size_t)model_key_index("hold-spread"), buf,
	                sizeof(buf));
	ck_assert_str_eq(buf, "0..3600000, default 100");
	model_key_range((size_t)model_key_index("usl-kappa"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "0..1, default 0.01");
	model_key_range((size_t)model_key_index("hold-dist"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "default fixed");
	model_key_range((size_t)model_key_index("cores"), buf, sizeof(buf));
	ck_assert_str_eq(buf, "1..4096, default the number of CPUs");
}
END_TEST

START_TEST(test_pb_keep_only_given)
{
	unsigned char given[32] = {0};
	Mockres__Model pb;
	struct model m, target;

	model_defaults(&m, 4);
	ck_assert_int_eq(model_set(&m, "slots", "3", err, sizeof(err)), 0);
	ck_assert_int_eq(model_set(&m, "usl-kappa", "0.5", err, sizeof(err)),
	                 0);
	given[model_key_index("slots")] = 1;
	given[model_key_index("usl-kappa")] = 1;
	model_to_pb(&m, &pb);
	model_pb_keep(&pb, given);
	ck_assert(pb.has_slots && pb.has_usl_kappa);
	ck_assert(!pb.has_hold_ms && !pb.has_queue && !pb.has_seed &&
	          !pb.has_hold_dist && !pb.has_queue_timeout_ms);
	/* applied to another model, only those two change */
	model_defaults(&target, 4);
	ck_assert_int_eq(model_set(&target, "hold-ms", "77", err, sizeof(err)),
	                 0);
	ck_assert_int_eq(model_from_pb(&target, &pb, err, sizeof(err)), 0);
	ck_assert_uint_eq(target.slots, 3);
	ck_assert_double_eq(target.usl_kappa, 0.5);
	ck_assert_uint_eq(target.hold_ms, 77);
	ck_assert_int_eq(model_key_index("nosuch"), -1);
}
END_TEST

SUP_MAIN("model", NULL, NULL, 0, test_defaults_are_io,
         test_presets_as_documented, test_every_preset_applies, test_apply_spec,
         test_bad_input_changes_nothing, test_parse_double_decimal_only,
         test_wire_round_trip, test_key_table, test_pb_keep_only_given)
