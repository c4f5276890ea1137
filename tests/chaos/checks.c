/*
 * checks.c: what the soak asserts.
 *
 * - Every sample of mockresd's counters ("mockresctl --json watch", every
 *   100 ms, through every restart): admitted == completed + timed_out +
 *   cancelled + in_flight + waiting (fields missing from the JSON count
 *   0; while "waiting" is missing only admitted >= completed + in_flight
 *   can be checked), and peak <= limit while a limit is set (from the
 *   reset-peak that follows setting it, or from a new mockresd's start).
 * - Every epoch: the HTTP outcomes of the requests sent in it against
 *   the change of mockresd's counters over it.  Exact (200s + timed out
 *   == admitted, 500s == rejected) when the same mockresd served the whole
 *   epoch and no request had an unknown fate; otherwise bounds: each
 *   unknown fate (503 "outcome unknown", 504, a lost connection) may or
 *   may not have been admitted or rejected.
 * - Latency: no request took longer than the request timeout + 1 s,
 *   except by the time a frontend process it was on stood stopped.
 * - At the end, the attacker still at it: no gap over CHECK_GAP_MAX_MS in
 *   the dashboard's event stream for 2 s.  Then, the attacker gone: every
 *   process alive and not spinning, fds within CHECK_FDS_SLACK and RSS
 *   within CHECK_RSS_SLACK of their start, the event stream and the watch
 *   still flowing; and not one of the attacker's reports was taken.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "chaos.h"
#include "support.h"

#define CHECK_FDS_SLACK 16
#if defined(__SANITIZE_ADDRESS__)
/* ASan keeps freed memory in quarantine (256 MiB by default): RSS says
 * nothing about leaks there, LeakSanitizer does. */
#define CHECK_RSS_SLACK  (512L * 1024) /* kB */
#define CHECK_GAP_MAX_MS 1000          /* a Debug build, several times slower */
#else
#define CHECK_RSS_SLACK  (10L * 1024) /* kB: issue 21 */
#define CHECK_GAP_MAX_MS 200          /* events come every 20 ms */
#endif
#define CHECK_CPU_MAX     0.20 /* of a core, idle */
#define CHECK_FAILS_SHOWN 50

int chaos_failures;

static char check_line[4096];
static size_t check_line_len;
static uint64_t check_samples_n, check_samples_partial;

/* peak <= limit: the limit set, for which mockresd, from which uptime. */
static uint64_t check_limit = CHAOS_LIMIT;
static uint64_t check_limit_pid, check_limit_from_ms;
static int check_limit_armed;

static long check_base_fds[4], check_base_rss[4];
static int check_exact, check_bounded; /* epochs */

void
check_fail(const char *fmt, ...)
{
	va_list ap;

	if (++chaos_failures > CHECK_FAILS_SHOWN)
		return;
	printf("chaos: [%7.1f s] FAIL: ", chaos_elapsed_s());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static uint64_t
check_field(const char *json, const char *key, int *present)
{
	uint64_t v = 0;

	if (sup_json_u64(json, key, &v) == -1) {
		if (present != NULL)
			*present = 0;
		return 0;
	}
	return v;
}

static int
check_parse(const char *json, struct chaos_snap *s)
{
	int waiting = 1;

	memset(s, 0, sizeof(*s));
	if (strstr(json, "\"admitted\":") == NULL)
		return -1;
	s->pid = check_field(json, "daemon_pid", NULL);
	s->uptime_ms = check_field(json, "uptime_ms", NULL);
	s->admitted = check_field(json, "admitted", NULL);
	s->rejected = check_field(json, "rejected", NULL);
	s->completed = check_field(json, "completed", NULL);
	s->in_flight = check_field(json, "in_flight", NULL);
	s->limit = check_field(json, "limit", NULL);
	s->peak = check_field(json, "peak", NULL);
	s->waiting = check_field(json, "waiting", &waiting);
	s->timed_out = check_field(json, "timed_out", NULL);
	s->cancelled = check_field(json, "cancelled", NULL);
	s->ok = waiting ? 1 : 2; /* 2: the queue's fields are missing */
	return 0;
}

static void
check_sample(const struct chaos_snap *s)
{
	uint64_t in = s->completed + s->timed_out + s->cancelled +
	              s->in_flight + s->waiting;

	check_samples_n++;
	if (s->ok == 2) {
		check_samples_partial++;
		if (s->admitted < s->completed + s->in_flight)
			check_fail("sample (mockresd %llu, %llu ms): admitted "
			           "%llu < completed %llu + in_flight %llu",
			           (unsigned long long)s->pid,
			           (unsigned long long)s->uptime_ms,
			           (unsigned long long)s->admitted,
			           (unsigned long long)s->completed,
			           (unsigned long long)s->in_flight);
	} else if (s->admitted != in) {
		check_fail("sample (mockresd %llu, %llu ms): admitted %llu != "
		           "completed %llu + timed_out %llu + cancelled %llu + "
		           "in_flight %llu + waiting %llu",
		           (unsigned long long)s->pid,
		           (unsigned long long)s->uptime_ms,
		           (unsigned long long)s->admitted,
		           (unsigned long long)s->completed,
		           (unsigned long long)s->timed_out,
		           (unsigned long long)s->cancelled,
		           (unsigned long long)s->in_flight,
		           (unsigned long long)s->waiting);
	}
	if (check_limit_armed && s->pid == check_limit_pid &&
	    s->uptime_ms >= check_limit_from_ms && s->limit == check_limit &&
	    check_limit > 0 && s->peak > s->limit)
		check_fail("sample (mockresd %llu, %llu ms): peak %llu > limit "
		           "%llu",
		           (unsigned long long)s->pid,
		           (unsigned long long)s->uptime_ms,
		           (unsigned long long)s->peak,
		           (unsigned long long)s->limit);
}

void
check_samples(void)
{
	char buf[8192];
	ssize_t n, i;
	struct chaos_snap s;

	if (sys.watch_fd < 0)
		return;
	while ((n = read(sys.watch_fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (check_line_len + 1 < sizeof(check_line))
					check_line[check_line_len++] = buf[i];
				continue;
			}
			check_line[check_line_len] = '\0';
			check_line_len = 0;
			if (check_parse(check_line, &s) == 0)
				check_sample(&s);
		}
}

uint64_t
check_nsamples(void)
{
	return check_samples_n;
}

void
chaos_wait(int ms)
{
	double end = clock_now_ms_frac() + ms;

	do {
		check_samples();
		sup_sleep_ms(ms < 5 ? ms : 5);
	} while (clock_now_ms_frac() < end);
}

int
check_snap(struct chaos_snap *s)
{
	static char out[65536];
	const char *const args[] = {"--json", "status", NULL};

	memset(s, 0, sizeof(*s));
	if (system_ctl(args, out, sizeof(out)) != 0 || check_parse(out, s))
		return -1;
	return 0;
}

void
check_limit_set(uint64_t limit)
{
	const char *const reset[] = {"--json", "reset-peak", NULL};
	static char out[65536];
	struct chaos_snap s;
	double end = clock_now_ms_frac() + 10000;

	check_limit = limit;
	check_limit_armed = 0;
	if (limit == 0)
		return;
	/* The uses admitted under a higher limit must end first. */
	for (;;) {
		if (check_snap(&s) == 0 && s.limit == limit &&
		    s.in_flight <= limit)
			break;
		if (clock_now_ms_frac() > end) {
			chaos_log("check: in_flight stayed above the new limit "
			          "%llu for 10 s; peak not checked until the "
			          "next change",
			          (unsigned long long)limit);
			return;
		}
		chaos_wait(50);
	}
	if (system_ctl(reset, out, sizeof(out)) != 0 || check_parse(out, &s)) {
		check_fail("mockresctl reset-peak failed");
		return;
	}
	check_limit_pid = s.pid;
	check_limit_from_ms = s.uptime_ms;
	check_limit_armed = 1;
}

void
check_mockresd_restarted(void)
{
	/* A new mockresd starts with the command line's limit and peak 0. */
	check_limit = CHAOS_LIMIT;
	check_limit_pid = (uint64_t)sys.mockresd;
	check_limit_from_ms = 0;
	check_limit_armed = 1;
}

void
check_epoch(int n, const char *what, const struct chaos_snap *a,
            const struct chaos_snap *b, const struct tr_counts *c0,
            const struct tr_counts *c1, const struct chaos_fault *f)
{
	int restarted = f->mockresd_restarted;
	uint64_t o[OUT_N], sent = c1->sent - c0->sent, outcomes = 0;
	uint64_t adm, rej, unk, adm_min, adm_max, rej_max, n503;
	int i, same;

	for (i = 0; i < OUT_N; i++) {
		o[i] = c1->out[i] - c0->out[i];
		outcomes += o[i];
	}
	if (outcomes != sent)
		check_fail("epoch %d: %llu requests sent, %llu outcomes", n,
		           (unsigned long long)sent,
		           (unsigned long long)outcomes);
	if (o[OUT_OTHER] > 0)
		check_fail("epoch %d (%s): %llu unexpected answers; the first: "
		           "%.200s",
		           n, what, (unsigned long long)o[OUT_OTHER],
		           traffic_other() ? traffic_other() : "?");
	if (o[OUT_HUNG] > 0)
		check_fail("epoch %d (%s): %llu requests never answered", n,
		           what, (unsigned long long)o[OUT_HUNG]);
	/* Only a frontend process that goes can take a request with it. */
	if (o[OUT_LOST] > 0 && !f->frontend_died)
		check_fail("epoch %d (%s): %llu requests lost their connection "
		           "with no frontend process killed or stopped",
		           n, what, (unsigned long long)o[OUT_LOST]);
	adm_min = o[OUT_200] + o[OUT_TIMEOUT];
	unk = o[OUT_UNKNOWN] + o[OUT_504] + o[OUT_LOST] + o[OUT_HUNG] +
	      o[OUT_SHUTDOWN];
	adm_max = adm_min + unk;
	rej_max = o[OUT_500] + unk;
	n503 = o[OUT_UNREACHABLE] + o[OUT_STALLED] + o[OUT_TOOMANY] +
	       o[OUT_SHUTDOWN] + o[OUT_UNKNOWN];
	same = a->ok && b->ok && a->pid == b->pid && !restarted &&
	       b->uptime_ms >= a->uptime_ms;
	if (!b->ok) {
		check_fail("epoch %d: no stats from mockresd at its end", n);
		return;
	}
	if (same) {
		adm = b->admitted - a->admitted;
		rej = b->rejected - a->rejected;
		if (unk == 0 && (adm != adm_min || rej != o[OUT_500]))
			check_fail("epoch %d (%s): exact accounting broke: "
			           "admitted +%llu for %llu 200s and timeouts, "
			           "rejected +%llu for %llu 500s",
			           n, what, (unsigned long long)adm,
			           (unsigned long long)adm_min,
			           (unsigned long long)rej,
			           (unsigned long long)o[OUT_500]);
		if (unk > 0 && (adm < adm_min || adm > adm_min + unk ||
		                rej < o[OUT_500] || rej > o[OUT_500] + unk))
			check_fail(
			    "epoch %d (%s): admitted +%llu not in "
			    "[%llu, %llu] or rejected +%llu not in [%llu, "
			    "%llu]",
			    n, what, (unsigned long long)adm,
			    (unsigned long long)adm_min,
			    (unsigned long long)adm_max,
			    (unsigned long long)rej,
			    (unsigned long long)o[OUT_500],
			    (unsigned long long)rej_max);
	} else {
		/* A new mockresd: its counters hold only part of the epoch. */
		adm = b->admitted;
		rej = b->rejected;
		if (adm > adm_min + unk || rej > o[OUT_500] + unk)
			check_fail("epoch %d (%s): the new mockresd admitted "
			           "%llu (at most %llu) and rejected %llu (at "
			           "most %llu)",
			           n, what, (unsigned long long)adm,
			           (unsigned long long)adm_max,
			           (unsigned long long)rej,
			           (unsigned long long)rej_max);
	}
	if (same && unk == 0)
		check_exact++;
	else
		check_bounded++;
	chaos_log(
	    "epoch %d: %llu requests: 200 %llu, 500 %llu, timed out "
	    "%llu, 503 %llu (unknown %llu, stalled %llu, unreachable "
	    "%llu), 504 %llu, lost %llu; mockresd %s admitted %+lld "
	    "rejected %+lld: %s",
	    n, (unsigned long long)sent, (unsigned long long)o[OUT_200],
	    (unsigned long long)o[OUT_500], (unsigned long long)o[OUT_TIMEOUT],
	    (unsigned long long)n503, (unsigned long long)o[OUT_UNKNOWN],
	    (unsigned long long)o[OUT_STALLED],
	    (unsigned long long)o[OUT_UNREACHABLE],
	    (unsigned long long)o[OUT_504], (unsigned long long)o[OUT_LOST],
	    same ? "same" : "new", (long long)adm, (long long)rej,
	    same && unk == 0 ? "exact" : "within bounds");
}

void
check_latency(void)
{
	uint64_t bound =
	    (uint64_t)(CHAOS_REQUEST_TIMEOUT_MS + CHAOS_SLACK_MS) * 1000;
	int i;
	uint64_t k;

	for (i = 0; i < traffic_clients(); i++) {
		const struct tr_slot *s = traffic_slot(i);
		uint64_t n = atomic_load(&s->nslow);

		if (n > TR_SLOW_MAX)
			check_fail("client %d: %llu requests over %llu ms, "
			           "only %d examined",
			           i, (unsigned long long)n,
			           (unsigned long long)(bound / 1000),
			           TR_SLOW_MAX);
		for (k = 0; k < n && k < TR_SLOW_MAX; k++) {
			const struct tr_slow *w = &s->slow[k];
			uint64_t took = w->t1_us - w->t0_us;
			uint64_t stopped =
			    chaos_stop_overlap_us(w->t0_us, w->t1_us);

			if (took <= bound + stopped) {
				chaos_log(
				    "check: a request took %.0f ms "
				    "(%s), %.0f ms of it with its frontend "
				    "process stopped: fine",
				    (double)took / 1000,
				    chaos_outcome_names[w->outcome],
				    (double)stopped / 1000);
				continue;
			}
			check_fail("client %d: a request took %.0f ms (%s), "
			           "over %llu ms",
			           i, (double)took / 1000,
			           chaos_outcome_names[w->outcome],
			           (unsigned long long)(bound / 1000));
		}
	}
}

static const char *const check_role_names[4] = {"mockresd", "master", "worker",
                                                "dashboard"};

void
check_baseline(void)
{
	int role;

	system_workers();
	for (role = 0; role < 4; role++) {
		pid_t pid = system_pid(role, 0);

		check_base_fds[role] = sup_proc_fds(pid);
		check_base_rss[role] = sup_proc_rss_kb(pid);
		chaos_log("baseline: %s (pid %d): %ld fds, %ld kB",
		          check_role_names[role], (int)pid,
		          check_base_fds[role], check_base_rss[role]);
	}
}

/* Called with the load parked. */
void
check_final(void)
{
	double c0[4 + CHAOS_WORKERS], t0;
	pid_t pids[4 + CHAOS_WORKERS];
	int roles[4 + CHAOS_WORKERS], n = 0, i;
	uint64_t ev0, ev1, s0, s1;
	struct sup_http_resp r;

	if (system_workers() != CHAOS_WORKERS)
		check_fail("the frontend has %d workers, not %d",
		           system_workers(), CHAOS_WORKERS);
	for (i = 0; i < 4; i++)
		if (i != ROLE_WORKER) {
			roles[n] = i;
			pids[n++] = system_pid(i, 0);
		}
	for (i = 0; i < CHAOS_WORKERS; i++) {
		roles[n] = ROLE_WORKER;
		pids[n++] = sys.workers[i];
	}
	/* Settle: closed connections, ended holds. */
	chaos_wait(2000);
	for (i = 0; i < n; i++) {
		long fds = sup_proc_fds(pids[i]),
		     rss = sup_proc_rss_kb(pids[i]);
		long rss_max = check_base_rss[roles[i]] + CHECK_RSS_SLACK;
		if (!sup_alive(pids[i])) {
			check_fail("%s (pid %d) is not running at the end",
			           check_role_names[roles[i]], (int)pids[i]);
			continue;
		}
		chaos_log("end: %s (pid %d): %ld fds (start %ld), %ld kB "
		          "(start %ld)",
		          check_role_names[roles[i]], (int)pids[i], fds,
		          check_base_fds[roles[i]], rss,
		          check_base_rss[roles[i]]);
		if (fds > check_base_fds[roles[i]] + CHECK_FDS_SLACK)
			check_fail("%s (pid %d) has %ld fds, %ld at the start",
			           check_role_names[roles[i]], (int)pids[i],
			           fds, check_base_fds[roles[i]]);
		if (rss > rss_max)
			check_fail("%s (pid %d) uses %ld kB, %ld at the start",
			           check_role_names[roles[i]], (int)pids[i],
			           rss, check_base_rss[roles[i]]);
		c0[i] = sup_proc_cpu_ms(pids[i]);
	}
	/* Nothing spins while idle; the stream and the watch flow. */
	ev0 = traffic_sse_events();
	s0 = check_nsamples();
	t0 = clock_now_ms_frac();
	chaos_wait(2000);
	ev1 = traffic_sse_events();
	s1 = check_nsamples();
	for (i = 0; i < n; i++) {
		double cpu = (sup_proc_cpu_ms(pids[i]) - c0[i]) /
		             (clock_now_ms_frac() - t0);

		if (cpu > CHECK_CPU_MAX)
			check_fail("%s (pid %d) used %.0f%% of a core while "
			           "idle",
			           check_role_names[roles[i]], (int)pids[i],
			           cpu * 100);
	}
	chaos_log("end: in 2 s idle: %llu events on the dashboard's stream, "
	          "%llu samples from mockresctl watch",
	          (unsigned long long)(ev1 - ev0),
	          (unsigned long long)(s1 - s0));
	if (ev1 - ev0 < 10)
		check_fail("the dashboard's event stream is not flowing (%llu "
		           "events in 2 s)",
		           (unsigned long long)(ev1 - ev0));
	if (s1 - s0 < 5)
		check_fail("mockresctl watch is not flowing (%llu samples in "
		           "2 s)",
		           (unsigned long long)(s1 - s0));
	if (!sup_alive(sys.watch))
		check_fail("mockresctl watch (pid %d) died", (int)sys.watch);
	if (!traffic_alive())
		check_fail("a load client died");
	if (sup_http(sys.port, "GET", "/part1/async", NULL, &r, 5000) != 0 ||
	    (r.status != 200 && r.status != 500))
		check_fail("GET /part1/async at the end: %d", r.status);
}

/* With the load parked and the attacker at it: the longest gap between
 * two events of the dashboard's stream over 2 s. */
void
check_events_gaps(void)
{
	uint64_t gap;

	traffic_sse_gap_reset();
	chaos_wait(2000);
	gap = traffic_sse_max_gap_us();
	chaos_log("end: the dashboard's event stream: longest gap %.0f ms in "
	          "2 s (bound %d ms), the attacker at it",
	          (double)gap / 1000, CHECK_GAP_MAX_MS);
	if (gap == 0 || gap > (uint64_t)CHECK_GAP_MAX_MS * 1000)
		check_fail("the dashboard's event stream had a gap of %.0f ms "
		           "(bound %d ms)",
		           (double)gap / 1000, CHECK_GAP_MAX_MS);
}

/* The attacker is gone: what it did, and (if it ran UNPRIVILEGED) none of
 * its reports taken. */
void
check_attacker(const struct attack_counts *a, int unprivileged)
{
	chaos_log("attacker: %llu watches opened, %llu "
	          "/api/history asked and left unread, reports: %llu taken, "
	          "%llu refused",
	          (unsigned long long)a->watches,
	          (unsigned long long)a->histories,
	          (unsigned long long)a->reports_taken,
	          (unsigned long long)a->reports_refused);
	if (a->watches == 0 || a->reports_refused == 0)
		check_fail("the attacker did not attack (%llu watches, %llu "
		           "reports refused)",
		           (unsigned long long)a->watches,
		           (unsigned long long)a->reports_refused);
	if (unprivileged && a->reports_taken > 0)
		check_fail("mockresd took %llu HTTP reports from the "
		           "unprivileged attacker",
		           (unsigned long long)a->reports_taken);
}

void
check_report(void)
{
	struct tr_counts c;
	int i;

	traffic_counts(&c);
	printf("chaos: %llu requests on %llu connections (%llu connects "
	       "refused or failed), max %.0f ms:",
	       (unsigned long long)c.sent, (unsigned long long)c.connects,
	       (unsigned long long)c.connect_err, (double)c.max_us / 1000);
	for (i = 0; i < OUT_N; i++)
		if (c.out[i] > 0)
			printf(" %s %llu;", chaos_outcome_names[i],
			       (unsigned long long)c.out[i]);
	printf("\nchaos: %llu samples of mockresd's counters checked",
	       (unsigned long long)check_samples_n);
	if (check_samples_partial > 0)
		printf(" (%llu without the queue's fields: only admitted >= "
		       "completed + in_flight there)",
		       (unsigned long long)check_samples_partial);
	printf("; %llu dashboard events on %llu stream connections\n",
	       (unsigned long long)traffic_sse_events(),
	       (unsigned long long)traffic_sse_connects());
	printf("chaos: epochs: %d with exact accounting, %d within bounds\n",
	       check_exact, check_bounded);
}
