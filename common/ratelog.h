/*
 * ratelog.h: at most one log line per interval for a kind of event that
 * may come in floods (a TLS handshake that fails, a refused report), with
 * the count of those not logged in between.
 */
#ifndef MOCKRES_RATELOG_H
#define MOCKRES_RATELOG_H

#include <stdint.h>

#define RATELOG_MS 10000 /* one line per 10 s */

struct ratelog {
	uint64_t next_ms;    /* no line before this (monotonic ms) */
	uint64_t suppressed; /* events held back since the last line */
};

/*
 * One more event at NOW_MS.  Returns 1 if it may be logged (then
 * *SUPPRESSED is the number held back before it, and the count restarts),
 * 0 if it is held back (counted).
 */
int ratelog_allow(struct ratelog *, uint64_t now_ms, uint64_t *suppressed);

#endif
