/*
 * config.c: mockresd's command line and environment, read and checked
 * once at start-up into struct mockresd_config (mockresd.h), which
 * mockresd.c hands down.
 *
 * Flags win over the environment: $MOCKRES_MODEL (a preset and/or
 * key=value words), $MOCKRES_LISTEN_TLS, $MOCKRES_TLS_ADMIN and
 * $MOCKRES_TLS_FRONTEND (space-separated lists, used when no flag of
 * their kind is given), $MOCKRES_TLS_CERT, _KEY and _CA.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mockresd.h"
#include "parse.h"
#include "sockpath.h"

static void
config_usage(FILE *f)
{
	const struct model_preset_info *p;
	size_t i, n;

	fprintf(
	    f,
	    "usage: mockresd [--socket PATH] [--limit N] [--MODEL-KEY VALUE "
	    "...]\n"
	    "                [--listen-tls ADDR:PORT ...] [--tls-cert FILE "
	    "--tls-key FILE\n"
	    "                --tls-ca FILE] [--tls-admin NAME ...] "
	    "[--tls-frontend NAME ...] [-v]\n"
	    "\n"
	    "The mockres resource daemon: admits uses of a mock resource, "
	    "queues them\n"
	    "for a slot or refuses them (BUSY) past --limit, and serves each "
	    "as its\n"
	    "model says.\n"
	    "\n"
	    "  --socket PATH  listen here (default: $MOCKRES_SOCKET, else\n"
	    "                 " SOCKPATH_DEFAULT "; or systemd's socket)\n"
	    "  --limit N      uses in the resource at once (in service + "
	    "waiting),\n"
	    "                 0 = no limit (0.." MOCKRES_STR(MOCKRES_LIMIT_MAX) ", default " MOCKRES_STR(
	        MOCKRES_LIMIT_DEFAULT) ")\n"
	                               "  -v, --verbose  debug logs\n"
	                               "  --help, --version\n"
	                               "\n"
	                               "Over the network (TLS 1.3, clients "
	                               "must show a certificate of "
	                               "--tls-ca):\n"
	                               "  --listen-tls ADDR:PORT  also listen "
	                               "here (0.0.0.0:4002, "
	                               "[::]:4002);\n"
	                               "                 repeatable, at most "
	                               "%d ($MOCKRES_LISTEN_TLS, "
	                               "space-separated)\n"
	                               "  --tls-cert FILE, --tls-key FILE  "
	                               "mockresd's certificate and "
	                               "key, PEM\n"
	                               "                 ($MOCKRES_TLS_CERT, "
	                               "$MOCKRES_TLS_KEY)\n"
	                               "  --tls-ca FILE  the CA clients' "
	                               "certificates must be signed by\n"
	                               "                 ($MOCKRES_TLS_CA)\n"
	                               "  --tls-admin NAME     a client "
	                               "certificate CN that may steer "
	                               "(limit, hold,\n"
	                               "                 model, peak); "
	                               "repeatable ($MOCKRES_TLS_ADMIN)\n"
	                               "  --tls-frontend NAME  a client "
	                               "certificate CN that may send "
	                               "the frontend\n"
	                               "                 workers' HTTP "
	                               "reports; repeatable "
	                               "($MOCKRES_TLS_FRONTEND)\n"
	                               "\n"
	                               "The model (also $MOCKRES_MODEL: a "
	                               "preset name and/or "
	                               "key=value words;\n"
	                               "flags win; `mockresctl model` shows "
	                               "it, `mockresctl model set` "
	                               "changes it):\n",
	    MOCKRES_LISTEN_TLS_MAX);
	for (i = 0; i < model_nkeys(); i++) {
		char range[64];

		model_key_range(i, range, sizeof(range));
		fprintf(f, "  --%-18s %s (%s)\n", model_key_name(i),
		        model_key_help(i), range);
	}
	fprintf(f, "\nPresets (MOCKRES_MODEL=NAME):\n");
	p = model_presets(&n);
	for (i = 0; i < n; i++)
		fprintf(f, "  %-14s %s\n", p[i].name, p[i].summary);
}

/* A certificate CN as --tls-admin/--tls-frontend take it: 1..64
 * printable ASCII bytes, no spaces (the environment separates with
 * them). */
static int
config_cn_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > FCONN_CN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Adds S to LIST (of N, at most MAX); 0, or 2 (the exit code) said. */
static int
config_add(const char **list, size_t *n, size_t max, const char *s,
           const char *flag)
{
	if (*n >= max) {
		fprintf(stderr, "mockresd: at most %zu %s\n", max, flag);
		return 2;
	}
	if (strcmp(flag, "--listen-tls") != 0 && !config_cn_ok(s)) {
		fprintf(stderr,
		        "mockresd: %s takes a certificate's Common Name: 1.."
		        "%d printable characters without spaces, not '%s'\n",
		        flag, FCONN_CN_MAX, s);
		return 2;
	}
	list[(*n)++] = s;
	list[*n] = NULL;
	return 0;
}

/* The words of $ENV into LIST, if no flag filled it.  The copy the words
 * point into lives as long as the process.  0, or 2 said. */
static int
config_env_list(const char *env, const char **list, size_t *n, size_t max,
                const char *flag)
{
	const char *v = getenv(env);
	char *copy, *w, *save = NULL;
	int r;

	if (*n > 0 || v == NULL)
		return 0;
	if ((copy = strdup(v)) == NULL) {
		fprintf(stderr, "mockresd: out of memory\n");
		return 2;
	}
	for (w = strtok_r(copy, " \t", &save); w != NULL;
	     w = strtok_r(NULL, " \t", &save))
		if ((r = config_add(list, n, max, w, flag)) != 0) {
			fprintf(stderr, "mockresd: (in $%s)\n", env);
			free(copy);
			return r;
		}
	/* The words point into COPY, kept for the process's life. */
	if (*n == 0)
		free(copy);
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): kept, as said */
	return 0;
}

/* Up to 12 fixed options, one per model key, and the terminator. */
#define CONFIG_OPTS_MAX 40
#define CONFIG_OPT_KEY  256 /* getopt value of model key i: 256 + i */

/* One fixed flag; 0 to go on, else the exit code. */
static int
config_flag(int ch, struct mockresd_config *cf)
{
	switch (ch) {
	case 's':
		cf->socket_flag = optarg;
		return 0;
	case 'l':
		if (parse_u64(optarg, 0, MOCKRES_LIMIT_MAX, &cf->limit) == -1) {
			fprintf(stderr,
			        "mockresd: --limit must be a whole number "
			        "0.." MOCKRES_STR(
			            MOCKRES_LIMIT_MAX) " (0 = no limit), not "
			                               "'%s'\n",
			        optarg);
			return 2;
		}
		return 0;
	case 'L':
		return config_add(cf->listen_tls, &cf->nlisten_tls,
		                  MOCKRES_LISTEN_TLS_MAX, optarg,
		                  "--listen-tls");
	case 'c':
		cf->tls.cert = optarg;
		return 0;
	case 'k':
		cf->tls.key = optarg;
		return 0;
	case 'a':
		cf->tls.ca = optarg;
		return 0;
	case 'A':
		return config_add(cf->admins, &cf->nadmins, CONFIG_NAMES_MAX,
		                  optarg, "--tls-admin");
	case 'F':
		return config_add(cf->frontends, &cf->nfrontends,
		                  CONFIG_NAMES_MAX, optarg, "--tls-frontend");
	case 'v':
		cf->verbose = 1;
		return 0;
	case 'h':
		config_usage(stdout);
		return -1;
	case 'V':
		printf("mockresd %s\n", MOCKRES_VERSION);
		return -1;
	default:
		config_usage(stderr);
		return 2;
	}
}

/* The environment's lists and files, where no flag gave them. */
static int
config_env(struct mockresd_config *cf)
{
	int r;

	if ((r = config_env_list("MOCKRES_LISTEN_TLS", cf->listen_tls,
	                         &cf->nlisten_tls, MOCKRES_LISTEN_TLS_MAX,
	                         "--listen-tls")) != 0 ||
	    (r = config_env_list("MOCKRES_TLS_ADMIN", cf->admins, &cf->nadmins,
	                         CONFIG_NAMES_MAX, "--tls-admin")) != 0 ||
	    (r = config_env_list("MOCKRES_TLS_FRONTEND", cf->frontends,
	                         &cf->nfrontends, CONFIG_NAMES_MAX,
	                         "--tls-frontend")) != 0)
		return r;
	tlsconf_files_env(&cf->tls);
	return 0;
}

void
config_defaults(struct mockresd_config *cf, uint32_t ncpu)
{
	memset(cf, 0, sizeof(*cf));
	cf->limit = MOCKRES_LIMIT_DEFAULT;
	model_defaults(&cf->model, ncpu);
}

int
config_parse(int argc, char *argv[], struct mockresd_config *cf)
{
	static const struct option fixed[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"limit", required_argument, NULL, 'l'},
	    {"listen-tls", required_argument, NULL, 'L'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"tls-ca", required_argument, NULL, 'a'},
	    {"tls-admin", required_argument, NULL, 'A'},
	    {"tls-frontend", required_argument, NULL, 'F'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	};
	struct option opts[CONFIG_OPTS_MAX];
	char err[MODEL_ERR_MAX];
	const char *env;
	size_t i, n = 0;
	int ch, r;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		opts[n++] = fixed[i];
	for (i = 0; i < model_nkeys() && n + 1 < CONFIG_OPTS_MAX; i++) {
		opts[n].name = model_key_name(i);
		opts[n].has_arg = required_argument;
		opts[n].flag = NULL;
		opts[n++].val = CONFIG_OPT_KEY + (int)i;
	}
	memset(&opts[n], 0, sizeof(opts[n]));

	if ((env = getenv("MOCKRES_MODEL")) != NULL &&
	    model_apply(&cf->model, env, cf->model.cores, err, sizeof(err)) ==
	        -1) {
		fprintf(stderr, "mockresd: MOCKRES_MODEL: %s\n", err);
		return 2;
	}
	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (ch >= CONFIG_OPT_KEY) {
			if (model_set(
			        &cf->model,
			        model_key_name((size_t)(ch - CONFIG_OPT_KEY)),
			        optarg, err, sizeof(err)) == -1) {
				fprintf(stderr, "mockresd: --%s\n", err);
				return 2;
			}
			continue;
		}
		if ((r = config_flag(ch, cf)) != 0)
			return r == -1 ? 0 : r;
	}
	if (optind != argc) {
		fprintf(stderr, "mockresd: unexpected argument '%s'\n",
		        argv[optind]);
		config_usage(stderr);
		return 2;
	}
	if ((r = config_env(cf)) != 0)
		return r;
	return -1;
}
