/*
 * procstat.h: a process's CPU time, resident memory and parent, from
 * /proc on this host: what the dashboard shows for each process, what a
 * frontend worker reports of itself and its master, and mockresd of
 * itself (so that a dashboard on another host shows them too).
 */
#ifndef MOCKRES_PROCSTAT_H
#define MOCKRES_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct procstat {
	pid_t ppid;
	unsigned long long ticks; /* utime + stime, clock ticks */
	uint64_t cpu_ms;          /* the same in milliseconds */
	uint64_t rss_kb;          /* resident memory */
};

/*
 * Parses /proc/PID/stat's text: the parent pid and utime + stime in clock
 * ticks.  The command name may hold spaces and parentheses, so fields are
 * counted from the last ')'.  Returns 0, or -1 if BUF does not look like
 * one.
 */
int procstat_parse(const char *buf, pid_t *ppid, unsigned long long *ticks);

/* PID's figures (/proc/PID/stat and statm).  Returns 0, or -1 if it is
 * gone or not ours to see. */
int procstat_read(pid_t pid, struct procstat *);

/* The command name of PID (/proc/PID/comm, at most 15 bytes) into BUF;
 * 0, or -1. */
int procstat_comm(pid_t pid, char *buf, size_t len);

#endif
