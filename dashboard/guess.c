/*
 * guess.c: the student's guess for the next run, as POST /api/guess sends
 * it: one flat JSON object of at most GUESS_BODY_MAX bytes with any of
 *     "route": "serial" | "async",
 *     "duration_ms", "req_per_s", "peak_in_flight", "failed": numbers
 *     from 0 to 1e12 (or null: not guessed),
 * and nothing else.  The parser is strict and small (RFC 8259 for what it
 * accepts): an unknown or repeated key, another type, a string with an
 * escape, nesting or bytes after the object are refused with a one-line
 * reason, and the guess is then left as it was.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

#define GUESS_VALUE_MAX 1e12
#define GUESS_KEYS      "route, duration_ms, req_per_s, peak_in_flight, failed"

struct guess_in {
	const char *p, *end;
	char *why;
	size_t whylen;
};

static int
guess_fail(struct guess_in *in, const char *what)
{
	snprintf(in->why, in->whylen, "%s", what);
	return -1;
}

static void
guess_ws(struct guess_in *in)
{
	while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' ||
	                           *in->p == '\n' || *in->p == '\r'))
		in->p++;
}

/* A string without escapes into BUF (at most LEN - 1 bytes). */
static int
guess_string(struct guess_in *in, char *buf, size_t len)
{
	size_t n = 0;

	if (in->p >= in->end || *in->p != '"')
		return guess_fail(in, "expected a string in double quotes");
	for (in->p++; in->p < in->end && *in->p != '"'; in->p++) {
		if (*in->p == '\\' || (unsigned char)*in->p < 0x20)
			return guess_fail(in, "a string with an escape or a "
			                      "control character");
		if (n + 1 >= len)
			return guess_fail(in, "a string too long for a key "
			                      "or a route");
		buf[n++] = *in->p;
	}
	if (in->p >= in->end)
		return guess_fail(in, "a string without its closing quote");
	in->p++;
	buf[n] = '\0';
	return 0;
}

/* A JSON number (or null: *v = -1) in 0..GUESS_VALUE_MAX. */
static int
guess_number(struct guess_in *in, double *v)
{
	const char *s = in->p;
	char buf[40];
	size_t n;

	if (in->end - in->p >= 4 && memcmp(in->p, "null", 4) == 0) {
		in->p += 4;
		*v = -1;
		return 0;
	}
	/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
	if (s < in->end && *s == '-')
		s++;
	if (s < in->end && *s == '0')
		s++;
	else if (s < in->end && *s >= '1' && *s <= '9')
		while (s < in->end && isdigit((unsigned char)*s))
			s++;
	else
		return guess_fail(in, "expected a number or null");
	if (s < in->end && *s == '.') {
		if (++s >= in->end || !isdigit((unsigned char)*s))
			return guess_fail(in, "a number with no digit after "
			                      "its point");
		while (s < in->end && isdigit((unsigned char)*s))
			s++;
	}
	if (s < in->end && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < in->end && (*s == '+' || *s == '-'))
			s++;
		if (s >= in->end || !isdigit((unsigned char)*s))
			return guess_fail(in,
			                  "a number with an empty exponent");
		while (s < in->end && isdigit((unsigned char)*s))
			s++;
	}
	n = (size_t)(s - in->p);
	if (n >= sizeof(buf))
		return guess_fail(in, "a number too long");
	memcpy(buf, in->p, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	in->p = s;
	if (!isfinite(*v) || *v < 0 || *v > GUESS_VALUE_MAX)
		return guess_fail(in, "a number out of 0..1e12");
	return 0;
}

/* The number KEY names in G, and its bit in the keys seen; NULL if none. */
static double *
guess_field(struct guess *g, const char *key, unsigned *bit)
{
	*bit = 0;
	if (strcmp(key, "duration_ms") == 0)
		*bit = 2;
	else if (strcmp(key, "req_per_s") == 0)
		*bit = 4;
	else if (strcmp(key, "peak_in_flight") == 0)
		*bit = 8;
	else if (strcmp(key, "failed") == 0)
		*bit = 16;
	switch (*bit) {
	case 2:
		return &g->duration_ms;
	case 4:
		return &g->req_per_s;
	case 8:
		return &g->peak_in_flight;
	case 16:
		return &g->failed;
	default:
		return NULL;
	}
}

static int
guess_route(struct guess_in *in, struct guess *g)
{
	char v[16];

	if (in->end - in->p >= 4 && memcmp(in->p, "null", 4) == 0) {
		in->p += 4;
		g->route = -1;
		return 0;
	}
	if (guess_string(in, v, sizeof(v)) == -1)
		return -1;
	if (strcmp(v, "serial") == 0)
		g->route = HTTPSTATS_SERIAL;
	else if (strcmp(v, "async") == 0)
		g->route = HTTPSTATS_ASYNC;
	else
		return guess_fail(in, "route must be \"serial\" or \"async\"");
	return 0;
}

static int64_t
guess_now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
guess_parse(struct guess *out, const char *json, size_t len, char *why,
            size_t whylen)
{
	struct guess_in in = {json, json + len, why, whylen};
	struct guess g;
	unsigned seen = 0, bit;
	char key[24], msg[160];
	double *f;

	if (whylen > 0)
		why[0] = '\0';
	if (len > GUESS_BODY_MAX)
		return guess_fail(&in, "a guess is at most 1024 bytes");
	memset(&g, 0, sizeof(g));
	g.route = -1;
	g.duration_ms = g.req_per_s = g.peak_in_flight = g.failed = -1;
	guess_ws(&in);
	if (in.p >= in.end || *in.p != '{')
		return guess_fail(&in, "a guess is a JSON object: {\"route\":"
		                       "\"serial\",\"duration_ms\":30500}");
	in.p++;
	guess_ws(&in);
	while (in.p < in.end && *in.p != '}') {
		if (seen != 0) {
			if (*in.p != ',')
				return guess_fail(&in, "expected , or } after "
				                       "a value");
			in.p++;
			guess_ws(&in);
		}
		if (guess_string(&in, key, sizeof(key)) == -1)
			return -1;
		guess_ws(&in);
		if (in.p >= in.end || *in.p++ != ':')
			return guess_fail(&in, "expected : after a key");
		guess_ws(&in);
		if (strcmp(key, "route") == 0) {
			bit = 1;
			if (guess_route(&in, &g) == -1)
				return -1;
		} else if ((f = guess_field(&g, key, &bit)) != NULL) {
			if (guess_number(&in, f) == -1)
				return -1;
		} else {
			snprintf(msg, sizeof(msg),
			         "unknown key \"%s\" (a guess has " GUESS_KEYS
			         ")",
			         key);
			return guess_fail(&in, msg);
		}
		if (seen & bit)
			return guess_fail(&in, "a key given twice");
		seen |= bit;
		guess_ws(&in);
	}
	if (in.p >= in.end)
		return guess_fail(&in, "the object has no closing }");
	in.p++;
	guess_ws(&in);
	if (in.p != in.end)
		return guess_fail(&in, "bytes after the object");
	if (g.duration_ms < 0 && g.req_per_s < 0 && g.peak_in_flight < 0 &&
	    g.failed < 0)
		return guess_fail(&in,
		                  "a guess needs at least one of "
		                  "duration_ms, req_per_s, peak_in_flight, "
		                  "failed");
	g.set = 1;
	g.made_unix_ms = guess_now_unix_ms();
	*out = g;
	return 0;
}

static void
guess_num(struct evbuffer *out, const char *key, double v)
{
	if (v >= 0)
		evbuffer_add_printf(out, ",\"%s\":%.6g", key, v);
	else
		evbuffer_add_printf(out, ",\"%s\":null", key);
}

void
guess_json(struct evbuffer *out, const struct guess *g)
{
	if (g == NULL || !g->set) {
		evbuffer_add(out, "null", 4);
		return;
	}
	evbuffer_add_printf(out, "{\"made_unix_ms\":%lld,\"route\":",
	                    (long long)g->made_unix_ms);
	if (g->route >= 0)
		evbuffer_add_printf(
		    out, "\"%s\"",
		    httpstats_route_name((enum httpstats_route_id)g->route));
	else
		evbuffer_add(out, "null", 4);
	guess_num(out, "duration_ms", g->duration_ms);
	guess_num(out, "req_per_s", g->req_per_s);
	guess_num(out, "peak_in_flight", g->peak_in_flight);
	guess_num(out, "failed", g->failed);
	evbuffer_add(out, "}", 1);
}
