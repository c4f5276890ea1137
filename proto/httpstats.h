/*
 * httpstats.h: HTTP requests as the client sees them, per route (serial,
 * async, other): a latency histogram (common/hist.h) and a count per
 * status code.
 *
 * The frontend workers fill one each (httpstats_add on every answer) and
 * send it to mockresd as a cumulative report (httpstats_to_wire); mockresd
 * keeps every worker's latest report and one merged total
 * (httpstats_advance: total += new - old, so a worker's counts stay in the
 * total after it leaves); the dashboard reads the total
 * (httpstats_from_wire) and takes differences of two of its states for
 * runs and live windows (httpstats_diff).  Nothing here allocates.
 */
#ifndef MOCKRES_HTTPSTATS_H
#define MOCKRES_HTTPSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "mockres.pb-c.h"

#define HTTPSTATS_ROUTES 3
/* Distinct statuses kept per route; past HTTPSTATS_CODES - 1 of them the
 * others are counted under code 0 ("other"). */
#define HTTPSTATS_CODES 16
/* A burst of requests (a worker's, a run on the dashboard) ends after this
 * long with no request in progress or arriving (docs/design.md: 2 s). */
#define HTTPSTATS_GAP_US 2000000

enum httpstats_route_id {
	HTTPSTATS_SERIAL = MOCKRES__HTTP_ROUTE__ROUTE_SERIAL,
	HTTPSTATS_ASYNC = MOCKRES__HTTP_ROUTE__ROUTE_ASYNC,
	HTTPSTATS_OTHER = MOCKRES__HTTP_ROUTE__ROUTE_OTHER,
};

struct httpstats_route {
	struct hist latency; /* request parsed -> last byte to the kernel */
	uint32_t ncodes;
	uint32_t code[HTTPSTATS_CODES];
	uint64_t count[HTTPSTATS_CODES];
};

struct httpstats {
	struct httpstats_route route[HTTPSTATS_ROUTES];
};

void httpstats_init(struct httpstats *);
/* Counts one answer: the hot path (a few shifts, adds and compares). */
void httpstats_add(struct httpstats *, enum httpstats_route_id, unsigned code,
                   uint64_t us);
const char *httpstats_route_name(enum httpstats_route_id);
uint64_t httpstats_requests(const struct httpstats *);
uint64_t httpstats_code_count(const struct httpstats_route *, unsigned code);

/* DST += SRC. */
void httpstats_merge(struct httpstats *dst, const struct httpstats *src);

/*
 * D = NEW - OLD, OLD being an earlier state of the same counts.  Min and
 * max of D are known at bucket resolution only (within 1/32), clamped to
 * NEW's exact ones.  Returns 0, or -1 if some count of OLD exceeds NEW's
 * (the counts were reset): D is then NEW.
 */
int httpstats_diff(struct httpstats *d, const struct httpstats *newer,
                   const struct httpstats *older);

/*
 * TOTAL += NEW - OLD: a reporter's new cumulative report replaces its old
 * one in the total.  Returns 0, or -1 with *WHY, TOTAL unchanged, if some
 * count of NEW is below OLD's (a report must never go back), or if a sum
 * of TOTAL would pass 2^64: a report is taken whole or not at all.
 */
int httpstats_advance(struct httpstats *total, const struct httpstats *newer,
                      const struct httpstats *older, const char **why);

/* Storage for the wire form of one httpstats: no allocation. */
struct httpstats_wire {
	Mockres__HttpRouteStats routes[HTTPSTATS_ROUTES];
	Mockres__HttpRouteStats *routep[HTTPSTATS_ROUTES];
	Mockres__Histogram hist[HTTPSTATS_ROUTES];
	Mockres__HttpCode codes[HTTPSTATS_ROUTES][HTTPSTATS_CODES];
	Mockres__HttpCode *codep[HTTPSTATS_ROUTES][HTTPSTATS_CODES];
	uint32_t skip[HTTPSTATS_ROUTES][HIST_BUCKETS];
	uint64_t bcount[HTTPSTATS_ROUTES][HIST_BUCKETS];
};

/*
 * Fills W with HS and returns the array of routes for a message (empty
 * routes are left out), *N their number.  Valid while W and HS are.
 * The packed form is at most HTTPSTATS_WIRE_MAX bytes whatever the counts
 * (3 routes x 1152 buckets x (2 + 10) bytes, plus codes): inside one
 * 65,536-byte frame with room for the rest of a Stats message, as long as
 * no client list goes with it.
 */
#define HTTPSTATS_WIRE_MAX 46000
Mockres__HttpRouteStats **httpstats_to_wire(const struct httpstats *hs,
                                            struct httpstats_wire *w,
                                            size_t *n);

/*
 * Reads N routes into HS (initialised here), checking everything: routes
 * known and not repeated, bucket indices in range and increasing, bucket
 * counts adding up to the count, min and max inside the first and last
 * buckets, max at most HIST_VALUE_MAX, the sum between count x min and
 * count x max, at most HTTPSTATS_CODES distinct codes (0, "any other", or
 * 100..599) adding up to the count.
 * Returns 0, or -1 with *WHY set (HS is then undefined).
 */
int httpstats_from_wire(struct httpstats *hs,
                        Mockres__HttpRouteStats *const *routes, size_t n,
                        const char **why);

#endif
