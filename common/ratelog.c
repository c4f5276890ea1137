/*
 * ratelog.c: one log line per RATELOG_MS, with a count (see ratelog.h).
 */
#include "ratelog.h"

int
ratelog_allow(struct ratelog *r, uint64_t now_ms, uint64_t *suppressed)
{
	if (now_ms < r->next_ms) {
		r->suppressed++;
		return 0;
	}
	*suppressed = r->suppressed;
	r->suppressed = 0;
	r->next_ms = now_ms + RATELOG_MS;
	return 1;
}
