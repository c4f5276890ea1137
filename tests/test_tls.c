/*
 * test_tls.c: mockres over TLS on loopback, with the real binaries:
 * mockresctl's every command, who may steer and who may report (by
 * certificate CN), the handshakes mockresd refuses and how it logs them,
 * the handshake deadline, the clients' one-line errors, the frontend and
 * the dashboard end to end (reports, deadlines), and the host in hello.
 *
 * Certificates are made per test in its directory (support/certs.c).
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "certs.h"
#include "clock.h"
#include "rawclient.h"
#include "support.h"

static const char *dir;  /* our CA and certificates */
static const char *odir; /* another CA's */
static const char *sock;
static char target[64]; /* tls://127.0.0.1:PORT */
static int port;
static pid_t mrd;
static char out[32768], err[4096];

static const char *
crt(const char *name)
{
	return sup_cert_path(dir, name, "crt");
}

static const char *
key(const char *name)
{
	return sup_cert_path(dir, name, "key");
}

static void
setup(void)
{
	static const struct sup_cert ours[] = {
	    {"server", "localhost", 0, "DNS:localhost,IP:127.0.0.1,IP:::1"},
	    {"elsewhere", "elsewhere", 0, "DNS:elsewhere.example"},
	    {"admin1", NULL, 0, NULL},
	    {"fe1", NULL, 0, NULL},
	    {"user1", NULL, 0, NULL},
	    {"old1", NULL, 1, NULL},
	};
	static const struct sup_cert theirs[] = {{"stranger", NULL, 0, NULL}};
	static char d[512], o[512];

	snprintf(d, sizeof(d), "%s", sup_path("certs"));
	snprintf(o, sizeof(o), "%s", sup_path("other-ca"));
	dir = d;
	odir = o;
	sup_certs(dir, "mockres test CA", ours, sizeof(ours) / sizeof(ours[0]));
	sup_certs(odir, "another CA", theirs, 1);
}

/* mockresd on a Unix socket and TLS on 127.0.0.1, with SERVER's
 * certificate; admin1 may steer, fe1 may report. */
static void
start_daemon_with(const char *server)
{
	static char listen[32];
	const char *extra[] = {"--limit",
	                       "0",
	                       "--hold-ms",
	                       "300",
	                       "--listen-tls",
	                       listen,
	                       "--tls-cert",
	                       crt(server),
	                       "--tls-key",
	                       key(server),
	                       "--tls-ca",
	                       sup_cert_path(dir, "ca", "crt"),
	                       "--tls-admin",
	                       "admin1",
	                       "--tls-frontend",
	                       "fe1",
	                       "-v",
	                       NULL};

	port = sup_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(target, sizeof(target), "tls://127.0.0.1:%d", port);
	mrd = sup_mockresd("mockresd.sock", extra, &sock);
}

static void
start_daemon(void)
{
	start_daemon_with("server");
}

/* mockresctl over TLS to TGT as WHO (a certificate of CERTDIR); ARGS. */
static int
ctl_to(const char *tgt, const char *certdir, const char *who,
       const char *const args[])
{
	const char *argv[40];
	int n = 0, i;

	argv[n++] = MOCKRESCTL_BIN;
	argv[n++] = "--socket";
	argv[n++] = tgt;
	argv[n++] = "--tls-ca";
	argv[n++] = sup_cert_path(dir, "ca", "crt");
	argv[n++] = "--tls-cert";
	argv[n++] = sup_cert_path(certdir, who, "crt");
	argv[n++] = "--tls-key";
	argv[n++] = sup_cert_path(certdir, who, "key");
	for (i = 0; args[i] != NULL && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return sup_run(argv, out, sizeof(out), err, sizeof(err), 30000);
}

static int
ctl_as(const char *who, const char *const args[])
{
	return ctl_to(target, dir, who, args);
}

/* How many times NEEDLE is in mockresd's log. */
static int
log_count(const char *needle)
{
	static char buf[65536];
	const char *p;
	int n = 0;

	sup_read_log("mockresd.log", buf, sizeof(buf));
	for (p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* --- an in-process TLS client, for what mockresctl cannot send --- */

struct tconn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

/*
 * Connects to mockresd's TLS port as WHO (a certificate of CERTDIR, or
 * no certificate with WHO NULL), at TLS 1.2 only with TLS12.  Returns 0
 * when the client's side of the handshake completed (in TLS 1.3 the
 * server may still refuse the certificate: see tls_refused), -1 if not.
 */
static int
tls_open(struct tconn *t, const char *certdir, const char *who, int tls12)
{
	struct timeval tv = {5, 0};

	memset(t, 0, sizeof(*t));
	t->ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(t->ctx);
	if (tls12) {
		SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
		SSL_CTX_set_max_proto_version(t->ctx, TLS1_2_VERSION);
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	if (who != NULL) {
		ck_assert(SSL_CTX_use_certificate_file(
		              t->ctx, sup_cert_path(certdir, who, "crt"),
		              SSL_FILETYPE_PEM) == 1);
		ck_assert(SSL_CTX_use_PrivateKey_file(
		              t->ctx, sup_cert_path(certdir, who, "key"),
		              SSL_FILETYPE_PEM) == 1);
	}
	t->fd = sup_tcp_connect(port);
	ck_assert_int_ge(t->fd, 0);
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t->ssl = SSL_new(t->ctx);
	SSL_set_fd(t->ssl, t->fd);
	return SSL_connect(t->ssl) == 1 ? 0 : -1;
}

static void
tls_close(struct tconn *t)
{
	if (t->ssl != NULL)
		SSL_free(t->ssl);
	if (t->ctx != NULL)
		SSL_CTX_free(t->ctx);
	if (t->fd >= 0)
		close(t->fd);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	ERR_clear_error();
}

static int
tls_send(struct tconn *t, const Mockres__Request *req)
{
	unsigned char buf[4096];
	size_t n = mockres__request__get_packed_size(req);

	ck_assert_uint_lt(n + 4, sizeof(buf));
	buf[0] = (unsigned char)(n >> 24);
	buf[1] = (unsigned char)(n >> 16);
	buf[2] = (unsigned char)(n >> 8);
	buf[3] = (unsigned char)n;
	mockres__request__pack(req, buf + 4);
	return SSL_write(t->ssl, buf, (int)(n + 4)) == (int)(n + 4) ? 0 : -1;
}

/* One response (free it), or NULL: closed, refused or 5 s of silence. */
static Mockres__Response *
tls_recv(struct tconn *t)
{
	static unsigned char buf[70000];
	size_t have = 0, need = 4;
	int r;

	while (have < need) {
		r = SSL_read(t->ssl, buf + have, (int)(need - have));
		if (r <= 0)
			return NULL;
		have += (size_t)r;
		if (have == 4)
			need =
			    4 + ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
			         (size_t)buf[2] << 8 | buf[3]);
	}
	return mockres__response__unpack(NULL, need - 4, buf + 4);
}

/* A stats request, and its answer: 1 if mockresd took us (it answered),
 * 0 if it refused or closed. */
static int
tls_answers(struct tconn *t)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	Mockres__Response *r;

	req.has_id = 1;
	req.id = 7;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	if (tls_send(t, &req) == -1)
		return 0;
	if ((r = tls_recv(t)) == NULL)
		return 0;
	mockres__response__free_unpacked(r, NULL);
	return 1;
}

/* --- mockresctl --- */

START_TEST(test_ctl_every_command)
{
	const char *status[] = {"status", NULL};
	const char *jstatus[] = {"--json", "status", NULL};
	const char *clients[] = {"--json", "clients", NULL};
	const char *use[] = {"use", NULL};
	const char *async[] = {"use", "--async", NULL};
	const char *own[] = {"use", "--hold-ms", "50", NULL};
	const char *limit[] = {"limit", "9", NULL};
	const char *hold[] = {"hold", "200", NULL};
	const char *peak[] = {"reset-peak", NULL};
	const char *model[] = {"model", NULL};
	const char *mset[] = {"model", "set", "slots=4", NULL};
	const char *preset[] = {"model", "preset", "io", NULL};
	const char *bench[] = {"bench", "-c", "4",       "-n", "2000",
	                       "-P",    "4",  "--async", NULL};
	const char *sbench[] = {"bench", "-c", "4", "-n", "400", NULL};
	const char *mbench[] = {"bench",   "-c",           "2", "-n", "20",
	                        "--async", "--model-hold", NULL};
	uint64_t v;
	char path[1024];
	const char *watch[] = {
	    MOCKRESCTL_BIN, "--socket",   target,      "--tls-ca",   path,
	    "--tls-cert",   crt("user1"), "--tls-key", key("user1"), "watch",
	    "-i",           "100",        NULL};
	pid_t w;

	start_daemon();
	snprintf(path, sizeof(path), "%s", sup_cert_path(dir, "ca", "crt"));
	watch[2] = target;
	ck_assert_int_eq(ctl_as("user1", status), 0);
	ck_assert_ptr_nonnull(strstr(out, "in flight"));
	ck_assert_int_eq(ctl_as("user1", jstatus), 0);
	ck_assert_int_eq(sup_json_u64(out, "hold_ms", &v), 0);
	ck_assert_uint_eq(v, 300);
	ck_assert_int_eq(ctl_as("user1", clients), 0);
	ck_assert_msg(strstr(out, "\"cn\":\"user1\"") != NULL &&
	                  strstr(out, "\"uid\":null") != NULL,
	              "%s", out);
	ck_assert_int_eq(ctl_as("user1", use), 0);
	ck_assert_ptr_nonnull(strstr(out, "DONE after"));
	ck_assert_int_eq(ctl_as("user1", async), 0);
	ck_assert_ptr_nonnull(strstr(out, "ADMITTED"));
	ck_assert_int_eq(ctl_as("admin1", own), 0);
	ck_assert_int_eq(ctl_as("admin1", limit), 0);
	ck_assert_ptr_nonnull(strstr(out, "limit: 9"));
	ck_assert_int_eq(ctl_as("admin1", hold), 0);
	ck_assert_ptr_nonnull(strstr(out, "hold: 200 ms"));
	ck_assert_int_eq(ctl_as("admin1", peak), 0);
	ck_assert_int_eq(ctl_as("user1", model), 0);
	ck_assert_int_eq(ctl_as("admin1", mset), 0);
	ck_assert_int_eq(ctl_as("admin1", preset), 0);
	/* bench gives its uses their own hold (0): admins only, unless
	 * --model-hold. */
	ck_assert_int_eq(ctl_as("admin1", bench), 0);
	ck_assert_ptr_nonnull(strstr(out, "2000 requests completed"));
	ck_assert_int_eq(ctl_as("admin1", sbench), 0);
	ck_assert_int_eq(ctl_as("user1", mbench), 0);
	ck_assert_ptr_nonnull(strstr(out, "20 requests completed"));
	/* watch: lines keep coming until Ctrl-C. */
	w = sup_spawn(watch, "watch");
	sup_sleep_ms(1500);
	ck_assert(sup_alive(w));
	ck_assert_int_eq(sup_stop(w, SIGINT, 5000), 0);
	sup_read_log("watch.log", out, sizeof(out));
	ck_assert_msg(strstr(out, "in flight") != NULL, "%s", out);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/* Steering by CN: admin1 may, fe1 (a frontend) and user1 may not. */
START_TEST(test_steer_by_cn)
{
	const char *limit[] = {"limit", "3", NULL};
	const char *mset[] = {"model", "set", "hold-ms=100", NULL};
	const char *own[] = {"use", "--hold-ms", "10", NULL};
	const char *show[] = {"--json", "status", NULL};
	uint64_t v;

	start_daemon();
	ck_assert_int_eq(ctl_as("user1", limit), 4);
	ck_assert_msg(strstr(err, "certificate 'user1' may not change the "
	                          "limit") != NULL &&
	                  strstr(err, "--tls-admin") != NULL,
	              "%s", err);
	ck_assert_int_eq(ctl_as("fe1", mset), 4);
	ck_assert_ptr_nonnull(strstr(err, "certificate 'fe1' may not"));
	ck_assert_int_eq(ctl_as("user1", own), 4);
	ck_assert_int_eq(ctl_as("user1", show), 0);
	ck_assert_int_eq(sup_json_u64(out, "limit", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(sup_json_u64(out, "hold_ms", &v), 0);
	ck_assert_uint_eq(v, 300);
	ck_assert_int_eq(ctl_as("admin1", limit), 0);
	ck_assert_int_eq(ctl_as("user1", show), 0);
	ck_assert_int_eq(sup_json_u64(out, "limit", &v), 0);
	ck_assert_uint_eq(v, 3);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/* What a client says when it cannot get in: one line, what to do. */
START_TEST(test_client_errors)
{
	const char *status[] = {"status", NULL};
	char tgt[64];

	start_daemon();
	/* A CA that did not sign mockresd's certificate. */
	{
		const char *argv[] = {MOCKRESCTL_BIN,
		                      "--socket",
		                      target,
		                      "--tls-ca",
		                      sup_cert_path(odir, "ca", "crt"),
		                      "--tls-cert",
		                      crt("user1"),
		                      "--tls-key",
		                      key("user1"),
		                      "status",
		                      NULL};

		ck_assert_int_eq(
		    sup_run(argv, out, sizeof(out), err, sizeof(err), 30000),
		    3);
		ck_assert_msg(
		    strstr(err, "TLS handshake with 127.0.0.1:") != NULL &&
		        strstr(err, "certificate verify failed") != NULL &&
		        strstr(err, "is --tls-ca the CA") != NULL &&
		        strchr(err, '\n') == strrchr(err, '\n'),
		    "%s", err);
	}
	/* Our certificate from another CA: mockresd refuses it. */
	ck_assert_int_eq(ctl_to(target, odir, "stranger", status), 3);
	ck_assert_msg(strstr(err, "refused our certificate") != NULL ||
	                  strstr(err, "closed the connection after the "
	                              "handshake") != NULL,
	              "%s", err);
	/* An expired certificate of ours: said before anything is sent. */
	ck_assert_int_eq(ctl_as("old1", status), 2);
	ck_assert_ptr_nonnull(strstr(err, "expired"));
	/* Nobody listening. */
	snprintf(tgt, sizeof(tgt), "tls://127.0.0.1:%d", sup_free_port());
	ck_assert_int_eq(ctl_to(tgt, dir, "user1", status), 3);
	ck_assert_msg(strstr(err, "cannot connect to mockresd at tls://") !=
	                      NULL &&
	                  strstr(err, "connection refused") != NULL,
	              "%s", err);
	/* Not a TLS address. */
	ck_assert_int_eq(ctl_to("tls://127.0.0.1", dir, "user1", status), 2);
	ck_assert_ptr_nonnull(strstr(err, "tls://HOST:PORT"));
	sup_stop_ok(mrd, "mockresd", 10000);

	/* mockresd's certificate names another host. */
	start_daemon_with("elsewhere");
	ck_assert_int_eq(ctl_as("user1", status), 3);
	ck_assert_msg(strstr(err, "certificate verify failed") != NULL &&
	                  strstr(err, "must name the host") != NULL,
	              "%s", err);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/* --- what mockresd refuses at the handshake, and how it says so --- */

START_TEST(test_refused_handshakes)
{
	struct tconn t;
	char plain[256];
	double t0;
	int fd;

	start_daemon();
	t0 = (double)clock_now_ms_frac();
	/* No certificate. */
	if (tls_open(&t, dir, NULL, 0) == 0)
		ck_assert_int_eq(tls_answers(&t), 0);
	tls_close(&t);
	/* A certificate of another CA. */
	if (tls_open(&t, odir, "stranger", 0) == 0)
		ck_assert_int_eq(tls_answers(&t), 0);
	tls_close(&t);
	/* An expired certificate of the right CA. */
	if (tls_open(&t, dir, "old1", 0) == 0)
		ck_assert_int_eq(tls_answers(&t), 0);
	tls_close(&t);
	/* TLS 1.2 only. */
	ck_assert_int_eq(tls_open(&t, dir, "user1", 1), -1);
	tls_close(&t);
	/* Plaintext bytes: closed, nothing answered. */
	fd = sup_tcp_connect(port);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL),
	                 18);
	{
		struct timeval tv = {5, 0};
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(fd, plain, sizeof(plain), 0);
		/* An alert at most, then the close. */
		while (n > 0)
			n = recv(fd, plain, sizeof(plain), 0);
		ck_assert_int_eq(n, 0);
	}
	close(fd);
	/* A valid certificate still gets in, and mockresd serves. */
	ck_assert_int_eq(tls_open(&t, dir, "user1", 0), 0);
	ck_assert_int_eq(tls_answers(&t), 1);
	tls_close(&t);
	sup_sleep_ms(300);
	/* One line for the first failure; the other four within 10 s are
	 * counted, not logged. */
	ck_assert_int_eq(log_count("TLS handshake from 127.0.0.1:"), 1);
	ck_assert_int_eq(log_count("the client sent no certificate"), 1);
	/* After 10 s, the next failure is logged with the count. */
	sup_sleep_ms((int)(t0 + 10500 - (double)clock_now_ms_frac()));
	if (tls_open(&t, odir, "stranger", 0) == 0)
		ck_assert_int_eq(tls_answers(&t), 0);
	tls_close(&t);
	sup_sleep_ms(300);
	ck_assert_int_eq(log_count("TLS handshake from 127.0.0.1:"), 2);
	ck_assert_int_eq(log_count("(and 4 more failed handshakes not logged "
	                           "in the last 10 s)"),
	                 1);
	ck_assert_int_eq(log_count("its certificate did not verify"), 1);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/*
 * A peer that connects and sends nothing is closed after the handshake
 * deadline (3 s), and costs nothing after: mockresd's fds and client
 * count are back where they were.
 */
/* mockresd's client count (mockresctl's own connection included). */
static uint64_t
clients_connected(void)
{
	const char *status[] = {"--json", "status", NULL};
	uint64_t n = 0;

	ck_assert_int_eq(sup_ctl(sock, status, out, sizeof(out)), 0);
	ck_assert_int_eq(sup_json_u64(out, "clients_connected", &n), 0);
	return n;
}

/* Polls mockresd's open fds until they are WANT, for up to 3 s. */
static long
fds_become(long want)
{
	double end = clock_now_ms_frac() + 3000;
	long n;

	while ((n = sup_proc_fds(mrd)) != want && clock_now_ms_frac() < end)
		sup_sleep_ms(50);
	return n;
}

START_TEST(test_handshake_deadline)
{
	char buf[64];
	int fds[20], i;
	long fds_before;
	double t0, dt;

	start_daemon();
	ck_assert_uint_eq(clients_connected(), 1);
	sup_sleep_ms(200); /* mockresctl's connection is closed by now */
	fds_before = sup_proc_fds(mrd);
	ck_assert_int_gt(fds_before, 0);
	t0 = clock_now_ms_frac();
	for (i = 0; i < 20; i++) {
		struct timeval tv = {8, 0};

		fds[i] = sup_tcp_connect(port);
		ck_assert_int_ge(fds[i], 0);
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	/* While they wait they count as clients (the cap covers them). */
	ck_assert_int_eq(fds_become(fds_before + 20), fds_before + 20);
	ck_assert_uint_eq(clients_connected(), 21);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(recv(fds[i], buf, sizeof(buf), 0), 0);
		close(fds[i]);
	}
	dt = clock_now_ms_frac() - t0;
	ck_assert_msg(dt >= 2500 && dt < 6000, "closed after %.0f ms", dt);
	ck_assert_int_eq(fds_become(fds_before), fds_before);
	ck_assert_uint_eq(clients_connected(), 1);
	ck_assert_int_eq(log_count("no handshake within 3 s"), 1);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/*
 * Two TLS records in one TCP segment: mockresd reads ahead, so the second
 * waits inside OpenSSL while the socket is quiet; it must be answered all
 * the same (fconn_tls_more), and without more bytes arriving.
 */
START_TEST(test_records_read_ahead)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	Mockres__Response *r;
	struct tconn t;
	int one = 1, zero = 0, i;

	start_daemon();
	ck_assert_int_eq(tls_open(&t, dir, "user1", 0), 0);
	ck_assert_int_eq(tls_answers(&t), 1);
	req.has_id = 1;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	ck_assert_int_eq(
	    setsockopt(t.fd, IPPROTO_TCP, TCP_CORK, &one, sizeof(one)), 0);
	for (i = 0; i < 3; i++) {
		req.id = 100 + (uint64_t)i;
		ck_assert_int_eq(tls_send(&t, &req), 0); /* a record each */
	}
	ck_assert_int_eq(
	    setsockopt(t.fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero)), 0);
	for (i = 0; i < 3; i++) {
		r = tls_recv(&t);
		ck_assert_msg(r != NULL, "answer %d of 3 never came", i + 1);
		ck_assert_uint_eq(r->id, 100 + (uint64_t)i);
		mockres__response__free_unpacked(r, NULL);
	}
	tls_close(&t);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/* --- a handshake flood (issue 22) --- */

#ifdef FLOOD_BIN
#if defined(__SANITIZE_ADDRESS__)
/* Several times slower under ASan: the CPU says nothing there. */
#define FLOOD_CPU_MAX 0
#else
#define FLOOD_CPU_MAX 0.6 /* of one core, over the flood */
#endif
#define FLOOD_LATE_MS 15 /* the median answer held up this long */
#define FLOOD_USES    64

static int
flood_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the N in V (sorted), and the worst. */
static double
flood_median(double *v, int n, double *worst)
{
	qsort(v, (size_t)n, sizeof(*v), flood_cmp);
	*worst = v[n - 1];
	return v[n / 2];
}

/* A serial use (mockresd's hold: 300 ms) over T: how late it ended, ms. */
static double
flood_serial_late(struct tconn *t, uint64_t id)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Use u = MOCKRES__USE__INIT;
	Mockres__Response *r;
	double t0 = clock_now_ms_frac();

	req.has_id = 1;
	req.id = id;
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &u;
	ck_assert_int_eq(tls_send(t, &req), 0);
	ck_assert_ptr_nonnull(r = tls_recv(t));
	ck_assert_uint_eq(r->id, id);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__DONE);
	mockres__response__free_unpacked(r, NULL);
	return clock_now_ms_frac() - t0 - 300;
}

/* A stats request over T; its round trip in ms. */
static double
flood_stats_ms(struct tconn *t)
{
	double t0 = clock_now_ms_frac();

	ck_assert_int_eq(tls_answers(t), 1);
	return clock_now_ms_frac() - t0;
}

/*
 * A flood of handshakes (tests/net/flood.c: 64 TLS ClientHellos at a
 * time for 4 s, each connection reset once mockresd has answered) while
 * a client already connected over TLS makes serial uses of 300 ms one
 * after the other and asks for stats in between: its answers are not
 * held up (the median serial use within FLOOD_LATE_MS of its hold and the
 * median stats answer within FLOOD_LATE_MS; the worst is printed, not
 * checked: on a busy machine the scheduler alone makes one late):
 * mockresd runs its connected clients and timers before the handshakes,
 * at most 1 ms of those at a time), the flood costs mockresd under
 * FLOOD_CPU_MAX of a core (its budget: 256 TLS connections a second),
 * which it says once, and a new client still gets in.  Before, a loop
 * turn ran every handshake that was ready first: on this machine the
 * serial uses came ~30 ms late (median), 50-59 ms at worst, a stats
 * answer took up to 39 ms, and mockresd took 95-100% of a core.
 */
START_TEST(test_handshake_flood)
{
	char portstr[16];
	const char *argv[] = {FLOOD_BIN, "127.0.0.1", portstr, "4", "64", NULL};
	const char *status[] = {"status", NULL};
	double use[FLOOD_USES], stats[FLOOD_USES], c0, t0, share;
	double use_med, use_worst, stats_med, stats_worst;
	struct tconn t;
	char line[512];
	pid_t fl;
	int n = 0, st;

	start_daemon();
	ck_assert_int_eq(tls_open(&t, dir, "user1", 0), 0);
	ck_assert_int_eq(tls_answers(&t), 1);
	snprintf(portstr, sizeof(portstr), "%d", port);
	c0 = sup_proc_cpu_ms(mrd);
	t0 = clock_now_ms_frac();
	fl = sup_spawn(argv, "flood");
	sup_sleep_ms(300);
	while (sup_alive(fl) && clock_now_ms_frac() - t0 < 3500 &&
	       n < FLOOD_USES) {
		use[n] = flood_serial_late(&t, 1000 + (uint64_t)n);
		stats[n] = flood_stats_ms(&t);
		n++;
	}
	share = (sup_proc_cpu_ms(mrd) - c0) / (clock_now_ms_frac() - t0);
	/* A new client gets in, the flood still on. */
	ck_assert_msg(ctl_as("admin1", status) == 0, "%s", err);
	st = sup_wait_exit(fl, 10000);
	ck_assert_msg(st == 0, "the flood exited with %d", st);
	sup_read_log("flood.log", line, sizeof(line));
	ck_assert_int_ge(n, 5);
	use_med = flood_median(use, n, &use_worst);
	stats_med = flood_median(stats, n, &stats_worst);
	fprintf(stderr,
	        "test_tls: under a handshake flood (%s): %d serial uses late "
	        "by %.1f ms (median), %.1f ms at worst; stats answered in "
	        "%.1f ms (median), %.1f ms at worst; mockresd at %.0f%% of a "
	        "core\n",
	        strtok(line, "\n"), n, use_med, use_worst, stats_med,
	        stats_worst, share * 100);
	ck_assert_msg(strstr(line, "flood: 0 answered") == NULL, "%s", line);
	ck_assert_double_lt(use_med, FLOOD_LATE_MS);
	ck_assert_double_lt(stats_med, FLOOD_LATE_MS);
	if (FLOOD_CPU_MAX > 0)
		ck_assert_double_lt(share, FLOOD_CPU_MAX);
	ck_assert_int_eq(log_count("faster than the handshake budget"), 1);
	tls_close(&t);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST
#endif

/*
 * Over TLS too, a client that pipelines 10,000 stats requests (2 MB of
 * answers) and reads only once it has sent them all gets every answer in
 * order: mockresd pauses its reading while 256 KiB are unsent, and goes
 * on as the client reads, the requests already decrypted (and those
 * OpenSSL holds) first.
 */
START_TEST(test_pipeline_then_read)
{
	static unsigned char buf[128 << 10];
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	Mockres__Response *r;
	struct tconn t;
	size_t off = 0, len;
	int rcv = 16384, i;

	start_daemon();
	ck_assert_int_eq(tls_open(&t, dir, "user1", 0), 0);
	ck_assert_int_eq(tls_answers(&t), 1);
	setsockopt(t.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	req.has_id = 1;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	for (i = 0; i < 10000; i++) {
		req.id = 1 + (uint64_t)i;
		len = mockres__request__get_packed_size(&req);
		ck_assert_uint_le(off + 4 + len, sizeof(buf));
		buf[off] = buf[off + 1] = buf[off + 2] = 0;
		buf[off + 3] = (unsigned char)len;
		mockres__request__pack(&req, buf + off + 4);
		off += 4 + len;
	}
	ck_assert_int_eq(SSL_write(t.ssl, buf, (int)off), (int)off);
	for (i = 0; i < 10000; i++) {
		r = tls_recv(&t);
		ck_assert_msg(r != NULL, "answer %d of 10000 missing", i + 1);
		ck_assert_uint_eq(r->id, 1 + (uint64_t)i);
		mockres__response__free_unpacked(r, NULL);
	}
	ck_assert_int_ge(log_count("reading paused"), 1);
	tls_close(&t);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/* --- the clock of a reporter on another host --- */

/* An HTTP report (no routes) over T, with its worker's times and its send
 * time SENT (0: left out); the status of the answer. */
static int
tls_report(struct tconn *t, uint64_t id, uint64_t started, uint64_t first,
           uint64_t last, uint64_t sent)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__HttpReport rep = MOCKRES__HTTP_REPORT__INIT;
	Mockres__Response *r;
	int status;

	req.has_id = 1;
	req.id = id;
	req.op_case = MOCKRES__REQUEST__OP_REPORT;
	req.report = &rep;
	rep.has_started_us = rep.has_first_us = rep.has_last_us = 1;
	rep.started_us = started;
	rep.first_us = first;
	rep.last_us = last;
	rep.has_sent_us = sent != 0;
	rep.sent_us = sent;
	ck_assert_int_eq(tls_send(t, &req), 0);
	ck_assert_ptr_nonnull(r = tls_recv(t));
	ck_assert_uint_eq(r->id, id);
	status = r->status;
	mockres__response__free_unpacked(r, NULL);
	return status;
}

/* The merged first_us and last_us, in mockresd's clock: asked on the Unix
 * socket, on this host, where that is ours. */
static void
http_times(uint64_t *first, uint64_t *last)
{
	Mockres__Response *r;
	int fd = raw_connect(sock);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(r = raw_http_stats(fd, 1, 0, 5000));
	ck_assert(r->stats != NULL && r->stats->http != NULL);
	*first = r->stats->http->first_us;
	*last = r->stats->http->last_us;
	mockres__response__free_unpacked(r, NULL);
	close(fd);
}

/*
 * A worker on a host booted an hour before ours: its times reach the
 * stats in our clock, late by one delay at most (before, as they were:
 * an hour in our future, and no run after them ended).  A report without
 * its send time is refused.  A forged clock (10 years ahead, last_us
 * past its send time by the slack allowed) puts last_us 1 s in our future
 * at most.
 */
START_TEST(test_report_clock)
{
	const uint64_t skew = 3600000000ull, s = 1000000;
	struct tconn t, f;
	uint64_t t0, t1, p, first, last;

	start_daemon();
	ck_assert_int_eq(tls_open(&t, dir, "fe1", 0), 0);
	p = clock_now_us() + skew;
	ck_assert_int_eq(tls_report(&t, 1, p - 5 * s, p - 2 * s, p - s, 0),
	                 MOCKRES__STATUS__BAD_REQUEST);
	t0 = clock_now_us();
	p = t0 + skew;
	ck_assert_int_eq(tls_report(&t, 2, p - 5 * s, p - 2 * s, p - s, p),
	                 MOCKRES__STATUS__OK);
	t1 = clock_now_us();
	http_times(&first, &last);
	ck_assert_uint_ge(first, t0 - 2 * s);
	ck_assert_uint_le(first, t1 - 2 * s);
	ck_assert_uint_ge(last, t0 - s);
	ck_assert_uint_le(last, t1 - s);

	ck_assert_int_eq(tls_open(&f, dir, "fe1", 0), 0);
	p = clock_now_us() + 10 * 31557600 * s;
	ck_assert_int_eq(tls_report(&f, 3, p - s, p, p + s, p),
	                 MOCKRES__STATUS__OK);
	t1 = clock_now_us();
	http_times(&first, &last);
	ck_assert_uint_le(last, t1 + s);
	ck_assert_uint_ge(last, t0);
	tls_close(&f);
	tls_close(&t);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/* --- hosts --- */

/* Hello's host: printable, at most 64 bytes; for a Unix client mockresd's
 * own host is shown, over TLS what the client says. */
START_TEST(test_hello_host)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Hello h = MOCKRES__HELLO__INIT;
	Mockres__Response *r;
	const char *clients[] = {"--json", "clients", NULL};
	char longhost[80], me[128], want[160];
	struct tconn t;
	int fd, eof;

	start_daemon();
	memset(longhost, 'h', 65);
	longhost[65] = '\0';
	req.has_id = 1;
	req.op_case = MOCKRES__REQUEST__OP_HELLO;
	req.hello = &h;
	fd = raw_connect(sock);
	ck_assert_int_ge(fd, 0);
	req.id = 1;
	h.host = longhost;
	raw_send_req(fd, &req);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
	ck_assert_ptr_nonnull(strstr(r->error, "host"));
	mockres__response__free_unpacked(r, NULL);
	req.id = 2;
	h.host = "bad\001host";
	raw_send_req(fd, &req);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__BAD_REQUEST);
	mockres__response__free_unpacked(r, NULL);
	req.id = 3;
	longhost[64] = '\0'; /* 64 bytes: fine */
	h.host = longhost;
	h.name = "unix-peer";
	raw_send_req(fd, &req);
	r = raw_recv(fd, 5000, &eof);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__OK);
	mockres__response__free_unpacked(r, NULL);

	/* Over TLS, the host and pid said in hello are shown. */
	ck_assert_int_eq(tls_open(&t, dir, "user1", 0), 0);
	req.id = 4;
	h.host = "fe-remote-1";
	h.name = "tls-peer";
	h.has_pid = 1;
	h.pid = 4242;
	ck_assert_int_eq(tls_send(&t, &req), 0);
	r = tls_recv(&t);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, MOCKRES__STATUS__OK);
	mockres__response__free_unpacked(r, NULL);

	ck_assert_int_eq(sup_ctl(sock, clients, out, sizeof(out)), 0);
	ck_assert_int_eq(gethostname(me, sizeof(me)), 0);
	snprintf(want, sizeof(want), "\"name\":\"unix-peer\",\"host\":\"%s\"",
	         me);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	ck_assert_msg(
	    strstr(out, "{\"pid\":4242,\"uid\":null,\"role\":"
	                "\"unknown\",\"name\":\"tls-peer\","
	                "\"host\":\"fe-remote-1\",\"cn\":\"user1\"") != NULL,
	    "%s", out);
	tls_close(&t);
	close(fd);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/* --- the frontend and the dashboard over TLS --- */

static pid_t
frontend_as(const char *who, int *fport, const char *logname)
{
	const char *extra[] = {"--workers",  "2",
	                       "--tls-ca",   sup_cert_path(dir, "ca", "crt"),
	                       "--tls-cert", crt(who),
	                       "--tls-key",  key(who),
	                       NULL};
	static char tgt[64];

	snprintf(tgt, sizeof(tgt), "tls://localhost:%d", port);
	return sup_http_server(FRONTEND_BIN, logname, tgt, extra, fport);
}

/* Until mockresd lists N frontend workers (clients named "worker ..."),
 * for up to 15 s: every worker's handshake is done, not just one's. */
static void
wait_workers(int n)
{
	const char *clients[] = {"--json", "clients", NULL};
	double end = clock_now_ms_frac() + 15000;
	const char *p;
	int k;

	do {
		k = 0;
		if (sup_ctl(sock, clients, out, sizeof(out)) == 0)
			for (p = out;
			     (p = strstr(p, "\"name\":\"worker ")) != NULL; p++)
				k++;
		if (k >= n) {
			sup_sleep_ms(200); /* their hellos answered */
			return;
		}
		sup_sleep_ms(100);
	} while (clock_now_ms_frac() < end);
	ck_abort_msg("%d of %d workers connected: %s", k, n, out);
}

/* GET PATH until it answers CODE, for up to MS; 0 if it did. */
static int
http_until(int p, const char *path, int code, int ms)
{
	struct sup_http_resp r;
	double end = (double)clock_now_ms_frac() + ms;

	do {
		if (sup_http(p, "GET", path, NULL, &r, 5000) == 0 &&
		    r.status == code)
			return 0;
		sup_sleep_ms(100);
	} while ((double)clock_now_ms_frac() < end);
	return -1;
}

START_TEST(test_frontend_and_dashboard)
{
	struct sup_http_resp r;
	const char *dextra[] = {"--tls-ca",   sup_cert_path(dir, "ca", "crt"),
	                        "--tls-cert", crt("fe1"),
	                        "--tls-key",  key("fe1"),
	                        NULL};
	const char *clients[] = {"--json", "clients", NULL};
	pid_t fe, dash;
	int fport, dport, i;
	uint64_t n = 0;
	char me[128], want[256];

	start_daemon();
	fe = frontend_as("fe1", &fport, "frontend");
	dash =
	    sup_http_server(DASHBOARD_BIN, "dashboard", target, dextra, &dport);
	wait_workers(2);
	ck_assert_int_eq(http_until(fport, "/healthz", 200, 10000), 0);
	ck_assert_int_eq(
	    sup_http(fport, "GET", "/part1/serial", NULL, &r, 10000), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_double_ge(r.ms, 290.0);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(
		    sup_http(fport, "GET", "/part1/async", NULL, &r, 10000), 0);
		ck_assert_int_eq(r.status, 200);
	}
	/* The workers' reports reach the dashboard (fe1 may report). */
	for (i = 0; i < 50 && n < 21; i++) {
		sup_sleep_ms(200);
		ck_assert_int_eq(
		    sup_http(dport, "GET", "/api/stats", NULL, &r, 5000), 0);
		const char *p = strstr(r.body, "\"async\":{");

		if (p != NULL && sup_json_u64(p, "requests", &n) == 0 &&
		    n >= 20)
			n = 21;
	}
	ck_assert_msg(n >= 21, "no reports in %s", r.body);
	/* Process rows carry their host. */
	ck_assert_int_eq(gethostname(me, sizeof(me)), 0);
	snprintf(want, sizeof(want),
	         "\"role\":\"frontend-worker\",\"host\":\"%s\"", me);
	ck_assert_msg(strstr(r.body, want) != NULL, "%s", r.body);
	/* Workers listed as frontend workers, with their CN and host. */
	ck_assert_int_eq(sup_ctl(sock, clients, out, sizeof(out)), 0);
	ck_assert_int_eq(gethostname(me, sizeof(me)), 0);
	snprintf(want, sizeof(want), "\"host\":\"%s\",\"cn\":\"fe1\"", me);
	ck_assert_msg(strstr(out, "\"role\":\"frontend-worker\"") != NULL &&
	                  strstr(out, want) != NULL,
	              "%s", out);
	/* A silent mockresd: 503s within the stall deadline, back after. */
	kill(mrd, SIGSTOP);
	ck_assert_int_eq(http_until(fport, "/healthz", 503, 6000), 0);
	ck_assert_int_eq(sup_http(fport, "GET", "/part1/async", NULL, &r, 5000),
	                 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_double_lt(r.ms, 1000.0);
	kill(mrd, SIGCONT);
	ck_assert_int_eq(http_until(fport, "/healthz", 200, 8000), 0);
	sup_stop_ok(dash, "dashboard", 10000);
	sup_stop_ok(fe, "frontend", 15000);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

/* A frontend whose CN is not a --tls-frontend one: its uses are served,
 * its reports refused (logged once per worker), and its workers are not
 * listed as frontend workers. */
START_TEST(test_frontend_not_trusted)
{
	struct sup_http_resp r;
	const char *clients[] = {"--json", "clients", NULL};
	char log[65536];
	pid_t fe;
	int fport, i;

	start_daemon();
	fe = frontend_as("user1", &fport, "frontend");
	wait_workers(2);
	ck_assert_int_eq(http_until(fport, "/healthz", 200, 10000), 0);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(
		    sup_http(fport, "GET", "/part1/async", NULL, &r, 10000), 0);
		ck_assert_int_eq(r.status, 200);
	}
	sup_sleep_ms(1500); /* several report intervals */
	sup_read_log("frontend.log", log, sizeof(log));
	ck_assert_msg(strstr(log, "refused our HTTP report") != NULL &&
	                  strstr(log, "certificate 'user1' may not report") !=
	                      NULL,
	              "%s", log);
	ck_assert_int_eq(sup_ctl(sock, clients, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "frontend-worker") == NULL, "%s", out);
	sup_stop_ok(fe, "frontend", 15000);
	sup_stop_ok(mrd, "mockresd", 10000);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");

	/* The in-process TLS client writes to connections mockresd may have
	 * closed (refused handshakes): EPIPE, not a dead test. */
	signal(SIGPIPE, SIG_IGN);

	SUP_ADD_CASE(s, "mockresctl", setup, NULL, 120, test_ctl_every_command,
	             test_steer_by_cn, test_client_errors);
	SUP_ADD_CASE(s, "mockresd", setup, NULL, 60, test_refused_handshakes,
	             test_handshake_deadline, test_records_read_ahead,
	             test_hello_host, test_pipeline_then_read,
	             test_report_clock);
#ifdef FLOOD_BIN
	SUP_ADD_CASE(s, "flood", setup, NULL, 60, test_handshake_flood);
#endif
	SUP_ADD_CASE(s, "programs", setup, NULL, 120,
	             test_frontend_and_dashboard, test_frontend_not_trusted);
	return sup_run_suite(s);
}
