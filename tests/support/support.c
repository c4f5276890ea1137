/*
 * support.c: integration-test plumbing (see support.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "clock.h"
#include "support.h"

#define SUP_CHILDREN_MAX 256

static char sup_dir[128];
static pid_t sup_children[SUP_CHILDREN_MAX];
static int sup_nchildren;
static pid_t sup_owner;

static void
sup_cleanup(void)
{
	char cmd[256];
	int i;

	if (getpid() != sup_owner)
		return; /* a forked Check test or child: not ours to clean */
	for (i = 0; i < sup_nchildren; i++)
		if (sup_children[i] > 0 && kill(sup_children[i], 0) == 0) {
			kill(sup_children[i], SIGKILL);
			waitpid(sup_children[i], NULL, 0);
		}
	if (sup_dir[0] != '\0' && getenv("MOCKRES_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sup_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "support: cannot remove %s\n", sup_dir);
	}
}

const char *
sup_tmpdir(void)
{
	if (sup_dir[0] == '\0') {
		snprintf(sup_dir, sizeof(sup_dir), "/tmp/mockres-test.XXXXXX");
		if (mkdtemp(sup_dir) == NULL) {
			perror("mkdtemp");
			abort();
		}
		chmod(sup_dir, 0755);
		sup_owner = getpid();
		atexit(sup_cleanup);
	}
	return sup_dir;
}

const char *
sup_path(const char *name)
{
	static char ring[8][256];
	static int next;
	char *p = ring[next++ % 8];

	snprintf(p, sizeof(ring[0]), "%s/%s", sup_tmpdir(), name);
	return p;
}

void
sup_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
sup_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

pid_t
sup_spawn(const char *const argv[], const char *logname)
{
	return sup_spawn_nofile(argv, logname, 0);
}

pid_t
sup_spawn_nofile(const char *const argv[], const char *logname, long nofile)
{
	const char *log = sup_path(logname);
	char logpath[300];
	pid_t pid;
	int fd;

	snprintf(logpath, sizeof(logpath), "%s.log", log);
	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		/* Die with the test, even when Check kills it on a timeout. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd != -1) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		if (nofile > 0) {
			/* Hard limit too: the daemons raise soft to hard. */
			struct rlimit rl = {(rlim_t)nofile, (rlim_t)nofile};

			if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
				perror("setrlimit");
				_exit(127);
			}
		}
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (sup_nchildren < SUP_CHILDREN_MAX)
		sup_children[sup_nchildren++] = pid;
	return pid;
}

int
sup_wait_exit(pid_t pid, int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r == -1)
			return -1;
		if (clock_now_ms_frac() > end)
			return -1;
		sup_sleep_ms(5);
	}
}

int
sup_stop(pid_t pid, int sig, int timeout_ms)
{
	int status;

	if (kill(pid, sig) == -1)
		return -1;
	if ((status = sup_wait_exit(pid, timeout_ms)) != -1)
		return status;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

void
sup_read_log(const char *name, char *buf, size_t len)
{
	FILE *f = fopen(sup_path(name), "r");

	ck_assert_msg(f != NULL, "cannot read %s", sup_path(name));
	buf[fread(buf, 1, len - 1, f)] = '\0';
	fclose(f);
}

char *
sup_take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

int
sup_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int alive = 0;

	if (waitpid(pid, NULL, WNOHANG) == pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}

static int
sup_connect(const void *sa, socklen_t len)
{
	int fd = socket(((const struct sockaddr *)sa)->sa_family,
	                SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	if (connect(fd, sa, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
sup_unix_connect(const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	return sup_connect(&sun, sizeof(sun));
}

int
sup_tcp_connect(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = sup_connect(&sin, sizeof(sin))) != -1)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Connects to PATH, or to PORT if PATH is NULL, until it works. */
static int
sup_wait_connect(const char *path, int port, int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;
	int fd;

	while ((fd = path ? sup_unix_connect(path) : sup_tcp_connect(port)) ==
	       -1) {
		if (clock_now_ms_frac() > end)
			return -1;
		sup_sleep_ms(10);
	}
	close(fd);
	return 0;
}

int
sup_wait_socket(const char *path, int timeout_ms)
{
	return sup_wait_connect(path, 0, timeout_ms);
}

int
sup_wait_port(int port, int timeout_ms)
{
	return sup_wait_connect(NULL, port, timeout_ms);
}

pid_t
sup_start_mockresd(const char *sock, const char *const extra[])
{
	const char *argv[32];
	pid_t pid;
	int n = 0, i;

	argv[n++] = MOCKRESD_BIN;
	argv[n++] = "--socket";
	argv[n++] = sock;
	for (i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	if ((pid = sup_spawn(argv, "mockresd")) == -1)
		return -1;
	if (sup_wait_socket(sock, 10000) == -1) {
		sup_stop(pid, SIGKILL, 1000);
		return -1;
	}
	return pid;
}

pid_t
sup_mockresd(const char *name, const char *const extra[], const char **sock)
{
	pid_t pid;

	*sock = sup_path(name);
	pid = sup_start_mockresd(*sock, extra);
	ck_assert_msg(pid > 0, "mockresd did not start on %s (see %s)", *sock,
	              sup_path("mockresd.log"));
	return pid;
}

pid_t
sup_http_server(const char *bin, const char *logname, const char *sock,
                const char *const extra[], int *port)
{
	char listen[32];
	const char *argv[32] = {bin, "--socket", sock, "--listen", listen};
	int n = 5, i;
	pid_t pid;

	*port = sup_free_port();
	ck_assert_int_gt(*port, 0);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", *port);
	for (i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = sup_spawn(argv, logname);
	ck_assert_int_gt(pid, 0);
	ck_assert_msg(sup_wait_port(*port, 10000) == 0,
	              "%s does not answer on port %d (see %s.log)", bin, *port,
	              logname);
	return pid;
}

void
sup_stop_ok(pid_t pid, const char *what, int timeout_ms)
{
	int status = sup_stop(pid, SIGTERM, timeout_ms);

	ck_assert_msg(status != -1 && WIFEXITED(status) &&
	                  WEXITSTATUS(status) == 0,
	              "%s did not exit 0 on SIGTERM within %d ms (status %d)",
	              what, timeout_ms, status);
}

/* Reads FD into BUF until EOF or the deadline; returns bytes read. */
static size_t
sup_read_all(int fd, char *buf, size_t len, double end)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	size_t got = 0;
	ssize_t n;
	char sink[4096];

	for (;;) {
		int left = (int)(end - clock_now_ms_frac());

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		if (got + 1 < len)
			n = read(fd, buf + got, len - got - 1);
		else
			n = read(fd, sink, sizeof(sink));
		if (n <= 0)
			break;
		if (got + 1 < len)
			got += (size_t)n;
	}
	if (len > 0)
		buf[got] = '\0';
	return got;
}

int
sup_run(const char *const argv[], char *out, size_t outlen, char *err,
        size_t errlen, int timeout_ms)
{
	char tmpl_err[300];
	int outp[2], status, efd = -1;
	double end = clock_now_ms_frac() + timeout_ms;
	pid_t pid;

	snprintf(tmpl_err, sizeof(tmpl_err), "%s/stderr.XXXXXX", sup_tmpdir());
	if ((efd = mkstemp(tmpl_err)) == -1)
		return -1;
	unlink(tmpl_err);
	if (pipe(outp) == -1) {
		close(efd);
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		close(efd);
		return -1;
	}
	if (pid == 0) {
		dup2(outp[1], STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		close(outp[0]);
		close(outp[1]);
		close(efd);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(outp[1]);
	if (out != NULL)
		sup_read_all(outp[0], out, outlen, end);
	else {
		char sink[256];

		sup_read_all(outp[0], sink, sizeof(sink), end);
	}
	close(outp[0]);
	if ((status = sup_wait_exit(pid, (int)(end - clock_now_ms_frac()) +
	                                     50)) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(efd);
		return -1;
	}
	if (err != NULL && errlen > 0) {
		ssize_t n = pread(efd, err, errlen - 1, 0);

		err[n > 0 ? n : 0] = '\0';
	}
	close(efd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int
sup_ctl(const char *sock, const char *const args[], char *out, size_t outlen)
{
	const char *argv[32];
	int n = 0, i;

	argv[n++] = MOCKRESCTL_BIN;
	argv[n++] = "--socket";
	argv[n++] = sock;
	for (i = 0; args[i] != NULL && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return sup_run(argv, out, outlen, NULL, 0, 30000);
}

ssize_t
sup_http_raw(int port, const char *raw, size_t len, char *out, size_t outlen,
             int timeout_ms)
{
	double end = clock_now_ms_frac() + timeout_ms;
	size_t off = 0;
	ssize_t n;
	int fd;

	if ((fd = sup_tcp_connect(port)) == -1)
		return -1;
	while (off < len) {
		n = send(fd, raw + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	n = (ssize_t)sup_read_all(fd, out, outlen, end);
	close(fd);
	return n;
}

int
sup_http(int port, const char *method, const char *path,
         const char *extra_headers, struct sup_http_resp *r, int timeout_ms)
{
	static char raw[1 << 17];
	char req[16384];
	uint64_t t0 = clock_now_us();
	const char *hend, *body;
	ssize_t n;
	int len;

	memset(r, 0, sizeof(*r));
	len = snprintf(req, sizeof(req),
	               "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	               "Connection: close\r\n%s\r\n",
	               method, path, extra_headers ? extra_headers : "");
	if (len < 0 || (size_t)len >= sizeof(req))
		return -1;
	n = sup_http_raw(port, req, (size_t)len, raw, sizeof(raw), timeout_ms);
	r->ms = (double)(clock_now_us() - t0) / 1000.0;
	if (n <= 0 || sscanf(raw, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	if ((hend = strstr(raw, "\r\n\r\n")) == NULL)
		return 0;
	len = (int)(hend - raw);
	if ((size_t)len >= sizeof(r->headers))
		len = sizeof(r->headers) - 1;
	memcpy(r->headers, raw, (size_t)len);
	r->headers[len] = '\0';
	body = hend + 4;
	r->body_len = (size_t)(raw + n - body);
	if (r->body_len >= sizeof(r->body))
		r->body_len = sizeof(r->body) - 1;
	memcpy(r->body, body, r->body_len);
	r->body[r->body_len] = '\0';
	return 0;
}

const char *
sup_header_in(const char *hdr, const char *end, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	const char *line = hdr, *eol;

	while ((line = strstr(line, "\r\n")) != NULL && line < end) {
		line += 2;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			line += nlen + 1;
			while (*line == ' ')
				line++;
			eol = strstr(line, "\r\n");
			*len = eol ? (size_t)(eol - line) : strlen(line);
			return line;
		}
	}
	return NULL;
}

int
sup_http_responses(const char *out)
{
	int n = 0, code;
	char sp;

	for (; (out = strstr(out, "HTTP/1.")) != NULL; out++)
		if (sscanf(out, "HTTP/1.%*1[01] %3d%c", &code, &sp) == 2 &&
		    sp == ' ')
			n++;
	return n;
}

const char *
sup_http_header(const struct sup_http_resp *r, const char *name, char *buf,
                size_t buflen)
{
	size_t vlen;
	const char *v = sup_header_in(
	    r->headers, r->headers + strlen(r->headers), name, &vlen);

	if (v == NULL)
		return NULL;
	if (vlen >= buflen)
		vlen = buflen - 1;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	return buf;
}

static const char *
sup_json_find(const char *json, const char *key)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(json, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	return p;
}

int
sup_json_u64(const char *json, const char *key, uint64_t *out)
{
	const char *p = sup_json_find(json, key);
	char *end;

	if (p == NULL || !isdigit((unsigned char)*p))
		return -1;
	*out = strtoull(p, &end, 10);
	return 0;
}

int
sup_json_double(const char *json, const char *key, double *out)
{
	const char *p = sup_json_find(json, key);
	char *end;

	if (p == NULL)
		return -1;
	*out = strtod(p, &end);
	return end == p ? -1 : 0;
}

int
sup_stats(const char *sock, struct sup_stats *s)
{
	const char *args[] = {"--json", "status", NULL};
	char out[4096];

	if (sup_ctl(sock, args, out, sizeof(out)) != 0)
		return -1;
	if (sup_json_u64(out, "in_flight", &s->in_flight) ||
	    sup_json_u64(out, "limit", &s->limit) ||
	    sup_json_u64(out, "peak", &s->peak) ||
	    sup_json_u64(out, "admitted", &s->admitted) ||
	    sup_json_u64(out, "rejected", &s->rejected) ||
	    sup_json_u64(out, "completed", &s->completed))
		return -1;
	if (sup_json_u64(out, "waiting", &s->waiting) != 0)
		s->waiting = 0;
	if (sup_json_u64(out, "peak_waiting", &s->peak_waiting) != 0)
		s->peak_waiting = 0;
	if (sup_json_u64(out, "timed_out", &s->timed_out) != 0)
		s->timed_out = 0;
	if (sup_json_u64(out, "cancelled", &s->cancelled) != 0)
		s->cancelled = 0;
	return 0;
}

long
sup_proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

double
sup_proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	/* utime and stime, fields 14 and 15, counted after the ")" that
	 * ends the name. */
	if (!ok || (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	           &st) != 2)
		return -1;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

long
sup_proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int
sup_proc_children(pid_t pid, pid_t *out, int max)
{
	char path[64], buf[512], *p, *end;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	         (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) != NULL)
		for (p = buf; n < max; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			out[n++] = (pid_t)v;
		}
	fclose(f);
	return n;
}

void
sup_add_case(Suite *s, const char *name, void (*setup)(void),
             void (*teardown)(void), int timeout_s, const TTest *const tests[],
             size_t ntests)
{
	TCase *tc = tcase_create(name);
	size_t i;

	if (setup != NULL || teardown != NULL)
		tcase_add_checked_fixture(tc, setup, teardown);
	if (timeout_s > 0)
		tcase_set_timeout(tc, timeout_s);
	for (i = 0; i < ntests; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
}

int
sup_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
