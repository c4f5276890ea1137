# The chaos soak (issue 13): the whole system under mixed load while a
# seeded schedule kills, stops, terminates, reloads and floods its
# processes and changes the limit and the model; every request's outcome
# is checked against mockresd's counters.  scripts/chaos runs it by hand
# (any length, any seed); CTest runs it for 120 s with a fresh seed, which
# it prints (label "chaos").
if(TARGET mockres-frontend AND TARGET mockres-dashboard)
  add_executable(mockres-chaos
    chaos/attack.c
    chaos/checks.c
    chaos/faults.c
    chaos/main.c
    chaos/system.c
    chaos/traffic.c
  )
  target_include_directories(mockres-chaos PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}/chaos)
  target_link_libraries(mockres-chaos PRIVATE mockres_testsupport
    mockres_testraw mockres_common)
  # The attacker alone, to reproduce and measure by hand
  # (docs/failures.md).
  add_executable(mockres-attack chaos/attack.c chaos/attack_main.c)
  target_include_directories(mockres-attack PRIVATE
    ${CMAKE_CURRENT_SOURCE_DIR}/chaos)
  target_link_libraries(mockres-attack PRIVATE mockres_testsupport
    mockres_testraw mockres_common)
  add_test(NAME chaos COMMAND mockres-chaos 120)
  set_tests_properties(chaos PROPERTIES LABELS "chaos" TIMEOUT 600
    RUN_SERIAL TRUE)
endif()
