# Churn risk (daemon/core/churn.c) and `cxpulse eval-churn`, included from
# tests/CMakeLists.txt.

# Hand-computed expectations; runs under the sanitizers like test_unit.
add_executable(test_churn test_churn.c)
target_link_libraries(test_churn PRIVATE cxptools) # the generator: a tool
add_test(NAME churn COMMAND test_churn)
set_tests_properties(churn PROPERTIES LABELS unit)

# eval-churn end to end on a small generated history: it runs, prints one
# JSON object with the members, and the AUC is a probability.
if(TARGET cxpulse)
  add_test(NAME eval_churn
           COMMAND bash -c "\"$0\" eval-churn --pipeline \"$1/pipelines/default.json\" --generate 7:60000:600:120 --at +90 --fit | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); need={\"auc\",\"high_precision\",\"positives\",\"negatives\",\"bands\",\"fit\"}; assert need <= d.keys(), d; assert 0 <= d[\"auc\"] <= 1, d; assert d[\"positives\"] > 0 and d[\"negatives\"] > 0, d; assert sum(d[\"bands\"].values()) == d[\"customers\"], d; print(d)'"
                   $<TARGET_FILE:cxpulse> ${CMAKE_SOURCE_DIR})
  set_tests_properties(eval_churn PROPERTIES LABELS churn TIMEOUT 120)
endif()
