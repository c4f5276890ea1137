/*
 * main.c: mockres-chaos [SECONDS] [--seed N]: the chaos soak.
 *
 * Starts the whole system on a temporary socket and free ports, starts
 * the load, and then runs epochs until SECONDS (default 120) have passed.
 * An epoch: load for a random 1-3 s, one fault drawn from the seeded
 * schedule (faults.c), the system back to healthy (within 20 s, or that
 * is a failure), then the load parked so that every request sent in the
 * epoch has its outcome, and the epoch's accounting checked against
 * mockresd's counters (checks.c).  The same seed gives the same schedule
 * of faults (their timing against the load is the machine's).  From the
 * baseline on, an unprivileged attacker (attack.c) runs too.  Then the
 * final checks, and SIGTERM to everything, each of which must exit 0.
 * Exit status 0 if no check failed, 1 otherwise.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "chaos.h"
#include "parse.h"
#include "support.h"

static double chaos_t0_ms;
static uint64_t chaos_windows[CHAOS_WINDOWS_MAX][2];
static int chaos_nwindows;

uint64_t
chaos_rand(uint64_t *rng)
{
	/* splitmix64 */
	uint64_t z = (*rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double
chaos_elapsed_s(void)
{
	return (clock_now_ms_frac() - chaos_t0_ms) / 1000.0;
}

void
chaos_log(const char *fmt, ...)
{
	va_list ap;

	printf("chaos: [%7.1f s] ", chaos_elapsed_s());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void
chaos_stop_window(uint64_t t0_us, uint64_t t1_us)
{
	if (chaos_nwindows < CHAOS_WINDOWS_MAX) {
		chaos_windows[chaos_nwindows][0] = t0_us;
		chaos_windows[chaos_nwindows++][1] = t1_us;
	}
}

uint64_t
chaos_stop_overlap_us(uint64_t t0_us, uint64_t t1_us)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < chaos_nwindows; i++) {
		uint64_t a =
		    chaos_windows[i][0] > t0_us ? chaos_windows[i][0] : t0_us;
		uint64_t b =
		    chaos_windows[i][1] < t1_us ? chaos_windows[i][1] : t1_us;

		if (b > a)
			sum += b - a;
	}
	return sum;
}

/*
 * The attacker, as an unprivileged local user in the socket's group, from
 * the baseline to the end: watches it may and may not ask for, reopened
 * every 1.5 s and never read; forged HTTP reports and reporter records;
 * and CHAOS_ATTACK_HISTORY /api/history?seconds=600 asked and left
 * unread, reopened every 30 s (issue 21, finding 1: the dashboard writes
 * each as its client reads it).
 */
static pid_t
chaos_attack_start(void)
{
	struct attack_opts o;
	pid_t pid;

	memset(&o, 0, sizeof(o));
	o.sock = sys.sock;
	o.watchers = CHAOS_ATTACK_WATCHERS;
	o.watch_ms = 10;
	o.watch_clients = 1;
	o.watch_mixed = 1;
	o.reopen_ms = CHAOS_ATTACK_REOPEN_MS;
	o.forge_ms = CHAOS_ATTACK_FORGE_MS;
	o.reporters = CHAOS_ATTACK_REPORTERS;
	o.dash_port = sys.dash_port;
	o.history = CHAOS_ATTACK_HISTORY;
	if (geteuid() != 0)
		chaos_log("not root: the attacker runs as our own uid, a "
		          "trusted peer of mockresd");
	if ((pid = attack_start(&o)) == -1)
		check_fail("cannot start the attacker: %s", strerror(errno));
	else
		chaos_log("attacker (pid %d): %d watches reopened every %d ms, "
		          "forged reports every %d ms, %d reporter records, "
		          "%d /api/history left unread",
		          (int)pid, o.watchers, o.reopen_ms, o.forge_ms,
		          o.reporters, o.history);
	return pid;
}

static void
chaos_usage(void)
{
	fprintf(stderr, "usage: mockres-chaos [SECONDS] [--seed N]\n");
	exit(2);
}

static void
chaos_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char *argv[])
{
	struct chaos_snap a, b;
	struct tr_counts c0, c1;
	struct chaos_fault f;
	pid_t attacker;
	uint64_t seconds = 120, seed, rng, v;
	char why[256];
	int i, epoch = 0;

	seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], 0, UINT64_MAX, &seed) == -1)
				chaos_usage();
		} else if (parse_u64(argv[i], 10, 86400, &v) == 0) {
			seconds = v;
		} else {
			chaos_usage();
		}
	}
	rng = seed;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	chaos_raise_nofile();
	chaos_t0_ms = clock_now_ms_frac();
	chaos_log("seed %llu, %llu s (replay: scripts/chaos %llu --seed "
	          "%llu); request timeout %d ms, fd limit %d, logs in %s",
	          (unsigned long long)seed, (unsigned long long)seconds,
	          (unsigned long long)seconds, (unsigned long long)seed,
	          CHAOS_REQUEST_TIMEOUT_MS, CHAOS_NOFILE, sup_tmpdir());

	system_init();
	system_start_mockresd();
	check_mockresd_restarted();
	system_start_dashboard();
	system_start_master();
	system_start_watch();
	if (system_wait_healthy(CHAOS_RECOVER_MS, why, sizeof(why)) == -1) {
		check_fail("the system never became healthy:%s", why);
		system_stop_all();
		return 1;
	}
	chaos_log("model changes: %s",
	          fault_model_available() ? "yes" : "no (no mockresctl model)");
	if (traffic_start(sys.port, sys.dash_port) == -1) {
		check_fail("cannot start the load: %s", strerror(errno));
		return 1;
	}
	chaos_wait(2000);
	check_baseline();
	attacker = chaos_attack_start();

	traffic_pause();
	if (traffic_wait_parked(30000) == -1)
		check_fail("the load did not park");
	check_snap(&a);
	traffic_counts(&c0);
	while (chaos_elapsed_s() < (double)seconds) {
		epoch++;
		traffic_resume();
		chaos_wait(1000 + (int)(chaos_rand(&rng) % 2000));
		fault_inject(&rng, &f);
		if (system_wait_healthy(CHAOS_RECOVER_MS, why, sizeof(why)) ==
		    -1)
			check_fail("epoch %d (%s): not healthy again within "
			           "%d ms:%s",
			           epoch, f.what, CHAOS_RECOVER_MS, why);
		chaos_wait(500 + (int)(chaos_rand(&rng) % 1000));
		traffic_pause();
		if (traffic_wait_parked(CHAOS_REQUEST_TIMEOUT_MS +
		                        CHAOS_STOP_MAX_MS + 10000) == -1)
			check_fail("epoch %d: the load did not park", epoch);
		if (check_snap(&b) == -1)
			b.ok = 0;
		traffic_counts(&c1);
		check_epoch(epoch, f.what, &a, &b, &c0, &c1, &f);
		a = b;
		c0 = c1;
		if (chaos_failures > 0 &&
		    getenv("MOCKRES_CHAOS_KEEP_GOING") == NULL) {
			chaos_log("stopping at the first failing epoch (set "
			          "MOCKRES_CHAOS_KEEP_GOING=1 to go on)");
			break;
		}
	}

	check_latency();
	check_events_gaps();
	if (attacker > 0) {
		struct attack_counts ac;

		kill(attacker, SIGKILL);
		waitpid(attacker, NULL, 0);
		attack_counts(&ac);
		check_attacker(&ac, geteuid() == 0);
	}
	check_final();
	check_report();
	if (traffic_stop() > 0)
		check_fail("a load client did not exit cleanly");
	system_stop_all();
	chaos_log("%d epochs, seed %llu: %s (%d failures)", epoch,
	          (unsigned long long)seed,
	          chaos_failures == 0 ? "PASS" : "FAIL", chaos_failures);
	if (chaos_failures > 0 && getenv("MOCKRES_TEST_KEEP") == NULL)
		chaos_log("set MOCKRES_TEST_KEEP=1 to keep the logs in %s",
		          sup_tmpdir());
	return chaos_failures == 0 ? 0 : 1;
}
