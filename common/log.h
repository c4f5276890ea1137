/*
 * log.h: the one logging interface of every mockres program.
 *
 * Messages go to stderr as "PROGNAME: message" (journald adds time and
 * pid).  log_debug only prints after log_init(..., verbose = 1).
 * fatal/fatalx log and exit(1); use them only before the event loop runs
 * or for a broken invariant.
 */
#ifndef MOCKRES_LOG_H
#define MOCKRES_LOG_H

#include <stdarg.h>

void log_init(const char *progname, int verbose);
void log_setprefix(const char *prefix);
int log_verbose(void);
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
