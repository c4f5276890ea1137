# mockres over TLS (issue 22): the real binaries on loopback, with
# certificates made per test (support/certs.c).
add_library(mockres_testcerts STATIC support/certs.c)
target_link_libraries(mockres_testcerts PUBLIC mockres_testsupport
  PkgConfig::OPENSSL)
if(TARGET mockres-frontend AND TARGET mockres-dashboard)
  mockres_check_test(test_tls SOURCES test_tls.c
    LIBS mockres_testraw mockres_testcerts LABELS integration TIMEOUT 300)
  # The handshake flood of tests/net (net.cmake), on loopback.
  if(TARGET mockres_net_flood)
    target_compile_definitions(test_tls PRIVATE
      FLOOD_BIN="$<TARGET_FILE:mockres_net_flood>")
    add_dependencies(test_tls mockres_net_flood)
  endif()
endif()
