/*
 * names.h: the printable names of protocol enums, as used in logs, JSON
 * and command output.
 */
#ifndef MOCKRES_NAMES_H
#define MOCKRES_NAMES_H

#include "mockres.pb-c.h"

/* A process's role as logs, JSON, the dashboard and mockresctl show it. */
const char *names_role(Mockres__Role);
/* The frontend's master never connects to mockresd: no wire role. */
#define NAMES_FRONTEND_MASTER "frontend-master"

const char *names_status(Mockres__Status);

#endif
