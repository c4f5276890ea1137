/*
 * sockpath.c: choosing and checking the mockresd socket path.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sockpath.h"

const char *
sockpath_resolve(const char *flag, const char **why)
{
	struct sockaddr_un sun;
	const char *path = flag;

	if (path == NULL)
		path = getenv(SOCKPATH_ENV);
	if (path == NULL)
		path = SOCKPATH_DEFAULT;
	if (path[0] == '\0') {
		*why = "the socket path is empty";
		return NULL;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*why = "the socket path is longer than 107 bytes";
		return NULL;
	}
	return path;
}

socklen_t
sockpath_addr(const char *path, struct sockaddr_un *sun)
{
	size_t n = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}
