# Service-manager notifications (daemon/shell/notify.c), included from tests/CMakeLists.txt.

# A socket plays systemd's part; runs under the sanitizers like test_unit.
add_executable(test_notify test_notify.c)
target_link_libraries(test_notify PRIVATE cxpshell)
add_test(NAME notify COMMAND test_notify)
set_tests_properties(notify PROPERTIES LABELS unit TIMEOUT 30)
