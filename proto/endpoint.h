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
 * A client's mockresd: FLAG (may be NULL), else $MOCKRES_SOCKET, else the
 * default, into EP; for tls:// also its TLS side into TC, from FILES
 * (completed from $MOCKRES_TLS_CERT, _KEY and _CA).  Returns 0, or -1
 * with ERR for the user.
 */
int endpoint_client(const char *flag, struct tlsconf_files *files,
                    struct endpoint *ep, struct tlsconf *tc, char *err,
                    size_t errlen);

#endif
