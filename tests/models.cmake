# The resource models (issue 11) in the real mockresd and through the real
# frontend: the engine's behaviour end to end, each preset under load.
if(TARGET mockres-frontend AND TARGET mockres_testload)
  mockres_check_test(test_models SOURCES test_models.c
    LIBS mockres_testraw mockres_testload LABELS integration TIMEOUT 400)
endif()
