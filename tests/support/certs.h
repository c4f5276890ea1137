/*
 * certs.h: certificates for the TLS tests, made in-process with the
 * OpenSSL API (EC P-256, ~1 ms each): a CA, mockresd's certificate, and
 * client certificates by CN, valid or already expired.
 */
#ifndef MOCKRES_TEST_CERTS_H
#define MOCKRES_TEST_CERTS_H

#include <stddef.h>

struct sup_cert {
	const char *name; /* the file's base name: DIR/NAME.crt, NAME.key */
	const char *cn;   /* its subject's Common Name (NULL: NAME) */
	int expired;      /* valid for a day that ended yesterday */
	/* A server certificate: its subjectAltName ("DNS:localhost,
	 * IP:127.0.0.1"); NULL for a client one. */
	const char *san;
};

/*
 * Makes DIR/ca.crt and DIR/ca.key (a new CA, CN CA_CN) unless they exist,
 * then every certificate of CERTS, signed by it.  Keys are mode 0600.
 * Fails the test on any error.
 */
void sup_certs(const char *dir, const char *ca_cn, const struct sup_cert *certs,
               size_t n);

/* "DIR/NAME.EXT" in a static ring of 64 buffers. */
const char *sup_cert_path(const char *dir, const char *name, const char *ext);

#endif
