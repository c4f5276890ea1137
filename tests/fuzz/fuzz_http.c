/*
 * fuzz_http.c: libFuzzer target for what an HTTP client can send a
 * frontend worker: evhttp's parser with the worker's caps and timeouts
 * (http_setup, the code of the real worker), the request checks, the
 * routes, the request timing (timing.c), the use deadline (pending.c) and
 * the connections' records (httpconn.c), with the worker's mrclient
 * talking to a mockresd core in this same process (mockresd_core, the
 * real daemon's code, with a limit of 1, so that serial, async and BUSY
 * answers all happen).
 *
 * Everything is set up once; each input is one client connection to the
 * worker's evhttp, over an abstract Unix socket.  An input that starts
 * with a byte < 0x20 or >= 0x80 (no request starts so) uses it as flags:
 * bits 0-2 pick how many bytes go per write (1, 2, 4, ... 64; 0 = all at
 * once), with the loop run between writes; bit 3 half-closes the client
 * after sending; bit 4 makes the worker drain (every answer "Connection:
 * close"); bit 7 makes mockresd hold each use 5 ms instead of 0, so that a
 * use finds the limit of 1 taken and serial answers wait.  Any other input
 * is the byte stream, sent at once.
 *
 * After the input, the client hangs up and the loop runs until the worker
 * has no connection and no use waiting; anything left over is a finding
 * (a request that would never be answered, or a connection never freed).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/listener.h>

#include "clock.h"
#include "frontend.h"
#include "mockresd.h"
#include "mrclient.h"

#define FUZZ_SPINS_MAX 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct worker fuzz_wk;
static struct frontend_config fuzz_conf;
static struct mockresd fuzz_mrd;
static struct model fuzz_model;
static struct event_base *fuzz_base;
static struct sockaddr_un fuzz_sun;
static socklen_t fuzz_sunlen;

struct worker *wk;

void
worker_request_done(void)
{
}

/* The worker's connection to the in-process mockresd, (re)made. */
static void
fuzz_connect_mockresd(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv) == -1)
		abort();
	conn_accept(sv[1], &fconn_unix, NULL);
	if (mrclient_attach(wk->mc, sv[0]) == -1)
		abort();
	liveness_up();
}

static void
fuzz_setup(void)
{
	struct evconnlistener *l;
	int fd;

	signal(SIGPIPE, SIG_IGN); /* as the worker: hung-up clients */
	if ((fuzz_base = event_base_new()) == NULL)
		abort();
	model_defaults(&fuzz_model, 2);
	fuzz_model.hold_ms = 0;
	conn_init(&fuzz_mrd, fuzz_base);
	dispatch_init(1, &fuzz_model);

	wk = &fuzz_wk;
	fuzz_conf.dashboard_url = "http://127.0.0.1:4001/";
	fuzz_conf.request_timeout_ms = 30000;
	fuzz_conf.listen_str = "fuzz";
	wk->conf = &fuzz_conf;
	wk->base = fuzz_base;
	wk->mc = mrclient_new(fuzz_base, "fuzz.sock",
	                      MOCKRES__ROLE__ROLE_FRONTEND_WORKER, "fuzz");
	if (wk->mc == NULL || liveness_init(fuzz_base) == -1)
		abort();
	timing_init(fuzz_base, 1); /* and its reports to mockresd */
	fuzz_connect_mockresd();
	if ((wk->http = http_setup(fuzz_base, fuzz_conf.request_timeout_ms)) ==
	    NULL)
		abort();

	/* An abstract socket: no file to clean up. */
	memset(&fuzz_sun, 0, sizeof(fuzz_sun));
	fuzz_sun.sun_family = AF_UNIX;
	snprintf(fuzz_sun.sun_path + 1, sizeof(fuzz_sun.sun_path) - 1,
	         "mockres-fuzz-http-%d", (int)getpid());
	fuzz_sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	                          strlen(fuzz_sun.sun_path + 1));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)&fuzz_sun, fuzz_sunlen) ||
	    listen(fd, 16) == -1)
		abort();
	l = evconnlistener_new(fuzz_base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, -1,
	                       fd);
	if (l == NULL || evhttp_bind_listener(wk->http, l) == NULL)
		abort();
}

static void
fuzz_spin(void)
{
	event_base_loop(fuzz_base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void
fuzz_drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0, chunk = 0;
	uint32_t hold_ms;
	int fd, i, half_close = 0;

	if (fuzz_base == NULL)
		fuzz_setup();
	if (!mrclient_connected(wk->mc))
		fuzz_connect_mockresd();
	wk->draining = 0;
	hold_ms = 0;
	if (size > 0 && (data[0] < 0x20 || data[0] >= 0x80)) {
		if (data[0] & 7)
			chunk = (size_t)1 << ((data[0] & 7) - 1);
		half_close = (data[0] & 8) != 0;
		wk->draining = (data[0] & 16) != 0;
		if (data[0] & 0x80)
			hold_ms = 5;
		data++;
		size--;
	}

	if (fuzz_model.hold_ms != hold_ms) {
		fuzz_model.hold_ms = hold_ms;
		engine_set_model(&fuzz_mrd.engine, clock_now_us(), &fuzz_model,
		                 0);
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    connect(fd, (struct sockaddr *)&fuzz_sun, fuzz_sunlen) == -1)
		abort();
	fuzz_spin(); /* accept */
	fuzz_spin(); /* the head deadline is set up */

	while (off < size) {
		size_t len =
		    chunk == 0 || chunk > size - off ? size - off : chunk;
		ssize_t n = send(fd, data + off, len, MSG_NOSIGNAL);

		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno != EAGAIN)
			break; /* the worker closed it */
		fuzz_spin();
		fuzz_drain(fd);
	}
	if (half_close)
		shutdown(fd, SHUT_WR);
	for (i = 0; i < 8; i++) {
		fuzz_spin();
		fuzz_drain(fd);
	}
	close(fd);

	/* Every use answered, every connection freed. */
	for (i = 0; i < FUZZ_SPINS_MAX && (wk->waiting > 0 || wk->active > 0 ||
	                                   httpconn_connections() > 0);
	     i++)
		if (wk->waiting > 0) /* for a hold to end */
			event_base_loop(fuzz_base, EVLOOP_ONCE);
		else
			fuzz_spin();
	if (wk->waiting > 0 || wk->active > 0 || httpconn_connections() > 0) {
		fprintf(stderr,
		        "fuzz_http: left over after the client hung up: %llu "
		        "waiting, %llu active, %zu connections\n",
		        (unsigned long long)wk->waiting,
		        (unsigned long long)wk->active, httpconn_connections());
		abort();
	}
	if (engine_check(&fuzz_mrd.engine) != 0)
		abort(); /* mockresd's accounting broke */
	if (getenv("FUZZ_HTTP_VERBOSE") != NULL)
		fprintf(stderr,
		        "fuzz_http: answered %llu; mockresd admitted %llu, "
		        "rejected %llu\n",
		        (unsigned long long)wk->served,
		        (unsigned long long)fuzz_mrd.engine.admitted,
		        (unsigned long long)fuzz_mrd.engine.rejected);
	return 0;
}
