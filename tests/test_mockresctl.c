/*
 * test_mockresctl.c: mockresctl as a user runs it: output, exit codes,
 * messages, access control.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "support.h"

static const char *sock;
static pid_t daemon_pid;
static char out[16384], err[4096];

static void
start_daemon(void)
{
	const char *extra[] = {"--limit", "2", "--hold-ms", "1500", NULL};

	daemon_pid = sup_mockresd("mockresd.sock", extra, &sock);
}

static int
ctl(const char *const args[])
{
	const char *argv[32];
	int n = 0, i;

	argv[n++] = MOCKRESCTL_BIN;
	argv[n++] = "--socket";
	argv[n++] = sock;
	for (i = 0; args[i] != NULL; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return sup_run(argv, out, sizeof(out), err, sizeof(err), 30000);
}

START_TEST(test_status_human_and_json)
{
	const char *human[] = {"status", NULL};
	const char *json[] = {"--json", "status", NULL};
	uint64_t v;

	start_daemon();
	ck_assert_int_eq(ctl(human), 0);
	ck_assert_ptr_nonnull(strstr(out, "in flight  0"));
	ck_assert_ptr_nonnull(strstr(out, "limit      2"));
	ck_assert_int_eq(ctl(json), 0);
	ck_assert_int_eq(sup_json_u64(out, "limit", &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(sup_json_u64(out, "hold_ms", &v), 0);
	ck_assert_uint_eq(v, 1500);
	sup_stop(daemon_pid, SIGTERM, 5000);
}
END_TEST

/* use: 0 when admitted, 1 with a clear message when busy. */
START_TEST(test_use_and_busy)
{
	const char *async[] = {"use", "--async", NULL};
	const char *jstatus[] = {"--json", "status", NULL};
	uint64_t v;

	start_daemon();
	ck_assert_int_eq(ctl(async), 0);
	ck_assert_ptr_nonnull(strstr(out, "ADMITTED"));
	ck_assert_int_eq(ctl(async), 0);
	ck_assert_int_eq(ctl(async), 1);
	ck_assert_msg(strstr(err, "resource busy: 2 requests already in "
	                          "flight") != NULL,
	              "%s", err);
	ck_assert_int_eq(ctl(jstatus), 0);
	ck_assert_int_eq(sup_json_u64(out, "in_flight", &v), 0);
	ck_assert_uint_eq(v, 2);
	ck_assert_int_eq(sup_json_u64(out, "rejected", &v), 0);
	ck_assert_uint_eq(v, 1);
	sup_stop(daemon_pid, SIGTERM, 5000);
}
END_TEST

START_TEST(test_serial_use_takes_the_hold)
{
	const char *serial[] = {"--json", "use", "--hold-ms", "300", NULL};
	double ms;

	start_daemon();
	ck_assert_int_eq(ctl(serial), 0);
	ck_assert_int_eq(sup_json_double(out, "elapsed_ms", &ms), 0);
	ck_assert_double_ge(ms, 299.0);
	ck_assert_ptr_nonnull(strstr(out, "\"DONE\""));
	sup_stop(daemon_pid, SIGTERM, 5000);
}
END_TEST

START_TEST(test_settings)
{
	const char *limit[] = {"limit", "7", NULL};
	const char *hold[] = {"hold", "250", NULL};
	const char *show[] = {"limit", NULL};
	const char *reset[] = {"reset-peak", NULL};
	const char *async[] = {"use", "--async", NULL};

	start_daemon();
	ck_assert_int_eq(ctl(limit), 0);
	ck_assert_ptr_nonnull(strstr(out, "limit: 7"));
	ck_assert_int_eq(ctl(hold), 0);
	ck_assert_ptr_nonnull(strstr(out, "hold: 250 ms"));
	ck_assert_int_eq(ctl(show), 0);
	ck_assert_ptr_nonnull(strstr(out, "limit: 7"));
	ck_assert_int_eq(ctl(async), 0);
	ck_assert_int_eq(ctl(show), 0);
	ck_assert_ptr_nonnull(strstr(out, "peak: 1"));
	sup_sleep_ms(600); /* the 250 ms hold is over */
	ck_assert_int_eq(ctl(reset), 0);
	ck_assert_ptr_nonnull(strstr(out, "peak: 0"));
	sup_stop(daemon_pid, SIGTERM, 5000);
}
END_TEST

START_TEST(test_clients)
{
	const char *clients[] = {"clients", NULL};
	const char *jclients[] = {"--json", "clients", NULL};

	start_daemon();
	ck_assert_int_eq(ctl(clients), 0);
	ck_assert_ptr_nonnull(strstr(out, "ROLE"));
	ck_assert_ptr_nonnull(strstr(out, "ctl"));
	ck_assert_int_eq(ctl(jclients), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"clients\":[{\"pid\":"));
	sup_stop(daemon_pid, SIGTERM, 5000);
}
END_TEST

START_TEST(test_unreachable_exit_3)
{
	const char *status[] = {"status", NULL};

	sock = sup_path("nobody-here.sock");
	ck_assert_int_eq(ctl(status), 3);
	ck_assert_msg(strstr(err, "cannot reach mockresd at") != NULL &&
	                  strstr(err, ": no such file or directory (is "
	                              "mockresd running?)") != NULL,
	              "%s", err);
}
END_TEST

START_TEST(test_usage_exit_2)
{
	const char *bad_cmd[] = {"frobnicate", NULL};
	const char *bad_limit[] = {"limit", "-3", NULL};
	const char *bad_hold[] = {"use", "--hold-ms", "abc", NULL};
	const char *extra[] = {"status", "now", NULL};
	const char *help[] = {"--help", NULL};

	sock = sup_path("unused.sock");
	ck_assert_int_eq(ctl(bad_cmd), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown command 'frobnicate'"));
	ck_assert_int_eq(ctl(bad_limit), 2);
	ck_assert_ptr_nonnull(strstr(err, "limit"));
	ck_assert_int_eq(ctl(bad_hold), 2);
	ck_assert_int_eq(ctl(extra), 2);
	ck_assert_int_eq(ctl(help), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: mockresctl"));
}
END_TEST

/*
 * --help and the dispatch come from one table: every command --help lists
 * is known (a bad argument is its own usage error, exit 2, not "unknown
 * command"), and each is listed.
 */
START_TEST(test_help_lists_what_runs)
{
	const char *help[] = {"--help", NULL};
	const char *names[] = {"status",     "watch", "clients",
	                       "use",        "limit", "hold",
	                       "reset-peak", "model", "bench"};
	char copy[sizeof(out)], cmd[64], *line, *save = NULL;
	const char *args[3] = {cmd, "--no-such-option", NULL};
	size_t i;
	int listed = 0;

	sock = sup_path("unused.sock");
	ck_assert_int_eq(ctl(help), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(strstr(out, names[i]) != NULL, "%s not listed",
		              names[i]);
	snprintf(copy, sizeof(copy), "%s", out);
	line = strstr(copy, "commands");
	ck_assert_ptr_nonnull(line);
	for (line = strtok_r(line, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "  --", 4) == 0)
			break; /* the flags */
		if (strncmp(line, "  ", 2) != 0 || line[2] == ' ' ||
		    line[2] == '*')
			continue; /* a continued help line, the footnote */
		ck_assert_int_eq(sscanf(line + 2, "%63s", cmd), 1);
		ck_assert_int_eq(ctl(args), 2);
		ck_assert_msg(strstr(err, "unknown command") == NULL,
		              "--help lists '%s', which does not run: %s", cmd,
		              err);
		listed++;
	}
	ck_assert_int_ge(listed, (int)(sizeof(names) / sizeof(names[0])));
}
END_TEST

/* A uid that is neither root nor mockresd's gets DENIED, exit 4. */
START_TEST(test_denied_exit_4)
{
	const char *argv[] = {"/usr/bin/setpriv",
	                      "--reuid=65534",
	                      "--regid=65534",
	                      "--clear-groups",
	                      MOCKRESCTL_BIN,
	                      "--socket",
	                      NULL,
	                      "limit",
	                      "0",
	                      NULL};
	const char *argv_status[] = {"/usr/bin/setpriv",
	                             "--reuid=65534",
	                             "--regid=65534",
	                             "--clear-groups",
	                             MOCKRESCTL_BIN,
	                             "--socket",
	                             NULL,
	                             "status",
	                             NULL};
	int rc;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
		fprintf(stderr, "test_denied_exit_4: needs root and setpriv; "
		                "skipped\n");
		return;
	}
	start_daemon();
	argv[6] = sock;
	argv_status[6] = sock;
	/* 0660 root:root: another uid cannot even connect */
	rc = sup_run(argv_status, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_int_eq(rc, 3);
	ck_assert_msg(
	    strstr(err, "permission denied (are you root or in the mockres "
	                "group?)") != NULL,
	    "%s", err);
	/* opened up for the test: it connects, but may not steer */
	chmod(sock, 0666);
	rc = sup_run(argv_status, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_int_eq(rc, 0);
	rc = sup_run(argv, out, sizeof(out), err, sizeof(err), 10000);
	ck_assert_int_eq(rc, 4);
	ck_assert_msg(strstr(err, "permission denied") != NULL, "%s", err);
	sup_stop(daemon_pid, SIGTERM, 5000);
}
END_TEST

START_TEST(test_bench)
{
	const char *limit0[] = {"limit", "0", NULL};
	const char *bench[] = {"--json", "bench", "-c", "4", "-n",
	                       "2000",   "-P",    "4",  NULL};
	uint64_t ok, total;

	start_daemon();
	ck_assert_int_eq(ctl(limit0), 0);
	ck_assert_int_eq(ctl(bench), 0);
	ck_assert_int_eq(sup_json_u64(out, "total", &total), 0);
	ck_assert_int_eq(sup_json_u64(out, "ok", &ok), 0);
	ck_assert_uint_eq(total, 2000);
	ck_assert_uint_eq(ok, 2000);
	sup_stop(daemon_pid, SIGTERM, 5000);
}
END_TEST

/* watch (not a terminal): one line per snapshot, and it survives a
 * restart of mockresd. */
START_TEST(test_watch_reconnects)
{
	const char *argv[] = {MOCKRESCTL_BIN, "--socket", NULL, "watch",
	                      "-i",           "50",       NULL};
	char path[512], buf[65536];
	const char *extra[] = {"--limit", "2", NULL};
	pid_t w;
	FILE *f;
	size_t n;

	start_daemon();
	argv[2] = sock;
	w = sup_spawn(argv, "watch");
	sup_sleep_ms(500);
	sup_stop(daemon_pid, SIGKILL, 5000);
	sup_sleep_ms(300);
	daemon_pid = sup_start_mockresd(sock, extra);
	ck_assert_int_gt(daemon_pid, 0);
	sup_sleep_ms(1500);
	ck_assert(sup_alive(w));
	sup_stop(w, SIGINT, 5000);
	snprintf(path, sizeof(path), "%s.log", sup_path("watch"));
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "in flight 0  peak 0  limit 2"));
	ck_assert_ptr_nonnull(strstr(buf, "lost mockresd"));
	/* lines after the loss: the watch is back */
	ck_assert_ptr_nonnull(
	    strstr(strstr(buf, "lost mockresd"), "in flight 0"));
	sup_stop(daemon_pid, SIGTERM, 5000);
}
END_TEST

/* A daemon that accepts but never answers costs a timeout, not a hang. */
START_TEST(test_silent_daemon_times_out)
{
	const char *status[] = {"status", NULL};
	struct sockaddr_un sun;
	double t0;
	int fd;

	sock = sup_path("silent.sock");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 16), 0); /* never accepted, never read */
	t0 = clock_now_ms_frac();
	ck_assert_int_eq(ctl(status), 3);
	ck_assert_msg(strstr(err, "no answer from mockresd at") != NULL &&
	                  strstr(err, "within 10 s (is it stopped?)") != NULL,
	              "%s", err);
	ck_assert_double_ge(clock_now_ms_frac() - t0, 9000.0);
	close(fd);
}
END_TEST

SUP_MAIN("mockresctl", NULL, NULL, 60, test_status_human_and_json,
         test_use_and_busy, test_serial_use_takes_the_hold, test_settings,
         test_clients, test_unreachable_exit_3, test_usage_exit_2,
         test_help_lists_what_runs, test_denied_exit_4, test_bench,
         test_watch_reconnects, test_silent_daemon_times_out)
