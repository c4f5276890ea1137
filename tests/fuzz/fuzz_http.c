/*
 * fuzz_http.c: libFuzzer target for what an HTTP client can send a
 * frontend worker: the request head parser (common/httpparse.c) alone,
 * then the worker's whole HTTP path in-process: the HTTP layer
 * (common/httpserv.c: connections, buffers, pipelining, deadlines, caps)
 * set up by http_setup, the code of the real worker, its routes, the
 * request timing (timing.c) and the use deadline (pending.c), with the
 * worker's mrclient talking to a mockresd core in this same process
 * (mockresd_core, the real daemon's code, with a limit of 1, so that
 * serial, async and BUSY answers all happen).
 *
 * The parser is checked on every input as it stands: the end of a head
 * found incrementally (a byte at a time) is the one found at once, and a
 * head it accepts has every pointer inside it and fields that can be
 * found again.
 *
 * Everything is set up once; each input is then one client connection
 * to the worker (a socketpair the layer adopts).  An input that starts
 * with a byte < 0x20 or >= 0x80 (no request starts so) uses it as flags:
 * bits 0-2 pick how many bytes go per write (1, 2, 4, ... 64; 0 = all at
 * once), with the loop run between writes (split requests); bit 3
 * half-closes the client after sending; bit 4 makes every answer
 * "Connection: close" (a draining worker); bit 7 makes mockresd hold each
 * use 5 ms instead of 0, so that a use finds the limit of 1 taken and
 * serial answers wait.  Any other input is the byte stream, sent at once
 * (several requests in it are pipelined).
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
#include <unistd.h>

#include "clock.h"
#include "frontend.h"
#include "httpparse.h"
#include "httpserv.h"
#include "mockresd.h"
#include "mrclient.h"

#define FUZZ_SPINS_MAX 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wstate ws;
static struct frontend_config fuzz_conf;
static struct mockresd fuzz_mrd;
static struct model fuzz_model;

static void
fuzz_request_done(void)
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
	if (mrclient_attach(ws.mc, sv[0]) == -1)
		abort();
	liveness_up();
}

static void
fuzz_setup(void)
{
	signal(SIGPIPE, SIG_IGN); /* as the worker: hung-up clients */
	if ((ws.base = event_base_new()) == NULL)
		abort();
	model_defaults(&fuzz_model, 2);
	fuzz_model.hold_ms = 0;
	conn_init(&fuzz_mrd, ws.base);
	dispatch_init(1, &fuzz_model);

	fuzz_conf.dashboard_url = "http://127.0.0.1:4001/";
	fuzz_conf.request_timeout_ms = 30000;
	fuzz_conf.listen_str = "fuzz";
	ws.conf = &fuzz_conf;
	ws.request_done = fuzz_request_done;
	ws.mc = mrclient_new(ws.base, "fuzz.sock",
	                     MOCKRES__ROLE__ROLE_FRONTEND_WORKER, "fuzz");
	if (ws.mc == NULL || liveness_init(&ws) == -1)
		abort();
	timing_init(&ws, 1); /* and its reports to mockresd */
	fuzz_connect_mockresd();
	if ((ws.http = http_setup(&ws)) == NULL)
		abort();
}

static int
fuzz_inside(const char *p, size_t len, const char *buf, size_t n)
{
	return p >= buf && len <= n && p + len <= buf + n;
}

/* The parser on DATA alone: incremental and one-shot agree, and what it
 * accepts is inside the head. */
static void
fuzz_parser(const char *data, size_t size)
{
	struct httpparse_req r;
	size_t scan = 0, end, i, inc = 0, len;
	const char *v;

	end = httpparse_end(data, size, &scan);
	for (scan = 0, i = 1; i <= size; i++)
		if ((inc = httpparse_end(data, i, &scan)) != 0)
			break;
	if (inc != end)
		abort();
	if (end == 0)
		return;
	if (httpparse_request(data, end, HTTPSERV_HEAD_MAX, &r) != HTTPPARSE_OK)
		return;
	if (r.head_len != end || r.minor > 1 || r.method_len == 0 ||
	    r.path_len > r.target_len ||
	    !fuzz_inside(r.method_str, r.method_len, data, end) ||
	    !fuzz_inside(r.target, r.target_len, data, end) ||
	    !fuzz_inside(r.fields, r.fields_len, data, end) ||
	    (r.host != NULL && !fuzz_inside(r.host, r.host_len, data, end)))
		abort();
	v = httpparse_field(&r, "host", &len);
	if ((v == NULL) != (r.host == NULL) ||
	    (v != NULL && (v != r.host || len != r.host_len)))
		abort();
}

static void
fuzz_spin(void)
{
	event_base_loop(ws.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
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
	int sv[2], fd, i, half_close = 0;

	if (ws.base == NULL)
		fuzz_setup();
	if (!mrclient_connected(ws.mc))
		fuzz_connect_mockresd();
	hold_ms = 0;
	httpserv_close_after(ws.http, 0);
	if (size > 0 && (data[0] < 0x20 || data[0] >= 0x80)) {
		if (data[0] & 7)
			chunk = (size_t)1 << ((data[0] & 7) - 1);
		half_close = (data[0] & 8) != 0;
		httpserv_close_after(ws.http, (data[0] & 16) != 0);
		if (data[0] & 0x80)
			hold_ms = 5;
		data++;
		size--;
	}
	fuzz_parser((const char *)data, size);

	if (fuzz_model.hold_ms != hold_ms) {
		fuzz_model.hold_ms = hold_ms;
		engine_set_model(&fuzz_mrd.engine, clock_now_us(), &fuzz_model,
		                 0);
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv) == -1 ||
	    httpserv_adopt(ws.http, sv[0]) == -1)
		abort();
	fd = sv[1];
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
	for (i = 0; i < FUZZ_SPINS_MAX && (ws.waiting > 0 || ws.active > 0 ||
	                                   httpserv_conns(ws.http));
	     i++)
		if (ws.waiting > 0) /* for a hold to end */
			event_base_loop(ws.base, EVLOOP_ONCE);
		else
			fuzz_spin();
	if (ws.waiting > 0 || ws.active > 0 || httpserv_conns(ws.http) > 0) {
		fprintf(stderr,
		        "fuzz_http: left over after the client hung up: %llu "
		        "waiting, %llu active, %zu connections\n",
		        (unsigned long long)ws.waiting,
		        (unsigned long long)ws.active, httpserv_conns(ws.http));
		abort();
	}
	if (engine_check(&fuzz_mrd.engine) != 0)
		abort(); /* mockresd's accounting broke */
	if (getenv("FUZZ_HTTP_VERBOSE") != NULL)
		fprintf(stderr,
		        "fuzz_http: answered %llu; mockresd admitted %llu, "
		        "rejected %llu\n",
		        (unsigned long long)ws.served,
		        (unsigned long long)fuzz_mrd.engine.admitted,
		        (unsigned long long)fuzz_mrd.engine.rejected);
	return 0;
}
