# mockres-frontend: integration tests of the real binary in front of the
# real mockresd.
if(TARGET mockres-frontend)
  mockres_check_test(test_frontend SOURCES test_frontend.c
    LABELS integration TIMEOUT 300)
endif()
