# The HTTP layer of common/ (httpparse.c, httpserv.c): unit tests, the
# parser alone and the layer on socketpairs.
mockres_check_test(test_httpparse SOURCES test_httpparse.c
  LIBS mockres_common LABELS unit TIMEOUT 30)
mockres_check_test(test_httpserv SOURCES test_httpserv.c
  LIBS mockres_common LABELS unit TIMEOUT 60)
