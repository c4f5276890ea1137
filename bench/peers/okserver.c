/*
 * okserver.c: the ceiling of the HTTP layer for bench/run.
 *
 * The same shape as mockres-frontend without mockresd: one SO_REUSEPORT
 * socket per worker bound by the master, forked workers each running an
 * evhttp that answers 200 "OK" to everything.  What /part1/async costs
 * above this is the round trip to mockresd.
 *
 * usage: mockres-bench-okserver ADDR PORT WORKERS
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#define OK_WORKERS_MAX 64

static void
okserver_reply(struct evhttp_request *req, void *arg)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "text/plain");
	evbuffer_add(evhttp_request_get_output_buffer(req), "OK", 2);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static int
okserver_socket(const char *addr, int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 4096) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
okserver_worker(int fd)
{
	struct event_base *base;
	struct evconnlistener *lev;
	struct evhttp *http;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if ((base = event_base_new()) == NULL ||
	    (http = evhttp_new(base)) == NULL)
		exit(1);
	if ((lev = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE,
	                              0, fd)) == NULL ||
	    evhttp_bind_listener(http, lev) == NULL)
		exit(1);
	evhttp_set_gencb(http, okserver_reply, NULL);
	event_base_dispatch(base);
	exit(0);
}

static volatile sig_atomic_t okserver_quit;

static void
okserver_sig(int sig)
{
	okserver_quit = 1;
}

int
main(int argc, char *argv[])
{
	pid_t pids[OK_WORKERS_MAX];
	int fds[OK_WORKERS_MAX];
	int port, n, i;

	if (argc != 4 || (port = atoi(argv[2])) <= 0 || port > 65535 ||
	    (n = atoi(argv[3])) <= 0 || n > OK_WORKERS_MAX) {
		fprintf(stderr,
		        "usage: mockres-bench-okserver ADDR PORT "
		        "WORKERS (1..%d)\n",
		        OK_WORKERS_MAX);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++) {
		if ((fds[i] = okserver_socket(argv[1], port)) == -1) {
			perror("mockres-bench-okserver: bind");
			return 1;
		}
	}
	signal(SIGTERM, okserver_sig);
	signal(SIGINT, okserver_sig);
	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) == -1) {
			perror("mockres-bench-okserver: fork");
			okserver_quit = 1;
			n = i;
			break;
		}
		if (pids[i] == 0)
			okserver_worker(fds[i]);
	}
	while (!okserver_quit)
		pause();
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	return 0;
}
