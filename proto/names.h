/*
 * names.h: the printable names of protocol enums, as used in logs, JSON
 * and command output.
 */
#ifndef MOCKRES_NAMES_H
#define MOCKRES_NAMES_H

#include "mockres.pb-c.h"

const char *names_role(Mockres__Role);
const char *names_status(Mockres__Status);

#endif
