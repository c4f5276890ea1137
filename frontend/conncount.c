/*
 * conncount.c: the client connections open at this frontend, counted
 * across all its workers at once.
 *
 * A run's "clients" (what ab's -c was) is the most connections open at
 * once.  Each worker sees only its own, and the workers peak at different
 * moments when clients reconnect for every request (ab without -k): the
 * sum of the workers' own peaks would then overstate it (50 clients over
 * two workers: 25 ± 3.5 each at any moment, so two peaks near 35 over a
 * few thousand connections).  So the count lives in one page of memory
 * the master maps (MAP_SHARED) before it forks: every open and close is
 * an atomic add to the frontend's total, and the worker that makes an
 * open sees the exact new total.  Each worker keeps the highest total it
 * saw since its current burst began (conncount_burst, from timing.c), so
 * the frontend's peak over a run is the highest of its workers' peaks,
 * and it reports the total open now and that peak (timing.c).  mockresd
 * takes the highest peak of each frontend's workers and sums over the
 * frontends (docs/dashboard.md).
 *
 * A worker that dies leaves its connections counted: so each worker also
 * counts its own in a cell of the page that the master gives it, and when
 * the master reaps it, it takes that cell's count off the total.  A worker
 * that shares a slot with its successor during a reload has its own cell.
 *
 * Without the master (the fuzzer runs a worker in-process), or if the map
 * fails, the page is private: the worker counts its own connections.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "frontend.h"
#include "log.h"

/* Up to four workers per slot at once (one serving, the others draining
 * after reloads). */
#define CONNCOUNT_CELLS (4 * FRONTEND_WORKERS_MAX)

struct conncount_page {
	uint64_t frontend; /* drawn once by the master */
	atomic_uint total;
	atomic_uint cell[CONNCOUNT_CELLS];
};

static struct {
	struct conncount_page *page;
	int cell;      /* this worker's, or -1: not counted */
	unsigned peak; /* highest total seen since the burst began */
	unsigned char used[CONNCOUNT_CELLS]; /* the master's */
} cc = {.cell = -1};

static struct conncount_page *
conncount_map(void)
{
	struct conncount_page *p;

	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
	         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, sizeof(*p));
	if (getrandom(&p->frontend, sizeof(p->frontend), 0) !=
	    (ssize_t)sizeof(p->frontend))
		p->frontend = (uint64_t)(uintptr_t)p ^ (uint64_t)getpid();
	if (p->frontend == 0)
		p->frontend = 1;
	return p;
}

int
conncount_init(void)
{
	if (cc.page == NULL && (cc.page = conncount_map()) == NULL) {
		log_warn("cannot map the connection count; runs will not "
		         "say how many clients they had");
		return -1;
	}
	return 0;
}

int
conncount_take(void)
{
	int i;

	if (cc.page == NULL)
		return -1;
	for (i = 0; i < CONNCOUNT_CELLS; i++)
		if (!cc.used[i]) {
			cc.used[i] = 1;
			atomic_store(&cc.page->cell[i], 0);
			return i;
		}
	log_warnx("no connection count cell left for a new worker; its "
	          "clients are not counted");
	return -1;
}

void
conncount_give(int cell)
{
	unsigned left;

	if (cc.page == NULL || cell < 0 || cell >= CONNCOUNT_CELLS)
		return;
	/* The worker is gone: its connections closed with it. */
	left = atomic_exchange(&cc.page->cell[cell], 0);
	if (left > 0)
		atomic_fetch_sub(&cc.page->total, left);
	cc.used[cell] = 0;
}

void
conncount_worker(int cell)
{
	cc.peak = 0;
	if (cc.page == NULL) {
		/* No master's page: a private one, all ours. */
		if ((cc.page = conncount_map()) != NULL)
			cc.cell = 0;
		return;
	}
	cc.cell = cell >= 0 && cell < CONNCOUNT_CELLS ? cell : -1;
}

void
conncount_open(void)
{
	unsigned now;

	if (cc.page == NULL) /* never set up: count our own */
		conncount_worker(0);
	if (cc.cell < 0)
		return;
	atomic_fetch_add(&cc.page->cell[cc.cell], 1);
	now = atomic_fetch_add(&cc.page->total, 1) + 1;
	if (now > cc.peak)
		cc.peak = now;
}

void
conncount_close(void)
{
	if (cc.page == NULL || cc.cell < 0)
		return;
	atomic_fetch_sub(&cc.page->cell[cc.cell], 1);
	atomic_fetch_sub(&cc.page->total, 1);
}

void
conncount_burst(void)
{
	if (cc.page != NULL)
		cc.peak = atomic_load(&cc.page->total);
}

int
conncount_get(uint64_t *frontend, uint32_t *open, uint32_t *peak)
{
	unsigned now;

	if (cc.page == NULL || cc.cell < 0)
		return -1;
	now = atomic_load(&cc.page->total);
	if (now > cc.peak)
		cc.peak = now;
	*frontend = cc.page->frontend;
	*open = now;
	*peak = cc.peak;
	return 0;
}
