/*
 * peerclock.h: another host's CLOCK_MONOTONIC, read in ours.
 *
 * Every host's monotonic clock starts at its own boot, so a time a peer
 * sends (a frontend worker's bursts, mockresd's stats) means nothing here
 * until it is moved into our clock.  A message the peer stamps with its
 * send time S (its clock) and we receive at R (ours) says that the offset
 * (its clock minus ours) is S - R + the message's delay, that delay being
 * positive: the offset is at least S - R.  The estimate is the largest
 * S - R seen, that is the message that came soonest after it was sent,
 * so it errs by that message's one-way delay at most, and its times come
 * out in our clock at most that late, never early.  Clocks drift: the
 * estimate decays at PEERCLOCK_DRIFT_PPM (the most an NTP-disciplined
 * clock is slewed) so that an old sample does not outweigh newer ones for
 * ever.  A pure function of the times it is given.
 *
 * mockresd reads the frontend workers' reports over TLS with one per
 * connection (resourced/report.c); the dashboard reads mockresd's HTTP
 * stats with one (dashboard/traffic.c).
 */
#ifndef MOCKRES_PEERCLOCK_H
#define MOCKRES_PEERCLOCK_H

#include <stdint.h>

#define PEERCLOCK_DRIFT_PPM 500

struct peerclock {
	int has;
	int64_t offset_us; /* the peer's clock minus ours, as estimated */
	uint64_t at_us;    /* our clock at the estimate */
};

/* A message the peer stamped SENT_US came at NOW_US (ours). */
void peerclock_sample(struct peerclock *, uint64_t sent_us, uint64_t now_us);
/* The peer's time T in our clock; 0 (none) stays 0, and a time before our
 * clock's start is 1. */
uint64_t peerclock_to_local(const struct peerclock *, uint64_t t);
/* Our time T in the peer's clock; 0 stays 0. */
uint64_t peerclock_to_peer(const struct peerclock *, uint64_t t);

#endif
