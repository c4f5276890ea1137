# mockresd and mockresctl: unit tests of the logic, integration tests of
# the real binaries.
mockres_check_test(test_frame SOURCES test_frame.c LIBS mockres_proto
  LABELS unit TIMEOUT 30)
mockres_check_test(test_mrclient SOURCES test_mrclient.c
  LIBS mockresd_core mockres_testraw LABELS unit TIMEOUT 60)
mockres_check_test(test_mockresd SOURCES test_mockresd.c
  LIBS mockres_testraw LABELS integration TIMEOUT 300)
mockres_check_test(test_mockresctl SOURCES test_mockresctl.c
  LIBS mockres_testraw LABELS integration TIMEOUT 300)
mockres_check_test(test_hist SOURCES test_hist.c LIBS mockres_common m
  LABELS unit TIMEOUT 30)
mockres_check_test(test_bucket SOURCES test_bucket.c LIBS mockres_common
  LABELS unit TIMEOUT 30)
mockres_check_test(test_peerclock SOURCES test_peerclock.c
  LIBS mockres_common LABELS unit TIMEOUT 30)
mockres_check_test(test_engine SOURCES test_engine.c LIBS mockresd_core m
  LABELS unit TIMEOUT 180)
mockres_check_test(test_model SOURCES test_model.c LIBS mockres_proto
  LABELS unit TIMEOUT 30)
mockres_check_test(test_httpstats SOURCES test_httpstats.c LIBS mockres_proto
  LABELS unit TIMEOUT 30)
