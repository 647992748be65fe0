# Admin HTTP server (daemon/shell/http.h), included from tests/CMakeLists.txt.

# Servers on a loop, clients in a thread; timeouts of 200-300 ms, so the whole
# test takes about 2 s. Runs under the sanitizers like test_unit.
add_executable(test_http test_http.c)
target_link_libraries(test_http PRIVATE cxpshell)
add_test(NAME http COMMAND test_http)
set_tests_properties(http PROPERTIES LABELS unit TIMEOUT 60)

# The real binary against hostile local clients: pipelined requests and an
# early close (SIGPIPE), slowloris with probes of /metrics. Needs the mock
# cluster, hence the kafka label; about 20 s.
if(TARGET cxpulse)
  add_test(NAME http_hostile
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/http_hostile.sh $<TARGET_FILE:cxpulse>
                   ${CMAKE_SOURCE_DIR})
  set_tests_properties(http_hostile PROPERTIES LABELS kafka TIMEOUT 180)
endif()
