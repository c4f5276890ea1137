/*
 * names.c: enum -> string.
 */
#include "names.h"

/* The one table of role names (the dashboard's process table too). */
static const char *const names_roles[] = {
    [MOCKRES__ROLE__ROLE_UNKNOWN] = "unknown",
    [MOCKRES__ROLE__ROLE_CTL] = "ctl",
    [MOCKRES__ROLE__ROLE_FRONTEND_WORKER] = "frontend-worker",
    [MOCKRES__ROLE__ROLE_DASHBOARD] = "dashboard",
    [MOCKRES__ROLE__ROLE_BENCH] = "bench",
    [MOCKRES__ROLE__ROLE_DAEMON] = "mockresd",
};

const char *
names_role(Mockres__Role role)
{
	if ((unsigned)role >= sizeof(names_roles) / sizeof(names_roles[0]) ||
	    names_roles[role] == NULL)
		return "unknown";
	return names_roles[role];
}

const char *
names_status(Mockres__Status status)
{
	switch (status) {
	case MOCKRES__STATUS__OK:
		return "OK";
	case MOCKRES__STATUS__ADMITTED:
		return "ADMITTED";
	case MOCKRES__STATUS__DONE:
		return "DONE";
	case MOCKRES__STATUS__BUSY:
		return "BUSY";
	case MOCKRES__STATUS__BAD_REQUEST:
		return "BAD_REQUEST";
	case MOCKRES__STATUS__DENIED:
		return "DENIED";
	case MOCKRES__STATUS__SHUTTING_DOWN:
		return "SHUTTING_DOWN";
	case MOCKRES__STATUS__TIMEOUT:
		return "TIMEOUT";
	default:
		return "UNKNOWN";
	}
}
