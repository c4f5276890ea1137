# mockres-frontend: integration tests of the real binary in front of the
# real mockresd.
if(TARGET mockres-frontend)
  mockres_check_test(test_frontend SOURCES test_frontend.c
    LABELS integration TIMEOUT 300)
  # Its HTTP/1.1: pipelining, keep-alive, HEAD, the refusals, the head
  # limit in bytes (issues 19 and 21).
  mockres_check_test(test_frontend_http SOURCES test_frontend_http.c
    LABELS integration abuse TIMEOUT 120)
endif()

# Deadlines (issue 13): --request-timeout, a stalled mockresd, the request
# head deadline, mockresctl's reply deadline; and accept under fd
# exhaustion in all three servers.
if(TARGET mockres-frontend AND TARGET mockres-dashboard)
  mockres_check_test(test_deadlines SOURCES test_deadlines.c
    LABELS integration TIMEOUT 300)
  mockres_check_test(test_fdlimit SOURCES test_fdlimit.c
    LIBS mockres_testraw LABELS integration TIMEOUT 200)
endif()
