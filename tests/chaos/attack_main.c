/*
 * attack_main.c: mockres-attack, the chaos soak's attacker (attack.c) on
 * its own, to reproduce and measure by hand (docs/failures.md):
 *
 *   mockres-attack --socket PATH [--dashboard PORT] [--seconds S]
 *                  [--watchers N] [--watch-ms MS] [--clients]
 *                  [--reopen-ms MS] [--forge-ms MS] [--reporters N]
 *                  [--history N] [--keep-uid]
 *
 * Runs the attacks asked for (as uid 65534 when started as root, unless
 * --keep-uid: then as a trusted peer of mockresd) for S
 * seconds (default 30), then prints what it did and what mockresd
 * answered its reports.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"
#include "parse.h"
#include "support.h"

static void __attribute__((noreturn)) attack_main_usage(void)
{
	fprintf(stderr,
	        "usage: mockres-attack --socket PATH [--dashboard PORT] "
	        "[--seconds S]\n"
	        "         [--watchers N] [--watch-ms MS] [--clients] "
	        "[--reopen-ms MS]\n"
	        "         [--forge-ms MS] [--reporters N] [--history N] "
	        "[--keep-uid]\n");
	exit(2);
}

static int
attack_main_num(const char *s, uint64_t max)
{
	uint64_t v;

	if (parse_u64(s, 0, max, &v) == -1)
		attack_main_usage();
	return (int)v;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"dashboard", required_argument, NULL, 'd'},
	    {"seconds", required_argument, NULL, 't'},
	    {"watchers", required_argument, NULL, 'w'},
	    {"watch-ms", required_argument, NULL, 'i'},
	    {"clients", no_argument, NULL, 'c'},
	    {"reopen-ms", required_argument, NULL, 'r'},
	    {"forge-ms", required_argument, NULL, 'f'},
	    {"reporters", required_argument, NULL, 'p'},
	    {"history", required_argument, NULL, 'H'},
	    {"keep-uid", no_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0},
	};
	struct attack_opts o = {.watch_ms = 10, .verbose = 1};
	struct attack_counts c;
	struct rlimit rl;
	int ch, seconds = 30, status;
	pid_t pid;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			o.sock = optarg;
			break;
		case 'd':
			o.dash_port = attack_main_num(optarg, 65535);
			break;
		case 't':
			seconds = attack_main_num(optarg, 86400);
			break;
		case 'w':
			o.watchers = attack_main_num(optarg, 4096);
			break;
		case 'i':
			o.watch_ms = (uint32_t)attack_main_num(optarg, 60000);
			break;
		case 'c':
			o.watch_clients = 1;
			break;
		case 'r':
			o.reopen_ms = attack_main_num(optarg, 3600000);
			break;
		case 'f':
			o.forge_ms = attack_main_num(optarg, 3600000);
			break;
		case 'p':
			o.reporters = attack_main_num(optarg, 4096);
			break;
		case 'H':
			o.history = attack_main_num(optarg, 4096);
			break;
		case 'k':
			o.keep_uid = 1;
			break;
		default:
			attack_main_usage();
		}
	}
	if (o.sock == NULL || optind != argc)
		attack_main_usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((pid = attack_start(&o)) == -1) {
		perror("mockres-attack");
		return 1;
	}
	sleep((unsigned)seconds);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	attack_counts(&c);
	printf("mockres-attack: %llu watches opened, %llu histories asked, "
	       "reports: %llu taken, %llu refused\n",
	       (unsigned long long)c.watches, (unsigned long long)c.histories,
	       (unsigned long long)c.reports_taken,
	       (unsigned long long)c.reports_refused);
	return 0;
}
