/*
 * listen.c: the TCP listening sockets, one SO_REUSEPORT socket per worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frontend.h"

/*
 * SO_REUSEPORT lets a second frontend of the same user silently join our
 * group on the same port.  A plain bind first fails with EADDRINUSE when
 * anyone holds the address, which turns that into a start-up error.
 */
int
listen_check_free(const struct sockaddr_storage *ss, socklen_t len, char *err,
                  size_t errlen)
{
	int fd, on = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)ss, len) == -1) {
		snprintf(err, errlen, "%s%s", strerror(errno),
		         errno == EADDRINUSE ? " (another program, or another "
		                               "mockres-frontend, listens "
		                               "there; pick another --listen)"
		                             : "");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Returns a non-blocking listening socket with SO_REUSEPORT (set before
 * bind, or the kernel does not group the sockets) and a large backlog,
 * or -1 with a reason in ERR.
 */
int
listen_tcp(const struct sockaddr_storage *ss, socklen_t len, char *err,
           size_t errlen)
{
	int fd, on = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	            0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) {
		snprintf(err, errlen, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)ss, len) == -1) {
		snprintf(err, errlen, "bind: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, FRONTEND_BACKLOG) == -1) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
