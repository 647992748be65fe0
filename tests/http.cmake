# Admin HTTP server (daemon/http.c), included from tests/CMakeLists.txt.

# Servers on a loop, clients in a thread; timeouts of 200-300 ms, so the whole
# test takes about 2 s. Runs under the sanitizers like test_unit.
add_executable(test_http test_http.c)
target_link_libraries(test_http PRIVATE cxpshell)
add_test(NAME http COMMAND test_http)
set_tests_properties(http PROPERTIES LABELS unit TIMEOUT 60)
