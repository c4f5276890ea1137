/*
 * fconn_unix.c: the framed connection's plain stream socket transport, a
 * Unix socket in practice (and a socketpair in the tests and fuzzers).
 *
 * Up at once.  Each readiness is one read(2) into the input
 * (fconn_unix_read); the bufferevent's own reading would first ask the
 * socket how much it holds (ioctl FIONREAD, then readv): a system call
 * more per batch on both sides of every worker's connection.  The turn's
 * frames are written with one writev straight from the bufferevent's
 * output (fconn_unix_write_now); the peer is who the kernel says it is
 * (SO_PEERCRED: uid and pid at connect time).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "fconn.h"

/* Asked of the input per read: it gives the rest of its last block too
 * (a fresh one holds about twice this). */
#define FCONN_UNIX_READ 4096

static int
fconn_unix_open(struct fconn *fc, struct event_base *base, evutil_socket_t fd,
                void *arg)
{
	fc->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (fc->bev == NULL) {
		close(fd);
		return -1;
	}
	fc->out = bufferevent_get_output(fc->bev);
	/* fconn.c reads (fconn_unix_read); writing is on only while a
	 * socket did not take everything */
	bufferevent_disable(fc->bev, EV_READ | EV_WRITE);
	return 1;
}

/*
 * One read(2) into the input, of what room its last block has (at least
 * FCONN_UNIX_READ), never past read_high in all.
 */
static ssize_t
fconn_unix_read(struct fconn *fc)
{
	size_t have = evbuffer_get_length(fc->in);
	struct evbuffer_iovec v;
	ssize_t n;

	if (have >= fc->read_high) {
		errno = ENOBUFS; /* the owner left it unread: cannot be */
		return -1;
	}
	if (evbuffer_reserve_space(fc->in, FCONN_UNIX_READ, &v, 1) != 1) {
		errno = ENOMEM;
		return -1;
	}
	if (v.iov_len > fc->read_high - have)
		v.iov_len = fc->read_high - have;
	n = read(bufferevent_getfd(fc->bev), v.iov_base, v.iov_len);
	if (n <= 0)
		return n;
	v.iov_len = (size_t)n;
	if (evbuffer_commit_space(fc->in, &v, 1) == -1) {
		errno = ENOMEM;
		return -1;
	}
	return n;
}

/*
 * Writes the queued frames now, with one writev, instead of waiting for
 * the bufferevent's EV_WRITE.  Returns 0 when all was written, 1 when the
 * socket took only part (EV_WRITE is then enabled: the bufferevent writes
 * the rest, and fconn_unix_written disables it again), -1 on a socket
 * error.
 */
static int
fconn_unix_write_now(struct fconn *fc)
{
	struct evbuffer *out = fc->out;
	int n;

	if (evbuffer_get_length(out) == 0)
		return 0;
	/* A socket bufferevent keeps its output frozen to all but itself;
	 * it unfreezes it around its own writes in just this way. */
	evbuffer_unfreeze(out, 1);
	n = evbuffer_write(out, bufferevent_getfd(fc->bev));
	evbuffer_freeze(out, 1);
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		return -1;
	if (evbuffer_get_length(out) == 0)
		return 0;
	bufferevent_enable(fc->bev, EV_WRITE);
	return 1;
}

static void
fconn_unix_written(struct fconn *fc)
{
	bufferevent_disable(fc->bev, EV_WRITE);
}

/* Up from the start: every event is the end of the stream. */
static int
fconn_unix_event(struct fconn *fc, short what, int *error)
{
	*error = (what & BEV_EVENT_ERROR) ? EVUTIL_SOCKET_ERROR() : 0;
	return 0;
}

static void
fconn_unix_close(struct fconn *fc, int graceful)
{
	if (graceful)
		fconn_unix_write_now(fc); /* what the socket takes now */
	bufferevent_free(fc->bev);
}

static void
fconn_unix_peer(const struct fconn *fc, struct fconn_peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	snprintf(p->addr, sizeof(p->addr), "local");
	if (getsockopt(bufferevent_getfd(fc->bev), SOL_SOCKET, SO_PEERCRED,
	               &cred, &len) == 0) {
		p->has_cred = 1;
		p->uid = cred.uid;
		p->pid = cred.pid;
	}
}

static void
fconn_unix_describe(const struct fconn *fc, int error, char *buf, size_t len)
{
	snprintf(buf, len, "%s", error ? strerror(error) : "connection closed");
}

const struct fconn_transport fconn_unix = {
    .name = "unix",
    .open = fconn_unix_open,
    .write_now = fconn_unix_write_now,
    .read = fconn_unix_read,
    .written = fconn_unix_written,
    .event = fconn_unix_event,
    .close = fconn_unix_close,
    .peer = fconn_unix_peer,
    .describe = fconn_unix_describe,
};
