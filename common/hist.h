/*
 * hist.h: a log-linear histogram of durations in microseconds.
 *
 * Values below HIST_EXACT are counted exactly; above, each power of two is
 * split into HIST_SUB equal buckets, so a bucket is at most 1/32 of its
 * lower bound wide and its midpoint is within 1/64 (1.6%) of any value in
 * it.  Values from HIST_VALUE_MAX up share the last bucket.  The buckets
 * are the same in every process, so histograms merge by adding counts:
 * mockresd keeps the wait and service times of every use this way, the
 * frontend workers the latency of every HTTP request, and the dashboard
 * merges what they report.
 *
 * A histogram is a flat array (no allocation): adding a value is a few
 * shifts and an increment, cheap enough for every request.
 */
#ifndef MOCKRES_HIST_H
#define MOCKRES_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS  5
#define HIST_SUB       (1u << HIST_SUB_BITS) /* buckets per octave */
#define HIST_EXACT     64u /* 2 x HIST_SUB: 0..63 µs are exact */
#define HIST_OCTAVES   34  /* 2^6 .. 2^40 µs */
#define HIST_BUCKETS   (HIST_EXACT + HIST_OCTAVES * HIST_SUB)
#define HIST_VALUE_MAX (UINT64_C(1) << 40) /* about 12.7 days */

struct hist {
	uint64_t count;
	uint64_t sum_us;
	uint64_t min_us; /* UINT64_MAX when empty */
	uint64_t max_us;
	uint32_t lo, hi; /* non-zero buckets lie in [lo, hi] when count > 0 */
	uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *);
void hist_add(struct hist *, uint64_t us);
/* Adds N values that fall in bucket I (for merging a wire form): min and
 * max widen to the bucket's bounds, sum is not touched (the wire form
 * carries the exact sum, min and max; set them after). */
void hist_add_bucket(struct hist *, uint32_t i, uint64_t n);
void hist_merge(struct hist *dst, const struct hist *src);

/*
 * The Q-quantile (0 < Q <= 1), the value of rank ceil(Q * count): the
 * midpoint of its bucket, narrowed to [min, max] (so Q = 1 gives the exact
 * maximum, and values all in one bucket read as their own range, not the
 * bucket's).  0 when empty.
 */
uint64_t hist_quantile_us(const struct hist *, double q);
double hist_mean_us(const struct hist *);

/* Values counted up to and including US, at bucket resolution (a bucket
 * counts when its upper bound is <= US + 1). */
uint64_t hist_count_le(const struct hist *, uint64_t us);

/* The bucket of a value, and a bucket's bounds: [low, high). */
uint32_t hist_bucket(uint64_t us);
uint64_t hist_bucket_low(uint32_t i);
uint64_t hist_bucket_high(uint32_t i);

#endif
