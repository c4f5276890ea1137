/*
 * sockpath.h: where mockresd's socket is: --socket, else $MOCKRES_SOCKET,
 * else /run/mockres/mockresd.sock.
 */
#ifndef MOCKRES_SOCKPATH_H
#define MOCKRES_SOCKPATH_H

#include <sys/socket.h>
#include <sys/un.h>

#define SOCKPATH_DEFAULT "/run/mockres/mockresd.sock"
#define SOCKPATH_ENV     "MOCKRES_SOCKET"

/*
 * Picks the path (FLAG may be NULL) and validates it: absolute or
 * relative, non-empty, shorter than sun_path.  Returns the path, or NULL
 * with *why set to a reason for the user.
 */
const char *sockpath_resolve(const char *flag, const char **why);

/* Fills SUN for PATH (already validated).  Returns the address length. */
socklen_t sockpath_addr(const char *path, struct sockaddr_un *sun);

#endif
