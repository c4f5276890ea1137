/*
 * procstat.c: CPU, memory and parent of a process, from /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

int
procstat_parse(const char *buf, pid_t *ppid, unsigned long long *ticks)
{
	const char *s = strrchr(buf, ')');
	unsigned long long utime = 0, stime = 0, v;
	char *end;
	int field;

	if (s == NULL || s[1] != ' ')
		return -1;
	s += 2;
	/* s is at field 3 (state), a single character. */
	if (*s == '\0' || s[1] != ' ')
		return -1;
	s += 2;
	for (field = 4; field <= 15; field++) {
		if (field == 4 || field >= 14) {
			if (*s < '0' || *s > '9')
				return -1;
			errno = 0;
			v = strtoull(s, &end, 10);
			if (errno != 0 || (*end != ' ' && *end != '\0'))
				return -1;
			if (field == 4)
				*ppid = (pid_t)v;
			else if (field == 14)
				utime = v;
			else
				stime = v;
		} else {
			end = strchr(s, ' ');
			if (end == NULL)
				return -1;
		}
		if (*end == '\0' && field < 15)
			return -1;
		s = end + 1;
	}
	*ticks = utime + stime;
	return 0;
}

static ssize_t
procstat_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int
procstat_read(pid_t pid, struct procstat *ps)
{
	static long tck, page_kb;
	char path[64], buf[1024], *end;
	unsigned long long pages;

	if (tck == 0) {
		tck = sysconf(_SC_CLK_TCK);
		page_kb = sysconf(_SC_PAGESIZE) / 1024;
		if (tck <= 0)
			tck = 100;
		if (page_kb <= 0)
			page_kb = 4;
	}
	memset(ps, 0, sizeof(*ps));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (procstat_file(path, buf, sizeof(buf)) == -1 ||
	    procstat_parse(buf, &ps->ppid, &ps->ticks) == -1)
		return -1;
	ps->cpu_ms = ps->ticks * 1000ull / (unsigned long long)tck;
	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if (procstat_file(path, buf, sizeof(buf)) != -1) {
		/* "size resident shared ...", in pages */
		(void)strtoull(buf, &end, 10);
		if (end != buf && *end == ' ') {
			pages = strtoull(end + 1, &end, 10);
			ps->rss_kb = pages * (unsigned long long)page_kb;
		}
	}
	return 0;
}

int
procstat_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if ((n = procstat_file(path, buf, len)) <= 0)
		return -1;
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}
