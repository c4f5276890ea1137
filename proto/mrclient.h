/*
 * mrclient.h: the client side of the mockresd protocol, on a bufferevent.
 *
 * One mrclient is one persistent connection to mockresd over which any
 * number of requests are multiplexed: each request gets an id, and its
 * reply callback runs when the reply with that id arrives.  Every program
 * that talks to mockresd (frontend workers, the dashboard, mockresctl)
 * uses it.
 *
 * - mockresd is a Unix socket path or tls://HOST:PORT (endpoint.h); the
 *   connection is an fconn with the matching transport, so nothing here
 *   or above asks which it is.
 * - The connection says hello (role, name, host and pid) as soon as it
 *   is open.  A Unix connection is ready at once; a TLS one when mockresd
 *   has answered the hello (only then is it known that mockresd took our
 *   certificate), within MOCKRES_CONNECT_MS for the connect and
 *   MOCKRES_HANDSHAKE_MS for the handshake and that answer.
 * - With reconnect on, a lost or refused connection is retried with a
 *   back-off of 10 ms doubling to 250 ms, forever.
 * - mrclient_error() says, in one line, why the last attempt failed and
 *   what to do.
 * - When the connection drops, every outstanding reply callback runs once
 *   with resp == NULL: the request's fate is unknown to the caller.
 * - Caps: at most MRCLIENT_PENDING_MAX outstanding requests and
 *   MRCLIENT_OUTPUT_MAX bytes queued for sending; past either cap,
 *   mrclient_send fails at once (errno ENOBUFS) and the caller decides
 *   (the frontend answers 503).
 *
 * Layout (proto/): mrclient.c keeps the pending requests (a slot table;
 * the slot is in the id), says hello and reconnects; the connection
 * itself is an fconn (fconn.c: the read loop, the once-per-turn write,
 * the output cap; fconn_unix.c and fconn_tls.c the transports), the same
 * code mockresd's side runs; dial.c makes TCP connections, tlsconf.c the
 * TLS settings, endpoint.c reads the address; frame.c is the framing,
 * arena.c the decoding memory, mockres_limits.h the protocol's limits.
 */
#ifndef MOCKRES_MRCLIENT_H
#define MOCKRES_MRCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#include "mockres.pb-c.h"

#define MRCLIENT_PENDING_MAX 65536
#define MRCLIENT_OUTPUT_MAX  (4u << 20)

struct mrclient;

/* RESP is valid only during the call; NULL means the connection was lost. */
typedef void (*mrclient_reply_cb)(const Mockres__Response *resp, void *arg);

/* Called when the connection comes up (up = 1) or goes down or a connect
 * attempt fails (up = 0, error = errno of the cause, 0 for a clean EOF). */
typedef void (*mrclient_state_cb)(struct mrclient *mc, int up, int error,
                                  void *arg);

/* TARGET: a Unix socket path or tls://HOST:PORT (a tls:// one needs
 * mrclient_set_tls before it starts).  NULL with errno (EINVAL: not a
 * valid address). */
struct mrclient *mrclient_new(struct event_base *base, const char *target,
                              Mockres__Role role, const char *name);
void mrclient_free(struct mrclient *mc);

void mrclient_set_state_cb(struct mrclient *mc, mrclient_state_cb cb,
                           void *arg);
void mrclient_set_reconnect(struct mrclient *mc, int on);
/* The TLS settings for a tls:// target (kept by the caller while MC
 * lives). */
struct tlsconf;
void mrclient_set_tls(struct mrclient *mc, const struct tlsconf *tls);

/*
 * Makes the first connection attempt now.  Returns 0 if connected (a Unix
 * socket), -1 with errno EINPROGRESS if the state callback will tell
 * (TLS), or -1 with another errno if it failed (the state callback was
 * told; with reconnect on, attempts continue in the loop).
 */
int mrclient_start(struct mrclient *mc);

/*
 * For tests and fuzzing: adopts FD, an already-connected non-blocking
 * stream socket, as the connection (the hello is queued as usual; the
 * state callback is not called).  Returns 0, or -1 with errno set (FD is
 * closed unless errno is EISCONN).
 */
int mrclient_attach(struct mrclient *mc, evutil_socket_t fd);

/* Ready for requests. */
int mrclient_connected(const struct mrclient *mc);
/* mockresd's address as given: the path or tls://HOST:PORT. */
const char *mrclient_path(const struct mrclient *mc);
/* Why the last attempt failed or the connection was lost, and what to do:
 * one line for a person ("cannot reach mockresd at PATH: connection
 * refused (is mockresd running?)", "TLS handshake with HOST:PORT failed:
 * ...").  Valid until the next attempt. */
const char *mrclient_error(const struct mrclient *mc);
size_t mrclient_pending(const struct mrclient *mc);

/*
 * Sends REQ (its id is assigned here).  A PERSISTENT request (watch) keeps
 * its callback for every reply with its id until cancelled or the
 * connection drops.  Returns the id, or 0 with errno set (ENOTCONN, ENOBUFS,
 * EMSGSIZE) when the request could not be queued; CB is then never called.
 */
uint64_t mrclient_send(struct mrclient *mc, Mockres__Request *req,
                       mrclient_reply_cb cb, void *arg, int persistent);

/* Shorthand for a Use request; hold_ms < 0 means the daemon's default. */
uint64_t mrclient_use(struct mrclient *mc, Mockres__UseMode mode,
                      int64_t hold_ms, mrclient_reply_cb cb, void *arg);

/*
 * Asks for a Stats push now and every INTERVAL_MS (MOCKRES_WATCH_MIN_MS..
 * MOCKRES_WATCH_MAX_MS), with the client list if CLIENTS.  A persistent
 * request: CB runs for every push until cancelled or the connection drops
 * (then once with NULL; ask again when it is back).  Returns as
 * mrclient_send.
 */
uint64_t mrclient_watch(struct mrclient *mc, uint32_t interval_ms, int clients,
                        mrclient_reply_cb cb, void *arg);

/*
 * Drops the connection now, as if it had been lost with ERROR: every
 * outstanding callback runs with NULL, the state callback is told, and
 * with reconnect on a new connection is tried after the back-off.  For a
 * peer that accepts but does not answer.
 */
void mrclient_drop(struct mrclient *mc, int error);

/* Forgets the callback of ID; a later reply is dropped. */
void mrclient_cancel(struct mrclient *mc, uint64_t id);

#endif
