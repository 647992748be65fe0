# Recovery cases (daemon/cases.c), included from tests/CMakeLists.txt.

# Hand-computed expectations; runs under the sanitizers like test_unit.
add_executable(test_cases test_cases.c)
target_link_libraries(test_cases PRIVATE cxpcore)
add_test(NAME cases COMMAND test_cases)
set_tests_properties(cases PROPERTIES LABELS unit)
