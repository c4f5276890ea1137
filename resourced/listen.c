/*
 * listen.c: mockresd's listening sockets: the Unix one, and the TCP ones
 * of TLS (listen_inet: one per --listen-tls; an IPv6 one takes IPv6 only,
 * so that [::]:4002 and 0.0.0.0:4002 can both be given).
 *
 * A socket file left by a dead daemon is replaced; a live daemon on the
 * same path is a start-up error; anything that is not a socket is never
 * removed.  The socket is created mode 0660.
 *
 * A daemon gives up its path when it stops accepting (mockresd.c,
 * mockresd_stop_accepting), while its socket is still bound: it removes
 * the file only if the path still names the file it created (same device
 * and inode, which cannot have been reused while the socket holds it),
 * and never touches the path again.  A daemon started while the old one
 * drains its holds then finds no file and binds its own.  (Checking the
 * device and inode at exit instead failed: by then the old socket is
 * closed, and the successor's file may get the inode number just freed.)
 */
#include <errno.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "mockresd.h"
#include "parse.h"
#include "sockpath.h"

/* Is something accepting on PATH?  1 yes, 0 no (stale), -1 error. */
static int
listen_probe(const char *path)
{
	struct sockaddr_un sun;
	socklen_t len = sockpath_addr(path, &sun);
	int fd, r;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	r = connect(fd, (struct sockaddr *)&sun, len);
	close(fd);
	if (r == 0)
		return 1;
	return errno == ECONNREFUSED ? 0 : -1;
}

int
listen_unix(const char *path, struct listen_file *file, char *err,
            size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len = sockpath_addr(path, &sun);
	struct stat st;
	mode_t old;
	int fd;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen,
			         "%s exists and is not a socket "
			         "(remove it or choose another --socket)",
			         path);
			return -1;
		}
		switch (listen_probe(path)) {
		case 1:
			snprintf(err, errlen,
			         "another mockresd is already "
			         "listening on %s (stop it, or choose another "
			         "--socket)",
			         path);
			return -1;
		case 0:
			log_info("replacing stale socket %s", path);
			if (unlink(path) == -1) {
				snprintf(err, errlen,
				         "cannot remove stale "
				         "socket %s: %s",
				         path, strerror(errno));
				return -1;
			}
			break;
		default:
			snprintf(err, errlen, "cannot probe %s: %s", path,
			         strerror(errno));
			return -1;
		}
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, len) == -1) {
		int saved = errno;
		char dir[sizeof(sun.sun_path)];

		umask(old);
		close(fd);
		snprintf(dir, sizeof(dir), "%s", path);
		if (saved == ENOENT)
			snprintf(err, errlen,
			         "cannot bind %s: directory %s "
			         "does not exist (create it, or choose another "
			         "--socket)",
			         path, dirname(dir));
		else
			snprintf(err, errlen, "cannot bind %s: %s", path,
			         strerror(saved));
		return -1;
	}
	umask(old);
	if (lstat(path, &st) == -1 || chmod(path, 0660) == -1 ||
	    listen(fd, 1024) == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		         strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	return fd;
}

void
listen_unlink(const char *path, const struct listen_file *file)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return; /* removed by someone else: nothing to do */
	if (st.st_dev != file->dev || st.st_ino != file->ino) {
		log_info("leaving %s in place: it is another mockresd's socket "
		         "now",
		         path);
		return;
	}
	if (unlink(path) == -1)
		log_warn("cannot remove %s", path);
}

int
listen_inet(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (parse_listen_addr(addr, &ss, &len) == -1) {
		snprintf(err, errlen,
		         "--listen-tls must be ADDR:PORT (0.0.0.0:4002, "
		         "127.0.0.1:4002 or [::]:4002), not '%s'",
		         addr);
		return -1;
	}
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		         strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ==
	         -1) ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 1024) == -1) {
		int saved = errno;

		close(fd);
		snprintf(err, errlen, "cannot listen on %s: %s%s", addr,
		         strerror(saved),
		         saved == EADDRINUSE
		             ? " (another mockresd? choose another "
		               "--listen-tls port)"
		         : saved == EADDRNOTAVAIL
		             ? " (no interface of this host has that address)"
		             : "");
		return -1;
	}
	return fd;
}

int
listen_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type;
	socklen_t tlen = sizeof(type);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != SOCK_STREAM)
		return -1;
	return ss.ss_family;
}
