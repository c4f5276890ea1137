# Hostile input (issue 7): socket abuse against the real mockresd, HTTP
# abuse against the real frontend and dashboard.  Label "abuse".
mockres_check_test(test_abuse_socket SOURCES test_abuse_socket.c
  LIBS mockres_testraw LABELS abuse TIMEOUT 300)
if(TARGET mockres-frontend AND TARGET mockres-dashboard)
  mockres_check_test(test_abuse_http SOURCES test_abuse_http.c
    LABELS abuse TIMEOUT 300)
endif()
