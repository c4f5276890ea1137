/*
 * traffic.c: the soak's load.
 *
 * TR_CLIENTS forked HTTP clients, each with one blocking socket (so that a
 * stopped or dead server stalls only its own clients), in the mixes the
 * lab uses: serial and async, keep-alive (HTTP/1.1, and HTTP/1.0 with
 * "Connection: keep-alive" as ab -k sends) and a new connection per
 * request.  Each request gets exactly one outcome, counted in shared
 * memory per client; a request over the latency bound is also noted with
 * its times.  The orchestrator pauses the clients between epochs: a client
 * parks (and closes its connection) only between requests, so once all
 * are parked every request sent has its outcome.
 *
 * One more child reads the dashboard's /events stream, reconnecting when
 * it drops, and counts the events.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"
#include "clock.h"
#include "support.h"

#define TR_CLIENTS 12
#define TR_BUF     8192

const char *const chaos_outcome_names[OUT_N] = {
    "200",
    "500 busy",
    "timed out",
    "503 unreachable",
    "503 stalled",
    "503 too many",
    "503 shutting down",
    "503 unknown",
    "504",
    "lost",
    "hung",
    "other",
    "healthz",
};

struct tr_cfg {
	const char *path; /* NULL: a random one of serial, async, healthz */
	int keepalive;
	int http10;
	int pace_us;
};

static const struct tr_cfg tr_cfgs[TR_CLIENTS] = {
    {"/part1/serial", 1, 0, 10000},
    {"/part1/serial", 1, 0, 20000},
    {"/part1/serial", 1, 1, 10000},
    {"/part1/serial", 1, 0, 40000},
    {"/part1/serial", 0, 0, 20000},
    {"/part1/serial", 0, 1, 20000},
    {"/part1/async", 1, 1, 20000},
    {"/part1/async", 1, 0, 20000},
    {"/part1/async", 0, 1, 40000},
    {"/part1/async", 0, 0, 40000},
    {NULL, 1, 0, 20000},
    {NULL, 0, 0, 40000},
};

struct tr_shared {
	atomic_int gate; /* 1: park */
	atomic_int stop;
	atomic_uint_fast64_t sse_events, sse_connects;
	/* the longest time between two events since traffic_sse_gap_reset */
	atomic_uint_fast64_t sse_last_us, sse_max_gap_us;
	atomic_int sse_alive;
	atomic_int other_noted;
	char other[512];
	struct tr_slot slot[TR_CLIENTS_MAX];
};

static struct tr_shared *tr;
static pid_t tr_kids[TR_CLIENTS + 1];
static int tr_nkids;
static int tr_port, tr_dash_port;

static void
tr_sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The first unexpected answer, for the report. */
static void
tr_note_other(const char *buf)
{
	int zero = 0;

	if (atomic_compare_exchange_strong(&tr->other_noted, &zero, 1))
		snprintf(tr->other, sizeof(tr->other), "%.*s",
		         (int)sizeof(tr->other) - 1, buf);
}

static int
tr_classify(int code, const char *body)
{
	if (strstr(body, "timed out") != NULL)
		return OUT_TIMEOUT;
	switch (code) {
	case 200:
		return OUT_200;
	case 500:
		return OUT_500;
	case 504:
		return OUT_504;
	case 503:
		if (strstr(body, "outcome unknown") != NULL)
			return OUT_UNKNOWN;
		if (strstr(body, "not answering") != NULL)
			return OUT_STALLED;
		if (strstr(body, "shutting down") != NULL)
			return OUT_SHUTDOWN;
		if (strstr(body, "too many") != NULL)
			return OUT_TOOMANY;
		if (strstr(body, "unreachable") != NULL)
			return OUT_UNREACHABLE;
		return OUT_OTHER;
	default:
		return OUT_OTHER;
	}
}

/*
 * Reads one answer by DEADLINE_US.  Returns the outcome; *CLOSE says
 * whether the connection ends after it.  REUSED: the connection carried an
 * answer before.
 */
static int
tr_read(int fd, uint64_t deadline_us, int *close_after, const char *path)
{
	char buf[TR_BUF + 1];
	size_t got = 0, hlen = 0, clen = 0, vlen;
	const char *hend = NULL, *v;
	struct pollfd pfd = {fd, POLLIN, 0};
	int code = 0, minor = 1, o, have_clen = 0;
	ssize_t n;

	*close_after = 1;
	for (;;) {
		uint64_t now = clock_now_us();

		if (hend != NULL && have_clen && got >= hlen + clen)
			break;
		if (now >= deadline_us)
			return OUT_HUNG;
		if (poll(&pfd, 1, (int)((deadline_us - now) / 1000) + 1) <= 0)
			continue;
		if (got == TR_BUF)
			return tr_note_other(buf), OUT_OTHER;
		n = read(fd, buf + got, TR_BUF - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 && hend != NULL && !have_clen)
			break; /* no Content-Length: the body ends at the close
			        */
		if (n <= 0)
			return OUT_LOST;
		got += (size_t)n;
		buf[got] = '\0';
		if (hend != NULL || (hend = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		hlen = (size_t)(hend - buf) + 4;
		if (sscanf(buf, "HTTP/1.%d %d", &minor, &code) != 2)
			return tr_note_other(buf), OUT_OTHER;
		*close_after = minor == 0;
		if ((v = sup_header_in(buf, hend, "Content-Length", &vlen)) !=
		    NULL)
			clen = strtoul(v, NULL, 10), have_clen = 1;
		if ((v = sup_header_in(buf, hend, "Connection", &vlen)) !=
		    NULL) {
			if (vlen == 5 && strncasecmp(v, "close", 5) == 0)
				*close_after = 1;
			else if (vlen == 10 &&
			         strncasecmp(v, "keep-alive", 10) == 0)
				*close_after = 0;
		}
		if (!have_clen)
			*close_after = 1;
	}
	if (strcmp(path, "/healthz") == 0) /* 200 or 503: both fine */
		return code == 200 || code == 503 ? OUT_HEALTHZ : OUT_OTHER;
	if ((o = tr_classify(code, buf + hlen)) == OUT_OTHER)
		tr_note_other(buf);
	return o;
}

static void
tr_max(atomic_uint_fast64_t *a, uint64_t v)
{
	uint_fast64_t cur = atomic_load(a);

	while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

static void __attribute__((noreturn)) tr_client(int i)
{
	const struct tr_cfg *cfg = &tr_cfgs[i];
	struct tr_slot *s = &tr->slot[i];
	uint64_t bound_us =
	    (uint64_t)(CHAOS_REQUEST_TIMEOUT_MS + CHAOS_SLACK_MS) * 1000;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
	char req[512];
	int fd = -1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	atomic_store(&s->alive, 1);
	while (!atomic_load(&tr->stop)) {
		const char *path = cfg->path;
		uint64_t t0, t1;
		int rl, o, close_after = 1;

		if (atomic_load(&tr->gate)) {
			if (fd != -1)
				close(fd);
			fd = -1;
			atomic_store(&s->parked, 1);
			while (atomic_load(&tr->gate) &&
			       !atomic_load(&tr->stop))
				tr_sleep_us(2000);
			atomic_store(&s->parked, 0);
			continue;
		}
		if (fd == -1) {
			if ((fd = sup_tcp_connect(tr_port)) == -1) {
				atomic_fetch_add(&s->connect_err, 1);
				tr_sleep_us(20000);
				continue;
			}
			atomic_fetch_add(&s->connects, 1);
		}
		if (path == NULL) {
			static const char *const paths[] = {
			    "/part1/serial", "/part1/async", "/healthz"};

			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			path = paths[rng % 3];
		}
		rl = snprintf(
		    req, sizeof(req),
		    "GET %s HTTP/1.%d\r\nHost: 127.0.0.1\r\n"
		    "User-Agent: mockres-chaos\r\n%s\r\n",
		    path, cfg->http10 ? 0 : 1,
		    cfg->keepalive
		        ? (cfg->http10 ? "Connection: keep-alive\r\n" : "")
		        : "Connection: close\r\n");
		atomic_fetch_add(&s->sent, 1);
		t0 = clock_now_us();
		if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl)
			o = OUT_LOST;
		else
			o = tr_read(fd, t0 + bound_us + 5000000, &close_after,
			            path);
		t1 = clock_now_us();
		tr_max(&s->max_us, t1 - t0);
		if (t1 - t0 > bound_us) {
			uint_fast64_t k = atomic_fetch_add(&s->nslow, 1);

			if (k < TR_SLOW_MAX) {
				s->slow[k].t0_us = t0;
				s->slow[k].t1_us = t1;
				s->slow[k].outcome = o;
			}
		}
		/* Last: a reader who sees the count sees the rest. */
		atomic_fetch_add(&s->out[o], 1);
		if (close_after || !cfg->keepalive || o >= OUT_LOST) {
			close(fd);
			fd = -1;
		}
		if (cfg->pace_us > 0)
			tr_sleep_us(cfg->pace_us);
	}
	atomic_store(&s->alive, 0);
	_exit(0);
}

/* One event now: the longest gap so far (a reset zeroes sse_last_us). */
static void
tr_sse_gap(void)
{
	uint64_t now = clock_now_us(), last, max;

	last = atomic_exchange(&tr->sse_last_us, now);
	max = atomic_load(&tr->sse_max_gap_us);
	while (last != 0 && now - last > max &&
	       !atomic_compare_exchange_weak(&tr->sse_max_gap_us, &max,
	                                     now - last))
		;
}

/* Reads /events, counting events, reconnecting after 200 ms. */
static void __attribute__((noreturn)) tr_sse(void)
{
	static const char req[] = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                          "Accept: text/event-stream\r\n\r\n";
	char buf[16384];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	atomic_store(&tr->sse_alive, 1);
	while (!atomic_load(&tr->stop)) {
		struct pollfd pfd;
		int fd = sup_tcp_connect(tr_dash_port);
		char last = '\n';

		if (fd == -1) {
			tr_sleep_us(200000);
			continue;
		}
		atomic_fetch_add(&tr->sse_connects, 1);
		if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(req) - 1) {
			close(fd);
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (!atomic_load(&tr->stop)) {
			ssize_t n, k;

			/* Events come every 20 ms; 5 s of nothing is a stuck
			 * stream (or a stopped dashboard): reconnect. */
			if (poll(&pfd, 1, 5000) <= 0)
				break;
			if ((n = read(fd, buf, sizeof(buf))) <= 0)
				break;
			for (k = 0; k < n; k++) {
				/* "data:" at the start of a line */
				if (last == '\n' && buf[k] == 'd' &&
				    k + 5 <= n &&
				    memcmp(buf + k, "data:", 5) == 0) {
					atomic_fetch_add(&tr->sse_events, 1);
					tr_sse_gap();
				}
				last = buf[k];
			}
		}
		close(fd);
		tr_sleep_us(200000);
	}
	atomic_store(&tr->sse_alive, 0);
	_exit(0);
}

int
traffic_start(int port, int dash_port)
{
	int i;
	pid_t pid;

	tr_port = port;
	tr_dash_port = dash_port;
	tr = mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE,
	          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tr == MAP_FAILED)
		return -1;
	memset(tr, 0, sizeof(*tr));
	fflush(NULL);
	for (i = 0; i <= TR_CLIENTS; i++) {
		if ((pid = fork()) == -1)
			return -1;
		if (pid == 0) {
			if (i == TR_CLIENTS)
				tr_sse();
			tr_client(i);
		}
		tr_kids[tr_nkids++] = pid;
	}
	return 0;
}

void
traffic_pause(void)
{
	atomic_store(&tr->gate, 1);
}

void
traffic_resume(void)
{
	atomic_store(&tr->gate, 0);
}

int
traffic_wait_parked(int timeout_ms)
{
	uint64_t end = clock_now_us() + (uint64_t)timeout_ms * 1000;
	int i, n;

	for (;;) {
		for (i = n = 0; i < TR_CLIENTS; i++)
			n += atomic_load(&tr->slot[i].parked);
		if (n == TR_CLIENTS)
			return 0;
		if (clock_now_us() > end)
			return -1;
		chaos_wait(5);
	}
}

void
traffic_counts(struct tr_counts *c)
{
	int i, o;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < TR_CLIENTS; i++) {
		const struct tr_slot *s = &tr->slot[i];

		c->sent += atomic_load(&s->sent);
		c->connects += atomic_load(&s->connects);
		c->connect_err += atomic_load(&s->connect_err);
		for (o = 0; o < OUT_N; o++)
			c->out[o] += atomic_load(&s->out[o]);
		if (atomic_load(&s->max_us) > c->max_us)
			c->max_us = atomic_load(&s->max_us);
		c->nslow += atomic_load(&s->nslow);
	}
}

int
traffic_clients(void)
{
	return TR_CLIENTS;
}

const struct tr_slot *
traffic_slot(int i)
{
	return &tr->slot[i];
}

uint64_t
traffic_sse_events(void)
{
	return atomic_load(&tr->sse_events);
}

void
traffic_sse_gap_reset(void)
{
	atomic_store(&tr->sse_last_us, 0);
	atomic_store(&tr->sse_max_gap_us, 0);
}

uint64_t
traffic_sse_max_gap_us(void)
{
	return atomic_load(&tr->sse_max_gap_us);
}

uint64_t
traffic_sse_connects(void)
{
	return atomic_load(&tr->sse_connects);
}

int
traffic_alive(void)
{
	int i;

	for (i = 0; i < tr_nkids; i++)
		if (waitpid(tr_kids[i], NULL, WNOHANG) != 0)
			return 0;
	return 1;
}

int
traffic_stop(void)
{
	uint64_t end = clock_now_us() + 20000000;
	int i, status, bad = 0;
	pid_t r;

	atomic_store(&tr->stop, 1);
	for (i = 0; i < tr_nkids; i++) {
		while ((r = waitpid(tr_kids[i], &status, WNOHANG)) == 0 &&
		       clock_now_us() < end)
			tr_sleep_us(5000);
		if (r == 0) {
			kill(tr_kids[i], SIGKILL);
			waitpid(tr_kids[i], &status, 0);
			bad++;
		} else if (r == -1 || !WIFEXITED(status) ||
		           WEXITSTATUS(status) != 0)
			bad++;
	}
	tr_nkids = 0;
	return bad;
}

const char *
traffic_other(void)
{
	return atomic_load(&tr->other_noted) ? tr->other : NULL;
}
