# systemd units: exposure scores and systemd-analyze verify (fast, on the
# host), the .deb (deb_package), and the real thing: a Debian 12 root
# booted with systemd-nspawn, where the .deb is installed, checked, removed
# and purged, then cmake --install is checked (tests/systemd/nspawn-test.sh;
# needs root, debootstrap and the Debian mirror).  Run them alone with:
# ctest -L systemd
find_program(SYSTEMD_ANALYZE systemd-analyze)
if(NOT SYSTEMD_ANALYZE OR NOT MOCKRES_UNIT_FILES)
  message(STATUS "systemd tests: disabled (no systemd-analyze or no units)")
  return()
endif()

# Exposure targets, times 10 (--threshold takes 0..100).
set(threshold_mockresd.service 10)
set(threshold_mockres-frontend.service 20)
set(threshold_mockres-dashboard.service 20)
foreach(unit ${MOCKRES_UNIT_FILES})
  get_filename_component(name ${unit} NAME)
  if(DEFINED threshold_${name})
    add_test(NAME systemd_security_${name}
      COMMAND ${SYSTEMD_ANALYZE} security --offline=yes
        --threshold=${threshold_${name}} --no-pager ${unit})
    set_tests_properties(systemd_security_${name} PROPERTIES
      LABELS "systemd" TIMEOUT 60)
  endif()
endforeach()

add_test(NAME systemd_verify
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/systemd/verify.sh
    ${CMAKE_BINARY_DIR} ${CMAKE_BINARY_DIR}/systemd-verify-stage)
set_tests_properties(systemd_verify PROPERTIES
  LABELS "systemd" TIMEOUT 120 SKIP_RETURN_CODE 77)

# The roles of a host (one host; a resource host with a TLS listener; a
# frontend host): mockres-generator's output per role, verify and the
# exposure of every service in every role, mockres-check-keys
# (tests/systemd/roles-test.sh).
add_test(NAME systemd_roles
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/systemd/roles-test.sh
    ${CMAKE_BINARY_DIR} ${CMAKE_BINARY_DIR}/systemd-roles-stage)
set_tests_properties(systemd_roles PROPERTIES
  LABELS "systemd" TIMEOUT 120 SKIP_RETURN_CODE 77)

# The .deb (scripts/deb: dpkg-buildpackage in a scratch copy of the tree,
# then lintian, no errors or warnings), into BUILD/deb for systemd_nspawn.
add_test(NAME deb_package
  COMMAND sh -c "for t in dpkg-buildpackage dh lintian git; do command -v $t >/dev/null || { echo \"SKIP: no $t (scripts/deps deb)\"; exit 77; }; done; exec \"$0\" --no-deps \"$1\""
    ${PROJECT_SOURCE_DIR}/scripts/deb ${CMAKE_BINARY_DIR}/deb)
set_tests_properties(deb_package PROPERTIES
  LABELS "systemd;deb" TIMEOUT 900 SKIP_RETURN_CODE 77
  FIXTURES_SETUP mockres_deb)

add_test(NAME systemd_nspawn
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/systemd/nspawn-test.sh
    ${CMAKE_BINARY_DIR})
set_tests_properties(systemd_nspawn PROPERTIES
  LABELS "systemd" TIMEOUT 1200 SKIP_RETURN_CODE 77
  # The install step reads every target's binary.
  RESOURCE_LOCK mockres_systemd_nspawn
  FIXTURES_REQUIRED mockres_deb)
