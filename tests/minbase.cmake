# The README's quick start (scripts/start, then scripts/test -L unit) on a
# minimal Debian 12 root made with debootstrap --variant=minbase
# (tests/systemd/minbase-test.sh).  Needs root and the Debian mirror;
# skipped otherwise.  The bare root and apt's downloads are cached in
# BUILD/minbase-test.  Run it alone with: ctest -L minbase
add_test(NAME minbase_quickstart
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/systemd/minbase-test.sh
    ${CMAKE_BINARY_DIR})
set_tests_properties(minbase_quickstart PROPERTIES
  LABELS "minbase" TIMEOUT 2400 SKIP_RETURN_CODE 77
  # It builds the whole tree in a container: alone, not beside other tests.
  RUN_SERIAL TRUE)
