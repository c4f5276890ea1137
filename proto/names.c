/*
 * names.c: enum -> string.
 */
#include "names.h"

const char *
names_role(Mockres__Role role)
{
	switch (role) {
	case MOCKRES__ROLE__ROLE_CTL:
		return "ctl";
	case MOCKRES__ROLE__ROLE_FRONTEND_WORKER:
		return "frontend-worker";
	case MOCKRES__ROLE__ROLE_DASHBOARD:
		return "dashboard";
	case MOCKRES__ROLE__ROLE_BENCH:
		return "bench";
	case MOCKRES__ROLE__ROLE_DAEMON:
		return "mockresd";
	default:
		return "unknown";
	}
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
