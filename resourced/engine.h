/*
 * engine.h: the mock resource itself, as pure logic.
 *
 * The engine admits, queues, serves and ends uses according to a model
 * (proto/model.h), driven by an explicit clock: every call takes "now" in
 * microseconds, engine_next() says when something is due, engine_run()
 * does what is due.  No I/O, no libevent, no global state: mockresd arms
 * one timer for engine_next(), and the unit tests drive it on a simulated
 * clock and compare with closed-form results.
 *
 * A use is in the resource from its admission until it ends: first
 * waiting in the queue (when every slot is busy), then in service.
 *
 *   admitted == completed + timed_out + cancelled + in_flight + waiting
 *
 * holds at every moment (engine_check), and every use is counted once as
 * admitted or rejected.
 *
 * Costs: admission, end, timeout and cancel are O(log n) whatever the mix
 * of durations: uses in service sit in a min-heap keyed by their finish in
 * *virtual* time (the work done by one use so far), which advances at the
 * rate contention allows: 1 without contention, min(1, cores/n) for
 * processor sharing, 1/(1 + sigma(n-1) + kappa n(n-1)) for the USL.  A
 * change of n changes the rate for everyone at once without touching
 * anyone.  Waiting uses sit in a FIFO list and, when they can time out, in
 * a second heap keyed by their deadline.  Each use costs 48 bytes plus its
 * heap entries (16 bytes each).
 *
 * The common case is cheaper still: a use whose finish is not before the
 * latest finish so far (every use of a fixed hold, under any contention,
 * since virtual time only grows) goes to the tail of a FIFO instead of the
 * heap, O(1) in and out; the earliest finish is the smaller of the FIFO's
 * head and the heap's top.  Serial and async uses have a FIFO and a heap
 * each.
 *
 * Late is exact: engine_run(now) does what was due before NOW one thing
 * at a time, each at its own moment (virtual time advanced to it at the
 * rate of that moment), so that calling it late gives the state, the
 * counts, the histograms and the order of the ends that calling it on
 * time would have given; only the callbacks come late.  Every call that
 * takes NOW first does what is due (but engine_cancel_owner), so a use
 * is judged against the resource as it is at its arrival, whether or not
 * the caller's timer has fired.  Hence a caller need not wake up for an
 * end that nobody waits for (a "quiet" end: an async use, no waiter to
 * start, no serial use whose end it would move): engine_next_loud() says
 * when the next end or deadline is that someone would notice if it came
 * late.
 */
#ifndef MOCKRES_ENGINE_H
#define MOCKRES_ENGINE_H

#include <stdint.h>

#include "heap.h"
#include "hist.h"
#include "model.h"
#include "rng.h"

#define ENGINE_NONE       UINT32_MAX
#define ENGINE_CHUNK_BITS 12       /* 4096 uses per allocation */
#define ENGINE_USES_MAX   2000000u /* in service + waiting, all owners */
#define ENGINE_CHUNKS_MAX                                                      \
	((ENGINE_USES_MAX + (1u << ENGINE_CHUNK_BITS) - 1) >> ENGINE_CHUNK_BITS)

enum engine_verdict {
	ENGINE_SERVING,    /* admitted, in service now */
	ENGINE_WAITING,    /* admitted, queued for a slot */
	ENGINE_BUSY,       /* rejected: in_flight + waiting >= limit */
	ENGINE_QUEUE_FULL, /* rejected: every slot busy, queue full */
	ENGINE_FULL,       /* rejected: ENGINE_USES_MAX or out of memory */
};

enum engine_end {
	ENGINE_DONE,      /* service ended */
	ENGINE_TIMEOUT,   /* left the queue: queue timeout or CoDel drop */
	ENGINE_CANCELLED, /* left the queue: its owner left, or shutdown */
	ENGINE_CUT,       /* cut short in service: a shutdown's deadline */
};

/* Whoever owns uses (a client connection) embeds one. */
struct engine_owner {
	uint64_t in_flight, waiting;
	uint64_t admitted, rejected, completed, timed_out, cancelled;
	uint64_t uses;      /* uses that point here: keep the owner alive */
	uint32_t wait_head; /* its waiting uses */
};

/*
 * Called when a use ends, after the engine's state is consistent again:
 * the callback may call engine_cancel_owner() (say, its connection
 * closed), but not engine_use() or engine_run().  WAITED_US is the time
 * the use spent in the queue.
 */
typedef void (*engine_end_fn)(struct engine_owner *, uint64_t tag, int serial,
                              enum engine_end, uint64_t waited_us, void *arg);

struct engine_use;

struct engine_codel {
	uint64_t min_delay_us; /* the smallest wait of this interval */
	uint64_t next_us;      /* when this interval ends */
	uint64_t poll_at_us;   /* the no-progress check; 0 = off */
	uint64_t poll_sent_us; /* the queue head's arrival at the last check */
	int slow;              /* dropping waiters older than 2 x target */
	int busy;              /* waiters queued since the queue last drained */
};

struct engine {
	struct model model;
	uint32_t limit; /* 0 = none */
	struct rng rng;
	engine_end_fn end;
	void *end_arg;

	uint64_t in_flight, waiting, peak, peak_waiting;
	uint64_t admitted, rejected, completed, timed_out, cancelled;
	struct hist wait;    /* every admitted use's queue wait */
	struct hist service; /* every completed use's time in service */

	struct engine_use *chunks[ENGINE_CHUNKS_MAX];
	uint32_t nchunks;
	uint32_t free_head;
	uint64_t uses; /* allocated: in_flight + waiting */

	uint32_t q_head, q_tail; /* the queue, oldest first */
	/* The uses in service, async ones in [0], serial ones in [1]: the
	 * earliest serial end is known alone (engine_next_loud). */
	struct engine_serving {
		struct heap heap;    /* by virtual finish, out of order ones */
		struct engine_fifo { /* in order ones: finish >= the tail's */
			struct heap_entry *a;
			uint32_t head, n, cap;
		} fifo;
	} serving[2];
	struct heap timeouts; /* waiting uses, by deadline (µs) */
	int sooner;  /* engine_next() or engine_next_loud() may have moved
	                earlier */
	double vnow; /* virtual time at vlast_us */
	uint64_t vlast_us;
	struct engine_codel codel;
};

void engine_owner_init(struct engine_owner *);

void engine_init(struct engine *, const struct model *, uint32_t limit,
                 engine_end_fn, void *arg, uint64_t now_us);
void engine_free(struct engine *);

/*
 * A use arrives.  HOLD_MS >= 0 is its own service time (mockresd allows
 * that to admins only), else one is drawn from the model.  A SERIAL use
 * is ended through the callback (DONE, TIMEOUT or CANCELLED); an async
 * one too, its owner simply does not answer again.  What was due before
 * NOW is done first (engine_run), callbacks included.
 */
enum engine_verdict engine_use(struct engine *, uint64_t now_us,
                               struct engine_owner *, uint64_t tag, int serial,
                               int64_t hold_ms);

/* Does everything due at or before NOW: ends, queue timeouts, CoDel,
 * each at its own moment, in the order they were due. */
void engine_run(struct engine *, uint64_t now_us);
/* When the next thing is due, or UINT64_MAX if nothing is pending. */
uint64_t engine_next(const struct engine *);
/*
 * When the next thing is due that someone could tell was late: a serial
 * use's end (its DONE), a queue timeout, CoDel's check, any end while
 * uses wait (it starts one), and under contention any end while a serial
 * use is in service (it moves that one's end).  UINT64_MAX if only quiet
 * ends are pending: async uses whose end changes nothing but the counts,
 * which every call that takes NOW brings up to date first.  A caller that
 * reads the counts calls engine_run(now) before.
 */
uint64_t engine_next_loud(const struct engine *);
/*
 * Whether engine_next() or engine_next_loud() may have become earlier
 * since the last call (and forgets it): false after a use that ends after
 * the latest one so far, the common case, so that a caller can skip
 * re-arming its timer.
 */
int engine_take_sooner(struct engine *);

/* Changes the model from NOW on (see docs/design.md for what changes for
 * uses already in the resource), after doing what was due before NOW
 * under the old one; RESEED restarts the draws from the model's seed. */
void engine_set_model(struct engine *, uint64_t now_us, const struct model *,
                      int reseed);
/* These three take no NOW: call engine_run(now) first, so that what
 * was due before counts under the old setting. */
void engine_set_limit(struct engine *, uint32_t limit);
/* The peaks start again from the current counts. */
void engine_reset_peak(struct engine *);
/* The wait and service histograms start afresh (a new experiment). */
void engine_reset_percentiles(struct engine *);

/* The owner's waiting uses leave the queue (CANCELLED); its uses in
 * service run on.  The one call that does not first do what is due: the
 * ends' callbacks could free the owner (it is called from one). */
void engine_cancel_owner(struct engine *, uint64_t now_us,
                         struct engine_owner *);
/* Every waiting use leaves the queue (CANCELLED): for shutdown. */
void engine_cancel_waiting(struct engine *, uint64_t now_us);

/* Every use in service ends unfinished (ENGINE_CUT, counted as
 * cancelled): for a shutdown whose drain deadline has passed; those that
 * were due to end by NOW end DONE first.  Waiting uses are not served:
 * cancel them first. */
void engine_cut_serving(struct engine *, uint64_t now_us);
/* The service time a use would be given (draws from the model). */
uint64_t engine_draw_us(struct engine *);
/* The current rate of progress of each use in service (1 = full speed). */
double engine_rate(const struct engine *);

/* 0 if every invariant holds (O(n): for tests). */
int engine_check(const struct engine *);

#endif
