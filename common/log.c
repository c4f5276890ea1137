/*
 * log.c: stderr logging with a program prefix (after OpenBSD's log.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *log_progname = "mockres";
static char log_prefix[64];
static int log_is_verbose;

void
log_init(const char *progname, int verbose)
{
	log_progname = progname;
	log_is_verbose = verbose;
}

/* An extra tag after the program name, e.g. "worker 2". */
void
log_setprefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

int
log_verbose(void)
{
	return log_is_verbose;
}

static void
log_vwrite(const char *fmt, va_list ap, int with_errno)
{
	int saved = errno;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno)
		fprintf(stderr, "%s%s%s: %s: %s\n", log_progname,
		        log_prefix[0] ? " " : "", log_prefix, msg,
		        strerror(saved));
	else
		fprintf(stderr, "%s%s%s: %s\n", log_progname,
		        log_prefix[0] ? " " : "", log_prefix, msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_is_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite(fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, 0);
	va_end(ap);
	exit(1);
}
