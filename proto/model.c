/*
 * model.c: the model's keys (one table: names, types, ranges, help),
 * presets and wire form.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockres_limits.h"
#include "model.h"
#include "parse.h"

enum model_type {
	MODEL_U32,
	MODEL_U64,
	MODEL_DOUBLE,
	MODEL_ENUM,
};

struct model_key {
	const char *name;
	enum model_type type;
	size_t off;
	double min, max;
	const char *const *names; /* MODEL_ENUM: value i is names[i] */
	const char *help;
};

static const char *const model_dist_names[] = {"fixed", "uniform", "lognormal",
                                               NULL};
static const char *const model_discipline_names[] = {"fifo", "codel", NULL};
static const char *const model_contention_names[] = {"none", "cpu", "usl",
                                                     NULL};

#define MODEL_OFF(f) offsetof(struct model, f)

static const struct model_key model_keys[] = {
    {"hold-ms", MODEL_U32, MODEL_OFF(hold_ms), 0, MOCKRES_HOLD_MS_MAX, NULL,
     "base service time of one use, ms"},
    {"hold-dist", MODEL_ENUM, MODEL_OFF(hold_dist), 0, 0, model_dist_names,
     "fixed | uniform (hold-ms +- hold-spread) | lognormal (median "
     "hold-ms)"},
    {"hold-spread", MODEL_U32, MODEL_OFF(hold_spread), 0, MOCKRES_HOLD_MS_MAX,
     NULL, "uniform: +- this many ms"},
    {"hold-sigma", MODEL_DOUBLE, MODEL_OFF(hold_sigma), 0, 3, NULL,
     "lognormal: sigma of the underlying normal"},
    {"seed", MODEL_U64, MODEL_OFF(seed), 0, 0, NULL,
     "seeds the random draws (same seed, same arrivals: same holds)"},
    {"slots", MODEL_U32, MODEL_OFF(slots), 0, MOCKRES_SLOTS_MAX, NULL,
     "uses served at once, 0 = unlimited; more wait in the queue"},
    {"queue", MODEL_U32, MODEL_OFF(queue), 0, MOCKRES_QUEUE_MAX, NULL,
     "most uses waiting; one more is BUSY"},
    {"queue-timeout-ms", MODEL_U32, MODEL_OFF(queue_timeout_ms), 0,
     MOCKRES_HOLD_MS_MAX, NULL,
     "a use waiting this long leaves with TIMEOUT, 0 = never"},
    {"queue-discipline", MODEL_ENUM, MODEL_OFF(queue_discipline), 0, 0,
     model_discipline_names, "fifo | codel (DBConnection's)"},
    {"codel-target-ms", MODEL_U32, MODEL_OFF(codel_target_ms), 1,
     MOCKRES_HOLD_MS_MAX, NULL, "codel: acceptable smallest wait, ms"},
    {"codel-interval-ms", MODEL_U32, MODEL_OFF(codel_interval_ms), 1,
     MOCKRES_HOLD_MS_MAX, NULL, "codel: how often the wait is judged, ms"},
    {"contention", MODEL_ENUM, MODEL_OFF(contention), 0, 0,
     model_contention_names, "none | cpu (processor sharing over cores) | usl"},
    {"cores", MODEL_U32, MODEL_OFF(cores), 1, MOCKRES_CORES_MAX, NULL,
     "cpu: processors shared by the uses in service"},
    {"usl-sigma", MODEL_DOUBLE, MODEL_OFF(usl_sigma), 0, 1, NULL,
     "usl: contention coefficient"},
    {"usl-kappa", MODEL_DOUBLE, MODEL_OFF(usl_kappa), 0, 1, NULL,
     "usl: coherency coefficient"},
};

#define MODEL_NKEYS (sizeof(model_keys) / sizeof(model_keys[0]))

static const struct model_preset_info model_preset_table[] = {
    {"io", "",
     "the default: fixed 500 ms, unlimited slots: a remote call with spare "
     "capacity"},
    {"api", "hold-dist=lognormal hold-ms=200 hold-sigma=0.6",
     "a third-party API with a long tail"},
    {"pool", "slots=10 queue=1000 queue-timeout-ms=2000",
     "a database connection pool (HAProxy's maxconn + timeout queue)"},
    {"ecto",
     "slots=10 queue-discipline=codel codel-target-ms=50 "
     "codel-interval-ms=1000",
     "Ecto's DBConnection pool"},
    {"cpu", "contention=cpu hold-ms=100",
     "CPU-bound work on this machine's cores"},
    {"overloaded-db", "contention=usl hold-ms=50 usl-sigma=0.1 usl-kappa=0.01",
     "a database that thrashes past ~9 concurrent queries"},
};

#define MODEL_NPRESETS                                                         \
	(sizeof(model_preset_table) / sizeof(model_preset_table[0]))

void
model_defaults(struct model *m, uint32_t cores)
{
	memset(m, 0, sizeof(*m));
	m->hold_ms = MOCKRES_HOLD_MS_DEFAULT;
	m->hold_dist = MODEL_DIST_FIXED;
	m->hold_spread = 100;
	m->hold_sigma = 0.5;
	m->seed = 1;
	m->slots = 0;
	m->queue = 1000;
	m->queue_timeout_ms = 5000;
	m->queue_discipline = MODEL_QUEUE_FIFO;
	m->codel_target_ms = 50;
	m->codel_interval_ms = 1000;
	m->contention = MODEL_CONTENTION_NONE;
	m->cores = cores >= 1 && cores <= MOCKRES_CORES_MAX ? cores : 1;
	m->usl_sigma = 0.1;
	m->usl_kappa = 0.01;
}

void
model_key_range(size_t i, char *buf, size_t len)
{
	const struct model_key *k;
	struct model d;
	char def[32];

	if (i >= MODEL_NKEYS) {
		snprintf(buf, len, "?");
		return;
	}
	k = &model_keys[i];
	model_defaults(&d, 1);
	if (k->off == MODEL_OFF(cores)) /* the machine's */
		snprintf(def, sizeof(def), "the number of CPUs");
	else
		model_key_format(&d, i, def, sizeof(def));
	switch (k->type) {
	case MODEL_U32:
		snprintf(buf, len, "%.0f..%.0f, default %s", k->min, k->max,
		         def);
		break;
	case MODEL_DOUBLE:
		snprintf(buf, len, "%g..%g, default %s", k->min, k->max, def);
		break;
	default: /* any 64-bit number, or one of the names */
		snprintf(buf, len, "default %s", def);
		break;
	}
}

int
model_key_index(const char *name)
{
	size_t i;

	for (i = 0; i < MODEL_NKEYS; i++)
		if (strcmp(model_keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const struct model_key *
model_key_find(const char *name)
{
	int i = model_key_index(name);

	return i < 0 ? NULL : &model_keys[i];
}

static void
model_enum_list(const char *const *names, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; names[i] != NULL && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		                        i ? ", " : "", names[i]);
}

static int
model_key_set(struct model *m, const struct model_key *k, const char *value,
              char *err, size_t errlen)
{
	char *field = (char *)m + k->off;
	char list[64];
	uint64_t u;
	double d;
	size_t i;

	switch (k->type) {
	case MODEL_U32:
		if (parse_u64(value, (uint64_t)k->min, (uint64_t)k->max, &u) ==
		    -1) {
			snprintf(err, errlen,
			         "%s must be a whole number %.0f..%.0f, not "
			         "'%.40s'",
			         k->name, k->min, k->max, value);
			return -1;
		}
		*(uint32_t *)(void *)field = (uint32_t)u;
		return 0;
	case MODEL_U64:
		if (parse_u64(value, 0, UINT64_MAX, &u) == -1) {
			snprintf(err, errlen,
			         "%s must be a whole number, not '%.40s'",
			         k->name, value);
			return -1;
		}
		*(uint64_t *)(void *)field = u;
		return 0;
	case MODEL_DOUBLE:
		if (parse_double(value, k->min, k->max, &d) == -1) {
			snprintf(err, errlen,
			         "%s must be a number %g..%g, not '%.40s'",
			         k->name, k->min, k->max, value);
			return -1;
		}
		*(double *)(void *)field = d;
		return 0;
	case MODEL_ENUM:
		for (i = 0; k->names[i] != NULL; i++) {
			if (strcmp(k->names[i], value) == 0) {
				/* every model enum is an int-sized enum */
				*(int *)(void *)field = (int)i;
				return 0;
			}
		}
		model_enum_list(k->names, list, sizeof(list));
		snprintf(err, errlen, "%s must be one of %s, not '%.40s'",
		         k->name, list, value);
		return -1;
	}
	return -1;
}

int
model_set(struct model *m, const char *key, const char *value, char *err,
          size_t errlen)
{
	const struct model_key *k = model_key_find(key);

	if (k == NULL) {
		snprintf(err, errlen,
		         "unknown model key '%.40s' (mockresctl model lists "
		         "them)",
		         key);
		return -1;
	}
	return model_key_set(m, k, value, err, errlen);
}

int
model_preset(struct model *m, const char *name, uint32_t cores)
{
	char err[MODEL_ERR_MAX];
	size_t i;

	for (i = 0; i < MODEL_NPRESETS; i++) {
		if (strcmp(model_preset_table[i].name, name) == 0) {
			struct model p;

			model_defaults(&p, cores);
			if (model_apply(&p, model_preset_table[i].spec, cores,
			                err, sizeof(err)) == -1)
				return -1; /* a broken table: tested */
			*m = p;
			return 0;
		}
	}
	return -1;
}

int
model_apply(struct model *m, const char *spec, uint32_t cores, char *err,
            size_t errlen)
{
	char buf[1024], *word, *save = NULL, *eq;
	struct model next = *m;
	int first = 1;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "model too long (at most %zu bytes)",
		         sizeof(buf) - 1);
		return -1;
	}
	memcpy(buf, spec, strlen(spec) + 1);
	for (word = strtok_r(buf, " ,\t\n", &save); word != NULL;
	     word = strtok_r(NULL, " ,\t\n", &save), first = 0) {
		if ((eq = strchr(word, '=')) == NULL) {
			if (first && model_preset(&next, word, cores) == 0)
				continue;
			snprintf(err, errlen,
			         first ? "'%.40s' is neither a preset nor "
			                 "key=value (mockresctl model lists "
			                 "both)"
			               : "'%.40s' is not key=value (a preset "
			                 "name may only come first)",
			         word);
			return -1;
		}
		*eq = '\0';
		if (model_set(&next, word, eq + 1, err, errlen) == -1)
			return -1;
	}
	*m = next;
	return 0;
}

const struct model_preset_info *
model_presets(size_t *n)
{
	*n = MODEL_NPRESETS;
	return model_preset_table;
}

int
model_equal(const struct model *a, const struct model *b)
{
	char x[64], y[64];
	size_t i;

	for (i = 0; i < MODEL_NKEYS; i++) {
		model_key_format(a, i, x, sizeof(x));
		model_key_format(b, i, y, sizeof(y));
		if (strcmp(x, y) != 0)
			return 0;
	}
	return 1;
}

const char *
model_preset_of(const struct model *m, uint32_t cores)
{
	struct model p;
	size_t i;

	for (i = 0; i < MODEL_NPRESETS; i++) {
		p = *m;
		if (model_preset(&p, model_preset_table[i].name, cores) == 0 &&
		    model_equal(&p, m))
			return model_preset_table[i].name;
	}
	return NULL;
}

size_t
model_nkeys(void)
{
	return MODEL_NKEYS;
}

const char *
model_key_name(size_t i)
{
	return i < MODEL_NKEYS ? model_keys[i].name : NULL;
}

const char *
model_key_help(size_t i)
{
	return i < MODEL_NKEYS ? model_keys[i].help : NULL;
}

void
model_key_format(const struct model *m, size_t i, char *buf, size_t len)
{
	const struct model_key *k;
	const char *field;

	if (i >= MODEL_NKEYS) {
		snprintf(buf, len, "?");
		return;
	}
	k = &model_keys[i];
	field = (const char *)m + k->off;
	switch (k->type) {
	case MODEL_U32:
		snprintf(buf, len, "%u",
		         *(const uint32_t *)(const void *)field);
		break;
	case MODEL_U64:
		snprintf(
		    buf, len, "%llu",
		    (unsigned long long)*(const uint64_t *)(const void *)field);
		break;
	case MODEL_DOUBLE:
		snprintf(buf, len, "%g", *(const double *)(const void *)field);
		break;
	case MODEL_ENUM:
		snprintf(buf, len, "%s",
		         k->names[*(const int *)(const void *)field]);
		break;
	}
}

const char *
model_dist_name(enum model_dist d)
{
	return model_dist_names[d <= MODEL_DIST_LOGNORMAL ? d : 0];
}

const char *
model_discipline_name(enum model_discipline d)
{
	return model_discipline_names[d <= MODEL_QUEUE_CODEL ? d : 0];
}

const char *
model_contention_name(enum model_contention c)
{
	return model_contention_names[c <= MODEL_CONTENTION_USL ? c : 0];
}

void
model_to_pb(const struct model *m, Mockres__Model *pb)
{
	mockres__model__init(pb);
	pb->has_hold_ms = pb->has_hold_dist = pb->has_hold_spread = 1;
	pb->has_hold_sigma = pb->has_seed = pb->has_slots = 1;
	pb->has_queue = pb->has_queue_timeout_ms = 1;
	pb->has_queue_discipline = pb->has_codel_target_ms = 1;
	pb->has_codel_interval_ms = pb->has_contention = pb->has_cores = 1;
	pb->has_usl_sigma = pb->has_usl_kappa = 1;
	pb->hold_ms = m->hold_ms;
	pb->hold_dist = (Mockres__HoldDist)m->hold_dist;
	pb->hold_spread = m->hold_spread;
	pb->hold_sigma = m->hold_sigma;
	pb->seed = m->seed;
	pb->slots = m->slots;
	pb->queue = m->queue;
	pb->queue_timeout_ms = m->queue_timeout_ms;
	pb->queue_discipline = (Mockres__QueueDiscipline)m->queue_discipline;
	pb->codel_target_ms = m->codel_target_ms;
	pb->codel_interval_ms = m->codel_interval_ms;
	pb->contention = (Mockres__Contention)m->contention;
	pb->cores = m->cores;
	pb->usl_sigma = m->usl_sigma;
	pb->usl_kappa = m->usl_kappa;
}

/* Applies one present wire field through its text form, so that the
 * ranges and messages are the same as for "key=value". */
static int
model_pb_field(struct model *m, const char *key, const char *text, char *err,
               size_t errlen)
{
	return model_set(m, key, text, err, errlen);
}

int
model_from_pb(struct model *m, const Mockres__Model *pb, char *err,
              size_t errlen)
{
	struct model next = *m;
	char t[64];

#define MODEL_PB_U(field, key)                                                 \
	do {                                                                   \
		if (pb->has_##field) {                                         \
			snprintf(t, sizeof(t), "%llu",                         \
			         (unsigned long long)pb->field);               \
			if (model_pb_field(&next, key, t, err, errlen) == -1)  \
				return -1;                                     \
		}                                                              \
	} while (0)
#define MODEL_PB_D(field, key)                                                 \
	do {                                                                   \
		if (pb->has_##field) {                                         \
			snprintf(t, sizeof(t), "%.17g", pb->field);            \
			if (model_pb_field(&next, key, t, err, errlen) == -1)  \
				return -1;                                     \
		}                                                              \
	} while (0)
#define MODEL_PB_E(field, key, names, n)                                       \
	do {                                                                   \
		if (pb->has_##field) {                                         \
			if ((unsigned)pb->field >= (n)) {                      \
				snprintf(err, errlen, "%s: unknown value %d",  \
				         key, (int)pb->field);                 \
				return -1;                                     \
			}                                                      \
			if (model_pb_field(&next, key, (names)[pb->field],     \
			                   err, errlen) == -1)                 \
				return -1;                                     \
		}                                                              \
	} while (0)

	MODEL_PB_U(hold_ms, "hold-ms");
	MODEL_PB_E(hold_dist, "hold-dist", model_dist_names, 3u);
	MODEL_PB_U(hold_spread, "hold-spread");
	MODEL_PB_D(hold_sigma, "hold-sigma");
	MODEL_PB_U(seed, "seed");
	MODEL_PB_U(slots, "slots");
	MODEL_PB_U(queue, "queue");
	MODEL_PB_U(queue_timeout_ms, "queue-timeout-ms");
	MODEL_PB_E(queue_discipline, "queue-discipline", model_discipline_names,
	           2u);
	MODEL_PB_U(codel_target_ms, "codel-target-ms");
	MODEL_PB_U(codel_interval_ms, "codel-interval-ms");
	MODEL_PB_E(contention, "contention", model_contention_names, 3u);
	MODEL_PB_U(cores, "cores");
	MODEL_PB_D(usl_sigma, "usl-sigma");
	MODEL_PB_D(usl_kappa, "usl-kappa");
#undef MODEL_PB_U
#undef MODEL_PB_D
#undef MODEL_PB_E
	*m = next;
	return 0;
}

/* The wire field of each key is found by name ("hold-ms" -> "hold_ms")
 * through protobuf-c's descriptor, so this needs no second table. */
void
model_pb_keep(Mockres__Model *pb, const unsigned char *given)
{
	const ProtobufCMessageDescriptor *d = &mockres__model__descriptor;
	char name[32];
	size_t i, j;

	for (i = 0; i < MODEL_NKEYS; i++) {
		const ProtobufCFieldDescriptor *f;

		for (j = 0;
		     model_keys[i].name[j] != '\0' && j + 1 < sizeof(name); j++)
			name[j] = (char)(model_keys[i].name[j] == '-'
			                     ? '_'
			                     : model_keys[i].name[j]);
		name[j] = '\0';
		f = protobuf_c_message_descriptor_get_field_by_name(d, name);
		if (f != NULL && f->quantifier_offset != 0)
			*(protobuf_c_boolean *)(void *)((char *)pb +
			                                f->quantifier_offset) =
			    given[i] != 0;
	}
}
