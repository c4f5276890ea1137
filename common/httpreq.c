/*
 * httpreq.c: request checks shared by mockres-frontend and
 * mockres-dashboard.
 */
#include <string.h>

#include <event2/keyvalq_struct.h>

#include "httpreq.h"

int
httpreq_has_body(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *len = evhttp_find_header(in, "Content-Length");

	return evhttp_find_header(in, "Transfer-Encoding") != NULL ||
	       (len != NULL && strcmp(len, "0") != 0);
}

void
httpreq_close_after(struct evhttp_request *req)
{
	/* Without its Connection header an HTTP/1.0 request is not
	 * keep-alive; HTTP/1.1 closes on our "close". */
	evhttp_remove_header(evhttp_request_get_input_headers(req),
	                     "Connection");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection",
	                  "close");
}
