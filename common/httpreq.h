/*
 * httpreq.h: checks on incoming requests shared by both HTTP servers.
 */
#ifndef MOCKRES_HTTPREQ_H
#define MOCKRES_HTTPREQ_H

#include <event2/http.h>

/*
 * Does REQ announce a body (Transfer-Encoding, or a Content-Length other
 * than 0)?  libevent 2.1 reads no body for GET or HEAD: one sent anyway
 * would stay on the connection and be parsed as the next request, so
 * such a request must be refused and its connection closed.
 */
int httpreq_has_body(struct evhttp_request *req);

/* Marks REQ's reply "Connection: close", for HTTP/1.0 keep-alive too. */
void httpreq_close_after(struct evhttp_request *req);

#endif
