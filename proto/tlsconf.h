/*
 * tlsconf.h: the TLS settings of mockres, made once at start-up: which
 * files, the OpenSSL context built from them, and for a client the name
 * mockresd's certificate must carry.
 *
 * TLS 1.3 only, mutual: mockresd takes only clients whose certificate
 * verifies against its --tls-ca, and a client takes only a mockresd whose
 * certificate verifies against the client's --tls-ca and names the host
 * it dialled (a DNS name or an IP address in subjectAltName).  No session
 * tickets and no session cache (nothing is kept of a connection once it
 * is closed), no renegotiation, no compression.
 *
 * Every file problem is found here, before the program serves anything,
 * and said in one line naming the flag, the file and what to do.
 */
#ifndef MOCKRES_TLSCONF_H
#define MOCKRES_TLSCONF_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLSCONF_ENV_CERT "MOCKRES_TLS_CERT"
#define TLSCONF_ENV_KEY  "MOCKRES_TLS_KEY"
#define TLSCONF_ENV_CA   "MOCKRES_TLS_CA"

struct tlsconf_files {
	const char *cert; /* PEM: this side's certificate (and chain) */
	const char *key;  /* PEM: its private key */
	const char *ca;   /* PEM: the CA(s) the other side must be signed by */
};

/* Fills what the flags left NULL from MOCKRES_TLS_CERT, _KEY and _CA. */
void tlsconf_files_env(struct tlsconf_files *);
/* Whether any of the three is given. */
int tlsconf_files_any(const struct tlsconf_files *);

/* A configured side of TLS, handed to fconn_open as the fconn_tls
 * transport's argument. */
struct tlsconf {
	SSL_CTX *ctx;
	int server;
	char host[256]; /* client: the name or address to verify */
	int host_is_ip;
	char target[300]; /* client: "HOST:PORT" for messages */
};

/* mockresd's side.  Returns 0, or -1 with ERR for the user. */
int tlsconf_server(struct tlsconf *, const struct tlsconf_files *, char *err,
                   size_t errlen);
/* A client's side, to reach HOST (bracketless for IPv6) at PORT. */
int tlsconf_client(struct tlsconf *, const struct tlsconf_files *,
                   const char *host, const char *port, char *err,
                   size_t errlen);
void tlsconf_free(struct tlsconf *);

#endif
