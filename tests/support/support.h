/*
 * support.h: what the integration tests need to drive the real binaries:
 * a private temporary directory, free ports, processes started and
 * stopped, a small HTTP client, and mockresctl runs.
 *
 * Binary paths come from the build: MOCKRESD_BIN, MOCKRESCTL_BIN,
 * FRONTEND_BIN, DASHBOARD_BIN.  Every wait has an explicit, generous
 * timeout; nothing here depends on timing luck.
 */
#ifndef MOCKRES_TEST_SUPPORT_H
#define MOCKRES_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>

/* Runs S (CK_NORMAL output); returns main's exit status: 0 if every test
 * passed. */
int sup_run_suite(Suite *s);

/*
 * Adds a TCase NAME to S with TESTS, a checked fixture (SETUP and
 * TEARDOWN may be NULL) and a per-test timeout (0: Check's default).
 * SUP_ADD_CASE takes the tests as arguments.
 */
void sup_add_case(Suite *s, const char *name, void (*setup)(void),
                  void (*teardown)(void), int timeout_s,
                  const TTest *const tests[], size_t ntests);
#define SUP_ADD_CASE(s, name, setup, teardown, timeout_s, ...)                 \
	do {                                                                   \
		const TTest *const sup_tests_[] = {__VA_ARGS__};               \
		sup_add_case((s), (name), (setup), (teardown), (timeout_s),    \
		             sup_tests_,                                       \
		             sizeof(sup_tests_) / sizeof(sup_tests_[0]));      \
	} while (0)

/*
 * The whole main() of a suite with one TCase of the same name:
 *
 *	SUP_MAIN("frame", NULL, NULL, 0, test_header, test_roundtrip)
 */
#define SUP_MAIN(name, setup, teardown, timeout_s, ...)                        \
	int main(void)                                                         \
	{                                                                      \
		Suite *sup_s_ = suite_create(name);                            \
                                                                               \
		SUP_ADD_CASE(sup_s_, name, setup, teardown, timeout_s,         \
		             __VA_ARGS__);                                     \
		return sup_run_suite(sup_s_);                                  \
	}

/* A directory for this test process, made on first use, removed at exit. */
const char *sup_tmpdir(void);
/* "<tmpdir>/<name>" in a static ring of 8 buffers. */
const char *sup_path(const char *name);
/* The start of the file NAME in the test's directory (a process's log),
 * at most LEN - 1 bytes, NUL-terminated; fails the test if it is not
 * there. */
void sup_read_log(const char *name, char *buf, size_t len);
struct evbuffer;
/* All of B as a NUL-terminated string, malloc'd; B is left empty. */
char *sup_take(struct evbuffer *b);

void sup_sleep_ms(int ms);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int sup_free_port(void);

/*
 * Starts ARGV (NULL-terminated) with stdout and stderr appended to
 * <tmpdir>/<logname>.log.  Returns the pid; the process is killed at exit
 * if still running.
 */
pid_t sup_spawn(const char *const argv[], const char *logname);
/* The same with RLIMIT_NOFILE (soft and hard) set to NOFILE before the
 * exec; 0 leaves it. */
pid_t sup_spawn_nofile(const char *const argv[], const char *logname,
                       long nofile);
/* Sends SIG and waits up to TIMEOUT_MS; then SIGKILL.  Returns the wait
 * status, or -1. */
int sup_stop(pid_t pid, int sig, int timeout_ms);
/* Is PID still running (not a zombie)? */
int sup_alive(pid_t pid);
/* Waits for PID to exit; returns the wait status or -1 on timeout. */
int sup_wait_exit(pid_t pid, int timeout_ms);

/* A blocking stream socket connected to PATH, or -1. */
int sup_unix_connect(const char *path);
/* 127.0.0.1:PORT, with TCP_NODELAY (each send is a segment: what the
 * drip and split-request tests mean); -1 if it cannot connect. */
int sup_tcp_connect(int port);

/* Waits until a connect to the Unix socket PATH / 127.0.0.1:PORT
 * succeeds.  Returns 0, or -1 on timeout. */
int sup_wait_socket(const char *path, int timeout_ms);
int sup_wait_port(int port, int timeout_ms);

/* Starts mockresd on SOCK with extra args (NULL-terminated, may be NULL)
 * and waits for its socket. */
pid_t sup_start_mockresd(const char *sock, const char *const extra[]);
/* The same on <tmpdir>/NAME (in *SOCK), failing the test unless it is up;
 * returns the pid. */
pid_t sup_mockresd(const char *name, const char *const extra[],
                   const char **sock);
/*
 * Starts BIN (FRONTEND_BIN, DASHBOARD_BIN) with --socket SOCK, --listen on
 * a free port of 127.0.0.1 (in *PORT) and EXTRA (may be NULL), logging to
 * <tmpdir>/<logname>.log; fails the test unless the port answers within
 * 10 s.  Returns the pid.
 */
pid_t sup_http_server(const char *bin, const char *logname, const char *sock,
                      const char *const extra[], int *port);
/* SIGTERM to PID (WHAT names it in the message); fails the test unless it
 * exits 0 within TIMEOUT_MS. */
void sup_stop_ok(pid_t pid, const char *what, int timeout_ms);

/*
 * Runs ARGV to completion, capturing stdout into OUT (NUL-terminated,
 * truncated to OUTLEN-1) and stderr into ERR (may be NULL).  Returns the
 * exit code, or -1 if it did not exit within TIMEOUT_MS (it is killed).
 */
int sup_run(const char *const argv[], char *out, size_t outlen, char *err,
            size_t errlen, int timeout_ms);
/* mockresctl --socket SOCK ARGS... ; same return as sup_run. */
int sup_ctl(const char *sock, const char *const args[], char *out,
            size_t outlen);

/* A parsed HTTP response. */
struct sup_http_resp {
	int status;         /* 0 if none was read */
	char headers[8192]; /* raw header block */
	char body[65536];
	size_t body_len;
	double ms; /* time to the whole response */
};

/*
 * One HTTP/1.1 request with "Connection: close" to 127.0.0.1:PORT.
 * EXTRA_HEADERS (may be NULL) are "Name: value\r\n" lines.  Returns 0 when a
 * status line was read, -1 on connect error or timeout.
 */
int sup_http(int port, const char *method, const char *path,
             const char *extra_headers, struct sup_http_resp *r,
             int timeout_ms);
/* Sends RAW bytes, reads until close or timeout; returns bytes read. */
ssize_t sup_http_raw(int port, const char *raw, size_t len, char *out,
                     size_t outlen, int timeout_ms);
/* The value of header NAME (case-insensitive) in the header block HDR
 * (its lines end in CRLF; the search stops at END), its length in *LEN;
 * NULL if it is not there. */
const char *sup_header_in(const char *hdr, const char *end, const char *name,
                          size_t *len);
/* How many responses (status lines "HTTP/1.x NNN ") OUT holds. */
int sup_http_responses(const char *out);
/* The value of header NAME (case-insensitive) in R, or NULL. */
const char *sup_http_header(const struct sup_http_resp *r, const char *name,
                            char *buf, size_t buflen);

/* Reads the number after "KEY": in JSON; 0 on success. */
int sup_json_u64(const char *json, const char *key, uint64_t *out);
int sup_json_double(const char *json, const char *key, double *out);

/* mockresd's stats through mockresctl --json status: in_flight etc. */
struct sup_stats {
	uint64_t in_flight, limit, peak, admitted, rejected, completed;
	uint64_t waiting, peak_waiting, timed_out, cancelled; /* 0 if absent */
};
int sup_stats(const char *sock, struct sup_stats *s);

/* Counts open fds and RSS (kB) of PID from /proc; -1 on error. */
long sup_proc_fds(pid_t pid);
/* CPU time (user + system) PID has used, in ms, from /proc/PID/stat; -1
 * on error. */
double sup_proc_cpu_ms(pid_t pid);
long sup_proc_rss_kb(pid_t pid);
/* The children of PID (e.g. the frontend's workers); returns how many,
 * at most MAX, or -1. */
int sup_proc_children(pid_t pid, pid_t *out, int max);

#endif
