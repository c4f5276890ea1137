/*
 * test_mrclient.c: the client library against mockresd's own core, in one
 * process and one event base: multiplexing, loss, reconnection, caps.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "clock.h"
#include "mockresd.h"
#include "mrclient.h"
#include "support.h"

static struct event_base *base;
static struct mockresd daemon_state;
static struct evconnlistener *listener;
static char sock[256];

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
          int len, void *arg)
{
	conn_accept(fd, &fconn_unix, NULL);
}

static void
daemon_up(uint32_t limit, uint32_t hold_ms)
{
	struct listen_file file;
	char err[256];
	int fd = listen_unix(sock, &file, err, sizeof(err));

	struct model m;

	ck_assert_msg(fd != -1, "%s", err);
	model_defaults(&m, 1);
	m.hold_ms = hold_ms;
	conn_init(&daemon_state, base);
	dispatch_init(limit, &m);
	listener = evconnlistener_new(base, accept_cb, NULL,
	                              LEV_OPT_CLOSE_ON_FREE, -1, fd);
	ck_assert_ptr_nonnull(listener);
}

/* Drops every client and every use, and frees what the daemon's core
 * holds (so that leak checkers, e.g. valgrind with CK_FORK=no, see a
 * clean exit). */
static void
daemon_down(void)
{
	evconnlistener_free(listener);
	listener = NULL;
	unlink(sock);
	dispatch_free();
}

static void
setup(void)
{
	base = event_base_new();
	snprintf(sock, sizeof(sock), "%s", sup_path("mrclient.sock"));
}

static void
teardown(void)
{
	event_base_free(base);
}

struct tally {
	int replies, done, admitted, busy, lost;
};

static void
tally_cb(const Mockres__Response *resp, void *arg)
{
	struct tally *t = arg;

	t->replies++;
	if (resp == NULL)
		t->lost++;
	else if (resp->status == MOCKRES__STATUS__DONE)
		t->done++;
	else if (resp->status == MOCKRES__STATUS__ADMITTED)
		t->admitted++;
	else if (resp->status == MOCKRES__STATUS__BUSY)
		t->busy++;
}

/* One loop turn of both sides, with mockresd's end-of-turn flush. */
static void
turn(void)
{
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	if (mrd != NULL)
		conn_flush_all();
}

static void
run_until(const int *counter, int want, int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;

	while (*counter < want && clock_now_ms_frac() < end)
		turn();
}

/* The daemon core with LIMIT and HOLD_MS, and one client connected to it. */
static struct mrclient *
client_up(uint32_t limit, uint32_t hold_ms)
{
	struct mrclient *mc;

	daemon_up(limit, hold_ms);
	mc = mrclient_new(base, sock, MOCKRES__ROLE__ROLE_CTL, "test");
	ck_assert_ptr_nonnull(mc);
	ck_assert_int_eq(mrclient_start(mc), 0);
	return mc;
}

START_TEST(test_multiplexed_uses)
{
	struct mrclient *mc;
	struct tally t = {0};
	int i;

	mc = client_up(15, 100);
	for (i = 0; i < 10; i++)
		ck_assert_uint_ne(mrclient_use(mc, MOCKRES__USE_MODE__SERIAL,
		                               -1, tally_cb, &t),
		                  0);
	for (i = 0; i < 10; i++)
		ck_assert_uint_ne(mrclient_use(mc, MOCKRES__USE_MODE__ASYNC, -1,
		                               tally_cb, &t),
		                  0);
	ck_assert_uint_eq(mrclient_pending(mc), 20);
	run_until(&t.replies, 20, 5000);
	ck_assert_int_eq(t.replies, 20);
	ck_assert_int_eq(t.done, 10);
	ck_assert_int_eq(t.admitted, 5);
	ck_assert_int_eq(t.busy, 5);
	ck_assert_uint_eq(mrclient_pending(mc), 0);
	ck_assert_uint_eq(mrd->engine.admitted, 15);
	ck_assert_uint_eq(mrd->engine.rejected, 5);
	mrclient_free(mc);
	daemon_down();
}
END_TEST

static int states_up, states_down;

static void
state_cb(struct mrclient *mc, int up, int error, void *arg)
{
	if (up)
		states_up++;
	else
		states_down++;
}

START_TEST(test_loss_and_reconnect)
{
	struct mrclient *mc;
	struct tally t = {0};

	states_up = states_down = 0;
	daemon_up(0, 5000);
	mc = mrclient_new(base, sock, MOCKRES__ROLE__ROLE_CTL, "test");
	mrclient_set_reconnect(mc, 1);
	mrclient_set_state_cb(mc, state_cb, NULL);
	ck_assert_int_eq(mrclient_start(mc), 0);
	mrclient_use(mc, MOCKRES__USE_MODE__SERIAL, -1, tally_cb, &t);
	mrclient_use(mc, MOCKRES__USE_MODE__SERIAL, -1, tally_cb, &t);
	/* let the daemon read them, then drop every client */
	turn();
	turn();
	daemon_down();
	run_until(&t.lost, 2, 5000);
	ck_assert_int_eq(t.lost, 2);
	ck_assert(!mrclient_connected(mc));
	/* sending while down fails at once */
	errno = 0;
	ck_assert_uint_eq(
	    mrclient_use(mc, MOCKRES__USE_MODE__ASYNC, -1, tally_cb, &t), 0);
	ck_assert_int_eq(errno, ENOTCONN);
	/* the daemon comes back: the client reconnects by itself */
	daemon_up(0, 10);
	run_until(&states_up, 2, 5000);
	ck_assert(mrclient_connected(mc));
	mrclient_use(mc, MOCKRES__USE_MODE__SERIAL, -1, tally_cb, &t);
	run_until(&t.done, 1, 5000);
	ck_assert_int_eq(t.done, 1);
	mrclient_free(mc);
	daemon_down();
}
END_TEST

START_TEST(test_unreachable)
{
	struct mrclient *mc;

	mc = mrclient_new(base, sup_path("nothing.sock"),
	                  MOCKRES__ROLE__ROLE_CTL, "test");
	ck_assert_int_eq(mrclient_start(mc), -1);
	ck_assert_int_eq(errno, ENOENT);
	mrclient_free(mc);
}
END_TEST

/* Cancelled requests never call back; their replies are dropped. */
START_TEST(test_cancel)
{
	struct mrclient *mc;
	struct tally t = {0}, t2 = {0};
	uint64_t id;

	mc = client_up(0, 10);
	id = mrclient_use(mc, MOCKRES__USE_MODE__SERIAL, -1, tally_cb, &t);
	mrclient_cancel(mc, id);
	mrclient_use(mc, MOCKRES__USE_MODE__SERIAL, 50, tally_cb, &t2);
	run_until(&t2.done, 1, 5000);
	ck_assert_int_eq(t2.done, 1);
	ck_assert_int_eq(t.replies, 0);
	mrclient_free(mc);
	daemon_down();
}
END_TEST

/* A watch: a push at once and then every interval, with the client list
 * when asked, on one id, until cancelled. */
struct pushes {
	int n, with_clients;
};

static void
push_cb(const Mockres__Response *resp, void *arg)
{
	struct pushes *p = arg;

	if (resp == NULL || resp->status != MOCKRES__STATUS__OK ||
	    resp->stats == NULL)
		return;
	p->n++;
	if (resp->stats->n_clients > 0)
		p->with_clients++;
}

START_TEST(test_watch)
{
	struct mrclient *mc;
	struct pushes p = {0}, q = {0};
	uint64_t id;

	mc = client_up(0, 10);
	id = mrclient_watch(mc, 10, 1, push_cb, &p);
	ck_assert_uint_ne(id, 0);
	run_until(&p.n, 3, 5000);
	ck_assert_int_ge(p.n, 3);
	ck_assert_int_eq(p.with_clients, p.n);
	ck_assert_uint_eq(mrclient_pending(mc), 1); /* one persistent slot */
	mrclient_cancel(mc, id);
	/* a new watch replaces it on the daemon's side: no client list */
	ck_assert_uint_ne(mrclient_watch(mc, 10, 0, push_cb, &q), 0);
	run_until(&q.n, 2, 5000);
	ck_assert_int_ge(q.n, 2);
	ck_assert_int_eq(q.with_clients, 0);
	mrclient_free(mc);
	daemon_down();
}
END_TEST

/* The pending table is capped: past it, sends fail at once. */
START_TEST(test_pending_cap)
{
	struct mrclient *mc;
	struct tally t = {0};
	int i;

	mc = client_up(0, 60000);
	for (i = 0; i < MRCLIENT_PENDING_MAX - 1; i++) {
		ck_assert_uint_ne(mrclient_use(mc, MOCKRES__USE_MODE__SERIAL,
		                               -1, tally_cb, &t),
		                  0);
		if (i % 4096 == 0) /* let the bytes flow */
			turn();
	}
	errno = 0;
	while (mrclient_use(mc, MOCKRES__USE_MODE__SERIAL, -1, tally_cb, &t) !=
	       0)
		ck_assert_uint_le(mrclient_pending(mc), MRCLIENT_PENDING_MAX);
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert_uint_eq(mrclient_pending(mc), MRCLIENT_PENDING_MAX);
	mrclient_free(mc);
	daemon_down();
}
END_TEST

SUP_MAIN("mrclient", setup, teardown, 30, test_multiplexed_uses,
         test_loss_and_reconnect, test_unreachable, test_cancel, test_watch,
         test_pending_cap)
