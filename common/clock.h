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

uint64_t clock_now_ns(void);
uint64_t clock_now_us(void);
uint64_t clock_now_ms(void);
/* The same clock in milliseconds with their fraction: for measuring, and
 * for the deadlines of tests and tools kept as doubles. */
double clock_now_ms_frac(void);
struct timeval clock_tv(uint64_t ms);

#endif
