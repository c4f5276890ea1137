/*
 * load.c: the fault tests' load generator (see load.h).
 *
 * Each client is a forked process with one blocking socket, so that a
 * stuck or killed server cannot stall the others; outcomes go to a
 * MAP_SHARED block with atomic counters.
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

#include "clock.h"
#include "load.h"
#include "support.h"

#define LOAD_BUF 8192

enum load_read { LR_OK, LR_NOTHING, LR_CUT, LR_TIMEOUT };

static void
load_sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static void
load_atomic_max(atomic_uint_fast64_t *a, uint64_t v)
{
	uint_fast64_t cur = atomic_load(a);

	while (v > cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

static void
load_atomic_min(atomic_uint_fast64_t *a, uint64_t v)
{
	uint_fast64_t cur = atomic_load(a);

	while (v < cur && !atomic_compare_exchange_weak(a, &cur, v))
		;
}

/*
 * Reads one response.  *STATUS gets its code and *CLOSE whether the
 * server ends the connection after it.
 */
static enum load_read
load_read_resp(int fd, uint64_t deadline_us, int *status, int *close_after)
{
	char buf[LOAD_BUF + 1];
	size_t got = 0, hlen = 0, clen = 0, vlen;
	const char *hend = NULL, *v;
	struct pollfd pfd = {fd, POLLIN, 0};
	int have_clen = 0, minor = 1;
	ssize_t n;

	for (;;) {
		uint64_t now = clock_now_us();

		if (hend != NULL && have_clen && got >= hlen + clen)
			return LR_OK;
		if (now >= deadline_us)
			return LR_TIMEOUT;
		if (poll(&pfd, 1, (int)((deadline_us - now) / 1000) + 1) <= 0)
			continue;
		if (got == LOAD_BUF)
			return LR_CUT; /* far larger than any answer here */
		n = read(fd, buf + got, LOAD_BUF - got);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (got == 0)
				return LR_NOTHING;
			/* No Content-Length and a close: the body ends here. */
			if (hend != NULL && !have_clen)
				return LR_OK;
			return LR_CUT;
		}
		got += (size_t)n;
		buf[got] = '\0';
		if (hend != NULL)
			continue;
		if ((hend = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		hlen = (size_t)(hend - buf) + 4;
		if (sscanf(buf, "HTTP/1.%d %d", &minor, status) != 2)
			return LR_CUT;
		*close_after = minor == 0;
		if ((v = sup_header_in(buf, hend, "Connection", &vlen)) !=
		    NULL) {
			if (vlen == 5 && strncasecmp(v, "close", 5) == 0)
				*close_after = 1;
			else if (vlen == 10 &&
			         strncasecmp(v, "keep-alive", 10) == 0)
				*close_after = 0;
		}
		if ((v = sup_header_in(buf, hend, "Content-Length", &vlen)) !=
		    NULL) {
			clen = strtoul(v, NULL, 10);
			have_clen = 1;
		} else
			*close_after = 1;
	}
}

static enum load_status
load_status_of(int code)
{
	switch (code) {
	case 200:
		return LOAD_200;
	case 500:
		return LOAD_500;
	case 503:
		return LOAD_503;
	default:
		return LOAD_OTHER;
	}
}

static void
load_answer(struct load_phase *ph, int code, uint64_t t0, uint64_t t1)
{
	enum load_status s = load_status_of(code);
	uint64_t ms = (t1 - t0) / 1000;

	atomic_fetch_add(&ph->hist[s][ms > LOAD_HIST_MS ? LOAD_HIST_MS : ms],
	                 1);
	load_atomic_max(&ph->max_us[s], t1 - t0);
	load_atomic_min(&ph->first_us[s], t1);
	load_atomic_max(&ph->last_us[s], t1);
	/* Last, so that a waiter that sees the count sees the rest. */
	atomic_fetch_add(&ph->status[s], 1);
}

static void __attribute__((noreturn)) load_client(struct load *ld)
{
	struct load_shared *sh = ld->sh;
	const struct load_opts *o = &ld->o;
	char req[512];
	int fd = -1, reused = 0, cphase = 0, rl;
	int timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	rl = snprintf(req, sizeof(req),
	              "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	              "User-Agent: mockres-fault-load\r\n\r\n",
	              o->path);
	while (!atomic_load(&sh->stop)) {
		struct load_phase *ph, *cph;
		enum load_read r;
		uint64_t t0;
		int p, status = 0, close_after = 0;

		if (fd == -1) {
			cphase = atomic_load(&sh->phase);
			if ((fd = sup_tcp_connect(o->port)) == -1) {
				atomic_fetch_add(&sh->ph[cphase].connect_err,
				                 1);
				if (o->one_conn)
					break;
				load_sleep_us(5000);
				continue;
			}
			atomic_fetch_add(&sh->ph[cphase].conns, 1);
			reused = 0;
		}
		if (o->max_sent != 0 &&
		    atomic_fetch_add(&sh->total_sent, 1) >= o->max_sent)
			break;
		p = atomic_load(&sh->phase);
		ph = &sh->ph[p];
		cph = &sh->ph[cphase];
		atomic_fetch_add(&ph->sent, 1);
		t0 = clock_now_us();
		if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl)
			r = reused ? LR_NOTHING : LR_CUT;
		else
			r = load_read_resp(fd, t0 + (uint64_t)timeout_ms * 1000,
			                   &status, &close_after);
		switch (r) {
		case LR_OK:
			load_answer(ph, status, t0, clock_now_us());
			reused = 1;
			break;
		case LR_NOTHING:
			atomic_fetch_add(&cph->conn_fail, 1);
			atomic_fetch_add(
			    reused ? &ph->reuse_lost : &ph->dropped, 1);
			close_after = 1;
			break;
		case LR_CUT:
			atomic_fetch_add(&cph->conn_fail, 1);
			atomic_fetch_add(&ph->dropped, 1);
			close_after = 1;
			break;
		case LR_TIMEOUT:
			atomic_fetch_add(&cph->conn_fail, 1);
			atomic_fetch_add(&ph->hung, 1);
			close_after = 1;
			break;
		}
		if (close_after) {
			close(fd);
			fd = -1;
			if (o->one_conn)
				break;
		}
		if (o->pace_us > 0)
			load_sleep_us(o->pace_us);
	}
	if (fd != -1)
		close(fd);
	atomic_fetch_sub(&sh->running, 1);
	_exit(0);
}

struct load *
load_start(const struct load_opts *o)
{
	struct load *ld;
	int i, p, s;
	pid_t pid;

	if (o->clients < 1 || o->clients > LOAD_CLIENTS_MAX || o->port <= 0 ||
	    o->path == NULL || strlen(o->path) > 256)
		return NULL;
	if ((ld = calloc(1, sizeof(*ld))) == NULL)
		return NULL;
	ld->o = *o;
	ld->sh = mmap(NULL, sizeof(*ld->sh), PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ld->sh == MAP_FAILED) {
		free(ld);
		return NULL;
	}
	memset(ld->sh, 0, sizeof(*ld->sh));
	for (p = 0; p < LOAD_PHASES; p++)
		for (s = 0; s < LOAD_NSTATUS; s++)
			atomic_store(&ld->sh->ph[p].first_us[s], UINT64_MAX);
	atomic_store(&ld->sh->running, o->clients);
	ld->t0_ms = (double)clock_now_us() / 1000.0;
	fflush(NULL);
	for (i = 0; i < o->clients; i++) {
		if ((pid = fork()) == -1) {
			atomic_fetch_sub(&ld->sh->running, o->clients - i);
			load_stop(ld);
			load_free(ld);
			return NULL;
		}
		if (pid == 0)
			load_client(ld);
		ld->kids[ld->nkids++] = pid;
	}
	return ld;
}

void
load_set_phase(struct load *ld, int p)
{
	if (p >= 0 && p < LOAD_PHASES)
		atomic_store(&ld->sh->phase, p);
}

uint64_t
load_answered(const struct load *ld, int p)
{
	uint64_t n = 0;
	int i, s;

	for (i = 0; i < LOAD_PHASES; i++) {
		const struct load_phase *ph = &ld->sh->ph[i];

		if (p >= 0 && i != p)
			continue;
		for (s = 0; s < LOAD_NSTATUS; s++)
			n += atomic_load(&ph->status[s]);
		n += atomic_load(&ph->reuse_lost) + atomic_load(&ph->dropped) +
		     atomic_load(&ph->hung);
	}
	return n;
}

static uint64_t
load_sent(const struct load *ld, int p)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < LOAD_PHASES; i++)
		if (p < 0 || i == p)
			n += atomic_load(&ld->sh->ph[i].sent);
	return n;
}

int
load_wait_phase(struct load *ld, int p, int timeout_ms)
{
	uint64_t end = clock_now_us() + (uint64_t)timeout_ms * 1000;

	while (load_answered(ld, p) < load_sent(ld, p)) {
		if (clock_now_us() > end)
			return -1;
		load_sleep_us(1000);
	}
	return 0;
}

int
load_wait_sent(struct load *ld, uint64_t total, int timeout_ms)
{
	uint64_t end = clock_now_us() + (uint64_t)timeout_ms * 1000;

	while (load_sent(ld, -1) < total) {
		if (clock_now_us() > end || atomic_load(&ld->sh->running) == 0)
			return -1;
		load_sleep_us(1000);
	}
	return 0;
}

int
load_stop(struct load *ld)
{
	int timeout_ms = ld->o.timeout_ms > 0 ? ld->o.timeout_ms : 10000;
	uint64_t end = clock_now_us() + (uint64_t)(timeout_ms + 5000) * 1000;
	int i, status, bad = 0;
	pid_t r;

	atomic_store(&ld->sh->stop, 1);
	for (i = 0; i < ld->nkids; i++) {
		while ((r = waitpid(ld->kids[i], &status, WNOHANG)) == 0 &&
		       clock_now_us() < end)
			load_sleep_us(2000);
		if (r == 0) {
			kill(ld->kids[i], SIGKILL);
			waitpid(ld->kids[i], &status, 0);
			bad = 1;
		} else if (r == -1 || !WIFEXITED(status) ||
		           WEXITSTATUS(status) != 0)
			bad = 1;
	}
	ld->nkids = 0;
	return bad ? -1 : 0;
}

void
load_free(struct load *ld)
{
	if (ld == NULL)
		return;
	if (ld->nkids > 0)
		load_stop(ld);
	munmap(ld->sh, sizeof(*ld->sh));
	free(ld);
}

uint64_t
load_sum_status(const struct load *ld, int p, enum load_status s)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < LOAD_PHASES; i++)
		if (p < 0 || i == p)
			n += atomic_load(&ld->sh->ph[i].status[s]);
	return n;
}

uint64_t
load_sum_failed(const struct load *ld, int p)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < LOAD_PHASES; i++) {
		const struct load_phase *ph = &ld->sh->ph[i];

		if (p < 0 || i == p)
			n += atomic_load(&ph->reuse_lost) +
			     atomic_load(&ph->dropped) + atomic_load(&ph->hung);
	}
	return n;
}

double
load_quantile_ms(const struct load *ld, int p, enum load_status s, double q)
{
	const struct load_phase *ph = &ld->sh->ph[p];
	uint64_t total = atomic_load(&ph->status[s]), want, acc = 0;
	int i;

	if (total == 0)
		return -1;
	want = (uint64_t)(q * (double)total);
	if (want < 1)
		want = 1;
	for (i = 0; i <= LOAD_HIST_MS; i++) {
		acc += atomic_load(&ph->hist[s][i]);
		if (acc >= want)
			return i < LOAD_HIST_MS ? i + 1 : load_max_ms(ld, p, s);
	}
	return load_max_ms(ld, p, s);
}

double
load_max_ms(const struct load *ld, int p, enum load_status s)
{
	const struct load_phase *ph = &ld->sh->ph[p];

	if (atomic_load(&ph->status[s]) == 0)
		return -1;
	return (double)atomic_load(&ph->max_us[s]) / 1000.0;
}

void
load_print(const struct load *ld, const char *title, FILE *f)
{
	static const char *names[LOAD_NSTATUS] = {"200", "500", "503", "other"};
	int p, s;

	for (p = 0; p < LOAD_PHASES; p++) {
		const struct load_phase *ph = &ld->sh->ph[p];

		if (atomic_load(&ph->sent) == 0 &&
		    atomic_load(&ph->connect_err) == 0)
			continue;
		fprintf(f, "%s phase %d: sent %llu", title, p,
		        (unsigned long long)atomic_load(&ph->sent));
		for (s = 0; s < LOAD_NSTATUS; s++) {
			uint64_t n = atomic_load(&ph->status[s]);

			if (n == 0)
				continue;
			fprintf(
			    f, ", %s %llu (p50 %.0f ms, max %.1f ms)", names[s],
			    (unsigned long long)n,
			    load_quantile_ms(ld, p, (enum load_status)s, 0.5),
			    load_max_ms(ld, p, (enum load_status)s));
		}
		fprintf(f,
		        ", reuse_lost %llu, dropped %llu, hung %llu, "
		        "connect_err %llu, conns %llu\n",
		        (unsigned long long)atomic_load(&ph->reuse_lost),
		        (unsigned long long)atomic_load(&ph->dropped),
		        (unsigned long long)atomic_load(&ph->hung),
		        (unsigned long long)atomic_load(&ph->connect_err),
		        (unsigned long long)atomic_load(&ph->conns));
	}
	fflush(f);
}
