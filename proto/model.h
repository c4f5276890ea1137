/*
 * model.h: the resource model, its keys, presets and wire form.
 *
 * A model has three orthogonal parts: the service time of one use (hold-ms
 * and its distribution), the room (slots, and a wait queue with its cap,
 * timeout and discipline) and contention (how uses in service slow each
 * other down).  mockresd runs one; mockresctl and mockresd's flags and
 * MOCKRES_MODEL change it with "key=value" strings or a preset name, all
 * validated here so that every way in says the same thing about bad input.
 * docs/design.md, "Resource models", is the reference.
 */
#ifndef MOCKRES_MODEL_H
#define MOCKRES_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mockres.pb-c.h"

enum model_dist {
	MODEL_DIST_FIXED,
	MODEL_DIST_UNIFORM,
	MODEL_DIST_LOGNORMAL,
};

enum model_discipline {
	MODEL_QUEUE_FIFO,
	MODEL_QUEUE_CODEL,
};

enum model_contention {
	MODEL_CONTENTION_NONE,
	MODEL_CONTENTION_CPU,
	MODEL_CONTENTION_USL,
};

struct model {
	uint32_t hold_ms;
	enum model_dist hold_dist;
	uint32_t hold_spread; /* ms, uniform */
	double hold_sigma;    /* lognormal */
	uint64_t seed;
	uint32_t slots;            /* 0 = unlimited */
	uint32_t queue;            /* waiting uses at most */
	uint32_t queue_timeout_ms; /* 0 = none */
	enum model_discipline queue_discipline;
	uint32_t codel_target_ms;
	uint32_t codel_interval_ms;
	enum model_contention contention;
	uint32_t cores;
	double usl_sigma;
	double usl_kappa;
};

#define MODEL_ERR_MAX 160 /* room for any message below */

/* The defaults (the "io" preset); CORES is the machine's processor count. */
void model_defaults(struct model *, uint32_t cores);

/*
 * Sets one key ("slots") from its text ("10").  Returns 0, or -1 with a
 * one-line reason in ERR ("slots must be a whole number 0..1000000, not
 * 'ten'") and M unchanged.
 */
int model_set(struct model *m, const char *key, const char *value, char *err,
              size_t errlen);

/*
 * Applies SPEC: an optional preset name, then "key=value" words separated
 * by spaces or commas ("pool queue-timeout-ms=1000").  All or nothing:
 * returns 0, or -1 with ERR and M unchanged.
 */
int model_apply(struct model *m, const char *spec, uint32_t cores, char *err,
                size_t errlen);

/* Replaces M with preset NAME.  Returns 0, or -1 if there is none. */
int model_preset(struct model *m, const char *name, uint32_t cores);

struct model_preset_info {
	const char *name;
	const char *spec;    /* its keys, as for model_apply */
	const char *summary; /* what it models, in one line */
};

const struct model_preset_info *model_presets(size_t *n);
/* The preset M equals, or NULL. */
const char *model_preset_of(const struct model *m, uint32_t cores);

/* The keys, in order, with their current text in M. */
size_t model_nkeys(void);
const char *model_key_name(size_t i);
const char *model_key_help(size_t i);
void model_key_format(const struct model *m, size_t i, char *buf, size_t len);
/* Key I's values and default, from the key table and model_defaults, for
 * --help (and the test that holds the man page to it): "0..3600000,
 * default 500", "default fixed". */
void model_key_range(size_t i, char *buf, size_t len);

const char *model_dist_name(enum model_dist);
const char *model_discipline_name(enum model_discipline);
const char *model_contention_name(enum model_contention);

/* The wire form.  to_pb fills every field; from_pb applies the present
 * ones with the same validation as model_set (all or nothing). */
void model_to_pb(const struct model *m, Mockres__Model *pb);
int model_from_pb(struct model *m, const Mockres__Model *pb, char *err,
                  size_t errlen);

/* Keeps only the fields of the keys marked in GIVEN (indexed like the
 * key table, model_nkeys() entries) present in PB: a SetModel that changes
 * just those. */
void model_pb_keep(Mockres__Model *pb, const unsigned char *given);
/* The index of key NAME, or -1. */
int model_key_index(const char *name);

/* Is M's "key=value" text equal for both? (Doubles compare exactly.) */
int model_equal(const struct model *a, const struct model *b);

#endif
