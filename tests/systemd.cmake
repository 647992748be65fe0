# The systemd units (systemd/), included from tests/CMakeLists.txt: parsed by
# `systemd-analyze verify` and scored by `systemd-analyze security` (Debian's
# systemd package, on every Debian 12 system).
add_test(NAME systemd_units
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/systemd_units.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(systemd_units PROPERTIES LABELS "unit;systemd" TIMEOUT 60)
