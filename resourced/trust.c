/*
 * trust.c: who may do what, decided in one place.
 *
 * A right comes from what the system verified about the peer, never from
 * what the peer says (its hello's role, name, host or pid are labels):
 *
 *   peer                                   steer   report
 *   Unix socket, uid 0 or mockresd's own     yes     yes
 *   Unix socket, any other uid               -       -
 *   TLS, certificate CN in --tls-admin       yes     -
 *   TLS, certificate CN in --tls-frontend    -       yes
 *   TLS, any other certificate of the CA     -       -
 *
 * Steering is the limit, the hold, the model, the peak and a use's own
 * hold_ms; reporting is the frontend workers' HTTP counts.  A frontend is
 * not an admin: over TLS a CN must be named by --tls-admin to steer,
 * whatever else it is.  Everyone may use the resource and read the stats.
 */
#include <stdio.h>
#include <string.h>

#include "mockresd.h"

void
trust_init(const char *const *admins, const char *const *frontends)
{
	mrd->tls_admins = admins;
	mrd->tls_frontends = frontends;
}

static int
trust_named(const char *const *names, const char *cn)
{
	size_t i;

	if (names == NULL || cn[0] == '\0')
		return 0;
	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], cn) == 0)
			return 1;
	return 0;
}

unsigned
trust_rights(const struct conn *c)
{
	struct fconn_peer p;
	unsigned r = 0;

	fconn_peer(&c->fc, &p);
	if (p.has_cred && (p.uid == 0 || p.uid == mrd->uid))
		r |= TRUST_STEER | TRUST_REPORT;
	if (p.verified_cn) {
		if (trust_named(mrd->tls_admins, p.cn))
			r |= TRUST_STEER;
		if (trust_named(mrd->tls_frontends, p.cn))
			r |= TRUST_REPORT;
	}
	return r;
}

int
trust_may_steer(const struct conn *c)
{
	return (c->rights & TRUST_STEER) != 0;
}

int
trust_may_report(const struct conn *c)
{
	return (c->rights & TRUST_REPORT) != 0;
}

int
trust_privileged(const struct conn *c)
{
	return c->rights != 0;
}

const char *
trust_denied(const struct conn *c, const char *what)
{
	static char why[256];

	if (c->cn[0] != '\0')
		snprintf(why, sizeof(why),
		         "permission denied: certificate '%s' may not %s "
		         "(only a CN named by mockresd's --tls-%s may)",
		         c->cn, what,
		         strncmp(what, "report", 6) == 0 ? "frontend"
		                                         : "admin");
	else
		snprintf(why, sizeof(why),
		         "permission denied: only root or mockresd's own user "
		         "may %s",
		         what);
	return why;
}

Mockres__Role
trust_role(const struct conn *c)
{
	if (c->role == MOCKRES__ROLE__ROLE_FRONTEND_WORKER &&
	    !trust_may_report(c))
		return MOCKRES__ROLE__ROLE_UNKNOWN;
	return c->role;
}
