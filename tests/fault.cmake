# Fault tolerance (issue 6): crashes, restarts and shutdowns injected while
# real load runs.  One CTest test per scenario (label "fault"), all from
# one Check suite selected with CK_RUN_CASE.  The load generator is a
# small library of its own.
if(TARGET mockres-frontend AND TARGET mockres-dashboard)
  add_library(mockres_testload STATIC support/load.c)
  target_include_directories(mockres_testload PUBLIC
    ${CMAKE_CURRENT_SOURCE_DIR}/support)
  target_link_libraries(mockres_testload PUBLIC mockres_testsupport
    mockres_common)

  add_executable(test_fault test_fault.c)
  target_link_libraries(test_fault PRIVATE mockres_testsupport
    mockres_testraw mockres_testload)
  foreach(case kill_mockresd kill_worker term_frontend term_mockresd
      hup_frontend restart_reconnect unread_client frontend_first
      kill_dashboard)
    add_test(NAME fault_${case} COMMAND test_fault)
    set_tests_properties(fault_${case} PROPERTIES
      ENVIRONMENT "CK_RUN_CASE=${case}"
      LABELS "fault;integration"
      TIMEOUT 120
      RUN_SERIAL TRUE)
  endforeach()
endif()
