# Segment indicator windows (daemon/core/window.c), included from tests/CMakeLists.txt.

# Hand-computed expectations; runs under the sanitizers like test_unit.
add_executable(test_window test_window.c)
target_link_libraries(test_window PRIVATE cxpcore)
add_test(NAME window COMMAND test_window)
set_tests_properties(window PROPERTIES LABELS unit)

# The records the tests build, written as JSON lines and checked against
# schemas/indicator.schema.json by the real validator.
add_test(NAME window_schema
         COMMAND bash -c "\"$0\" --records \"$1\" >/dev/null && /usr/bin/python3 \"$2/tests/validate.py\" \"$2/schemas\" indicator \"$1\""
                 $<TARGET_FILE:test_window> ${CMAKE_CURRENT_BINARY_DIR}/window_records.jsonl
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(window_schema PROPERTIES LABELS schemas)
