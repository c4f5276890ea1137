# Networking (label net).
#   net_certs  scripts/certs: the CA, mockresd's and the clients'
#              certificates, modes, idempotence, refusals
#              (tests/net/certs-test.sh; needs only openssl)
add_test(NAME net_certs
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/net/certs-test.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(net_certs PROPERTIES LABELS "net" TIMEOUT 60
  SKIP_RETURN_CODE 77)

# The wire: a delaying cable for kernels without sch_netem (tests/net/lib.sh).
add_executable(mockres_net_wire net/wire.c)

# net_smoke: the harness (tests/net/lib.sh): six hosts in namespaces, HAProxy
# on deploy/haproxy.cfg, a link down, a delay, teardown after a pass, a
# failure and a SIGKILL (tests/net/smoke-test.sh; root, else skipped).
add_test(NAME net_smoke
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/net/smoke-test.sh ${CMAKE_BINARY_DIR}
    ${PROJECT_SOURCE_DIR})
set_tests_properties(net_smoke PROPERTIES LABELS "net" TIMEOUT 180
  SKIP_RETURN_CODE 77)
