/*
 * endpoint.c: parsing where mockresd is (see endpoint.h).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "parse.h"

/* A DNS name: letters, digits, '-' and '.', at most 253 bytes. */
static int
endpoint_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

static int
endpoint_parse_tls(const char *s, struct endpoint *ep, char *err, size_t errlen)
{
	const char *hp = s + strlen(ENDPOINT_TLS_PREFIX), *colon, *h;
	unsigned char addr[16];
	uint64_t port;
	size_t hlen;

	if (hp[0] == '[') {
		const char *rb = strchr(hp, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		h = hp + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strchr(hp, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			goto bad;
		h = hp;
		hlen = (size_t)(colon - hp);
	}
	if (hlen == 0 || hlen >= sizeof(ep->host) ||
	    parse_u64(colon + 1, 1, 65535, &port) == -1)
		goto bad;
	memcpy(ep->host, h, hlen);
	ep->host[hlen] = '\0';
	snprintf(ep->port, sizeof(ep->port), "%u", (unsigned)port);
	if (hp[0] == '[' ? inet_pton(AF_INET6, ep->host, addr) != 1
	                 : !endpoint_name_ok(ep->host))
		goto bad;
	ep->kind = ENDPOINT_TLS;
	return 0;
bad:
	snprintf(err, errlen,
	         "'%.200s' is not tls://HOST:PORT (HOST a DNS name, an IPv4 "
	         "address or [an IPv6 address]; PORT 1..65535)",
	         s);
	return -1;
}

int
endpoint_parse(const char *s, struct endpoint *ep, char *err, size_t errlen)
{
	const char *why;

	memset(ep, 0, sizeof(*ep));
	if (strlen(s) >= sizeof(ep->text)) {
		snprintf(err, errlen, "mockresd's address is too long");
		return -1;
	}
	snprintf(ep->text, sizeof(ep->text), "%s", s);
	if (strncmp(s, ENDPOINT_TLS_PREFIX, strlen(ENDPOINT_TLS_PREFIX)) == 0)
		return endpoint_parse_tls(s, ep, err, errlen);
	if (sockpath_resolve(s, &why) == NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	ep->kind = ENDPOINT_UNIX;
	snprintf(ep->path, sizeof(ep->path), "%s", s);
	return 0;
}

int
endpoint_flag(struct endpoint_flags *fl, int ch, const char *arg)
{
	switch (ch) {
	case 's':
		fl->socket = arg;
		return 1;
	case 'c':
		fl->files.cert = arg;
		return 1;
	case 'k':
		fl->files.key = arg;
		return 1;
	case 'a':
		fl->files.ca = arg;
		return 1;
	default:
		return 0;
	}
}

int
endpoint_client(struct endpoint_flags *fl, struct endpoint *ep,
                struct tlsconf *tc, char *err, size_t errlen)
{
	const char *s = fl->socket;

	if (s == NULL)
		s = getenv(SOCKPATH_ENV);
	if (s == NULL)
		s = SOCKPATH_DEFAULT;
	memset(tc, 0, sizeof(*tc));
	if (endpoint_parse(s, ep, err, errlen) == -1)
		return -1;
	if (ep->kind != ENDPOINT_TLS)
		return 0;
	tlsconf_files_env(&fl->files);
	return tlsconf_client(tc, &fl->files, ep->host, ep->port, err, errlen);
}
