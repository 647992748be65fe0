# Prometheus exposition (daemon/shell/metrics.c), included from tests/CMakeLists.txt.

# Exact text written by hand; runs under the sanitizers like test_unit.
add_executable(test_metrics test_metrics.c)
target_link_libraries(test_metrics PRIVATE cxpshell)
add_test(NAME metrics COMMAND test_metrics)
set_tests_properties(metrics PROPERTIES LABELS unit)

# The same writer's output judged by Prometheus' own linter (Debian's
# prometheus package, in the Makefile's PKGS_TEST). pipefail: a crash of the
# writer must fail the test, not hand promtool an empty input.
add_test(NAME metrics_promtool
         COMMAND bash -c "set -o pipefail; \"$0\" --exposition | promtool check metrics"
                 $<TARGET_FILE:test_metrics>)
set_tests_properties(metrics_promtool PROPERTIES LABELS unit)

# The shipped alerting rules against hand-made series: which fire, when,
# with which labels and annotations (promtool check rules cannot see a rule
# that never fires).
add_test(NAME rules_promtool
         COMMAND promtool test rules rules_test.yml
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/prometheus)
set_tests_properties(rules_promtool PROPERTIES LABELS unit)
