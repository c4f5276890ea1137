/*
 * parse.h: strict parsing of numbers and addresses from the command line
 * and the environment.  Every function returns 0 on success and -1 with a
 * reason in *errstr style messages left to the caller.
 */
#ifndef MOCKRES_PARSE_H
#define MOCKRES_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* A decimal integer in [min, max], nothing else (no sign, no spaces). */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * A decimal number in [min, max]: an optional sign, digits with an
 * optional fraction (at least one digit in all), an optional exponent
 * (e or E, an optional sign, digits), nothing else.  strtod alone also
 * takes hexadecimal ("0x1p-1"), "inf", "nan" and leading spaces.
 */
int parse_double(const char *s, double min, double max, double *out);

/*
 * "ADDR:PORT" with an IPv4 address, or "[ADDR]:PORT" with IPv6, port
 * 1..65535.  Fills a sockaddr_storage and its length.
 */
int parse_listen_addr(const char *s, struct sockaddr_storage *ss,
                      socklen_t *len);

#endif
