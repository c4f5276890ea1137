/*
 * report.c: the frontend workers' HTTP reports, merged (op report = 10).
 *
 * Only a peer trust.c lets report may (on the Unix socket uid 0 or
 * mockresd's own, over TLS a CN named by --tls-frontend); others get
 * DENIED.  Each worker sends its counts since it started (cumulative)
 * every 250 ms while they change.  A reporter is its host, pid and start
 * time, so a
 * worker that reconnects replaces its own report instead of adding to it.
 * One merged total is kept as reports arrive (total += new - old), so it
 * costs nothing to serve, and a reporter's counts stay in it after its
 * connection closes: a worker killed mid-run keeps its counts up to its
 * last report (it loses at most one report interval's worth).  Its record
 * stays too, marked departed, so that it can come back.
 *
 * Clocks.  A worker's times (started_us, first_us, last_us) are its
 * host's CLOCK_MONOTONIC.  On the Unix socket that is ours.  Over TLS the
 * worker's host has a clock of its own, so each report also carries its
 * send time (sent_us), and the connection's peerclock (common/peerclock.h)
 * keeps the offset of the report that arrived soonest after it was sent:
 * first_us and last_us are kept in our clock, at most one network delay
 * late, so that bursts and runs are right whatever host each worker is
 * on.  started_us stays the worker's own: with its pid and host it names
 * the worker.
 *
 * Every field is range-checked before anything changes (report_check):
 * the times lie between the worker's start and 10 years after it, and
 * none after the report was sent (on this host, in our future); a route
 * counts at most one answer per microsecond of the
 * worker's life up to its latest answer, and no answer took longer than
 * that life; requests in progress, connections, CPU and memory have caps
 * far past any real figure.  A report that would push a merged sum past
 * 2^64 is refused whole (httpstats_advance).  Refusals get BAD_REQUEST
 * with the reason and are logged, one line per 10 s with a count.
 *
 * Caps: REPORTS_MAX records.  One peer may hold at most
 * REPORTS_PID_MAX or REPORTS_CN_MAX of them connected: on the Unix socket
 * a peer is a process (SO_PEERCRED's pid: a worker needs one record),
 * over TLS a certificate (its CN, shared by a frontend host's workers),
 * so that no one peer fills the table.  Past REPORTS_MAX the oldest departed
 * record is forgotten (its counts stay in the total; were that worker to report
 * again, it would be counted twice); with none departed, a new reporter
 * gets BAD_REQUEST.  Each record holds one struct httpstats (28 KB).
 *
 * Client connections: each worker reports its frontend's (all its
 * workers', counted in memory they share: frontend/conncount.c) open now
 * and most open at once since the worker's burst began.  Merged: per
 * frontend, open now is its latest report's (connected reporters only)
 * and the peak is the highest of its workers' whose burst began after
 * the time asked for; both are summed over the frontends.
 *
 * The merged stats go out only when asked (StatsRequest.http), never with
 * the client list, so the reply fits one frame whatever the counts (see
 * HTTPSTATS_WIRE_MAX).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "httpstats.h"
#include "log.h"
#include "mockresd.h"

#define REPORTS_MAX 256
/* Records one peer may hold connected (see above): a Unix process, a TLS
 * certificate. */
#define REPORTS_PID_MAX 8 /* a worker needs one (tests play several) */
#define REPORTS_CN_MAX  (REPORTS_MAX / 2)
/* Client connections one frontend may claim, and requests one worker may
 * have in progress: far past any fd limit. */
#define REPORT_CONNS_MAX 16777216
/* A worker's life: its times lie within this of its start. */
#define REPORT_LIFE_MAX_US (UINT64_C(10) * 365 * 86400 * 1000000)
/* A time of a peer on this host may be this far in our future; counts
 * and durations may pass the worker's life by this much. */
#define REPORT_SLACK_US   1000000
#define REPORT_CPU_MS_MAX (UINT64_C(1) << 44) /* 557 years of one core */
/* A worker's clock reads less than this (146,000 years of uptime): its
 * times are differences of signed 64-bit numbers. */
#define REPORT_CLOCK_MAX  (UINT64_C(1) << 62)
#define REPORT_RSS_KB_MAX (UINT64_C(1) << 40) /* 1 PiB */

struct report {
	TAILQ_ENTRY(report) entry;
	pid_t pid;
	char host[MOCKRES_HOST_MAX + 1];
	uint64_t started_us;
	struct conn *conn; /* NULL once departed */
	uint64_t first_us, last_us;
	uint32_t active;
	int has_conns;
	uint64_t frontend;   /* HttpConns.frontend */
	uint32_t open, peak; /* its connections */
	uint64_t conns_seq;  /* rp.received when they came */
	struct httpstats stats;
};

static struct {
	TAILQ_HEAD(, report) list; /* oldest first */
	size_t n, departed;
	uint64_t received;
	struct httpstats total;
	struct httpstats incoming;
	struct httpstats_wire wire;
	struct ratelog refused; /* refusals, logged */
	int ready;
} rp = {.list = TAILQ_HEAD_INITIALIZER(rp.list)};

static void
report_ready(void)
{
	if (!rp.ready) {
		httpstats_init(&rp.total);
		rp.ready = 1;
	}
}

static void
report_status(struct conn *c, uint64_t id, Mockres__Status status,
              const char *error)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;

	resp.has_id = resp.has_status = 1;
	resp.id = id;
	resp.status = status;
	resp.error = (char *)error;
	conn_reply(c, &resp);
}

/* A refused report: BAD_REQUEST with WHY, and a log line (one per 10 s). */
static void
report_refuse(struct conn *c, uint64_t id, const char *why)
{
	uint64_t more;

	report_status(c, id, MOCKRES__STATUS__BAD_REQUEST, why);
	if (!ratelog_allow(&rp.refused, clock_now_ms(), &more))
		return;
	if (c->cn[0] != '\0')
		log_warnx("refused an HTTP report of client %llu (CN %s, %s): "
		          "%s (%llu more refused in the last 10 s)",
		          (unsigned long long)c->number, c->cn, c->addr, why,
		          (unsigned long long)more);
	else
		log_warnx("refused an HTTP report of client %llu (pid %d, "
		          "uid %u): %s (%llu more refused in the last 10 s)",
		          (unsigned long long)c->number, (int)c->pid,
		          (unsigned)c->uid, why, (unsigned long long)more);
}

/* Does R belong to the same peer as C (see REPORTS_PID_MAX)? */
static int
report_same_peer(const struct report *r, const struct conn *c)
{
	if (r->conn == NULL)
		return 0;
	if (c->cn[0] != '\0')
		return strcmp(r->conn->cn, c->cn) == 0;
	return r->conn->cn[0] == '\0' && r->pid == c->pid;
}

/* The record of C's reporter, made if needed (*MADE then); NULL with
 * *why. */
static struct report *
report_find(struct conn *c, uint64_t started_us, int *made, const char **why)
{
	struct report *r, *oldest = NULL;
	size_t mine = 0;

	TAILQ_FOREACH(r, &rp.list, entry)
	{
		if (r->conn == c) {
			if (r->started_us == started_us)
				return r;
			*why = "report: started_us changed on one connection";
			return NULL;
		}
	}
	TAILQ_FOREACH(r, &rp.list, entry)
	{
		if (r->pid != c->pid || r->started_us != started_us ||
		    strcmp(r->host, c->host) != 0)
			continue;
		if (r->conn != NULL) {
			*why = "report: another connection reports as this "
			       "worker";
			return NULL;
		}
		r->conn = c; /* back after a reconnect */
		rp.departed--;
		return r;
	}
	TAILQ_FOREACH(r, &rp.list, entry)
	if (report_same_peer(r, c))
		mine++;
	if (mine >= (c->cn[0] != '\0' ? REPORTS_CN_MAX : REPORTS_PID_MAX)) {
		*why =
		    c->cn[0] != '\0'
		        ? "report: this certificate has " MOCKRES_STR(
		              REPORTS_CN_MAX) " reporters connected already"
		        : "report: this process has " MOCKRES_STR(
		              REPORTS_PID_MAX) " reporters connected already";
		return NULL;
	}
	if (rp.n >= REPORTS_MAX) {
		TAILQ_FOREACH(r, &rp.list, entry)
		if (r->conn == NULL) {
			oldest = r;
			break;
		}
		if (oldest == NULL) {
			*why = "report: too many reporters (256)";
			return NULL;
		}
		TAILQ_REMOVE(&rp.list, oldest, entry);
		rp.n--;
		rp.departed--;
		free(oldest);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		*why = "report: out of memory";
		return NULL;
	}
	r->pid = c->pid;
	snprintf(r->host, sizeof(r->host), "%s", c->host);
	r->started_us = started_us;
	r->conn = c;
	httpstats_init(&r->stats);
	TAILQ_INSERT_TAIL(&rp.list, r, entry);
	rp.n++;
	*made = 1;
	return r;
}

/* A record made for a report that was then refused goes again. */
static void
report_unmake(struct report *r)
{
	TAILQ_REMOVE(&rp.list, r, entry);
	rp.n--;
	free(r);
}

static int
report_usage_ok(const Mockres__ProcUsage *pu)
{
	return pu == NULL || (pu->cpu_ms <= REPORT_CPU_MS_MAX &&
	                      pu->rss_kb <= REPORT_RSS_KB_MAX);
}

/* Is C on this host (a Unix peer), its clock ours? */
static int
report_same_clock(const struct conn *c)
{
	return c->uid != (uid_t)-1;
}

/*
 * Every field of HR (its routes already read into rp.incoming) in range,
 * NOW_US being our clock; 0, or -1 with *WHY.
 */
static int
report_check(const struct conn *c, const Mockres__HttpReport *hr,
             uint64_t now_us, const char **why)
{
	uint64_t start = hr->started_us, life, sent;
	int r;

	if (!hr->has_started_us || start == 0) {
		*why = "report: started_us is missing";
		return -1;
	}
	/* A peer on this host shares our CLOCK_MONOTONIC: it sends now.
	 * Over TLS the times are the worker host's own, and so is the send
	 * time they are compared with. */
	if (report_same_clock(c)) {
		sent = now_us;
	} else if (!hr->has_sent_us || hr->sent_us == 0) {
		*why = "report: sent_us is missing (over TLS a report carries "
		       "its send time: is the frontend older than mockresd?)";
		return -1;
	} else {
		sent = hr->sent_us;
	}
	if (start >= REPORT_CLOCK_MAX || sent >= REPORT_CLOCK_MAX) {
		*why = "report: started_us or sent_us past 2^62";
		return -1;
	}
	if (start > sent + REPORT_SLACK_US ||
	    hr->first_us > sent + REPORT_SLACK_US ||
	    hr->last_us > sent + REPORT_SLACK_US) {
		*why = report_same_clock(c)
		           ? "report: started_us, first_us or last_us is in "
		             "the future"
		           : "report: started_us, first_us or last_us is after "
		             "sent_us";
		return -1;
	}
	if ((hr->first_us != 0 &&
	     (hr->first_us < start ||
	      hr->first_us - start > REPORT_LIFE_MAX_US)) ||
	    (hr->last_us != 0 && (hr->last_us < start ||
	                          hr->last_us - start > REPORT_LIFE_MAX_US))) {
		*why = "report: first_us and last_us must lie between "
		       "started_us and 10 years after it";
		return -1;
	}
	/* The worker's life up to its latest answer: no route answered more
	 * than once per microsecond of it, no answer took longer. */
	life = hr->last_us != 0 ? hr->last_us - start : 0;
	for (r = 0; r < HTTPSTATS_ROUTES; r++) {
		const struct hist *h = &rp.incoming.route[r].latency;

		if (h->count == 0)
			continue;
		if (h->count > life + REPORT_SLACK_US ||
		    h->max_us > life + REPORT_SLACK_US) {
			*why = "report: more answers than microseconds, or an "
			       "answer longer than the worker's life up to "
			       "last_us";
			return -1;
		}
	}
	if (hr->active > REPORT_CONNS_MAX ||
	    (hr->conns != NULL && (hr->conns->open > REPORT_CONNS_MAX ||
	                           hr->conns->peak > REPORT_CONNS_MAX))) {
		*why = "report: active or conns past " MOCKRES_STR(
		    REPORT_CONNS_MAX);
		return -1;
	}
	if (!report_usage_ok(hr->usage) || !report_usage_ok(hr->master)) {
		*why = "report: cpu_ms or rss_kb out of range";
		return -1;
	}
	return 0;
}

/* A ProcUsage into U, if it makes sense; a bad one is left out. */
static void
report_usage(struct conn_usage *u, const Mockres__ProcUsage *pu)
{
	u->has = 0;
	if (pu == NULL || !pu->has_pid || pu->pid == 0 || pu->pid > INT32_MAX)
		return;
	u->has = 1;
	u->pid = pu->pid;
	u->cpu_ms = pu->has_cpu_ms ? pu->cpu_ms : 0;
	u->rss_kb = pu->has_rss_kb ? pu->rss_kb : 0;
}

/* op report: a worker's cumulative counts. */
void
report_take(struct conn *c, uint64_t id, const Mockres__HttpReport *hr)
{
	const char *why = NULL;
	uint64_t now = clock_now_us();
	struct report *r;
	int made = 0;

	report_ready();
	if (!trust_may_report(c)) {
		report_status(c, id, MOCKRES__STATUS__DENIED,
		              trust_denied(c, "report HTTP counts"));
		return;
	}
	if (httpstats_from_wire(&rp.incoming, hr->routes, hr->n_routes, &why) ==
	        -1 ||
	    report_check(c, hr, now, &why) == -1 ||
	    (r = report_find(c, hr->started_us, &made, &why)) == NULL) {
		report_refuse(c, id, why);
		return;
	}
	if (httpstats_advance(&rp.total, &rp.incoming, &r->stats, &why) == -1) {
		if (made)
			report_unmake(r);
		report_refuse(c, id, why);
		return;
	}
	r->stats = rp.incoming;
	report_usage(&c->usage, hr->usage);
	report_usage(&c->master, hr->master);
	if (report_same_clock(c)) {
		r->first_us = hr->first_us;
		r->last_us = hr->last_us;
	} else { /* in our clock (see the top of the file) */
		peerclock_sample(&c->clock, hr->sent_us, now);
		r->first_us = peerclock_to_local(&c->clock, hr->first_us);
		r->last_us = peerclock_to_local(&c->clock, hr->last_us);
	}
	r->active = hr->active;
	rp.received++;
	r->has_conns = hr->conns != NULL;
	if (r->has_conns) {
		r->frontend = hr->conns->frontend;
		r->open = hr->conns->open;
		r->peak = hr->conns->peak;
		r->conns_seq = rp.received;
	}
	report_status(c, id, MOCKRES__STATUS__OK, NULL);
}

/* C is closing: its reporter's counts stay, its record is departed. */
void
report_conn_closed(struct conn *c)
{
	struct report *r;

	TAILQ_FOREACH(r, &rp.list, entry)
	if (r->conn == c) {
		r->conn = NULL;
		r->active = 0; /* those requests died with it, or will */
		rp.departed++;
		return;
	}
}

/*
 * The frontends' client connections: open now and the most open at once
 * in the bursts that began after SINCE, each frontend's own (its latest
 * report's open, its workers' highest peak), summed.  At most
 * REPORTS_MAX reporters: the quadratic walk is 65,536 steps at worst.
 */
static void
report_conns(uint64_t since, uint32_t *open, uint32_t *peak)
{
	const struct report *r, *q, *latest;
	uint64_t o = 0, p = 0, pk;

	TAILQ_FOREACH(r, &rp.list, entry)
	{
		if (!r->has_conns)
			continue;
		/* The frontend's first record in the list does its sums. */
		for (q = TAILQ_FIRST(&rp.list); q != r;
		     q = TAILQ_NEXT(q, entry))
			if (q->has_conns && q->frontend == r->frontend)
				break;
		if (q != r)
			continue;
		latest = NULL;
		pk = 0;
		for (q = r; q != NULL; q = TAILQ_NEXT(q, entry)) {
			if (!q->has_conns || q->frontend != r->frontend)
				continue;
			if (q->conn != NULL &&
			    (latest == NULL ||
			     q->conns_seq > latest->conns_seq))
				latest = q;
			if (q->first_us > since && q->peak > pk)
				pk = q->peak;
		}
		if (latest != NULL)
			o += latest->open;
		p += pk;
	}
	*open = o > UINT32_MAX ? UINT32_MAX : (uint32_t)o;
	*peak = p > UINT32_MAX ? UINT32_MAX : (uint32_t)p;
}

/* op stats with http: the snapshot (no clients) and the merged stats. */
void
report_stats(struct conn *c, uint64_t id, const Mockres__StatsRequest *sr)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;
	Mockres__HttpStats hs = MOCKRES__HTTP_STATS__INIT;
	uint64_t since = sr->has_http_since_us ? sr->http_since_us : 0;
	Mockres__Stats stats;
	struct report *r;
	uint64_t active = 0;

	report_ready();
	stats_fill(&stats, 0);
	hs.routes = httpstats_to_wire(&rp.total, &rp.wire, &hs.n_routes);
	hs.has_reporters = hs.has_departed = hs.has_first_us = 1;
	hs.has_last_us = hs.has_active = hs.has_reports = 1;
	hs.reporters = (uint32_t)(rp.n - rp.departed);
	hs.departed = (uint32_t)rp.departed;
	hs.reports = rp.received;
	TAILQ_FOREACH(r, &rp.list, entry)
	{
		if (r->first_us > since &&
		    (hs.first_us == 0 || r->first_us < hs.first_us))
			hs.first_us = r->first_us;
		if (r->last_us > hs.last_us)
			hs.last_us = r->last_us;
		active += r->active;
	}
	hs.active = active > UINT32_MAX ? UINT32_MAX : (uint32_t)active;
	hs.has_conns_open = hs.has_conns_peak = 1;
	report_conns(since, &hs.conns_open, &hs.conns_peak);
	stats.http = &hs;
	resp.has_id = resp.has_status = 1;
	resp.id = id;
	resp.status = MOCKRES__STATUS__OK;
	resp.stats = &stats;
	conn_reply(c, &resp);
}

void
report_free_all(void)
{
	struct report *r;

	while ((r = TAILQ_FIRST(&rp.list)) != NULL) {
		TAILQ_REMOVE(&rp.list, r, entry);
		free(r);
	}
	rp.n = rp.departed = 0;
	rp.ready = 0;
}
