/*
 * gate.c: the TLS listeners' handshake budget.
 *
 * A TLS handshake costs mockresd ~0.3 ms of CPU (an X25519 key share and
 * an ECDSA signature, plus OpenSSL's bookkeeping), so a peer that opens
 * connections as fast as one core can send them would take mockresd's
 * whole core (1,270 handshakes/s took 71-87% of it).  Every accepted TLS
 * connection takes a token from a bucket of GATE_BURST refilled at
 * GATE_RATE a second; when the last is taken, every TLS listener is held
 * (accept_hold) and a timer releases them when the next token is due.
 * Meanwhile new connections wait in the kernel's listen backlog (and
 * their clients' own deadlines run), while the clients already connected
 * are served as usual.  A flood is an attack: new TLS clients may wait,
 * established ones must not.  HAProxy's maxsslrate does the same.
 *
 * The Unix socket is not gated: accepting on it costs no cryptography.
 */
#include "clock.h"
#include "log.h"
#include "mockresd.h"

static void
gate_hold(int held)
{
	size_t i;

	mrd->gate.held = held;
	for (i = 0; i < mrd->ntls_listeners; i++)
		(void)accept_hold(mrd->tls_listeners[i], held);
}

static void
gate_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gate *g = &mrd->gate;
	uint64_t wait = bucket_wait_us(&g->bucket, clock_now_us());
	struct timeval tv;

	if (wait > 0) { /* early: the clock's rounding */
		tv.tv_sec = (time_t)(wait / 1000000);
		tv.tv_usec = (suseconds_t)(wait % 1000000);
		evtimer_add(g->timer, &tv);
		return;
	}
	gate_hold(0);
}

void
gate_init(void)
{
	struct gate *g = &mrd->gate;

	bucket_init(&g->bucket, GATE_RATE, GATE_BURST, clock_now_us());
	if ((g->timer = evtimer_new(mrd->base, gate_timer_cb, NULL)) == NULL)
		fatalx("cannot create the TLS handshake budget's timer");
}

void
gate_pass(void)
{
	struct gate *g = &mrd->gate;
	uint64_t now = clock_now_us(), wait, held;
	struct timeval tv;

	(void)bucket_take(&g->bucket, now);
	if ((wait = bucket_wait_us(&g->bucket, now)) == 0 || g->held)
		return;
	gate_hold(1);
	g->holds++;
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	if (evtimer_add(g->timer, &tv) == -1)
		fatalx("cannot arm the TLS handshake budget's timer");
	if (ratelog_allow(&g->log, now / 1000, &held))
		log_warnx("TLS connections arrive faster than the handshake "
		          "budget (%d a second, bursts of %d): new ones wait "
		          "in the kernel's backlog, connected clients are "
		          "served as usual (budget spent %llu times in the "
		          "last %d s)",
		          GATE_RATE, GATE_BURST, (unsigned long long)held + 1,
		          RATELOG_MS / 1000);
}

void
gate_free(void)
{
	struct gate *g = &mrd->gate;

	if (g->timer != NULL)
		event_free(g->timer);
	g->timer = NULL;
	g->held = 0;
}
