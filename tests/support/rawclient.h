/*
 * rawclient.h: a blocking, byte-level mockresd client for tests: exact
 * control over what goes on the wire (bad frames included).
 */
#ifndef MOCKRES_TEST_RAWCLIENT_H
#define MOCKRES_TEST_RAWCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "mockres.pb-c.h"

int raw_connect(const char *path); /* -1 on error */
int raw_send_bytes(int fd, const void *buf, size_t len);
int raw_send_req(int fd, const Mockres__Request *req);
/* Sends a Use request with id; hold_ms < 0 = daemon default. */
int raw_send_use(int fd, uint64_t id, int async, int64_t hold_ms);
/*
 * Sends a frontend worker's HTTP report (op report): COUNT answers of 200
 * on the serial route, each of US microseconds (so sum_us is COUNT x US,
 * which must fit), and the times given.
 */
int raw_send_report(int fd, uint64_t id, uint64_t started_us, uint64_t count,
                    uint64_t us, uint64_t first_us, uint64_t last_us);
/*
 * Reads one Response within TIMEOUT_MS.  Returns it (free with
 * mockres__response__free_unpacked), or NULL on timeout, EOF or bad data;
 * *eof is set to 1 when the peer closed.
 */
Mockres__Response *raw_recv(int fd, int timeout_ms, int *eof);
/*
 * Asks for the merged HTTP stats (since SINCE_US when not 0) with id ID and
 * reads the answer within TIMEOUT_MS: the Response, or NULL as raw_recv.
 */
Mockres__Response *raw_http_stats(int fd, uint64_t id, uint64_t since_us,
                                  int timeout_ms);
/* Waits up to TIMEOUT_MS for the peer to close; 1 if it did. */
int raw_wait_closed(int fd, int timeout_ms);

#endif
