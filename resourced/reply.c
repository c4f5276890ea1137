/*
 * reply.c: the replies that every part of mockresd's protocol sends
 * (dispatch.c, steer.c): a status with an optional reason, BAD_REQUEST,
 * the stats.  Each is queued on the connection (conn_reply) and written
 * at the end of the loop turn.
 */
#include "mockresd.h"
#include "usewire.h"

/* Room for a status reply with a reason of a sentence or two; a longer
 * reason goes through protobuf-c. */
#define REPLY_STATUS_BUF 256

/* A status, the answer to every use: written by hand (usewire.h). */
void
reply_status(struct conn *c, uint64_t id, Mockres__Status status,
             const char *error)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;
	unsigned char frame[REPLY_STATUS_BUF];
	size_t n;

	if ((n = usewire_status(frame, sizeof(frame), id, (int32_t)status,
	                        error)) > 0) {
		conn_reply_frame(c, frame, n);
		return;
	}
	resp.has_id = 1;
	resp.id = id;
	resp.has_status = 1;
	resp.status = status;
	resp.error = (char *)error;
	conn_reply(c, &resp);
}

void
reply_stats(struct conn *c, uint64_t id, int with_clients)
{
	Mockres__Response resp = MOCKRES__RESPONSE__INIT;
	Mockres__Stats stats;

	stats_fill(&stats, with_clients);
	resp.has_id = 1;
	resp.id = id;
	resp.has_status = 1;
	resp.status = MOCKRES__STATUS__OK;
	resp.stats = &stats;
	conn_reply(c, &resp);
}

void
reply_bad(struct conn *c, uint64_t id, const char *why)
{
	reply_status(c, id, MOCKRES__STATUS__BAD_REQUEST, why);
}
