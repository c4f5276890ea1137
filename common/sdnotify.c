/*
 * sdnotify.c: sd_notify(3) and sd_listen_fds(3), both stable protocols.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "parse.h"
#include "sdnotify.h"

int
sdnotify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;
	ssize_t n;
	int fd;

	if (path == NULL || path[0] == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	           (struct sockaddr *)&sun, len);
	close(fd);
	return n == (ssize_t)strlen(state) ? 0 : -1;
}

int
sdnotify_listen_fds(int *out, int max)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	uint64_t p, n, i;
	int count = 0;

	if (pid != NULL && fds != NULL &&
	    parse_u64(pid, 1, UINT32_MAX, &p) == 0 && (pid_t)p == getpid() &&
	    parse_u64(fds, 1, 64, &n) == 0) {
		for (i = 0; i < n && count < max; i++) {
			int fd = 3 + (int)i;

			/* systemd passes them blocking unless
			 * NonBlocking=yes: an event loop's accept would then
			 * hang on an empty queue. */
			if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
			    fcntl(fd, F_SETFL,
			          fcntl(fd, F_GETFL) | O_NONBLOCK) == -1)
				continue;
			out[count++] = fd;
		}
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return count;
}

int
sdnotify_listen_fd(void)
{
	int fd;

	return sdnotify_listen_fds(&fd, 1) == 1 ? fd : -1;
}
