/*
 * predict.c: what the formula of a run's model predicts, the formulas of
 * docs/lab.md, for the run's measured client count N and request count n;
 * or why no closed form applies.  Pure: no clock, no state.
 *
 * Serial (/part1/serial): a closed loop, each client sending its next
 * request when the last is answered.  With S the mean service time, n_s =
 * min(N, slots) uses in service and r(n_s) the rate each progresses at
 * (1; cpu: min(1, k/n_s); usl: 1 / (1 + sigma (n_s - 1) + kappa n_s (n_s
 * - 1))), a use takes S / r in service, so
 *     X = n_s r / S (throughput),  R = N / X (Little's law),
 * which is R = S unlimited, X = c/S and R = N S / c with c slots, X = k/S
 * with k cores (processor sharing), R = S (1 + sigma (N-1) + kappa N
 * (N-1)) under the USL.  The run takes n / X, or S + (n - 1) / X when the
 * history shows ab's lone first request (one use alone for its whole
 * first hold: ab opens its other connections only once it is answered).
 * With a queue timeout T below the wait R - S (fixed holds, no
 * contention): the slots still serve c/S, the clients past c (S + T) / S
 * time out, (N - c (S + T)/S) / T a second, each after T.
 *
 * Async (/part1/async): the clients do not wait for the hold, so the run
 * goes at the machine's speed (no formula for its time), and if it is
 * shorter than one hold every admitted use is in the resource at once:
 * peak in flight min(n, limit, slots), the rest refused.
 *
 * No closed form: the setup changed during the run; CoDel (it sheds
 * waiters by their age); hard mode below N on the serial route (the
 * refused clients retry at the machine's speed); random holds with a
 * queue or contention; a lognormal tail's p99 (said in the formula).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

static void
predict_none(struct prediction *p, const char *why)
{
	p->ok = 0;
	snprintf(p->why, sizeof(p->why), "%s", why);
}

/* The rate each of N uses in service progresses at. */
static double
predict_rate(const struct model *m, double n)
{
	if (n < 1)
		n = 1;
	switch (m->contention) {
	case MODEL_CONTENTION_CPU:
		return n > m->cores ? (double)m->cores / n : 1.0;
	case MODEL_CONTENTION_USL:
		return 1.0 / (1.0 + m->usl_sigma * (n - 1) +
		              m->usl_kappa * n * (n - 1));
	default:
		return 1.0;
	}
}

/* "2.5 s", "500 ms", "98.4/s": short figures for the formula line. */
static void
predict_ms(char *buf, size_t len, double ms)
{
	if (ms >= 10000)
		snprintf(buf, len, "%.1f s", ms / 1000.0);
	else if (ms >= 100)
		snprintf(buf, len, "%.0f ms", ms);
	else
		snprintf(buf, len, "%.1f ms", ms);
}

static void
predict_async(const struct predict_in *in, struct prediction *p)
{
	const struct model *m = in->model;
	double n = (double)in->requests, room = n, inflight;

	if (in->limit > 0 && (double)in->limit < room)
		room = in->limit;
	if (m->slots > 0 && (double)m->slots + (double)m->queue < room)
		room = (double)m->slots + (double)m->queue;
	inflight = m->slots > 0 && (double)m->slots < room ? m->slots : room;
	p->ok = 1;
	p->peak_in_flight = inflight;
	p->peak_waiting = room - inflight;
	p->failed = n - room;
	snprintf(p->formula, sizeof(p->formula),
	         "async: no client waits for the %u ms hold, so a run shorter "
	         "than it has every admitted use in at once: peak in flight "
	         "= min(n, limit, slots) = %.0f; time: the machine's speed",
	         m->hold_ms, inflight);
}

/* Slots with a queue timeout below the wait: fixed holds, no contention. */
static void
predict_timeouts(const struct predict_in *in, struct prediction *p, double s_ms)
{
	const struct model *m = in->model;
	double N = (double)in->clients, n = (double)in->requests;
	double c = m->slots, t = m->queue_timeout_ms;
	double x_ok = c / s_ms, x_to = (N - c * (s_ms + t) / s_ms) / t, x;

	if (x_to < 0)
		x_to = 0;
	x = x_ok + x_to; /* answers per ms */
	p->ok = 1;
	p->duration_ms = n / x + (in->lone_first ? s_ms - 1 / x : 0);
	p->req_per_s = n * 1000.0 / p->duration_ms;
	p->mean_ms = N / x;
	p->peak_in_flight = c;
	p->peak_waiting = N - c;
	p->failed = n * x_to / x;
	snprintf(p->formula, sizeof(p->formula),
	         "%u slots, wait N S/c - S = %.0f ms > timeout %u ms: X = c/S "
	         "= %.1f/s served, (N - c(S+T)/S)/T = %.1f/s time out after "
	         "T%s",
	         m->slots, N * s_ms / c - s_ms, m->queue_timeout_ms,
	         x_ok * 1000, x_to * 1000,
	         in->lone_first ? "; + S for ab's lone first request" : "");
}

static void
predict_serial(const struct predict_in *in, struct prediction *p)
{
	const struct model *m = in->model;
	double N = (double)in->clients, n = (double)in->requests;
	double s_ms = m->hold_ms, ns, r, x, wait;
	char a[32], b[32], part[160];
	const char *lone;

	if (m->queue_discipline == MODEL_QUEUE_CODEL && m->slots > 0 &&
	    N > m->slots) {
		snprintf(p->why, sizeof(p->why),
		         "CoDel sheds waiters by how long they waited: no "
		         "closed form for how many; goodput at most c/S = "
		         "%.1f/s",
		         m->hold_ms ? m->slots * 1000.0 / m->hold_ms : 0.0);
		return;
	}
	if (m->hold_ms == 0) {
		predict_none(p, "a hold of 0 ms: the run's time is the "
		                "machine's, not the model's");
		return;
	}
	if (in->limit > 0 && in->limit < N) {
		snprintf(
		    p->why, sizeof(p->why),
		    "hard mode: %.0f of the %.0f clients are refused at once "
		    "and retry at the machine's speed; only the 2xx rate "
		    "has a formula, limit/S = %.1f/s",
		    N - in->limit, N,
		    in->limit * 1000.0 * predict_rate(m, in->limit) / s_ms);
		return;
	}
	if (m->slots > 0 && N - m->slots > m->queue) {
		predict_none(p, "more clients than slots and queue: the "
		                "refused ones retry at the machine's speed");
		return;
	}
	ns = m->slots > 0 && m->slots < N ? m->slots : N;
	if (m->hold_dist != MODEL_DIST_FIXED &&
	    ((m->slots > 0 && N > m->slots) ||
	     m->contention != MODEL_CONTENTION_NONE)) {
		predict_none(p, "random holds with a queue or contention: no "
		                "closed form here");
		return;
	}
	if (m->hold_dist == MODEL_DIST_LOGNORMAL)
		s_ms = m->hold_ms * exp(m->hold_sigma * m->hold_sigma / 2);
	r = predict_rate(m, ns);
	x = ns * r / s_ms;       /* per ms */
	wait = N / x - s_ms / r; /* in the queue */
	if (m->slots > 0 && m->queue_timeout_ms > 0 &&
	    wait > m->queue_timeout_ms) {
		if (m->hold_dist != MODEL_DIST_FIXED ||
		    m->contention != MODEL_CONTENTION_NONE) {
			predict_none(p, "queue timeouts with random holds or "
			                "contention: no closed form here");
			return;
		}
		predict_timeouts(in, p, s_ms);
		return;
	}
	p->ok = 1;
	p->duration_ms = in->lone_first ? s_ms + (n - 1) / x : n / x;
	p->req_per_s = n * 1000.0 / p->duration_ms;
	p->mean_ms = N / x;
	p->peak_in_flight = ns;
	p->peak_waiting = N - ns;
	p->failed = 0;

	predict_ms(a, sizeof(a), p->mean_ms);
	if (m->contention == MODEL_CONTENTION_CPU)
		snprintf(part, sizeof(part),
		         "processor sharing, k = %u cores: X = min(N,k)/S = "
		         "%.1f/s, R = N/X = %s",
		         m->cores, x * 1000, a);
	else if (m->contention == MODEL_CONTENTION_USL)
		snprintf(
		    part, sizeof(part),
		    "USL: R = S(1 + %.2g(N-1) + %.2g N(N-1)) = %s, X = N/R "
		    "= %.1f/s",
		    m->usl_sigma, m->usl_kappa, a, x * 1000);
	else if (m->slots > 0 && N > m->slots)
		snprintf(part, sizeof(part),
		         "%u slots: X = c/S = %.1f/s, R = N S/c = %s", m->slots,
		         x * 1000, a);
	else if (m->hold_dist == MODEL_DIST_LOGNORMAL) {
		predict_ms(b, sizeof(b), s_ms);
		snprintf(part, sizeof(part),
		         "lognormal: mean S = m e^(s^2/2) = %s, X = N/S = "
		         "%.1f/s (its p99: no closed form for the tail of n "
		         "draws)",
		         b, x * 1000);
	} else
		snprintf(part, sizeof(part), "R = S = %s, X = N/S = %.1f/s", a,
		         x * 1000);
	predict_ms(b, sizeof(b), p->duration_ms);
	lone = in->lone_first ? "S + (n-1)/X" : "n/X";
	snprintf(p->formula, sizeof(p->formula), "closed loop, %s; T = %s = %s",
	         part, lone, b);
}

void
predict_run(const struct predict_in *in, struct prediction *p)
{
	memset(p, 0, sizeof(*p));
	p->duration_ms = p->req_per_s = p->mean_ms = -1;
	p->peak_in_flight = p->peak_waiting = p->failed = -1;
	if (in->model == NULL) {
		predict_none(p, "the model is not known");
		return;
	}
	if (in->changed) {
		predict_none(p, "the setup changed during the run: no one "
		                "formula covers both");
		return;
	}
	if (in->routes != 1 || in->route == HTTPSTATS_OTHER) {
		predict_none(p, in->routes > 1 ? "requests on both routes at "
		                                 "once: no closed form here"
		                               : "no requests to /part1/serial "
		                                 "or /part1/async");
		return;
	}
	if (in->requests == 0) {
		predict_none(p, "no requests");
		return;
	}
	if (in->route == HTTPSTATS_ASYNC) {
		predict_async(in, p);
		return;
	}
	if (in->clients == 0) {
		predict_none(p, "no client count (the frontends did not "
		                "report their connections)");
		return;
	}
	predict_serial(in, p);
}
