/*
 * rawclient.c: blocking frames over a Unix socket, for tests.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "frame.h"
#include "hist.h"
#include "rawclient.h"
#include "support.h"

int
raw_connect(const char *path)
{
	return sup_unix_connect(path);
}

int
raw_send_bytes(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
raw_send_req(int fd, const Mockres__Request *req)
{
	size_t n = mockres__request__get_packed_size(req);
	unsigned char *buf;
	int r;

	if ((buf = malloc(n + 4)) == NULL)
		return -1;
	buf[0] = (unsigned char)(n >> 24);
	buf[1] = (unsigned char)(n >> 16);
	buf[2] = (unsigned char)(n >> 8);
	buf[3] = (unsigned char)n;
	mockres__request__pack(req, buf + 4);
	r = raw_send_bytes(fd, buf, n + 4);
	free(buf);
	return r;
}

int
raw_send_use(int fd, uint64_t id, int async, int64_t hold_ms)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Use use = MOCKRES__USE__INIT;

	req.has_id = 1;
	req.id = id;
	use.has_mode = 1;
	use.mode = async ? MOCKRES__USE_MODE__ASYNC : MOCKRES__USE_MODE__SERIAL;
	if (hold_ms >= 0) {
		use.has_hold_ms = 1;
		use.hold_ms = (uint32_t)hold_ms;
	}
	req.op_case = MOCKRES__REQUEST__OP_USE;
	req.use = &use;
	return raw_send_req(fd, &req);
}

int
raw_send_report(int fd, uint64_t id, uint64_t started_us, uint64_t count,
                uint64_t us, uint64_t first_us, uint64_t last_us)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__HttpReport rep = MOCKRES__HTTP_REPORT__INIT;
	Mockres__HttpRouteStats rs = MOCKRES__HTTP_ROUTE_STATS__INIT;
	Mockres__HttpRouteStats *rsp = &rs;
	Mockres__Histogram h = MOCKRES__HISTOGRAM__INIT;
	Mockres__HttpCode code = MOCKRES__HTTP_CODE__INIT;
	Mockres__HttpCode *codep = &code;
	uint32_t skip = hist_bucket(us);

	req.has_id = 1;
	req.id = id;
	req.op_case = MOCKRES__REQUEST__OP_REPORT;
	req.report = &rep;
	rep.has_started_us = rep.has_first_us = rep.has_last_us = 1;
	rep.started_us = started_us;
	rep.first_us = first_us;
	rep.last_us = last_us;
	if (count > 0) {
		rep.n_routes = 1;
		rep.routes = &rsp;
	}
	rs.has_route = 1;
	rs.route = MOCKRES__HTTP_ROUTE__ROUTE_SERIAL;
	rs.latency = &h;
	rs.n_codes = 1;
	rs.codes = &codep;
	code.has_code = code.has_count = 1;
	code.code = 200;
	code.count = count;
	h.has_count = h.has_sum_us = h.has_min_us = h.has_max_us = 1;
	h.count = count;
	h.sum_us = count * us;
	h.min_us = h.max_us = us;
	h.n_bucket_skip = h.n_bucket_count = 1;
	h.bucket_skip = &skip;
	h.bucket_count = &count;
	return raw_send_req(fd, &req);
}

/* Reads exactly LEN bytes before END; 1 ok, 0 EOF, -1 timeout/error. */
static int
raw_read_full(int fd, unsigned char *buf, size_t len, double end)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	ssize_t n;

	while (len > 0) {
		int left = (int)(end - clock_now_ms_frac());

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		n = recv(fd, buf, len, 0);
		if (n == 0)
			return 0;
		if (n < 0)
			return errno == ECONNRESET ? 0 : -1;
		buf += n;
		len -= (size_t)n;
	}
	return 1;
}

Mockres__Response *
raw_http_stats(int fd, uint64_t id, uint64_t since_us, int timeout_ms)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__StatsRequest sr = MOCKRES__STATS_REQUEST__INIT;
	int eof;

	sr.has_http = 1;
	sr.http = 1;
	sr.has_http_since_us = since_us != 0;
	sr.http_since_us = since_us;
	req.has_id = 1;
	req.id = id;
	req.op_case = MOCKRES__REQUEST__OP_STATS;
	req.stats = &sr;
	if (raw_send_req(fd, &req) == -1)
		return NULL;
	return raw_recv(fd, timeout_ms, &eof);
}

Mockres__Response *
raw_recv(int fd, int timeout_ms, int *eof)
{
	double end = clock_now_ms_frac() + timeout_ms;
	unsigned char hdr[4], *body;
	Mockres__Response *resp;
	uint32_t len;
	int r;

	*eof = 0;
	if ((r = raw_read_full(fd, hdr, 4, end)) != 1) {
		*eof = r == 0;
		return NULL;
	}
	if (frame_header_parse(hdr, &len) == -1)
		return NULL;
	if ((body = malloc(len)) == NULL)
		return NULL;
	if ((r = raw_read_full(fd, body, len, end)) != 1) {
		*eof = r == 0;
		free(body);
		return NULL;
	}
	resp = mockres__response__unpack(NULL, len, body);
	free(body);
	return resp;
}

int
raw_wait_closed(int fd, int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;
	struct pollfd pfd = {fd, POLLIN, 0};
	char buf[65536];
	ssize_t n;

	for (;;) {
		int left = (int)(end - clock_now_ms_frac());

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return 0;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (n < 0 && errno != EINTR)
			return 0;
	}
}
