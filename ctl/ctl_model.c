/*
 * ctl_model.c: mockresctl model [set KEY=VALUE ... | preset NAME].
 *
 * Keys and values are checked here first, with the same code mockresd
 * uses (proto/model.c), so a typo is a usage error (exit 2) and nothing is
 * sent; mockresd checks again and changes all or nothing.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "model.h"

static int
ctl_model_reply(struct ctl *ctl, const Mockres__Response *resp)
{
	int rc = ctl_exit_status(resp);

	if (rc != CTL_OK)
		return rc;
	if (resp->stats == NULL || resp->stats->model == NULL) {
		fprintf(stderr, "mockresctl: mockresd sent no model (is it an "
		                "older mockresd?)\n");
		return CTL_ERROR;
	}
	ctl_print_model(ctl, resp->stats);
	return CTL_OK;
}

static int
ctl_model_set(struct ctl *ctl, int argc, char *argv[], Mockres__SetModel *sm,
              Mockres__Model *pb)
{
	unsigned char given[64] = {0};
	char err[MODEL_ERR_MAX], word[256], *eq;
	struct model m;
	int i, k;

	if (argc < 3)
		return ctl_exit_usage("model set: give at least one "
		                      "KEY=VALUE (mockresctl model lists "
		                      "the keys)");
	model_defaults(&m, 1);
	for (i = 2; i < argc; i++) {
		if (strlen(argv[i]) >= sizeof(word) ||
		    (eq = strchr(argv[i], '=')) == NULL)
			return ctl_exit_usage("model set: '%.60s' is not "
			                      "KEY=VALUE",
			                      argv[i]);
		memcpy(word, argv[i], strlen(argv[i]) + 1);
		word[eq - argv[i]] = '\0';
		if ((k = model_key_index(word)) < 0 ||
		    model_set(&m, word, word + (eq - argv[i]) + 1, err,
		              sizeof(err)) == -1) {
			if (k < 0)
				snprintf(err, sizeof(err),
				         "unknown model key '%.40s'", word);
			return ctl_exit_usage("model set: %s", err);
		}
		given[k] = 1;
	}
	model_to_pb(&m, pb);
	model_pb_keep(pb, given);
	sm->model = pb;
	return CTL_OK;
}

int
ctl_model(struct ctl *ctl, int argc, char *argv[])
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	Mockres__SetModel sm = MOCKRES__SET_MODEL__INIT;
	Mockres__Model pb;
	const struct model_preset_info *p;
	size_t n, i;
	int rc;

	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	if (argc >= 2 && strcmp(argv[1], "set") == 0) {
		if ((rc = ctl_model_set(ctl, argc, argv, &sm, &pb)) != CTL_OK)
			return rc;
		req.op_case = MOCKRES__REQUEST__OP_SET_MODEL;
		req.set_model = &sm;
	} else if (argc >= 2 && strcmp(argv[1], "preset") == 0) {
		if (argc != 3)
			return ctl_exit_usage("model preset: give one "
			                      "preset name");
		p = model_presets(&n);
		for (i = 0; i < n && strcmp(p[i].name, argv[2]) != 0; i++)
			;
		if (i == n)
			return ctl_exit_usage("model preset: unknown preset "
			                      "'%.40s' (io, api, pool, ecto, "
			                      "cpu, overloaded-db)",
			                      argv[2]);
		sm.preset = argv[2];
		req.op_case = MOCKRES__REQUEST__OP_SET_MODEL;
		req.set_model = &sm;
	} else if (argc != 1) {
		return ctl_exit_usage("model: unknown subcommand '%.40s' "
		                      "(set or preset)",
		                      argv[1]);
	}
	return ctl_call(ctl, &req, ctl_model_reply);
}
