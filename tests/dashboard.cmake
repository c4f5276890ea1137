# mockres-dashboard: unit tests of the logic, integration tests of the
# real binaries, and the page in headless Chromium (label "browser").
mockres_check_test(test_dashboard_average SOURCES test_dashboard_average.c
  LIBS dashboard_core LABELS unit TIMEOUT 30)
mockres_check_test(test_dashboard_snapshot SOURCES test_dashboard_snapshot.c
  LIBS dashboard_core LABELS unit TIMEOUT 30)
mockres_check_test(test_dashboard_metrics SOURCES test_dashboard_metrics.c
  LIBS dashboard_core LABELS unit TIMEOUT 30)
mockres_check_test(test_dashboard_procs SOURCES test_dashboard_procs.c
  LIBS dashboard_core LABELS unit TIMEOUT 30)
mockres_check_test(test_dashboard_traffic SOURCES test_dashboard_traffic.c
  LIBS dashboard_core LABELS unit TIMEOUT 30)
mockres_check_test(test_dashboard_http SOURCES test_dashboard_http.c
  LIBS mockres_testraw LABELS integration TIMEOUT 300)
# The lab's data (runs, history, merged reports) with the real binaries and
# fault.cmake's load generator.
if(TARGET mockres-frontend)
  mockres_check_test(test_lab SOURCES test_lab.c LIBS mockres_testload
    LABELS integration TIMEOUT 300)
endif()

# npm ci in tests/browser first; exit 77 (skipped) without playwright-core
# or Chromium.  The screenshot lands in the build folder.
find_program(NODE_BIN node)
if(NODE_BIN)
  add_test(NAME dashboard_browser
    COMMAND ${NODE_BIN} ${CMAKE_CURRENT_SOURCE_DIR}/browser/dashboard.mjs
      --mockresd $<TARGET_FILE:mockresd>
      --mockresctl $<TARGET_FILE:mockresctl>
      --dashboard $<TARGET_FILE:mockres-dashboard>
      --out ${CMAKE_BINARY_DIR})
  set_tests_properties(dashboard_browser PROPERTIES LABELS browser
    TIMEOUT 120 SKIP_RETURN_CODE 77)
  # The lab page after real ab runs; its screenshots are those of
  # docs/lab.md (copy them with --docs docs/img when they change).
  find_program(AB_BIN ab)
  if(TARGET mockres-frontend)
    add_test(NAME dashboard_browser_lab
      COMMAND ${NODE_BIN} ${CMAKE_CURRENT_SOURCE_DIR}/browser/lab.mjs
        --mockresd $<TARGET_FILE:mockresd>
        --mockresctl $<TARGET_FILE:mockresctl>
        --dashboard $<TARGET_FILE:mockres-dashboard>
        --frontend $<TARGET_FILE:mockres-frontend>
        --ab "${AB_BIN}"
        --out ${CMAKE_BINARY_DIR})
    set_tests_properties(dashboard_browser_lab PROPERTIES LABELS browser
      TIMEOUT 300 SKIP_RETURN_CODE 77)
  endif()
endif()
mockres_check_test(test_dashboard_runs SOURCES test_dashboard_runs.c
  LIBS dashboard_core LABELS unit TIMEOUT 30)
mockres_check_test(test_dashboard_predict SOURCES test_dashboard_predict.c
  LIBS dashboard_core LABELS unit TIMEOUT 30)
