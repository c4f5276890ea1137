# mockres over TLS (issue 22): the real binaries on loopback, with
# certificates made per test (support/certs.c).
add_library(mockres_testcerts STATIC support/certs.c)
target_link_libraries(mockres_testcerts PUBLIC mockres_testsupport
  PkgConfig::OPENSSL)
if(TARGET mockres-frontend AND TARGET mockres-dashboard)
  mockres_check_test(test_tls SOURCES test_tls.c
    LIBS mockres_testraw mockres_testcerts LABELS integration TIMEOUT 300)
endif()
