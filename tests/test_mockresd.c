/*
 * test_mockresd.c: the real mockresd on a temporary socket, driven with
 * raw frames: admission at the limit, accounting, bad input, shutdown.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "rawclient.h"
#include "support.h"

static const char *sock;
static pid_t daemon_pid;

static void
start_daemon(const char *limit, const char *hold)
{
	const char *extra[] = {"--limit", limit, "--hold-ms", hold, NULL};

	daemon_pid = sup_mockresd("mockresd.sock", extra, &sock);
}

static void
stop_daemon(void)
{
	sup_stop_ok(daemon_pid, "mockresd", 10000);
}

/* Waits until in_flight is 0; returns the final stats. */
static struct sup_stats
settle(int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;
	struct sup_stats s;

	for (;;) {
		ck_assert_int_eq(sup_stats(sock, &s), 0);
		if (s.in_flight == 0 || clock_now_ms_frac() > end)
			return s;
		sup_sleep_ms(50);
	}
}

static int
collect(int fd, int n, int *admitted, int *busy, int *other)
{
	Mockres__Response *r;
	int i, eof;

	*admitted = *busy = *other = 0;
	for (i = 0; i < n; i++) {
		if ((r = raw_recv(fd, 10000, &eof)) == NULL)
			return -1;
		if (r->status == MOCKRES__STATUS__ADMITTED ||
		    r->status == MOCKRES__STATUS__DONE)
			(*admitted)++;
		else if (r->status == MOCKRES__STATUS__BUSY)
			(*busy)++;
		else
			(*other)++;
		mockres__response__free_unpacked(r, NULL);
	}
	return 0;
}

/* 20 uses at once at limit 15: exactly 15 admitted, 5 busy. */
START_TEST(test_limit_15_of_20)
{
	int fds[20], i, a, b, o, admitted = 0, busy = 0;
	struct sup_stats s;

	start_daemon("15", "1000");
	for (i = 0; i < 20; i++) {
		fds[i] = raw_connect(sock);
		ck_assert_int_ge(fds[i], 0);
	}
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(raw_send_use(fds[i], 1, 1, -1), 0);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(collect(fds[i], 1, &a, &b, &o), 0);
		admitted += a;
		busy += b;
		ck_assert_int_eq(o, 0);
	}
	ck_assert_int_eq(admitted, 15);
	ck_assert_int_eq(busy, 5);
	ck_assert_int_eq(sup_stats(sock, &s), 0);
	ck_assert_uint_eq(s.in_flight, 15);
	ck_assert_uint_eq(s.peak, 15);
	/* the counts return to 0 once the hold has passed */
	s = settle(10000);
	ck_assert_uint_eq(s.in_flight, 0);
	ck_assert_uint_eq(s.admitted, 15);
	ck_assert_uint_eq(s.completed, 15);
	ck_assert_uint_eq(s.rejected, 5);
	for (i = 0; i < 20; i++)
		close(fds[i]);
	stop_daemon();
}
END_TEST

/* A serial use is answered DONE only after the hold. */
START_TEST(test_serial_waits)
{
	Mockres__Response *r;
	double t0;
	int fd, eof;

	start_daemon("15", "300");
	fd = raw_connect(sock);
	t0 = clock_now_ms_frac();
	raw_send_use(fd, 9, 0, -1);
	r = raw_recv(fd, 10000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__DONE);
	ck_assert_uint_eq(r->id, 9);
	ck_assert_double_ge(clock_now_ms_frac() - t0, 299.0);
	mockres__response__free_unpacked(r, NULL);
	close(fd);
	stop_daemon();
}
END_TEST

/* limit 0 lifts the limit while running. */
START_TEST(test_limit_0_live)
{
	const char *args[] = {"limit", "0", NULL};
	char out[1024];
	int fd, i, a, b, o;

	start_daemon("15", "2000");
	ck_assert_int_eq(sup_ctl(sock, args, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "limit: none"));
	fd = raw_connect(sock);
	for (i = 0; i < 40; i++)
		raw_send_use(fd, (uint64_t)i + 1, 1, -1);
	ck_assert_int_eq(collect(fd, 40, &a, &b, &o), 0);
	ck_assert_int_eq(a, 40);
	ck_assert_int_eq(b, 0);
	close(fd);
	stop_daemon();
}
END_TEST

/* Each kind of bad input closes (or answers) only its own connection. */
START_TEST(test_bad_frames_isolated)
{
	const unsigned char zero[] = {0, 0, 0, 0};
	const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff};
	const unsigned char over[] = {0, 1, 0, 1};
	const unsigned char junk_id[] = {0,    0,    0,    6,    0x08,
	                                 0x07, 0x1a, 0xff, 0xff, 0xff};
	const unsigned char junk[] = {0, 0, 0, 3, 0xff, 0xff, 0xff};
	const unsigned char trunc[] = {0, 0, 0, 100, 0x08, 0x01};
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Response *r;
	int good, bad, eof, a, b, o;

	start_daemon("15", "100");
	good = raw_connect(sock);

	bad = raw_connect(sock);
	raw_send_bytes(bad, zero, sizeof(zero));
	ck_assert(raw_wait_closed(bad, 5000));
	close(bad);

	bad = raw_connect(sock);
	raw_send_bytes(bad, huge, sizeof(huge));
	ck_assert(raw_wait_closed(bad, 5000));
	close(bad);

	bad = raw_connect(sock);
	raw_send_bytes(bad, over, sizeof(over));
	ck_assert(raw_wait_closed(bad, 5000));
	close(bad);

	/* undecodable, but the id can be read: BAD_REQUEST, still open */
	bad = raw_connect(sock);
	raw_send_bytes(bad, junk_id, sizeof(junk_id));
	r = raw_recv(bad, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
	ck_assert_uint_eq(r->id, 7);
	mockres__response__free_unpacked(r, NULL);
	raw_send_use(bad, 8, 1, -1);
	ck_assert_int_eq(collect(bad, 1, &a, &b, &o), 0);
	ck_assert_int_eq(a, 1);
	close(bad);

	/* undecodable without an id: closed */
	bad = raw_connect(sock);
	raw_send_bytes(bad, junk, sizeof(junk));
	ck_assert(raw_wait_closed(bad, 5000));
	close(bad);

	/* a truncated frame, then hang up */
	bad = raw_connect(sock);
	raw_send_bytes(bad, trunc, sizeof(trunc));
	close(bad);

	/* an unknown (missing) operation: BAD_REQUEST */
	req.has_id = 1;
	req.id = 42;
	raw_send_req(good, &req);
	r = raw_recv(good, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
	ck_assert_uint_eq(r->id, 42);
	ck_assert_ptr_nonnull(r->error);
	mockres__response__free_unpacked(r, NULL);

	/* the well-behaved client was never disturbed */
	raw_send_use(good, 43, 0, -1);
	ck_assert_int_eq(collect(good, 1, &a, &b, &o), 0);
	ck_assert_int_eq(a, 1);
	ck_assert(sup_alive(daemon_pid));
	close(good);
	stop_daemon();
}
END_TEST

/* A frame written one byte at a time is served. */
START_TEST(test_one_byte_writes)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Use use = MOCKRES__USE__INIT;
	unsigned char buf[64];
	Mockres__Response *r;
	size_t n, i;
	int fd, eof;

	start_daemon("15", "10");
	fd = raw_connect(sock);
	req.has_id = 1;
	req.id = 5;
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	n = mockres__request__pack(&req, buf + 4);
	buf[0] = buf[1] = buf[2] = 0;
	buf[3] = (unsigned char)n;
	for (i = 0; i < n + 4; i++) {
		raw_send_bytes(fd, buf + i, 1);
		sup_sleep_ms(2);
	}
	r = raw_recv(fd, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__DONE);
	mockres__response__free_unpacked(r, NULL);
	close(fd);
	stop_daemon();
}
END_TEST

/* Bad values are refused with a reason. */
START_TEST(test_validation)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Watch w = MOCKRES__WATCH__INIT;
	Mockres__Hello h = MOCKRES__HELLO__INIT;
	Mockres__Response *r;
	int fd, eof;

	start_daemon("15", "10");
	fd = raw_connect(sock);
	raw_send_use(fd, 1, 0, 3600001);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
	mockres__response__free_unpacked(r, NULL);

	req.has_id = 1;
	req.id = 2;
	req.op_case = MOCKRES__REQUEST__OP_WATCH;
	req.watch = &w;
	w.has_interval_ms = 1;
	w.interval_ms = 1;
	raw_send_req(fd, &req);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
	mockres__response__free_unpacked(r, NULL);

	/* a hello claiming the daemon's own role, or a bad name */
	req.id = 3;
	req.op_case = MOCKRES__REQUEST__OP_HELLO;
	req.hello = &h;
	h.has_role = 1;
	h.role = MOCKRES__ROLE__ROLE_DAEMON;
	raw_send_req(fd, &req);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
	mockres__response__free_unpacked(r, NULL);
	h.role = MOCKRES__ROLE__ROLE_CTL;
	h.name = "bad\nname";
	raw_send_req(fd, &req);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
	mockres__response__free_unpacked(r, NULL);
	close(fd);
	stop_daemon();
}
END_TEST

/* A watch pushes snapshots at its cadence. */
START_TEST(test_watch)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Watch w = MOCKRES__WATCH__INIT;
	Mockres__Response *r;
	int fd, eof, i;
	double t0;

	start_daemon("15", "10");
	fd = raw_connect(sock);
	req.has_id = 1;
	req.id = 11;
	req.op_case = MOCKRES__REQUEST__OP_WATCH;
	req.watch = &w;
	w.has_interval_ms = 1;
	w.interval_ms = 20;
	w.has_clients = 1;
	w.clients = 1;
	raw_send_req(fd, &req);
	t0 = clock_now_ms_frac();
	for (i = 0; i < 10; i++) {
		r = raw_recv(fd, 5000, &eof);
		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(r->id, 11);
		ck_assert_ptr_nonnull(r->stats);
		ck_assert_uint_ge(r->stats->n_clients, 1);
		ck_assert_uint_eq(r->stats->clients[0]->pid, getpid());
		mockres__response__free_unpacked(r, NULL);
	}
	/* ten pushes at 20 ms cannot come faster than ~180 ms */
	ck_assert_double_ge(clock_now_ms_frac() - t0, 150.0);
	close(fd);
	stop_daemon();
}
END_TEST

/* A client that never reads its replies is cut off at the cap, and
 * mockresd's memory stays bounded while others are served. */
START_TEST(test_non_reader_cut_off)
{
	const char *args[] = {"limit", "0", NULL};
	static unsigned char batch[4096 * 16];
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Use use = MOCKRES__USE__INIT;
	size_t n, off = 0;
	long rss0, rss1;
	int fd, good, i, a, b, o, closed = 0;
	char out[512];

	start_daemon("0", "0");
	ck_assert_int_eq(sup_ctl(sock, args, out, sizeof(out)), 0);
	rss0 = sup_proc_rss_kb(daemon_pid);
	good = raw_connect(sock);
	fd = raw_connect(sock);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	use.has_mode = 1;
	use.mode = MOCKRES__USE_MODE__ASYNC;
	req.has_id = 1;
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	for (i = 0; off + 32 < sizeof(batch); i++) {
		req.id = (uint64_t)i + 1000000;
		n = mockres__request__pack(&req, batch + off + 4);
		batch[off] = batch[off + 1] = batch[off + 2] = 0;
		batch[off + 3] = (unsigned char)n;
		off += n + 4;
	}
	/* ~ 200,000 uses, never reading a single reply */
	for (i = 0; i < 40 && !closed; i++) {
		size_t sent = 0;
		double end = clock_now_ms_frac() + 5000;

		while (sent < off && clock_now_ms_frac() < end) {
			ssize_t w =
			    send(fd, batch + sent, off - sent, MSG_NOSIGNAL);

			if (w > 0)
				sent += (size_t)w;
			else if (w == -1 && errno != EAGAIN)
				break;
			else
				sup_sleep_ms(1);
		}
		if (sent < off)
			closed = 1;
	}
	ck_assert_msg(closed, "mockresd never cut off a client that does not "
	                      "read");
	rss1 = sup_proc_rss_kb(daemon_pid);
	ck_assert_msg(rss1 - rss0 < 32L * 1024, "RSS grew by %ld kB",
	              rss1 - rss0);
	raw_send_use(good, 1, 0, 1);
	ck_assert_int_eq(collect(good, 1, &a, &b, &o), 0);
	ck_assert_int_eq(a, 1);
	close(fd);
	close(good);
	stop_daemon();
}
END_TEST

/* SIGTERM: holds finish and are answered, new uses are refused, exit 0. */
START_TEST(test_graceful_sigterm)
{
	Mockres__Response *r;
	int a, b, o, eof, status, fd, other;
	double t0;

	start_daemon("15", "1000");
	fd = raw_connect(sock);
	other = raw_connect(sock);
	raw_send_use(fd, 1, 0, -1);
	sup_sleep_ms(100); /* let mockresd admit it */
	t0 = clock_now_ms_frac();
	kill(daemon_pid, SIGTERM);
	sup_sleep_ms(100);
	raw_send_use(other, 2, 0, -1);
	r = raw_recv(other, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__SHUTTING_DOWN);
	mockres__response__free_unpacked(r, NULL);
	ck_assert_int_eq(collect(fd, 1, &a, &b, &o), 0);
	ck_assert_int_eq(a, 1);
	ck_assert_double_ge(clock_now_ms_frac() - t0, 700.0);
	status = sup_wait_exit(daemon_pid, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* its socket file is gone */
	ck_assert_int_eq(access(sock, F_OK), -1);
	close(fd);
	close(other);
}
END_TEST

/* SIGTERM with holds longer than the drain deadline (10 s): the short one
 * ends and is answered DONE, the long ones are cut short at the deadline,
 * the serial one answered SHUTTING_DOWN, both counted cancelled in the
 * last log line, and mockresd exits 0 instead of waiting a minute. */
START_TEST(test_sigterm_drain_deadline)
{
	Mockres__Response *r;
	char log[8192];
	double t0, took;
	int fd, eof, status;

	start_daemon("0", "500");
	fd = raw_connect(sock);
	ck_assert_int_eq(raw_send_use(fd, 1, 0, 60000), 0); /* serial */
	ck_assert_int_eq(raw_send_use(fd, 2, 1, 60000), 0); /* async */
	r = raw_recv(fd, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->id, 2);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__ADMITTED);
	mockres__response__free_unpacked(r, NULL);
	ck_assert_int_eq(raw_send_use(fd, 3, 0, -1), 0); /* 500 ms */
	sup_sleep_ms(100);
	t0 = clock_now_ms_frac();
	kill(daemon_pid, SIGTERM);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->id, 3);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__DONE);
	mockres__response__free_unpacked(r, NULL);
	r = raw_recv(fd, 30000, &eof);
	took = clock_now_ms_frac() - t0;
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->id, 1);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__SHUTTING_DOWN);
	ck_assert_ptr_nonnull(r->error);
	ck_assert_msg(strstr(r->error, "cut short") != NULL, "%s", r->error);
	mockres__response__free_unpacked(r, NULL);
	ck_assert_double_ge(took, 9000.0);
	ck_assert_double_le(took, 30000.0);
	status = sup_wait_exit(daemon_pid, 10000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	sup_read_log("mockresd.log", log, sizeof(log));
	ck_assert_msg(strstr(log, "drain deadline: 2 uses still in service") !=
	                  NULL,
	              "%s", log);
	ck_assert_msg(strstr(log, "completed 1, timed out 0, cancelled 2") !=
	                  NULL,
	              "%s", log);
}
END_TEST

/* A stale socket is replaced; a live daemon is a clear start-up error. */
START_TEST(test_stale_and_live_socket)
{
	const char *argv[] = {MOCKRESD_BIN, "--socket", NULL, NULL};
	char out[512], err[1024];
	int rc;

	start_daemon("15", "10");
	argv[2] = sock;
	rc = sup_run(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(err, "already listening") != NULL, "%s", err);
	ck_assert(sup_alive(daemon_pid));

	sup_stop(daemon_pid, SIGKILL, 5000);
	ck_assert_int_eq(access(sock, F_OK), 0); /* left behind */
	start_daemon("15", "10");
	ck_assert(sup_alive(daemon_pid));
	stop_daemon();

	/* a regular file is never removed */
	close(open(sock, O_CREAT | O_WRONLY, 0600));
	rc = sup_run(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_int_ne(rc, 0);
	ck_assert_msg(strstr(err, "not a socket") != NULL, "%s", err);
	unlink(sock);
}
END_TEST

/*
 * A hexadecimal float is no value (issue 21): --usl-kappa 0x1p-1 (0.5)
 * and the same in $MOCKRES_MODEL are usage errors, exit 2, with the
 * reason; the decimal 0.5 starts.
 */
START_TEST(test_hex_float_refused)
{
	const char *flag[] = {MOCKRESD_BIN,  "--socket", NULL,
	                      "--usl-kappa", "0x1p-1",   NULL};
	const char *env[] = {"/usr/bin/env", "MOCKRES_MODEL=usl-kappa=0x1p-1",
	                     MOCKRESD_BIN,   "--socket",
	                     NULL,           NULL};
	const char *decimal[] = {"--usl-kappa", "0.5", NULL};
	const char *model[] = {"--json", "model", NULL};
	char out[4096], err[1024];
	double kappa;

	flag[2] = env[4] = sup_path("hex.sock");
	ck_assert_int_eq(
	    sup_run(flag, out, sizeof(out), err, sizeof(err), 10000), 2);
	ck_assert_msg(strstr(err, "usl-kappa must be a number") != NULL, "%s",
	              err);
	ck_assert_int_eq(
	    sup_run(env, out, sizeof(out), err, sizeof(err), 10000), 2);
	ck_assert_msg(strstr(err, "usl-kappa must be a number") != NULL, "%s",
	              err);
	daemon_pid = sup_mockresd("mockresd.sock", decimal, &sock);
	ck_assert_int_eq(sup_ctl(sock, model, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_json_double(out, "usl_kappa", &kappa), 0);
	ck_assert_double_eq_tol(kappa, 0.5, 1e-12);
	stop_daemon();
}
END_TEST

START_TEST(test_socket_mode)
{
	struct stat st;

	start_daemon("15", "10");
	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	stop_daemon();
}
END_TEST

/* The pid in mockresctl --json status. */
static uint64_t
status_pid(void)
{
	const char *args[] = {"--json", "status", NULL};
	char out[8192];
	uint64_t pid;

	ck_assert_int_eq(sup_ctl(sock, args, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_json_u64(out, "daemon_pid", &pid), 0);
	return pid;
}

/*
 * A mockresd that is stopped while its holds drain gives up its socket
 * path as it stops accepting (the file is gone at once), so a mockresd
 * started meanwhile binds a fresh socket without taking anything for
 * stale, and the old one never touches the path again: its successor
 * stays reachable after it exits.  Then the sequence of issue 21 four
 * times, a new daemon 0.2 s after each SIGTERM: the freed inode number
 * is often given to the successor's socket, which a check of device and
 * inode at exit took for the old daemon's own.
 */
START_TEST(test_successor_socket_kept)
{
	char log[16384];
	pid_t first;
	int fd, st, probe, round;
	double end;

	start_daemon("15", "2000");
	first = daemon_pid;
	fd = raw_connect(sock);
	raw_send_use(fd, 1, 0, -1);
	sup_sleep_ms(100); /* admitted: the first daemon drains 2 s */
	kill(first, SIGTERM);
	end = clock_now_ms_frac() + 5000;
	while ((probe = raw_connect(sock)) != -1) { /* until it stops
		                                      accepting */
		close(probe);
		ck_assert(clock_now_ms_frac() < end);
		sup_sleep_ms(10);
	}
	ck_assert(sup_alive(first)); /* draining */
	ck_assert_msg(access(sock, F_OK) == -1 && errno == ENOENT,
	              "the draining mockresd left its socket file in place");
	start_daemon("15", "10");
	sup_read_log("mockresd.log", log, sizeof(log));
	ck_assert_msg(strstr(log, "replacing stale socket") == NULL, "%s", log);
	st = sup_wait_exit(first, 10000);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_msg(access(sock, F_OK) == 0,
	              "the stopping mockresd removed its successor's socket");
	ck_assert_uint_eq(status_pid(), (uint64_t)daemon_pid);
	close(fd);

	stop_daemon();
	start_daemon("15", "2000");
	for (round = 0; round < 4; round++) {
		Mockres__Response *r;
		int eof;

		first = daemon_pid;
		fd = raw_connect(sock);
		ck_assert_int_eq(raw_send_use(fd, 1, 1, -1), 0);
		r = raw_recv(fd, 5000, &eof);
		ck_assert_msg(r != NULL &&
		                  r->status == MOCKRES__STATUS__ADMITTED,
		              "round %d: no ADMITTED", round);
		mockres__response__free_unpacked(r, NULL);
		ck_assert_int_eq(kill(first, SIGTERM), 0);
		sup_sleep_ms(200);
		start_daemon("15", "2000");
		ck_assert(sup_alive(first)); /* still draining */
		st = sup_wait_exit(first, 10000);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		ck_assert_msg(access(sock, F_OK) == 0,
		              "round %d: the stopping mockresd removed its "
		              "successor's socket",
		              round);
		ck_assert_uint_eq(status_pid(), (uint64_t)daemon_pid);
		close(fd);
	}
	stop_daemon();
	ck_assert_int_eq(access(sock, F_OK), -1); /* its own: removed */
}
END_TEST

/* SIGHUP does not stop mockresd: holds go on, the socket stays, and the
 * log says there is nothing to reload. */
START_TEST(test_sighup)
{
	Mockres__Response *r;
	char log[8192];
	int fd, eof;

	start_daemon("15", "500");
	fd = raw_connect(sock);
	raw_send_use(fd, 1, 0, -1);
	sup_sleep_ms(100);
	kill(daemon_pid, SIGHUP);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__DONE);
	mockres__response__free_unpacked(r, NULL);
	ck_assert(sup_alive(daemon_pid));
	ck_assert_int_eq(access(sock, F_OK), 0);
	close(fd);
	sup_read_log("mockresd.log", log, sizeof(log));
	ck_assert_msg(strstr(log, "SIGHUP") != NULL, "%s", log);
	stop_daemon();
}
END_TEST

/* Sends a report with connections and takes its OK. */
static void
report_conns(int fd, uint64_t id, uint64_t started, uint64_t first,
             uint64_t frontend, uint32_t open, uint32_t peak)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__HttpReport rep = MOCKRES__HTTP_REPORT__INIT;
	Mockres__HttpConns cn = MOCKRES__HTTP_CONNS__INIT;
	Mockres__Response *r;
	int eof;

	rep.has_started_us = rep.has_first_us = rep.has_last_us = 1;
	rep.started_us = started;
	rep.first_us = rep.last_us = first;
	cn.has_frontend = cn.has_open = cn.has_peak = 1;
	cn.frontend = frontend;
	cn.open = open;
	cn.peak = peak;
	rep.conns = &cn;
	req.has_id = 1;
	req.id = id;
	req.op_case = MOCKRES__REQUEST__OP_REPORT;
	req.report = &rep;
	ck_assert_int_eq(raw_send_req(fd, &req), 0);
	ck_assert_ptr_nonnull(r = raw_recv(fd, 5000, &eof));
	ck_assert_msg(r->status == MOCKRES__STATUS__OK, "%s",
	              r->error ? r->error : "");
	mockres__response__free_unpacked(r, NULL);
}

/* Stats with http since SINCE: the merged connections. */
static void
http_conns(int fd, uint64_t since, uint32_t *open, uint32_t *peak)
{
	Mockres__Response *r;

	ck_assert_ptr_nonnull(r = raw_http_stats(fd, 99, since, 5000));
	ck_assert_ptr_nonnull(r->stats);
	ck_assert_ptr_nonnull(r->stats->http);
	ck_assert(r->stats->http->has_conns_open &&
	          r->stats->http->has_conns_peak);
	*open = r->stats->http->conns_open;
	*peak = r->stats->http->conns_peak;
	mockres__response__free_unpacked(r, NULL);
}

/*
 * The frontends' client connections: per frontend the latest open and
 * the highest peak of the bursts after "since", summed over frontends;
 * a departed worker's connections are not open any more.
 */
START_TEST(test_report_conns)
{
	int a1, a2, b, q;
	uint32_t open, peak;

	start_daemon("15", "500");
	a1 = raw_connect(sock);
	a2 = raw_connect(sock);
	b = raw_connect(sock);
	q = raw_connect(sock);
	ck_assert(a1 >= 0 && a2 >= 0 && b >= 0 && q >= 0);
	/* Frontend 7: two workers, bursts at 1000 and 1100; 9: one. */
	report_conns(a1, 1, 10, 1000, 7, 30, 30);
	report_conns(a2, 2, 11, 1100, 7, 28, 29);
	report_conns(b, 3, 12, 500, 9, 5, 6);
	http_conns(q, 0, &open, &peak);
	ck_assert_uint_eq(open, 28 + 5); /* frontend 7's latest, + 9's */
	ck_assert_uint_eq(peak, 30 + 6);
	/* Only the bursts that began after 900: frontend 7's. */
	http_conns(q, 900, &open, &peak);
	ck_assert_uint_eq(peak, 30);
	/* Worker a2 leaves: frontend 7's open is a1's, its peak stays. */
	close(a2);
	sup_sleep_ms(200);
	http_conns(q, 900, &open, &peak);
	ck_assert_uint_eq(open, 30 + 5);
	ck_assert_uint_eq(peak, 30);
	/* Out of range: refused. */
	{
		Mockres__Request req = MOCKRES__REQUEST__INIT;
		Mockres__HttpReport rep = MOCKRES__HTTP_REPORT__INIT;
		Mockres__HttpConns cn = MOCKRES__HTTP_CONNS__INIT;
		Mockres__Response *r;
		int eof;

		rep.has_started_us = 1;
		rep.started_us = 10;
		cn.has_open = 1;
		cn.open = 1u << 30;
		rep.conns = &cn;
		req.has_id = 1;
		req.id = 5;
		req.op_case = MOCKRES__REQUEST__OP_REPORT;
		req.report = &rep;
		ck_assert_int_eq(raw_send_req(a1, &req), 0);
		ck_assert_ptr_nonnull(r = raw_recv(a1, 5000, &eof));
		ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
		mockres__response__free_unpacked(r, NULL);
	}
	close(a1);
	close(b);
	close(q);
	stop_daemon();
}
END_TEST

/*
 * A change of the limit or the model is a new experiment: the peaks start
 * again from the current counts, and setup_changes counts the change.
 */
START_TEST(test_setup_change_resets_peaks)
{
	const char *lim[] = {"limit", "0", NULL};
	const char *pool[] = {"model", "preset", "pool", NULL};
	char out[4096];
	struct sup_stats s;
	int fd, i;

	start_daemon("15", "300");
	fd = raw_connect(sock);
	for (i = 0; i < 12; i++)
		raw_send_use(fd, (uint64_t)i + 1, 1, -1);
	sup_sleep_ms(100);
	ck_assert_int_eq(sup_stats(sock, &s), 0);
	ck_assert_uint_eq(s.peak, 12);
	settle(5000);
	ck_assert_int_eq(sup_ctl(sock, lim, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_stats(sock, &s), 0);
	ck_assert_uint_eq(s.peak, 0);
	for (i = 0; i < 12; i++)
		raw_send_use(fd, (uint64_t)i + 20, 1, -1);
	sup_sleep_ms(100);
	ck_assert_int_eq(sup_ctl(sock, pool, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_stats(sock, &s), 0);
	/* The 12 uses still hold: the peak restarts from them. */
	ck_assert_uint_eq(s.peak, s.in_flight);
	{
		const char *st[] = {"--json", "status", NULL};

		ck_assert_int_eq(sup_ctl(sock, st, out, sizeof(out)), 0);
		ck_assert_msg(strstr(out, "\"setup_changes\":2") != NULL, "%s",
		              out);
	}
	close(fd);
	settle(5000);
	stop_daemon();
}
END_TEST

SUP_MAIN("mockresd", NULL, NULL, 60, test_limit_15_of_20, test_serial_waits,
         test_limit_0_live, test_bad_frames_isolated, test_one_byte_writes,
         test_validation, test_watch, test_non_reader_cut_off,
         test_graceful_sigterm, test_sigterm_drain_deadline,
         test_stale_and_live_socket, test_hex_float_refused, test_socket_mode,
         test_successor_socket_kept, test_sighup, test_report_conns,
         test_setup_change_resets_peaks)
