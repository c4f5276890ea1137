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
target_link_libraries(mockres_net_wire PRIVATE mockres_common)

# net_smoke: the harness (tests/net/lib.sh): six hosts in namespaces, HAProxy
# on deploy/haproxy.cfg, a link down, a delay, teardown after a pass, a
# failure and a SIGKILL (tests/net/smoke-test.sh; root, else skipped).
add_test(NAME net_smoke
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/net/smoke-test.sh ${CMAKE_BINARY_DIR}
    ${PROJECT_SOURCE_DIR})
set_tests_properties(net_smoke PROPERTIES LABELS "net" TIMEOUT 180
  SKIP_RETURN_CODE 77)

# The handshake flood (tests/net/flood.c): TLS 1.3 ClientHellos, made once
# with OpenSSL, as fast as one core sends them.
if(NOT TARGET PkgConfig::OPENSSL)
  pkg_check_modules(OPENSSL QUIET IMPORTED_TARGET openssl>=3.0)
endif()
if(TARGET PkgConfig::OPENSSL)
  add_executable(mockres_net_flood net/flood.c)
  target_link_libraries(mockres_net_flood PRIVATE PkgConfig::OPENSSL
    mockres_common)
endif()

# The scenarios, each on hosts of its own (tests/net/*-test.sh; root, and
# mockresd with --listen-tls, else skipped).  "netperf": those that
# assert a duration or a latency, left out of the sanitizer pass (an ASan
# build is slower and they would measure it; their code paths are the
# others' too).  The rest run under ASan as well (~65 s): partitions,
# lost hosts and refused handshakes are where error paths leak.
#   net_serial     ab -k -n 3000 -c 50 serial through HAProxy: ~30.5 s,
#                  admitted = sent, every frontend host served part
#   net_hard       limit 15 across hosts: peak <= 15, non-2xx = rejected
#   net_partition  the resource host cut off: 503s within 4 s, at once
#                  after, back within 5 s of healing, exact accounting
#   net_lost_host  a frontend host killed: out of HAProxy within 2 s,
#                  the others serve, exact accounting
#   net_delay      20 ms on the resource host's link: serial p50 within
#                  [hold + RTT, hold + RTT + 10 ms], async + 1 RTT
#   net_flood      a handshake flood: serial p50 within 5 ms, mockresd
#                  answers, its CPU reported (resourced/gate.c: the
#                  handshake budget; mockresd.c: the loop's priorities)
#   net_dashboard  the dashboard on a frontend host shows every host
#   net_refused    bad handshakes from another host: refused, logged once
#                  with the address, nothing left; non-admin DENIED
foreach(pair serial:180:netperf hard:150: partition:150: lost-host:150:
    delay:150:netperf flood:150:netperf dashboard:120: refused:120:)
  string(REPLACE ":" ";" parts ${pair})
  list(GET parts 0 name)
  list(GET parts 1 timeout)
  list(LENGTH parts n)
  set(labels net)
  if(n GREATER 2)
    list(GET parts 2 extra)
    if(extra)
      list(APPEND labels ${extra})
    endif()
  endif()
  string(REPLACE "-" "_" tname ${name})
  add_test(NAME net_${tname}
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/net/${name}-test.sh ${CMAKE_BINARY_DIR}
      ${PROJECT_SOURCE_DIR})
  # The deadline in each script is well inside this; CTest's kill would
  # leave the namespaces to the next run's reaping.
  set_tests_properties(net_${tname} PROPERTIES LABELS "${labels}"
    TIMEOUT ${timeout} SKIP_RETURN_CODE 77 RESOURCE_LOCK mockres_net)
endforeach()
