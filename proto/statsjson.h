/*
 * statsjson.h: the JSON form of a Stats snapshot, shared by mockresctl
 * (--json) and the dashboard (/api/stats, /events) so the names agree.
 */
#ifndef MOCKRES_STATSJSON_H
#define MOCKRES_STATSJSON_H

#include <event2/buffer.h>

#include "mockres.pb-c.h"

/* Appends "in_flight":N,"limit":N,... (no braces) for S. */
void statsjson_fields(struct evbuffer *out, const Mockres__Stats *s);

/* Appends model M as a JSON object: the keys of proto/model.c, '-'
 * written as '_' ({"hold_ms":500,"hold_dist":"fixed",...}). */
struct model;
void statsjson_model_object(struct evbuffer *out, const struct model *m);

/* Appends one client as a JSON object (pid, uid, role, name, counts). */
void statsjson_client(struct evbuffer *out, const Mockres__ClientInfo *ci);

/* Appends S as a JSON string literal, escaped. */
void statsjson_string(struct evbuffer *out, const char *s);

#endif
