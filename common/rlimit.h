/*
 * rlimit.h: resource limits every daemon sets at start.
 */
#ifndef MOCKRES_RLIMIT_H
#define MOCKRES_RLIMIT_H

/* Raises the soft limit on open files to the hard limit: one fd per
 * client, and the default soft limit (1024) is lower than the caps. */
void rlimit_raise_nofile(void);

#endif
