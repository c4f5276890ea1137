/*
 * fconn_tls.c: the framed connection's TLS transport: TLS 1.3 over TCP,
 * through libevent's bufferevent_openssl (OpenSSL 3).
 *
 * Opening.  The handshake runs inside the bufferevent; it has a one-shot
 * deadline of its own (TLS_OPEN_MS, a timer: bufferevent timeouts are
 * inactivity timeouts that fire again and again).  mockresd's side is up
 * when the handshake is done, that is when the client's certificate has
 * verified.  A client's side is up at the same moment, but in TLS 1.3 the
 * server checks the client's certificate only after the client thinks the
 * handshake is over, and says no with an alert that arrives later.  So a
 * client's deadline runs on until the first bytes of an answer arrive
 * (fc->heard; mrclient says hello first, and mockresd answers it), and an
 * alert before then is reported as mockresd refusing our certificate, not
 * as a network error.
 *
 * Writing.  A frame goes into a staging buffer of our own, not into the
 * bufferevent's output: bufferevent_openssl arms its write event as soon
 * as anything lands in its output, which would cost two epoll_ctl calls
 * and a wake-up per turn.  At the end of the turn, write_now hands the
 * staged bytes to SSL_write directly (a record per 16 KiB).  If the socket
 * takes only part, the rest moves to the bufferevent's output, with the
 * same first byte at the front of the same first chain, which is what
 * OpenSSL needs for the retry of an interrupted SSL_write
 * (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER, set by libevent, allows the move;
 * the length only grows); the bufferevent writes it when the socket
 * drains, and new frames follow it there until it is done.
 *
 * Closing.  Plain: free at once (SSL_free, close).  Graceful: the staged
 * bytes and a close_notify are written if the socket takes them now;
 * what does not fit lingers, owned by a small record, until it is written
 * or TLS_LINGER_MS pass.
 *
 * Errors.  libevent keeps the last three OpenSSL errors of a failure
 * (bufferevent_get_openssl_error, newest first, plus SSL_get_error's code
 * as a fake entry); they are read in the event callback, with errno and
 * the certificate check's result, and describe() turns them into a
 * sentence with a hint.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "clock.h"
#include "fconn.h"
#include "tlsconf.h"

#define TLS_OPEN_MS   MOCKRES_HANDSHAKE_MS
#define TLS_LINGER_MS 1000
#define TLS_CHUNK     16384 /* bytes per SSL_write: one record */
#define TLS_ERRORS    3     /* what libevent keeps */

struct fconn_tls_state {
	const struct tlsconf *conf;
	struct evbuffer *stage; /* this turn's frames, before SSL_write */
	struct event *deadline; /* the opening's */
	int opened;             /* the handshake is done */
	int timed_out;
	int sys_errno; /* errno at the failure */
	long verify;   /* the certificate check's result */
	int nerr;      /* OpenSSL errors of the failure, newest first */
	unsigned long err[TLS_ERRORS];
	int verified_cn;
	char cn[FCONN_CN_MAX + 1];
	char addr[FCONN_ADDR_MAX];
};

/* A graceful close that could not finish at once. */
struct fconn_tls_linger {
	struct bufferevent *bev;
	struct event *timer;
};

static SSL *
fconn_tls_ssl(const struct fconn *fc)
{
	return bufferevent_openssl_get_ssl(fc->bev);
}

/* "[::1]:4002" or "127.0.0.1:4002" for the logs. */
static void
fconn_tls_addr(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 1], port[8];

	memset(&ss, 0, sizeof(ss));
	snprintf(buf, len, "unknown");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
	                sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	if (ss.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, port);
	else
		snprintf(buf, len, "%s:%s", host, port);
}

static void
fconn_tls_free_state(struct fconn_tls_state *st)
{
	if (st == NULL)
		return;
	if (st->deadline != NULL)
		event_free(st->deadline);
	if (st->stage != NULL)
		evbuffer_free(st->stage);
	free(st);
}

/* The opening took too long (or, for a client, no answer came). */
static void
fconn_tls_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fconn *fc = arg;
	struct fconn_tls_state *st = fc->tls;

	if (st->opened && (st->conf->server || fc->heard))
		return;
	st->timed_out = 1;
	fc->ops->down(fc->arg, ETIMEDOUT, NULL);
}

static int
fconn_tls_open(struct fconn *fc, struct event_base *base, evutil_socket_t fd,
               void *arg)
{
	const struct tlsconf *conf = arg;
	struct timeval tv = clock_tv(TLS_OPEN_MS);
	struct fconn_tls_state *st;
	SSL *ssl = NULL;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->stage = evbuffer_new()) == NULL ||
	    (st->deadline = evtimer_new(base, fconn_tls_deadline_cb, fc)) ==
	        NULL ||
	    (ssl = SSL_new(conf->ctx)) == NULL)
		goto fail;
	st->conf = conf;
	st->verify = X509_V_OK;
	fconn_tls_addr(fd, st->addr, sizeof(st->addr));
	if (!conf->server) {
		/* Check the name dialled; send it as SNI unless an address
		 * (RFC 6066 has no IP addresses in SNI). */
		if (conf->host_is_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			                                  conf->host) != 1)
				goto fail;
		} else if (SSL_set1_host(ssl, conf->host) != 1 ||
		           SSL_set_tlsext_host_name(ssl, conf->host) != 1) {
			goto fail;
		}
	}
	/* On failure the constructor has freed SSL (not FD). */
	fc->bev = bufferevent_openssl_socket_new(
	    base, fd, ssl,
	    conf->server ? BUFFEREVENT_SSL_ACCEPTING
	                 : BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	ssl = NULL;
	if (fc->bev == NULL)
		goto fail;
	/* With SSL_OP_IGNORE_UNEXPECTED_EOF a bare EOF is SSL's
	 * ZERO_RETURN without a close_notify, which 2.1 calls dirty. */
	bufferevent_openssl_set_allow_dirty_shutdown(fc->bev, 1);
	/* No read watermark: a suspended TLS read leaves SSL_pending bytes
	 * unread until more arrive (libevent #690). */
	bufferevent_enable(fc->bev, EV_READ);
	fc->tls = st;
	fc->out = st->stage;
	if (evtimer_add(st->deadline, &tv) == -1) {
		bufferevent_free(fc->bev);
		fc->bev = NULL;
		fc->tls = NULL;
		fconn_tls_free_state(st);
		return -1;
	}
	return 0;
fail:
	if (ssl != NULL)
		SSL_free(ssl);
	fconn_tls_free_state(st);
	close(fd);
	return -1;
}

/* OpenSSL's errors of a failure, into ST (after libevent's). */
static void
fconn_tls_keep_errors(struct fconn_tls_state *st)
{
	unsigned long e;

	while ((e = ERR_get_error()) != 0)
		if (st->nerr < TLS_ERRORS)
			st->err[st->nerr++] = e;
}

/*
 * The staged frames to SSL_write now (see the top of the file).  0 all
 * written, 1 the rest moved to the bufferevent, -1 an error.
 */
static int
fconn_tls_write_now(struct fconn *fc)
{
	struct fconn_tls_state *st = fc->tls;
	SSL *ssl = fconn_tls_ssl(fc);
	size_t n, chunk;
	unsigned char *p;
	int r;

	while ((n = evbuffer_get_length(st->stage)) > 0) {
		chunk = n < TLS_CHUNK ? n : TLS_CHUNK;
		if ((p = evbuffer_pullup(st->stage, (ev_ssize_t)chunk)) ==
		    NULL) {
			errno = ENOMEM;
			return -1;
		}
		ERR_clear_error(); /* or SSL_get_error may misread it */
		r = SSL_write(ssl, p, (int)chunk);
		if (r > 0) {
			evbuffer_drain(st->stage, (size_t)r);
			continue;
		}
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_WRITE:
		case SSL_ERROR_WANT_READ:
			fc->out = bufferevent_get_output(fc->bev);
			evbuffer_add_buffer(fc->out, st->stage);
			bufferevent_enable(fc->bev, EV_WRITE);
			return 1;
		case SSL_ERROR_SYSCALL:
			st->sys_errno = errno ? errno : EPIPE;
			fconn_tls_keep_errors(st);
			errno = st->sys_errno;
			return -1;
		default:
			fconn_tls_keep_errors(st);
			errno = EPROTO;
			return -1;
		}
	}
	return 0;
}

/*
 * With read-ahead on (tlsconf.c: one read() per batch of records instead
 * of two per record, header then body), OpenSSL may hold whole records
 * it has not decrypted yet, which libevent 2.1 does not see: it asks
 * SSL_pending, the current record's bytes only, and then waits for the
 * socket, which may stay quiet.  fconn's read loop asks here instead,
 * SSL_has_pending, once the input is done.
 */
static int
fconn_tls_more(struct fconn *fc)
{
	struct evbuffer *in = bufferevent_get_input(fc->bev);
	SSL *ssl = fconn_tls_ssl(fc);
	struct evbuffer_iovec v;
	int r;

	if (!SSL_has_pending(ssl))
		return 0;
	if (evbuffer_reserve_space(in, TLS_CHUNK, &v, 1) != 1) {
		errno = ENOMEM;
		return -1;
	}
	ERR_clear_error();
	r = SSL_read(ssl, v.iov_base, (int)v.iov_len);
	if (r > 0) {
		v.iov_len = (size_t)r;
		evbuffer_commit_space(in, &v, 1);
		return 1;
	}
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ: /* a partial record: the socket brings it */
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		errno = 0; /* a close_notify: the bufferevent reports the EOF */
		return 0;
	default:
		fconn_tls_keep_errors(fc->tls);
		errno = EPROTO;
		return -1;
	}
}

/* The bufferevent has written the rest: frames go to the stage again. */
static void
fconn_tls_written(struct fconn *fc)
{
	fc->out = fc->tls->stage;
	bufferevent_disable(fc->bev, EV_WRITE);
}

/* The peer's certificate's Common Name, if it has exactly one that is
 * printable ASCII of at most FCONN_CN_MAX bytes. */
static void
fconn_tls_take_cn(struct fconn_tls_state *st, SSL *ssl)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	X509_NAME *name;
	unsigned char *utf8 = NULL;
	int i, n, ok;

	st->cn[0] = '\0';
	st->verified_cn = 0;
	if (x == NULL || (name = X509_get_subject_name(x)) == NULL)
		return;
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return; /* none, or more than one */
	n = ASN1_STRING_to_UTF8(
	    &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	ok = n > 0 && n <= FCONN_CN_MAX;
	for (i = 0; ok && i < n; i++)
		ok = utf8[i] >= 0x20 && utf8[i] <= 0x7e;
	if (ok) {
		memcpy(st->cn, utf8, (size_t)n);
		st->cn[n] = '\0';
		st->verified_cn = SSL_get_verify_result(ssl) == X509_V_OK;
	}
	OPENSSL_free(utf8);
}

static int
fconn_tls_event(struct fconn *fc, short what, int *error)
{
	struct fconn_tls_state *st = fc->tls;
	SSL *ssl = fconn_tls_ssl(fc);
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		if (!st->opened) {
			st->opened = 1;
			fconn_tls_take_cn(st, ssl);
			if (st->conf->server)
				evtimer_del(st->deadline);
			/* libevent re-enabled writing for the handshake;
			 * fconn writes at turn ends. */
			if (!fc->writing)
				bufferevent_disable(fc->bev, EV_WRITE);
		}
		return 1;
	}
	st->sys_errno = EVUTIL_SOCKET_ERROR();
	if (ssl != NULL)
		st->verify = SSL_get_verify_result(ssl);
	while ((e = bufferevent_get_openssl_error(fc->bev)) != 0)
		/* Skip the fake entry (SSL_get_error's code, lib 0). */
		if (ERR_GET_LIB(e) != 0 && st->nerr < TLS_ERRORS)
			st->err[st->nerr++] = e;
	if (what & BEV_EVENT_EOF)
		*error = 0;
	else if (st->nerr > 0)
		*error = EPROTO;
	else
		*error = st->sys_errno ? st->sys_errno : ECONNRESET;
	if (!st->opened && *error == 0)
		*error = ECONNRESET; /* an EOF before the handshake's end */
	return 0;
}

static void
fconn_tls_linger_free(struct fconn_tls_linger *l)
{
	event_free(l->timer);
	bufferevent_free(l->bev);
	free(l);
}

static void
fconn_tls_linger_write_cb(struct bufferevent *bev, void *arg)
{
	struct fconn_tls_linger *l = arg;

	ERR_clear_error();
	SSL_shutdown(bufferevent_openssl_get_ssl(bev));
	ERR_clear_error();
	fconn_tls_linger_free(l);
}

static void
fconn_tls_linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	fconn_tls_linger_free(arg);
}

static void
fconn_tls_linger_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	fconn_tls_linger_free(arg);
}

/* What is still queued is written by the bufferevent, then a
 * close_notify, within TLS_LINGER_MS; 0, or -1 if it cannot be set up. */
static int
fconn_tls_linger(struct fconn *fc)
{
	struct timeval tv = clock_tv(TLS_LINGER_MS);
	struct fconn_tls_linger *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	l->bev = fc->bev;
	l->timer = evtimer_new(bufferevent_get_base(fc->bev),
	                       fconn_tls_linger_timer_cb, l);
	if (l->timer == NULL || evtimer_add(l->timer, &tv) == -1) {
		if (l->timer != NULL)
			event_free(l->timer);
		free(l);
		return -1;
	}
	bufferevent_setcb(l->bev, NULL, fconn_tls_linger_write_cb,
	                  fconn_tls_linger_event_cb, l);
	bufferevent_disable(l->bev, EV_READ);
	bufferevent_enable(l->bev, EV_WRITE);
	return 0;
}

/*
 * A handshake that failed: OpenSSL has sent its alert.  Whatever the peer
 * sent meanwhile is read and dropped first (64 KiB at most): closing with
 * unread bytes makes the kernel send a reset, which can overtake the
 * alert, and a client would then not learn why.
 */
static void
fconn_tls_drain(int fd)
{
	char buf[4096];
	int i;

	for (i = 0; i < 16; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
}

static void
fconn_tls_close(struct fconn *fc, int graceful)
{
	struct fconn_tls_state *st = fc->tls;
	int r;

	if (st != NULL && !st->opened)
		fconn_tls_drain(bufferevent_getfd(fc->bev));
	if (graceful && st != NULL && st->opened) {
		r = fc->writing ? 1 : fconn_tls_write_now(fc);
		if (r == 0) {
			ERR_clear_error();
			SSL_shutdown(fconn_tls_ssl(fc));
		} else if (r == 1 && fconn_tls_linger(fc) == 0) {
			fc->tls = NULL;
			fconn_tls_free_state(st);
			ERR_clear_error();
			return;
		}
	}
	fc->tls = NULL;
	fconn_tls_free_state(st);
	bufferevent_free(fc->bev);
	ERR_clear_error();
}

static void
fconn_tls_peer(const struct fconn *fc, struct fconn_peer *p)
{
	const struct fconn_tls_state *st = fc->tls;

	if (st == NULL)
		return;
	snprintf(p->addr, sizeof(p->addr), "%s", st->addr);
	if (st->opened) {
		snprintf(p->cn, sizeof(p->cn), "%s", st->cn);
		p->verified_cn = st->verified_cn;
	}
}

/* Does ST hold an error of OpenSSL's with this reason? */
static int
fconn_tls_has(const struct fconn_tls_state *st, int reason)
{
	int i;

	for (i = 0; i < st->nerr; i++)
		if (ERR_GET_REASON(st->err[i]) == reason)
			return 1;
	return 0;
}

static const char *
fconn_tls_first_reason(const struct fconn_tls_state *st)
{
	const char *r = NULL;
	int i;

	for (i = 0; i < st->nerr && r == NULL; i++)
		r = ERR_reason_error_string(st->err[i]);
	return r != NULL ? r : "TLS error";
}

/* The client's reason and hint for a handshake that failed. */
static void
fconn_tls_client_reason(const struct fconn *fc, int error, char *why,
                        size_t wlen, const char **hint)
{
	const struct fconn_tls_state *st = fc->tls;

	*hint = "is that address mockresd's --listen-tls?";
	if (fconn_tls_has(st, SSL_R_CERTIFICATE_VERIFY_FAILED)) {
		snprintf(why, wlen, "certificate verify failed: %s",
		         X509_verify_cert_error_string(st->verify));
		switch (st->verify) {
		case X509_V_ERR_HOSTNAME_MISMATCH:
		case X509_V_ERR_IP_ADDRESS_MISMATCH:
			*hint = "mockresd's certificate must name the host "
			        "dialled: make it for that name or address";
			break;
		case X509_V_ERR_CERT_HAS_EXPIRED:
			*hint = "mockresd's certificate has expired: make it a "
			        "new one";
			break;
		case X509_V_ERR_CERT_NOT_YET_VALID:
			*hint = "is this machine's clock right?";
			break;
		default:
			*hint = "is --tls-ca the CA that signed mockresd's "
			        "certificate?";
			break;
		}
		return;
	}
	if (st->nerr > 0 && st->opened && !fc->heard) {
		/* TLS 1.3: the server said no after our Finished. */
		snprintf(why, wlen, "mockresd refused our certificate (%s)",
		         fconn_tls_first_reason(st));
		if (fconn_tls_has(st, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED))
			*hint = "--tls-cert has expired: make a new one";
		else if (fconn_tls_has(st,
		                       SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED))
			*hint = "give --tls-cert and --tls-key";
		else
			*hint = "is --tls-cert signed by the CA mockresd "
			        "trusts, its --tls-ca?";
		return;
	}
	if (st->opened && !fc->heard) {
		/* Closed, or reset, before any answer: the alert saying why
		 * was lost with the connection, or never sent. */
		snprintf(why, wlen,
		         st->timed_out ? "no answer within %d s of the "
		                         "handshake"
		                       : "mockresd closed the connection after "
		                         "the handshake",
		         TLS_OPEN_MS / 1000);
		*hint = "did it refuse our certificate? is --tls-cert signed "
		        "by the CA mockresd trusts, its --tls-ca? its log says "
		        "why";
		return;
	}
	if (st->timed_out) {
		snprintf(why, wlen, "no answer within %d s",
		         TLS_OPEN_MS / 1000);
		return;
	}
	if (st->nerr > 0) {
		snprintf(why, wlen, "%s", fconn_tls_first_reason(st));
		return;
	}
	snprintf(why, wlen, "%s",
	         error == ECONNRESET || error == 0 ? "the connection was closed"
	                                           : strerror(error));
}

/* The server's reason for a client's handshake that failed. */
static void
fconn_tls_server_reason(const struct fconn_tls_state *st, int error, char *why,
                        size_t wlen)
{
	if (st->timed_out)
		snprintf(why, wlen, "no handshake within %d s",
		         TLS_OPEN_MS / 1000);
	else if (fconn_tls_has(st, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE))
		snprintf(why, wlen, "the client sent no certificate");
	else if (fconn_tls_has(st, SSL_R_CERTIFICATE_VERIFY_FAILED))
		snprintf(why, wlen, "its certificate did not verify: %s",
		         X509_verify_cert_error_string(st->verify));
	else if (fconn_tls_has(st, SSL_R_HTTP_REQUEST) ||
	         fconn_tls_has(st, SSL_R_WRONG_VERSION_NUMBER) ||
	         fconn_tls_has(st, SSL_R_PACKET_LENGTH_TOO_LONG))
		snprintf(why, wlen, "not TLS (%s)", fconn_tls_first_reason(st));
	else if (fconn_tls_has(st, SSL_R_UNSUPPORTED_PROTOCOL))
		snprintf(why, wlen, "the client does not speak TLS 1.3");
	else if (fconn_tls_has(st, SSL_R_TLSV1_ALERT_UNKNOWN_CA) ||
	         fconn_tls_has(st, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE) ||
	         fconn_tls_has(st, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED) ||
	         fconn_tls_has(st, SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN) ||
	         fconn_tls_has(st, SSL_R_TLSV1_ALERT_DECRYPT_ERROR))
		snprintf(why, wlen,
		         "the client refused mockresd's certificate (%s: is "
		         "the client's --tls-ca the CA of mockresd's "
		         "--tls-cert, and does that name the host it dials?)",
		         fconn_tls_first_reason(st));
	else if (st->nerr > 0)
		snprintf(why, wlen, "%s", fconn_tls_first_reason(st));
	else
		snprintf(why, wlen, "%s",
		         error == ECONNRESET || error == 0
		             ? "the client closed the connection"
		             : strerror(error));
}

/* Up and heard from: the reason alone; a failed opening: a sentence. */
static void
fconn_tls_describe(const struct fconn *fc, int error, char *buf, size_t len)
{
	const struct fconn_tls_state *st = fc->tls;
	const char *hint = NULL;
	char why[256];

	if (st == NULL) {
		snprintf(buf, len, "%s", error ? strerror(error) : "closed");
		return;
	}
	if (st->conf->server) {
		fconn_tls_server_reason(st, error, why, sizeof(why));
		if (st->opened)
			snprintf(buf, len, "%s", why);
		else
			snprintf(buf, len, "TLS handshake from %s failed: %s",
			         st->addr, why);
		return;
	}
	if (st->opened && fc->heard) {
		snprintf(buf, len, "%s",
		         st->nerr > 0 ? fconn_tls_first_reason(st)
		         : error      ? strerror(error)
		                      : "connection closed");
		return;
	}
	fconn_tls_client_reason(fc, error, why, sizeof(why), &hint);
	snprintf(buf, len, "TLS handshake with %s failed: %s (%s)",
	         st->conf->target, why, hint);
}

const struct fconn_transport fconn_tls = {
    .name = "tls",
    .open = fconn_tls_open,
    .write_now = fconn_tls_write_now,
    .written = fconn_tls_written,
    .more = fconn_tls_more,
    .event = fconn_tls_event,
    .close = fconn_tls_close,
    .peer = fconn_tls_peer,
    .describe = fconn_tls_describe,
};
