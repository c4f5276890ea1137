# /metrics against Debian's prometheus package: promtool check metrics in
# every state, and a real Prometheus server scraping it (exit 77, skipped,
# without the package).
if(TARGET mockres-frontend AND TARGET mockres-dashboard)
  add_test(NAME prometheus_scrape
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/prometheus/scrape.sh
      $<TARGET_FILE:mockresd> $<TARGET_FILE:mockres-frontend>
      $<TARGET_FILE:mockres-dashboard> $<TARGET_FILE:mockresctl>)
  set_tests_properties(prometheus_scrape PROPERTIES
    LABELS "integration;prometheus" TIMEOUT 180 SKIP_RETURN_CODE 77)
endif()
