/*
 * ctl.h: the map of mockresctl, the command-line client of mockresd.
 *
 * Layout:
 *
 *   mockresctl.c  main: the global flags, and the command table from which
 *                 both --help and the dispatch of a command come; the
 *                 one-request commands (status, clients, use, limit, hold,
 *                 reset-peak)
 *   ctl_watch.c   watch, ctl_bench.c bench, ctl_model.c model: the
 *                 commands with more to them, one file each
 *   ctl_call.c    connecting to mockresd (via proto/mrclient) and one
 *                 request, one reply, under a deadline
 *   ctl_exit.c    every failure's message and its exit status
 *   ctl_print.c   the human and the JSON output
 *
 * A command: ctl_run() finds its row, its handler parses its arguments,
 * ctl_call() sends the request and runs the reply function, which prints
 * (ctl_print.c) or maps the status to an exit code (ctl_exit_status).
 * Command files use ctl_call.c, ctl_exit.c and ctl_print.c, never
 * mockresctl.c.
 */
#ifndef MOCKRES_CTL_H
#define MOCKRES_CTL_H

#include <stdint.h>

#include <event2/event.h>

#include "endpoint.h"
#include "mockres.pb-c.h"
#include "mrclient.h"

/* Exit codes, as documented in docs/design.md and the README. */
enum ctl_exit {
	CTL_OK = 0,
	CTL_BUSY = 1,
	CTL_USAGE = 2,
	CTL_UNREACHABLE = 3,
	CTL_DENIED = 4,
	CTL_ERROR = 5,
};

/* How long a command waits for mockresd's reply (plus, for a serial use,
 * its hold). */
#define CTL_REPLY_TIMEOUT_S 10

struct ctl {
	struct event_base *base;
	const char *path;   /* mockresd's address as given (ep.text) */
	struct endpoint ep; /* where mockresd is */
	struct tlsconf tls; /* for a tls:// one */
	int json;
	int clients; /* status prints the client list */
	/* A serial use's hold, waited for on top of CTL_REPLY_TIMEOUT_S,
	 * and what it is (for the error message). */
	uint64_t hold_wait_ms;
	char hold_wait_what[64];
	struct mrclient *mc;
};

/* ctl_call.c */
/* A new connection in *OUT, ready (over TLS: connected, handshake done,
 * hello answered, within the connection's deadlines); returns CTL_OK or
 * the exit code (said).  With RECONNECT, a failure is said and retried,
 * and *OUT is set all the same. */
int ctl_call_connect(struct ctl *, struct mrclient **out, Mockres__Role role,
                     int reconnect);
typedef int (*ctl_reply_fn)(struct ctl *, const Mockres__Response *);
/* Sends REQ on ctl->mc (connected on first use), runs FN on the reply and
 * returns its exit code.  A daemon that accepts but never answers costs
 * CTL_REPLY_TIMEOUT_S (plus ctl->hold_wait_ms while it answers pings), not
 * a hang. */
int ctl_call(struct ctl *, Mockres__Request *, ctl_reply_fn);

/* ctl_exit.c: each says what failed and returns the exit code. */
int ctl_exit_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* MC's last failure (mrclient_error): exit 3. */
int ctl_exit_unreachable(const struct mrclient *mc);
/* CTL_OK for OK, ADMITTED and DONE; otherwise says why. */
int ctl_exit_status(const Mockres__Response *);
/* The same, and a reply that should carry stats but does not is an error. */
int ctl_exit_stats(const Mockres__Response *);

/* ctl_print.c */
void ctl_print_status(const struct ctl *, const Mockres__Stats *);
void ctl_print_clients(const struct ctl *, const Mockres__Stats *);
void ctl_print_line(const Mockres__Stats *, char *buf, size_t len);
void ctl_print_json_stats(const Mockres__Stats *, int with_clients);

void ctl_print_model(const struct ctl *, const Mockres__Stats *);

/* ctl_model.c */
int ctl_model(struct ctl *, int argc, char *argv[]);

/* ctl_watch.c */
int ctl_watch(struct ctl *, int argc, char *argv[]);

/* ctl_bench.c */
int ctl_bench(struct ctl *, int argc, char *argv[]);

#endif
