/*
 * dial.h: a TCP connection to HOST:PORT made without blocking the loop,
 * under one deadline (DIAL_TIMEOUT_MS) for the name's resolution and the
 * connect together; and the TCP settings every mockres TCP connection
 * gets (tcp_tune).
 *
 * HOST is an IP literal (connected at once) or a DNS name, resolved with
 * libevent's evdns (/etc/hosts first, then the servers of
 * /etc/resolv.conf): a blocking getaddrinfo would stop a frontend worker
 * from answering anything, its 503s included, while a name server is
 * unreachable.  Each address the name has is tried in turn until one
 * accepts.
 */
#ifndef MOCKRES_DIAL_H
#define MOCKRES_DIAL_H

#include <event2/event.h>

#include "mockres_limits.h"

#define DIAL_TIMEOUT_MS MOCKRES_CONNECT_MS

/* The kernel's own watch on a TCP peer: keep-alive probes after
 * TCP_IDLE_S of silence, every TCP_INTVL_S, TCP_PROBES of them; and data
 * unacknowledged for TCP_USER_TIMEOUT_MS ends the connection.  A peer
 * that vanished without a FIN (a host lost, a partition) is given up
 * after ~25 s of silence or 10 s of unacknowledged data, even by a
 * process that sends nothing. */
#define TCP_IDLE_S          10
#define TCP_INTVL_S         5
#define TCP_PROBES          3
#define TCP_USER_TIMEOUT_MS 10000

/* TCP_NODELAY, keep-alive and TCP_USER_TIMEOUT on FD.  Returns 0, or -1
 * (errno) if one cannot be set. */
int tcp_tune(int fd);

/*
 * The outcome: FD, connected, non-blocking, close-on-exec and tuned; or
 * -1, with ERROR (an errno value) and WHY, one line for a person ("cannot
 * resolve mockres.lab: name not known", "connection refused").  Always
 * called from the loop, never from dial_start.  The dial is freed after
 * the callback returns.
 */
typedef void (*dial_cb)(int fd, int error, const char *why, void *arg);

struct dial;

/* Starts connecting; NULL (errno) if it cannot even start. */
struct dial *dial_start(struct event_base *, const char *host, const char *port,
                        dial_cb cb, void *arg);
/* Gives up; CB is not called.  A no-op on NULL. */
void dial_cancel(struct dial *);

#endif
