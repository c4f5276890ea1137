/*
 * mrclient.c: a multiplexed, reconnecting mockresd connection.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "arena.h"
#include "clock.h"
#include "dial.h"
#include "endpoint.h"
#include "fconn.h"
#include "frame.h"
#include "log.h"
#include "mockres_limits.h"
#include "mrclient.h"
#include "sockpath.h"
#include "usewire.h"

#define MRCLIENT_SLOT_BITS   16
#define MRCLIENT_SLOT_MASK   ((1u << MRCLIENT_SLOT_BITS) - 1)
#define MRCLIENT_SLOT_NONE   UINT32_MAX
#define MRCLIENT_BACKOFF_MIN 10  /* ms */
#define MRCLIENT_BACKOFF_MAX 250 /* ms */
#define MRCLIENT_READ_HIGH   (256u << 10)
#define MRCLIENT_LIGHT_ERROR 512 /* a longer error text is decoded whole */

struct mrclient_pending {
	uint64_t id; /* 0: slot free */
	mrclient_reply_cb cb;
	void *arg;
	int persistent;
	int light; /* its callback reads id, status and error only */
	uint32_t next_free;
};

struct mrclient {
	struct event_base *base;
	struct endpoint ep;
	const struct tlsconf *tls; /* for a tls:// endpoint */
	struct fconn_setup setup;
	Mockres__Role role;
	char name[MOCKRES_NAME_MAX + 1];
	char host[MOCKRES_HOST_MAX + 1];
	struct fconn fc;          /* the connection; closed while down */
	struct fconn_queue queue; /* writes the turn's requests at its end */
	struct dial *dial;        /* a TCP connect in progress */
	int ready;                /* requests may be sent */
	char error[320];          /* the last failure, for a person */
	struct event *retry_ev;
	int reconnect;
	int backoff_ms;
	mrclient_state_cb state_cb;
	void *state_arg;

	struct mrclient_pending *slots;
	uint32_t nslots;
	uint32_t free_head;
	size_t npending;
	uint64_t seq;
	struct arena arena;
};

static void mrclient_message(void *, ProtobufCMessage *);
static int mrclient_frame(void *, const unsigned char *, uint32_t);
static void mrclient_undecodable(void *, const unsigned char *, uint32_t);
static void mrclient_fconn_down(void *, int, const char *);
static void mrclient_retry_cb(evutil_socket_t, short, void *);

static const struct fconn_ops mrclient_fconn_ops = {
    .desc = &mockres__response__descriptor,
    .message = mrclient_message,
    .frame = mrclient_frame,
    .undecodable = mrclient_undecodable,
    .down = mrclient_fconn_down,
};

struct mrclient *
mrclient_new(struct event_base *base, const char *target, Mockres__Role role,
             const char *name)
{
	struct mrclient *mc;
	char err[256];

	if ((mc = calloc(1, sizeof(*mc))) == NULL)
		return NULL;
	if (endpoint_parse(target, &mc->ep, err, sizeof(err)) == -1) {
		free(mc);
		errno = EINVAL;
		return NULL;
	}
	mc->base = base;
	mc->role = role;
	snprintf(mc->name, sizeof(mc->name), "%s", name ? name : "");
	if (gethostname(mc->host, sizeof(mc->host)) == -1)
		mc->host[0] = '\0';
	mc->host[sizeof(mc->host) - 1] = '\0';
	mc->setup.tp = &fconn_unix;
	mc->setup.ops = &mrclient_fconn_ops;
	mc->setup.arena = &mc->arena;
	mc->setup.queue = &mc->queue;
	mc->setup.read_high = MRCLIENT_READ_HIGH;
	mc->setup.output_max = MRCLIENT_OUTPUT_MAX;
	mc->backoff_ms = MRCLIENT_BACKOFF_MIN;
	mc->free_head = MRCLIENT_SLOT_NONE;
	mc->retry_ev = evtimer_new(base, mrclient_retry_cb, mc);
	if (mc->retry_ev == NULL || fconn_queue_init(&mc->queue, base) == -1) {
		if (mc->retry_ev != NULL)
			event_free(mc->retry_ev);
		free(mc);
		return NULL;
	}
	arena_init(&mc->arena);
	return mc;
}

void
mrclient_set_state_cb(struct mrclient *mc, mrclient_state_cb cb, void *arg)
{
	mc->state_cb = cb;
	mc->state_arg = arg;
}

void
mrclient_set_reconnect(struct mrclient *mc, int on)
{
	mc->reconnect = on;
}

void
mrclient_set_tls(struct mrclient *mc, const struct tlsconf *tls)
{
	mc->tls = tls != NULL && tls->ctx != NULL ? tls : NULL;
}

int
mrclient_connected(const struct mrclient *mc)
{
	return mc->ready && fconn_is_open(&mc->fc);
}

const char *
mrclient_path(const struct mrclient *mc)
{
	return mc->ep.text;
}

const char *
mrclient_error(const struct mrclient *mc)
{
	return mc->error[0] ? mc->error : "not connected yet";
}

size_t
mrclient_pending(const struct mrclient *mc)
{
	return mc->npending;
}

/* Pending-request slots: a free list, the slot index is in the id. */
static struct mrclient_pending *
mrclient_slot_get(struct mrclient *mc)
{
	struct mrclient_pending *p;
	uint32_t i;

	if (mc->free_head == MRCLIENT_SLOT_NONE) {
		uint32_t n = mc->nslots ? mc->nslots * 2 : 64;

		if (n > MRCLIENT_PENDING_MAX)
			n = MRCLIENT_PENDING_MAX;
		if (n <= mc->nslots)
			return NULL;
		p = realloc(mc->slots, n * sizeof(*p));
		if (p == NULL)
			return NULL;
		mc->slots = p;
		for (i = n; i-- > mc->nslots;) {
			memset(&p[i], 0, sizeof(p[i]));
			p[i].next_free = mc->free_head;
			mc->free_head = i;
		}
		mc->nslots = n;
	}
	i = mc->free_head;
	p = &mc->slots[i];
	mc->free_head = p->next_free;
	mc->npending++;
	mc->seq++;
	p->id = (mc->seq << MRCLIENT_SLOT_BITS) | i;
	return p;
}

static void
mrclient_slot_put(struct mrclient *mc, struct mrclient_pending *p)
{
	p->id = 0;
	p->cb = NULL;
	p->arg = NULL;
	p->next_free = mc->free_head;
	mc->free_head = (uint32_t)(p - mc->slots);
	mc->npending--;
}

static struct mrclient_pending *
mrclient_slot_find(struct mrclient *mc, uint64_t id)
{
	uint32_t i = (uint32_t)(id & MRCLIENT_SLOT_MASK);

	if (id == 0 || i >= mc->nslots || mc->slots[i].id != id)
		return NULL;
	return &mc->slots[i];
}

/* Fails every outstanding request: their replies will never come. */
static void
mrclient_fail_pending(struct mrclient *mc)
{
	uint32_t i;

	for (i = 0; i < mc->nslots; i++) {
		struct mrclient_pending *p = &mc->slots[i];
		mrclient_reply_cb cb;
		void *arg;

		if (p->id == 0)
			continue;
		cb = p->cb;
		arg = p->arg;
		mrclient_slot_put(mc, p);
		if (cb != NULL)
			cb(NULL, arg);
	}
}

static void
mrclient_schedule_retry(struct mrclient *mc)
{
	struct timeval tv = clock_tv((uint64_t)mc->backoff_ms);

	if (!mc->reconnect)
		return;
	evtimer_add(mc->retry_ev, &tv);
	mc->backoff_ms *= 2;
	if (mc->backoff_ms > MRCLIENT_BACKOFF_MAX)
		mc->backoff_ms = MRCLIENT_BACKOFF_MAX;
}

/* The last failure, in a sentence (see mrclient_error). */
static void mrclient_say(struct mrclient *mc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mrclient_say(struct mrclient *mc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mc->error, sizeof(mc->error), fmt, ap);
	va_end(ap);
}

/* A Unix connect failed with ERROR: why, and what to do. */
static void
mrclient_say_unix(struct mrclient *mc, int error)
{
	char why[128];

	snprintf(why, sizeof(why), "%s",
	         error ? strerror(error) : "connection closed");
	why[0] = (char)tolower((unsigned char)why[0]); /* mid-sentence */
	mrclient_say(mc, "cannot reach mockresd at %s: %s (%s)", mc->ep.text,
	             why,
	             error == EACCES || error == EPERM
	                 ? "are you root or in the mockres group?"
	                 : "is mockresd running?");
}

/* Down: the connection (or the dial) is gone; mc->error says why. */
static void
mrclient_down(struct mrclient *mc, int error)
{
	dial_cancel(mc->dial);
	mc->dial = NULL;
	if (fconn_is_open(&mc->fc)) {
		fconn_close(&mc->fc);
		log_debug("disconnected from mockresd at %s", mc->ep.text);
	}
	mc->ready = 0;
	mrclient_fail_pending(mc);
	mrclient_schedule_retry(mc);
	if (mc->state_cb != NULL)
		mc->state_cb(mc, 0, error, mc->state_arg);
}

/* The connection ended (EOF, a socket error, a bad frame header), or its
 * opening failed. */
static void
mrclient_fconn_down(void *arg, int error, const char *why)
{
	struct mrclient *mc = arg;
	char reason[256];

	if (why != NULL) {
		log_warnx("mockresd at %s: %s", mc->ep.text, why);
		mrclient_say(mc, "mockresd at %s: %s", mc->ep.text, why);
	} else if (!mc->ready) {
		/* The opening failed: the transport says why and what to
		 * do. */
		fconn_describe(&mc->fc, error, mc->error, sizeof(mc->error));
	} else {
		fconn_describe(&mc->fc, error, reason, sizeof(reason));
		mrclient_say(mc, "lost mockresd at %s: %s", mc->ep.text,
		             reason);
	}
	mrclient_down(mc, error);
}

static void
mrclient_undecodable(void *arg, const unsigned char *body, uint32_t len)
{
	struct mrclient *mc = arg;

	log_warnx("undecodable reply from mockresd at %s", mc->ep.text);
	mrclient_say(mc, "undecodable reply from mockresd at %s", mc->ep.text);
	mrclient_down(mc, EPROTO);
}

static int
mrclient_hello(struct mrclient *mc)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Hello hello = MOCKRES__HELLO__INIT;

	hello.has_role = 1;
	hello.role = mc->role;
	hello.name = mc->name;
	hello.host = mc->host;
	hello.has_pid = 1;
	hello.pid = (uint32_t)getpid();
	req.op_case = MOCKRES__REQUEST__OP_HELLO;
	req.hello = &hello;
	/* id 0 is never a pending slot: the reply is dropped. */
	req.has_id = 1;
	req.id = 0;
	return fconn_send(&mc->fc, &req.base);
}

/* The connection is ready for requests: tell the owner. */
static void
mrclient_ready(struct mrclient *mc)
{
	mc->ready = 1;
	mc->backoff_ms = MRCLIENT_BACKOFF_MIN;
	mc->error[0] = '\0';
	log_debug("connected to mockresd at %s", mc->ep.text);
	if (mc->state_cb != NULL)
		mc->state_cb(mc, 1, 0, mc->state_arg);
}

/* Adopts FD with the endpoint's transport and says hello.  1 ready (a
 * Unix socket), 0 opening (TLS: ready when mockresd answers the hello),
 * -1 (errno; FD closed). */
static int
mrclient_adopt(struct mrclient *mc, evutil_socket_t fd)
{
	int r;

	if ((r = fconn_open(&mc->fc, mc->base, fd, &mc->setup, mc)) == -1) {
		errno = ENOMEM;
		return -1;
	}
	if (mrclient_hello(mc) == -1) {
		fconn_close(&mc->fc);
		errno = EIO;
		return -1;
	}
	return r;
}

static void
mrclient_dialled(int fd, int error, const char *why, void *arg)
{
	struct mrclient *mc = arg;

	mc->dial = NULL;
	if (fd == -1) {
		mrclient_say(mc, "cannot connect to mockresd at %s: %s (%s)",
		             mc->ep.text, why,
		             error == ECONNREFUSED
		                 ? "is mockresd listening there, with "
		                   "--listen-tls?"
		             : error == ETIMEDOUT
		                 ? "is the host up and the port open to us?"
		                 : "is the address right?");
		mrclient_schedule_retry(mc);
		if (mc->state_cb != NULL)
			mc->state_cb(mc, 0, error, mc->state_arg);
		return;
	}
	if (mrclient_adopt(mc, fd) == -1) {
		error = errno;
		mrclient_say(mc, "cannot set up TLS with mockresd at %s: %s",
		             mc->ep.text, strerror(error));
		mrclient_schedule_retry(mc);
		if (mc->state_cb != NULL)
			mc->state_cb(mc, 0, error, mc->state_arg);
	}
	/* Else the hello's answer makes it ready (mrclient_message). */
}

/* A Unix socket: connected or refused at once. */
static int
mrclient_connect_unix(struct mrclient *mc)
{
	struct sockaddr_un sun;
	socklen_t len = sockpath_addr(mc->ep.path, &sun);
	int fd, saved;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* A Unix stream connect completes or fails at once; EAGAIN means
	 * the listener's backlog is full: try again later. */
	if (connect(fd, (struct sockaddr *)&sun, len) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return mrclient_adopt(mc, fd) == -1 ? -1 : 0;
}

int
mrclient_attach(struct mrclient *mc, evutil_socket_t fd)
{
	if (fconn_is_open(&mc->fc) || mc->dial != NULL) {
		errno = EISCONN;
		return -1;
	}
	mc->setup.tp = &fconn_unix;
	if (mrclient_adopt(mc, fd) == -1)
		return -1;
	mc->ready = 1;
	mc->backoff_ms = MRCLIENT_BACKOFF_MIN;
	log_debug("connected to mockresd at %s", mc->ep.text);
	return 0;
}

/* A TLS connection: the dial, then the handshake, then the hello's
 * answer.  0 started, -1 (errno). */
static int
mrclient_connect_tls(struct mrclient *mc)
{
	if (mc->tls == NULL) {
		mrclient_say(mc,
		             "mockresd at %s: no TLS settings (give "
		             "--tls-cert, --tls-key and --tls-ca)",
		             mc->ep.text);
		errno = EINVAL;
		return -1;
	}
	mc->setup.tp = &fconn_tls;
	mc->setup.tp_arg = (void *)(uintptr_t)mc->tls; /* only read */
	mc->dial = dial_start(mc->base, mc->ep.host, mc->ep.port,
	                      mrclient_dialled, mc);
	return mc->dial != NULL ? 0 : -1;
}

int
mrclient_start(struct mrclient *mc)
{
	int saved;

	if (fconn_is_open(&mc->fc) || mc->dial != NULL) {
		errno = mc->ready ? 0 : EINPROGRESS;
		return mc->ready ? 0 : -1;
	}
	evtimer_del(mc->retry_ev);
	if (mc->ep.kind == ENDPOINT_TLS) {
		if (mrclient_connect_tls(mc) == 0) {
			errno = EINPROGRESS;
			return -1;
		}
		saved = errno;
	} else {
		mc->setup.tp = &fconn_unix;
		if (mrclient_connect_unix(mc) == 0) {
			mrclient_ready(mc);
			return 0;
		}
		saved = errno;
		mrclient_say_unix(mc, saved);
	}
	mrclient_schedule_retry(mc);
	if (mc->state_cb != NULL)
		mc->state_cb(mc, 0, saved, mc->state_arg);
	errno = saved;
	return -1;
}

static void
mrclient_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	mrclient_start(arg);
}

/* A reply: to the callback of the pending request with its id. */
static void
mrclient_message(void *arg, ProtobufCMessage *msg)
{
	struct mrclient *mc = arg;
	const Mockres__Response *resp = (const Mockres__Response *)msg;
	struct mrclient_pending *p;
	mrclient_reply_cb cb;
	void *cb_arg;

	if (!mc->ready) {
		/* The hello's answer: over TLS, mockresd took our
		 * certificate. */
		mrclient_ready(mc);
		return;
	}
	if ((p = mrclient_slot_find(mc, resp->id)) == NULL)
		return; /* cancelled, or the hello's reply */
	cb = p->cb;
	cb_arg = p->arg;
	if (!p->persistent)
		mrclient_slot_put(mc, p);
	if (cb != NULL)
		cb(resp, cb_arg);
}

/*
 * A reply read without decoding it whole (fconn's frame hook): when it
 * carries only id, status and error and its request's callback reads only
 * those (a use's), the callback gets a Response with just them.  Returns
 * 1 if it was handled so, 0 to have it decoded as usual.
 */
static int
mrclient_frame(void *arg, const unsigned char *body, uint32_t len)
{
	struct mrclient *mc = arg;
	char error[MRCLIENT_LIGHT_ERROR];
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;
	struct mrclient_pending *p;
	struct frame_reply r;
	mrclient_reply_cb cb;
	void *cb_arg;

	if (!mc->ready || frame_scan_reply(body, len, &r) != 0 ||
	    r.error_len >= sizeof(error))
		return 0;
	if ((p = mrclient_slot_find(mc, r.id)) == NULL)
		return 1; /* cancelled: dropped, as a decoded one would be */
	if (!p->light)
		return 0;
	resp.has_id = 1;
	resp.id = r.id;
	resp.has_status = r.has_status;
	resp.status = (Mockres__Status)r.status;
	if (r.error != NULL) {
		/* as protobuf-c gives it: a C string (cut at a NUL) */
		memcpy(error, r.error, r.error_len);
		error[r.error_len] = '\0';
		resp.error = error;
	}
	cb = p->cb;
	cb_arg = p->arg;
	mrclient_slot_put(mc, p); /* a light request is never persistent */
	if (cb != NULL)
		cb(&resp, cb_arg);
	return 1;
}

/* A slot for a request about to be sent, or NULL with errno. */
static struct mrclient_pending *
mrclient_slot_for_send(struct mrclient *mc)
{
	struct mrclient_pending *p;

	if (!mrclient_connected(mc)) {
		errno = ENOTCONN;
		return NULL;
	}
	if (fconn_over_cap(&mc->fc) || (p = mrclient_slot_get(mc)) == NULL) {
		errno = ENOBUFS;
		return NULL;
	}
	return p;
}

static void
mrclient_slot_sent(struct mrclient_pending *p, mrclient_reply_cb cb, void *arg,
                   int persistent, int light)
{
	p->cb = cb;
	p->arg = arg;
	p->persistent = persistent;
	p->light = light;
}

uint64_t
mrclient_send(struct mrclient *mc, Mockres__Request *req, mrclient_reply_cb cb,
              void *arg, int persistent)
{
	struct mrclient_pending *p;

	if ((p = mrclient_slot_for_send(mc)) == NULL)
		return 0;
	req->has_id = 1;
	req->id = p->id;
	if (fconn_send(&mc->fc, &req->base) == -1) {
		mrclient_slot_put(mc, p);
		return 0; /* errno from fconn_send */
	}
	mrclient_slot_sent(p, cb, arg, persistent, 0);
	return req->id;
}

/* A use is written by hand (usewire.h) and its reply read so
 * (mrclient_frame): the hot path of every frontend worker. */
uint64_t
mrclient_use(struct mrclient *mc, Mockres__UseMode mode, int64_t hold_ms,
             mrclient_reply_cb cb, void *arg)
{
	unsigned char frame[USEWIRE_USE_MAX];
	struct mrclient_pending *p;
	size_t n;

	if ((p = mrclient_slot_for_send(mc)) == NULL)
		return 0;
	n = usewire_use(frame, sizeof(frame), p->id, (int32_t)mode, hold_ms);
	if (n == 0 || fconn_send_frame(&mc->fc, frame, n) == -1) {
		mrclient_slot_put(mc, p);
		if (n == 0)
			errno = EMSGSIZE;
		return 0; /* errno from fconn_send_frame */
	}
	mrclient_slot_sent(p, cb, arg, 0, 1);
	return p->id;
}

uint64_t
mrclient_watch(struct mrclient *mc, uint32_t interval_ms, int clients,
               mrclient_reply_cb cb, void *arg)
{
	Mockres__Request req = MOCKRES__REQUEST__INIT;
	Mockres__Watch watch = MOCKRES__WATCH__INIT;

	watch.has_interval_ms = 1;
	watch.interval_ms = interval_ms;
	watch.has_clients = 1;
	watch.clients = clients != 0;
	req.op_case = MOCKRES__REQUEST__OP_WATCH;
	req.watch = &watch;
	return mrclient_send(mc, &req, cb, arg, 1);
}

void
mrclient_drop(struct mrclient *mc, int error)
{
	if (fconn_is_open(&mc->fc) || mc->dial != NULL) {
		mrclient_say(mc, "dropped mockresd at %s: %s", mc->ep.text,
		             strerror(error));
		mrclient_down(mc, error);
	}
}

void
mrclient_cancel(struct mrclient *mc, uint64_t id)
{
	struct mrclient_pending *p = mrclient_slot_find(mc, id);

	if (p != NULL)
		mrclient_slot_put(mc, p);
}

void
mrclient_free(struct mrclient *mc)
{
	if (mc == NULL)
		return;
	dial_cancel(mc->dial);
	fconn_close_graceful(&mc->fc);
	event_free(mc->retry_ev);
	fconn_queue_free(&mc->queue);
	free(mc->slots);
	arena_reset(&mc->arena);
	free(mc);
}
