/*
 * ctl.h: the map of mockresctl, the command-line client of mockresd.
 */
#ifndef MOCKRES_CTL_H
#define MOCKRES_CTL_H

#include <event2/event.h>

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

/* How long a command waits for mockresd's reply. */
#define CTL_REPLY_TIMEOUT_S 10

struct ctl {
	struct event_base *base;
	const char *path;
	int json;
	int clients;   /* status prints the client list */
	int timeout_s; /* to wait for a reply */
	struct mrclient *mc;
};

/* mockresctl.c */
int ctl_connect(struct ctl *, struct mrclient **out, Mockres__Role role,
                int reconnect);
void ctl_unreachable(const struct ctl *, int error);

typedef int (*ctl_reply_fn)(struct ctl *, const Mockres__Response *);
int ctl_call(struct ctl *, Mockres__Request *, ctl_reply_fn);
int ctl_status_exit(struct ctl *, const Mockres__Response *);
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
