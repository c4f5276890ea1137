/*
 * tlsconf.c: the OpenSSL contexts of mockresd and of its clients, and the
 * checks of their files (see tlsconf.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "log.h"
#include "tlsconf.h"

void
tlsconf_files_env(struct tlsconf_files *f)
{
	if (f->cert == NULL)
		f->cert = getenv(TLSCONF_ENV_CERT);
	if (f->key == NULL)
		f->key = getenv(TLSCONF_ENV_KEY);
	if (f->ca == NULL)
		f->ca = getenv(TLSCONF_ENV_CA);
	/* An empty variable (an env file's "MOCKRES_TLS_CA=") is unset. */
	if (f->cert != NULL && f->cert[0] == '\0')
		f->cert = NULL;
	if (f->key != NULL && f->key[0] == '\0')
		f->key = NULL;
	if (f->ca != NULL && f->ca[0] == '\0')
		f->ca = NULL;
}

int
tlsconf_files_any(const struct tlsconf_files *f)
{
	return f->cert != NULL || f->key != NULL || f->ca != NULL;
}

/* The reason of OpenSSL's latest error, or WHAT if there is none. */
static const char *
tlsconf_ssl_reason(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : what;
}

/* Can PATH be opened for reading?  0, or -1 with ERR. */
static int
tlsconf_readable(const char *flag, const char *path, const char *what,
                 char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1) {
		snprintf(err, errlen, "%s %s: %s (%s)", flag, path,
		         strerror(errno), what);
		return -1;
	}
	close(fd);
	return 0;
}

/* "Mar  3 12:00:00 2026 GMT" style, for the messages. */
static void
tlsconf_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(buf, len, "an unreadable date");
}

/* This side's certificate is valid now?  0, or -1 with ERR. */
static int
tlsconf_check_dates(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	char when[64];

	if (x == NULL)
		return 0;
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		tlsconf_time(X509_get0_notAfter(x), when, sizeof(when));
		snprintf(err, errlen,
		         "--tls-cert %s expired on %s (make a new one, e.g. "
		         "with scripts/certs)",
		         path, when);
		return -1;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		tlsconf_time(X509_get0_notBefore(x), when, sizeof(when));
		snprintf(err, errlen,
		         "--tls-cert %s is not valid before %s (is this "
		         "machine's clock right?)",
		         path, when);
		return -1;
	}
	return 0;
}

/* The private key should be for root and the mockres group only. */
static void
tlsconf_check_key_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
		log_warnx("--tls-key %s can be read by every user of this "
		          "machine (chmod 0640 it, owned by root and the "
		          "mockres group)",
		          path);
}

/* What both sides share: versions, options, this side's identity and
 * the CA it checks the other side with. */
static SSL_CTX *
tlsconf_ctx(const struct tlsconf_files *f, int server, char *err, size_t errlen)
{
	const char *who = server ? "mockresd's" : "this client's";
	SSL_CTX *ctx;

	if (f->cert == NULL || f->key == NULL || f->ca == NULL) {
		snprintf(err, errlen,
		         "TLS needs --tls-cert, --tls-key and --tls-ca (or "
		         "$" TLSCONF_ENV_CERT ", $" TLSCONF_ENV_KEY
		         ", $" TLSCONF_ENV_CA "): %s is missing",
		         f->cert == NULL  ? "--tls-cert"
		         : f->key == NULL ? "--tls-key"
		                          : "--tls-ca");
		return NULL;
	}
	if (tlsconf_readable("--tls-cert", f->cert,
	                     server ? "mockresd's certificate, PEM"
	                            : "this client's certificate, PEM",
	                     err, errlen) == -1 ||
	    tlsconf_readable("--tls-key", f->key, "its private key, PEM", err,
	                     errlen) == -1 ||
	    tlsconf_readable("--tls-ca", f->ca,
	                     "the CA certificate(s) to check the other side "
	                     "with, PEM",
	                     err, errlen) == -1)
		return NULL;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(server ? TLS_server_method()
	                              : TLS_client_method())) == NULL) {
		snprintf(err, errlen, "cannot make a TLS context: %s",
		         tlsconf_ssl_reason("out of memory"));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	/* A bare EOF is a plain EOF: frames detect a truncated stream. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	                             SSL_OP_NO_RENEGOTIATION |
	                             SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* Read what the socket has in one read(), not a record's header
	 * then its body: half the syscalls of a small request.  fconn_tls
	 * drains what libevent cannot see (fconn_tls_more). */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
		snprintf(err, errlen,
		         "--tls-cert %s: %s (%s certificate, PEM; "
		         "scripts/certs makes one)",
		         f->cert, tlsconf_ssl_reason("no certificate"), who);
		goto fail;
	}
	if (tlsconf_check_dates(ctx, f->cert, err, errlen) == -1)
		goto fail;
	if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen,
		         "--tls-key %s: %s (the private key of %s, "
		         "PEM)",
		         f->key, tlsconf_ssl_reason("no private key"), f->cert);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen,
		         "--tls-key %s is not the key of --tls-cert %s (give "
		         "the pair made together)",
		         f->key, f->cert);
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
		snprintf(err, errlen,
		         "--tls-ca %s: %s (the CA certificate, PEM, that "
		         "signed the other side's certificates)",
		         f->ca, tlsconf_ssl_reason("no certificate"));
		goto fail;
	}
	/* The chain this side sends, built once, now: otherwise OpenSSL
	 * builds it anew for every handshake, checking our own certificate's
	 * signature each time (a third of what a TLS 1.3 handshake cost
	 * mockresd: 377 us -> 258 us), and sends the CA's certificate along,
	 * which the other side has.  Certificates in the --tls-cert file
	 * after the first (intermediates) are used; if no chain can be
	 * built, the certificate goes alone, as it did. */
	if (SSL_CTX_build_cert_chain(ctx,
	                             SSL_BUILD_CHAIN_FLAG_UNTRUSTED |
	                                 SSL_BUILD_CHAIN_FLAG_NO_ROOT |
	                                 SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
	                                 SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR) <= 0)
		SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	tlsconf_check_key_mode(f->key);
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

int
tlsconf_server(struct tlsconf *tc, const struct tlsconf_files *f, char *err,
               size_t errlen)
{
	STACK_OF(X509_NAME) * names;

	memset(tc, 0, sizeof(*tc));
	tc->server = 1;
	if ((tc->ctx = tlsconf_ctx(f, 1, err, errlen)) == NULL)
		return -1;
	/* Every client must show a certificate of our CA. */
	SSL_CTX_set_verify(
	    tc->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* Tell clients which CA: a client with several certificates can
	 * pick the right one. */
	if ((names = SSL_load_client_CA_file(f->ca)) != NULL)
		SSL_CTX_set_client_CA_list(tc->ctx, names);
	ERR_clear_error();
	return 0;
}

int
tlsconf_client(struct tlsconf *tc, const struct tlsconf_files *f,
               const char *host, const char *port, char *err, size_t errlen)
{
	unsigned char addr[16];

	memset(tc, 0, sizeof(*tc));
	if (strlen(host) >= sizeof(tc->host)) {
		snprintf(err, errlen, "the host name is too long");
		return -1;
	}
	snprintf(tc->host, sizeof(tc->host), "%s", host);
	tc->host_is_ip = inet_pton(AF_INET, host, addr) == 1 ||
	                 inet_pton(AF_INET6, host, addr) == 1;
	if (strchr(host, ':') != NULL)
		snprintf(tc->target, sizeof(tc->target), "[%s]:%s", host, port);
	else
		snprintf(tc->target, sizeof(tc->target), "%s:%s", host, port);
	if ((tc->ctx = tlsconf_ctx(f, 0, err, errlen)) == NULL)
		return -1;
	SSL_CTX_set_verify(tc->ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

void
tlsconf_free(struct tlsconf *tc)
{
	if (tc->ctx != NULL)
		SSL_CTX_free(tc->ctx);
	tc->ctx = NULL;
}
