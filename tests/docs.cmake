# The man pages and the shell completion (label docs):
#   man_lint               mandoc -Tlint, errors and warnings (the style
#                          level is left out: "referenced manual not found"
#                          depends on which pages this machine has)
#   man_flags_<program>    --help and the man page list the same flags
#                          (tests/docs/help-vs-man.sh; its PENDING list
#                          names what is documented ahead of the code)
#   completion_mockresctl  what the bash completion offers
#   docs_no_outside_refs   no file points outside the repository
#   docs_one_clock         the monotonic clock is read in common/clock.c
#                          only (tests/docs/one-clock.sh)
set(MOCKRES_DOCS_TESTS ${CMAKE_CURRENT_SOURCE_DIR}/docs)
if(MOCKRES_MAN_PAGES)
  add_test(NAME man_lint
    COMMAND sh -c "command -v mandoc >/dev/null || { echo 'SKIP: no mandoc'; exit 77; }; mandoc -Tlint -W warning \"$@\" && echo 'man_lint: clean'" man_lint
      ${MOCKRES_MAN_PAGES})
  set_tests_properties(man_lint PROPERTIES LABELS "docs" TIMEOUT 60
    SKIP_RETURN_CODE 77)
  foreach(pair mockresd:mockresd:8 mockresctl:mockresctl:1
      mockres-frontend:mockres-frontend:8 mockres-dashboard:mockres-dashboard:8)
    string(REPLACE ":" ";" parts ${pair})
    list(GET parts 0 name)
    list(GET parts 1 target)
    list(GET parts 2 section)
    if(TARGET ${target})
      add_test(NAME man_flags_${name}
        COMMAND ${MOCKRES_DOCS_TESTS}/help-vs-man.sh ${name}
          $<TARGET_FILE:${target}> ${PROJECT_SOURCE_DIR}/man/${name}.${section})
      set_tests_properties(man_flags_${name} PROPERTIES LABELS "docs"
        TIMEOUT 60)
    endif()
  endforeach()
endif()
add_test(NAME completion_mockresctl
  COMMAND ${MOCKRES_DOCS_TESTS}/completion-test.sh
    ${PROJECT_SOURCE_DIR}/completion/mockresctl)
set_tests_properties(completion_mockresctl PROPERTIES LABELS "docs" TIMEOUT 60)
# No file points outside the repository (tests/docs/no-outside-refs.sh).
add_test(NAME docs_no_outside_refs
  COMMAND ${MOCKRES_DOCS_TESTS}/no-outside-refs.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(docs_no_outside_refs PROPERTIES LABELS "docs" TIMEOUT 60
  SKIP_RETURN_CODE 77)
# docs/lab.md's figures of sections 1-3, each command run as printed (the
# 30 s serial run at -n 300, as the lab itself gives it) against the real
# programs, its figure within the range the lab states (lab_figures).  Not
# under the sanitizers: the lab's figures are those of a normal build.
if(TARGET mockres-frontend AND TARGET mockres-dashboard AND NOT MOCKRES_SANITIZE)
  add_test(NAME lab_figures
    COMMAND ${MOCKRES_DOCS_TESTS}/lab-figures.sh
      ${PROJECT_SOURCE_DIR}/docs/lab.md $<TARGET_FILE:mockresd>
      $<TARGET_FILE:mockres-frontend> $<TARGET_FILE:mockres-dashboard>)
  # Alone: its figures are the machine's, not those of the tests beside it.
  set_tests_properties(lab_figures PROPERTIES LABELS "docs;integration"
    TIMEOUT 120 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
endif()
add_test(NAME docs_one_clock
  COMMAND ${MOCKRES_DOCS_TESTS}/one-clock.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(docs_one_clock PROPERTIES LABELS "docs" TIMEOUT 60
  SKIP_RETURN_CODE 77)
