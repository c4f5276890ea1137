/*
 * mockres_limits.h: the protocol's limits, shared by mockresd and its
 * clients.
 *
 * mockresd enforces them (a request past one gets BAD_REQUEST with a
 * reason built from the same constant); clients check them first so that
 * a user hears about a bad value before anything is sent.  Plain decimal
 * integers without a suffix, so that MOCKRES_STR() can put them in
 * messages: one number, typed once.  (Not "limits.h": a header of that
 * name in an include directory hides the C library's <limits.h>.)
 */
#ifndef MOCKRES_LIMITS_H
#define MOCKRES_LIMITS_H

#define MOCKRES_HOLD_MS_MAX    3600000 /* one hour, a use's hold */
#define MOCKRES_LIMIT_MAX      1000000 /* the concurrency limit, 0 = none */
#define MOCKRES_FRAME_BODY_MAX 65536   /* bytes of one framed message */
#define MOCKRES_WATCH_MIN_MS   10      /* a watch's interval, or 0 = stop */
#define MOCKRES_WATCH_MAX_MS   60000
/* Watching for a peer that is not trusted (not root or mockresd's own
 * user, nor a CN of --tls-admin or --tls-frontend): no client list, an
 * interval of at least this, and at most so many such watches at once. */
#define MOCKRES_WATCH_UNTRUSTED_MIN_MS 100
#define MOCKRES_WATCH_UNTRUSTED_MAX    64
#define MOCKRES_NAME_MAX               63 /* bytes of a client's name (hello) */
#define MOCKRES_HOST_MAX               64 /* bytes of a client's host name (hello) */

/* The network transport (TLS over TCP). */
#define MOCKRES_CONNECT_MS 3000 /* a client's name lookup and connect */
#define MOCKRES_HANDSHAKE_MS                                                   \
	3000                     /* a TLS handshake (a client's: and the       \
	                            first answer) */
#define MOCKRES_LISTEN_TLS_MAX 4 /* mockresd's --listen-tls addresses */

/* The resource model (proto/model.h). */
#define MOCKRES_HOLD_MS_DEFAULT 500
#define MOCKRES_LIMIT_DEFAULT   15
#define MOCKRES_SLOTS_MAX       1000000 /* uses served at once */
#define MOCKRES_QUEUE_MAX       1000000 /* uses waiting at once */
#define MOCKRES_CORES_MAX       4096    /* cores of the cpu contention */

/* MOCKRES_STR(MOCKRES_LIMIT_MAX) is "1000000". */
#define MOCKRES_STR_(x) #x
#define MOCKRES_STR(x)  MOCKRES_STR_(x)

#endif
