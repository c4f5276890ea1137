/*
 * attack.h: a hostile, unprivileged client of the whole system (attack.c),
 * started by the chaos soak and by mockres-attack (attack_main.c).
 */
#ifndef MOCKRES_ATTACK_H
#define MOCKRES_ATTACK_H

#include <stdint.h>
#include <sys/types.h>

struct attack_opts {
	const char *sock; /* mockresd's socket */
	int dash_port;    /* the dashboard's port; 0: no /api/history */
	int watchers;     /* watch connections to keep open */
	uint32_t watch_ms;
	int watch_clients; /* ask for the client list with each push */
	int watch_mixed;   /* every other watch plain, every 100 ms */
	int reopen_ms;     /* close and reopen the watches this often; 0 no */
	int forge_ms;      /* forge the three reports this often; 0 no */
	int reporters;     /* connections each holding a reporter record */
	int history;       /* unread /api/history connections */
	int verbose;       /* print the first refusals on stderr */
	int keep_uid;      /* run as we are (root: a trusted peer) */
};

/* What the attacker has done, and what mockresd answered its reports. */
struct attack_counts {
	uint64_t watches, reports_taken, reports_refused, histories;
};

/* Forks the attacker (as uid 65534 when we are root); its pid, or -1.
 * It runs until killed (and dies with its parent). */
pid_t attack_start(const struct attack_opts *);
void attack_counts(struct attack_counts *);

#endif
