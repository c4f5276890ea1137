/*
 * endpoint.h: where a client finds mockresd: a Unix socket path, or
 * tls://HOST:PORT (HOST a DNS name, an IPv4 address or [an IPv6 one]).
 * --socket, else $MOCKRES_SOCKET, else /run/mockres/mockresd.sock.
 */
#ifndef MOCKRES_ENDPOINT_H
#define MOCKRES_ENDPOINT_H

#include <stddef.h>

#include "sockpath.h"
#include "tlsconf.h"

#define ENDPOINT_TLS_PREFIX "tls://"

enum endpoint_kind {
	ENDPOINT_UNIX,
	ENDPOINT_TLS,
};

struct endpoint {
	enum endpoint_kind kind;
	char text[300]; /* as given: the path, or "tls://HOST:PORT" */
	char path[108]; /* ENDPOINT_UNIX */
	char host[256]; /* ENDPOINT_TLS, without the brackets of IPv6 */
	char port[6];
};

/* S into EP.  Returns 0, or -1 with ERR for the user. */
int endpoint_parse(const char *s, struct endpoint *ep, char *err,
                   size_t errlen);

/*
 * The flags every client of mockresd takes to reach it, for its
 * getopt_long table: --socket, --tls-cert, --tls-key and --tls-ca, as the
 * values 's', 'c', 'k' and 'a' (which a client gives no other flag).
 */
/* clang-format off */
#define ENDPOINT_CLIENT_OPTIONS \
	{"socket", required_argument, NULL, 's'}, \
	{"tls-cert", required_argument, NULL, 'c'}, \
	{"tls-key", required_argument, NULL, 'k'}, \
	{"tls-ca", required_argument, NULL, 'a'}
/* clang-format on */

/* What those flags said (all NULL when none was given). */
struct endpoint_flags {
	const char *socket;
	struct tlsconf_files files;
};

/*
 * Getopt's CH and ARG into FL if CH is one of ENDPOINT_CLIENT_OPTIONS:
 * 1, else 0 (the caller's own flag, or a bad one).
 */
int endpoint_flag(struct endpoint_flags *fl, int ch, const char *arg);

/*
 * A client's mockresd: --socket (FL->socket, may be NULL), else
 * $MOCKRES_SOCKET, else the default, into EP; for tls:// also its TLS
 * side into TC, from FL's files (completed from $MOCKRES_TLS_CERT, _KEY
 * and _CA).  Returns 0, or -1 with ERR for the user.
 */
int endpoint_client(struct endpoint_flags *fl, struct endpoint *ep,
                    struct tlsconf *tc, char *err, size_t errlen);

#endif
