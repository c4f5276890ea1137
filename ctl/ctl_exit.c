/*
 * ctl_exit.c: what mockresctl says when a command fails, and the exit
 * status that goes with it (enum ctl_exit, documented in the README).
 *
 * Every message is one line on stderr, "mockresctl: " first, saying what
 * failed and what to do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "names.h"

int
ctl_exit_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mockresctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see mockresctl --help)\n");
	return CTL_USAGE;
}

int
ctl_exit_unreachable(const struct mrclient *mc)
{
	fprintf(stderr, "mockresctl: %s\n", mrclient_error(mc));
	return CTL_UNREACHABLE;
}

int
ctl_exit_status(const Mockres__Response *resp)
{
	const char *error = resp->error ? resp->error : "";

	switch (resp->status) {
	case MOCKRES__STATUS__OK:
	case MOCKRES__STATUS__ADMITTED:
	case MOCKRES__STATUS__DONE:
		return CTL_OK;
	case MOCKRES__STATUS__BUSY:
		fprintf(stderr, "mockresctl: %s\n",
		        error[0] ? error : "resource busy");
		return CTL_BUSY;
	case MOCKRES__STATUS__TIMEOUT:
		fprintf(stderr, "mockresctl: %s\n",
		        error[0] ? error
		                 : "timed out waiting for the resource");
		return CTL_BUSY;
	case MOCKRES__STATUS__DENIED:
		/* mockresd's reason may say what to do already (over TLS:
		 * which CNs may). */
		fprintf(stderr, "mockresctl: %s%s\n",
		        error[0] ? error : "permission denied",
		        error[0] && error[strlen(error) - 1] == ')'
		            ? ""
		            : " (run as root or as the user mockresd runs "
		              "as)");
		return CTL_DENIED;
	default:
		fprintf(stderr, "mockresctl: mockresd answered %s%s%s\n",
		        names_status(resp->status), error[0] ? ": " : "",
		        error);
		return CTL_ERROR;
	}
}

int
ctl_exit_stats(const Mockres__Response *resp)
{
	int rc = ctl_exit_status(resp);

	if (rc == CTL_OK && resp->stats == NULL) {
		fprintf(stderr, "mockresctl: mockresd sent no stats\n");
		return CTL_ERROR;
	}
	return rc;
}
