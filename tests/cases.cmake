# Recovery cases (daemon/core/cases.c), included from tests/CMakeLists.txt.

# Hand-computed expectations; runs under the sanitizers like test_unit.
add_executable(test_cases test_cases.c)
target_link_libraries(test_cases PRIVATE cxpshell) # snapshot files: the shell
add_test(NAME cases COMMAND test_cases)
set_tests_properties(cases PROPERTIES LABELS unit)

# The slot index on its own (daemon/core/index.c).
add_executable(test_index test_index.c)
target_link_libraries(test_index PRIVATE cxpcore)
add_test(NAME index COMMAND test_index)
set_tests_properties(index PROPERTIES LABELS unit)

# The timing wheel on its own (daemon/core/wheel.c).
add_executable(test_wheel test_wheel.c)
target_link_libraries(test_wheel PRIVATE cxpcore)
add_test(NAME wheel COMMAND test_wheel)
set_tests_properties(wheel PROPERTIES LABELS unit)

# Speed of the module alone (deadlines/s, ns per event). Not a test: its
# figures depend on the machine, so it is run by hand, pinned to one core:
#   taskset -c 0 ./build/bench_cases
add_executable(bench_cases ${CMAKE_SOURCE_DIR}/bench/bench_cases.c)
target_link_libraries(bench_cases PRIVATE cxpcore)
set_target_properties(bench_cases PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
