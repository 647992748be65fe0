# State records and snapshot files of durable state (daemon/core/staterec.c,
# daemon/shell/snapshot.c), included from tests/CMakeLists.txt.
add_executable(test_snapshot test_snapshot.c)
target_link_libraries(test_snapshot PRIVATE cxpshell)
add_test(NAME snapshot COMMAND test_snapshot)
set_tests_properties(snapshot PROPERTIES LABELS unit)
