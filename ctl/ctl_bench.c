/*
 * ctl_bench.c: "mockresctl bench", a load generator for mockresd in the
 * manner of redis-benchmark: CONCURRENCY connections, each keeping PIPELINE
 * uses outstanding, TOTAL uses in all; prints ops/s and latency
 * percentiles.  Uses hold 0 ms unless --hold-ms says otherwise, so what is
 * measured is the daemon's round trip, not the hold; --model-hold lets the
 * daemon's model give each use its service time instead.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "mockres_limits.h"
#include "parse.h"

struct bench;

struct bench_slot {
	struct bench *b;
	struct mrclient *mc;
	uint64_t start_us;
};

struct bench {
	struct ctl *ctl;
	struct mrclient *lost_mc; /* a connection that was lost */
	Mockres__UseMode mode;
	int64_t hold_ms; /* < 0: the daemon's model */
	uint64_t total;
	uint64_t sent;
	uint64_t done;
	uint64_t ok, busy, errors, lost;
	uint32_t *lat_us;
	int failed;
};

static void bench_reply(const Mockres__Response *, void *);

static int
bench_send(struct bench_slot *s)
{
	struct bench *b = s->b;

	if (b->sent == b->total)
		return 0;
	s->start_us = clock_now_us();
	if (mrclient_use(s->mc, b->mode, b->hold_ms, bench_reply, s) == 0) {
		fprintf(stderr, "mockresctl: bench: cannot send: %s\n",
		        strerror(errno));
		b->failed = 1;
		event_base_loopbreak(b->ctl->base);
		return -1;
	}
	b->sent++;
	return 0;
}

static void
bench_reply(const Mockres__Response *resp, void *arg)
{
	struct bench_slot *s = arg;
	struct bench *b = s->b;
	uint64_t lat = clock_now_us() - s->start_us;

	if (resp == NULL) {
		b->lost++;
		b->lost_mc = s->mc;
		b->failed = 1;
		event_base_loopbreak(b->ctl->base);
		return;
	}
	b->lat_us[b->done] = lat > UINT32_MAX ? UINT32_MAX : (uint32_t)lat;
	b->done++;
	if (resp->status == MOCKRES__STATUS__DONE ||
	    resp->status == MOCKRES__STATUS__ADMITTED)
		b->ok++;
	else if (resp->status == MOCKRES__STATUS__BUSY)
		b->busy++;
	else
		b->errors++;
	if (b->done == b->total)
		event_base_loopbreak(b->ctl->base);
	else
		bench_send(s);
}

static int
bench_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
bench_pct(const struct bench *b, double p)
{
	size_t i;

	if (b->done == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(b->done - 1) + 0.5);
	return (double)b->lat_us[i] / 1000.0;
}

static void
bench_report(const struct bench *b, uint64_t conns, uint64_t pipeline,
             double secs)
{
	const char *mode =
	    b->mode == MOCKRES__USE_MODE__ASYNC ? "ASYNC" : "SERIAL";
	double rate = secs > 0 ? (double)b->done / secs : 0;
	char hold[24];

	if (b->hold_ms < 0)
		snprintf(hold, sizeof(hold), "null");
	else
		snprintf(hold, sizeof(hold), "%lld", (long long)b->hold_ms);

	if (b->ctl->json) {
		printf("{\"mode\":\"%s\",\"hold_ms\":%s,\"concurrency\":%llu,"
		       "\"pipeline\":%llu,\"total\":%llu,\"seconds\":%.3f,"
		       "\"ops_per_sec\":%.0f,\"ok\":%llu,\"busy\":%llu,"
		       "\"errors\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
		       "\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
		       mode, hold, (unsigned long long)conns,
		       (unsigned long long)pipeline,
		       (unsigned long long)b->done, secs, rate,
		       (unsigned long long)b->ok, (unsigned long long)b->busy,
		       (unsigned long long)b->errors, bench_pct(b, 50),
		       bench_pct(b, 90), bench_pct(b, 99), bench_pct(b, 100));
		return;
	}
	printf("====== %s uses, hold %s%s ======\n", mode,
	       b->hold_ms < 0 ? "from the model" : hold,
	       b->hold_ms < 0 ? "" : " ms");
	printf("  %llu requests completed in %.2f seconds\n",
	       (unsigned long long)b->done, secs);
	printf("  %llu parallel clients, pipeline %llu\n",
	       (unsigned long long)conns, (unsigned long long)pipeline);
	printf("  ok %llu, busy %llu, errors %llu\n", (unsigned long long)b->ok,
	       (unsigned long long)b->busy, (unsigned long long)b->errors);
	printf("  latency (ms): p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n",
	       bench_pct(b, 50), bench_pct(b, 90), bench_pct(b, 99),
	       bench_pct(b, 100));
	printf("  throughput summary: %.2f requests per second\n", rate);
}

/* The flags into B (and the connection and pipeline counts); returns
 * CTL_OK or the usage error's exit code. */
static int
bench_args(struct bench *b, int argc, char *argv[], uint64_t *conns,
           uint64_t *pipeline)
{
	static const struct option opts[] = {
	    {"async", no_argument, NULL, 'a'},
	    {"hold-ms", required_argument, NULL, 'H'},
	    {"model-hold", no_argument, NULL, 'M'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t hold = 0;
	int ch, model_hold = 0;

	b->mode = MOCKRES__USE_MODE__SERIAL;
	b->total = 100000;
	*conns = 50;
	*pipeline = 1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+c:n:P:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (parse_u64(optarg, 1, 1000, conns) == -1)
				return ctl_exit_usage("bench: -c must be "
				                      "1..1000");
			break;
		case 'n':
			if (parse_u64(optarg, 1, 100000000, &b->total) == -1)
				return ctl_exit_usage("bench: -n must be "
				                      "1..100000000");
			break;
		case 'P':
			if (parse_u64(optarg, 1, 1000, pipeline) == -1)
				return ctl_exit_usage("bench: -P must be "
				                      "1..1000");
			break;
		case 'a':
			b->mode = MOCKRES__USE_MODE__ASYNC;
			break;
		case 'H':
			if (parse_u64(optarg, 0, MOCKRES_HOLD_MS_MAX, &hold) ==
			    -1)
				return ctl_exit_usage(
				    "bench: --hold-ms must be "
				    "0.." MOCKRES_STR(MOCKRES_HOLD_MS_MAX));
			break;
		case 'M':
			model_hold = 1;
			break;
		default:
			return ctl_exit_usage("bench: unknown option");
		}
	}
	if (optind != argc)
		return ctl_exit_usage("bench: unexpected argument '%s'",
		                      argv[optind]);
	b->hold_ms = model_hold ? -1 : (int64_t)hold;
	return CTL_OK;
}

/* PIPELINE uses outstanding on each of CONNS connections until B->total
 * are answered; returns the exit code. */
static int
bench_run(struct bench *b, struct mrclient **conns, uint64_t nconns,
          struct bench_slot *slots, uint64_t pipeline)
{
	uint64_t i, j, t0;
	double secs;
	int rc;

	for (i = 0; i < nconns; i++)
		if ((rc = ctl_call_connect(b->ctl, &conns[i],
		                           MOCKRES__ROLE__ROLE_BENCH, 0)) !=
		    CTL_OK)
			return rc;
	t0 = clock_now_us();
	for (i = 0; i < nconns && !b->failed; i++) {
		for (j = 0; j < pipeline; j++) {
			struct bench_slot *s = &slots[i * pipeline + j];

			s->b = b;
			s->mc = conns[i];
			if (bench_send(s) == -1)
				break;
		}
	}
	if (!b->failed)
		event_base_dispatch(b->ctl->base);
	secs = (double)(clock_now_us() - t0) / 1e6;
	if (b->failed) {
		if (b->lost > 0)
			ctl_exit_unreachable(b->lost_mc);
		return CTL_UNREACHABLE;
	}
	qsort(b->lat_us, b->done, sizeof(*b->lat_us), bench_cmp);
	bench_report(b, nconns, pipeline, secs);
	return b->errors > 0 ? CTL_ERROR : CTL_OK;
}

int
ctl_bench(struct ctl *ctl, int argc, char *argv[])
{
	struct bench b;
	struct bench_slot *slots;
	struct mrclient **conns;
	uint64_t c, pipeline, i;
	int rc;

	memset(&b, 0, sizeof(b));
	b.ctl = ctl;
	if ((rc = bench_args(&b, argc, argv, &c, &pipeline)) != CTL_OK)
		return rc;
	b.lat_us = calloc(b.total, sizeof(*b.lat_us));
	slots = calloc(c * pipeline, sizeof(*slots));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, as meant */
	conns = calloc(c, sizeof(*conns));
	if (b.lat_us == NULL || slots == NULL || conns == NULL) {
		fprintf(stderr, "mockresctl: bench: out of memory\n");
		rc = CTL_ERROR;
	} else {
		rc = bench_run(&b, conns, c, slots, pipeline);
	}
	for (i = 0; conns != NULL && i < c; i++)
		mrclient_free(conns[i]);
	free(conns);
	free(slots);
	free(b.lat_us);
	return rc;
}
