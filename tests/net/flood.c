/*
 * flood.c: mockres_net_flood ADDR PORT SECONDS [CONNECTIONS]: a TLS
 * handshake flood, for the net tests, as fast as one core can send it.
 *
 * Every connection sends the same TLS 1.3 ClientHello (made once with
 * OpenSSL into memory), waits for the first bytes of the server's answer
 * (ServerHello ... CertificateVerify: the server has made its key share
 * and signed), and resets the connection (SO_LINGER 0: no TIME_WAIT, so
 * the ports last).  The client does no cryptography per connection: the
 * server does all the work, which is what a flood from a host without a
 * certificate costs.  CONNECTIONS (default 64) are kept in flight on one
 * epoll loop; one that has no answer within 3 s is dropped and replaced.
 * Prints one line at the end:
 *   flood: N answered (R/s), C connects, E errors, T timed out, S s,
 *   CPU U s
 * Exit 0, or 1 if it could not run, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define FLOOD_CONNS_MAX  4096
#define FLOOD_HELLO_MAX  4096
#define FLOOD_TIMEOUT_NS 3000000000ull

struct flood_conn {
	uint64_t started_ns;
	int fd;
	int sent;
};

struct flood {
	struct sockaddr_in to;
	unsigned char hello[FLOOD_HELLO_MAX];
	size_t hello_len;
	int ep;
	uint64_t answered, connects, errors, timed_out;
};

/* The ClientHello a TLS 1.3 client sends first, into F->hello. */
static int
flood_make_hello(struct flood *f)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx == NULL ? NULL : SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	int n, rc = -1;

	if (ssl == NULL || rb == NULL || wb == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
		goto out;
	SSL_set_bio(ssl, rb, wb);
	rb = wb = NULL; /* the SSL owns them */
	SSL_set_connect_state(ssl);
	(void)SSL_do_handshake(ssl); /* writes the hello, wants to read */
	n = BIO_read(SSL_get_wbio(ssl), f->hello, sizeof(f->hello));
	if (n > 0) {
		f->hello_len = (size_t)n;
		rc = 0;
	}
out:
	BIO_free(rb);
	BIO_free(wb);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return rc;
}

/* A new non-blocking connection in slot C. */
static void
flood_open(struct flood *f, struct flood_conn *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct epoll_event ev;
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->sent = 0;
	c->started_ns = clock_now_ns();
	if (c->fd == -1) {
		f->errors++;
		return;
	}
	(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	f->connects++;
	if (connect(c->fd, (struct sockaddr *)&f->to, sizeof(f->to)) == -1 &&
	    errno != EINPROGRESS) {
		f->errors++;
		close(c->fd);
		c->fd = -1;
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT | EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(f->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		f->errors++;
		close(c->fd);
		c->fd = -1;
	}
}

static void
flood_close(struct flood_conn *c)
{
	if (c->fd != -1)
		close(c->fd); /* SO_LINGER 0: a reset */
	c->fd = -1;
}

/* Events on C: send the hello once connected, count the first answer. */
static void
flood_event(struct flood *f, struct flood_conn *c, uint32_t events)
{
	if (events & (EPOLLERR | EPOLLHUP)) {
		f->errors++;
		flood_close(c);
		return;
	}
	if ((events & EPOLLOUT) && !c->sent) {
		struct epoll_event ev;

		if (send(c->fd, f->hello, f->hello_len, MSG_NOSIGNAL) !=
		    (ssize_t)f->hello_len) {
			f->errors++;
			flood_close(c);
			return;
		}
		c->sent = 1;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		(void)epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	if (events & EPOLLIN) {
		unsigned char buf[16384];
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n > 0)
			f->answered++;
		else if (n == -1 && errno == EAGAIN)
			return;
		else
			f->errors++;
		flood_close(c);
	}
}

int
main(int argc, char **argv)
{
	static struct flood_conn conns[FLOOD_CONNS_MAX];
	struct epoll_event evs[256];
	struct flood f;
	struct rusage ru;
	uint64_t start, end;
	long secs, nconns = 64, port;
	double took;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: mockres_net_flood ADDR PORT SECONDS "
		                "[CONNECTIONS]\n");
		return 2;
	}
	memset(&f, 0, sizeof(f));
	f.to.sin_family = AF_INET;
	port = strtol(argv[2], NULL, 10);
	secs = strtol(argv[3], NULL, 10);
	if (argc == 5)
		nconns = strtol(argv[4], NULL, 10);
	if (inet_pton(AF_INET, argv[1], &f.to.sin_addr) != 1 || port < 1 ||
	    port > 65535 || secs < 1 || secs > 3600 || nconns < 1 ||
	    nconns > FLOOD_CONNS_MAX) {
		fprintf(stderr, "mockres_net_flood: want an IPv4 ADDR, PORT "
		                "1..65535, SECONDS 1..3600, CONNECTIONS "
		                "1..4096\n");
		return 2;
	}
	f.to.sin_port = htons((uint16_t)port);
	if (flood_make_hello(&f) == -1) {
		fprintf(stderr, "mockres_net_flood: no ClientHello from "
		                "OpenSSL\n");
		return 1;
	}
	f.ep = epoll_create1(EPOLL_CLOEXEC);
	if (f.ep == -1) {
		perror("mockres_net_flood: epoll_create1");
		return 1;
	}
	for (long i = 0; i < nconns; i++)
		flood_open(&f, &conns[i]);

	start = clock_now_ns();
	end = start + (uint64_t)secs * 1000000000u;
	while (clock_now_ns() < end) {
		int n = epoll_wait(f.ep, evs, 256, 100);
		uint64_t now;

		for (int i = 0; i < n; i++)
			flood_event(&f, evs[i].data.ptr, evs[i].events);
		now = clock_now_ns();
		for (long i = 0; i < nconns; i++) {
			struct flood_conn *c = &conns[i];

			if (c->fd != -1 &&
			    now - c->started_ns > FLOOD_TIMEOUT_NS) {
				f.timed_out++;
				flood_close(c);
			}
			if (c->fd == -1)
				flood_open(&f, c);
		}
	}
	for (long i = 0; i < nconns; i++)
		flood_close(&conns[i]);
	took = (double)(clock_now_ns() - start) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	printf("flood: %llu answered (%.0f/s), %llu connects, %llu errors, "
	       "%llu timed out, %.1f s, CPU %.1f s\n",
	       (unsigned long long)f.answered, (double)f.answered / took,
	       (unsigned long long)f.connects, (unsigned long long)f.errors,
	       (unsigned long long)f.timed_out, took,
	       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}
