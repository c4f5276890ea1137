# Networking (label net).
#   net_certs  scripts/certs: the CA, mockresd's and the clients'
#              certificates, modes, idempotence, refusals
#              (tests/net/certs-test.sh; needs only openssl)
add_test(NAME net_certs
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/net/certs-test.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(net_certs PROPERTIES LABELS "net" TIMEOUT 60
  SKIP_RETURN_CODE 77)
