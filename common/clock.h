/*
 * clock.h: the one clock of every mockres program.
 *
 * CLOCK_MONOTONIC, so that deadlines and durations survive changes of the
 * wall clock.  clock_tv() turns a duration in ms into the struct timeval
 * that libevent's timers take.
 */
#ifndef MOCKRES_CLOCK_H
#define MOCKRES_CLOCK_H

#include <stdint.h>
#include <sys/time.h>

uint64_t clock_now_us(void);
uint64_t clock_now_ms(void);
struct timeval clock_tv(uint64_t ms);

#endif
