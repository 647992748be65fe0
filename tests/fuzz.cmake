# Fuzz targets, included from tests/CMakeLists.txt: every tests/fuzz/fuzz_<name>.c
# (one LLVMFuzzerTestOneInput each) becomes the program fuzz_<name>.
#
# With CXP_FUZZ (clang-14; `make fuzz`), a program links libFuzzer, the
# libraries being built with its coverage, ASan and UBSan (CMakeLists.txt).
# Otherwise (gcc, `make check`), it links tests/fuzz/replay.c, a main that
# runs every file of tests/fuzz/corpus/<name>/ and tests/fuzz/regress/<name>/
# through the target once (an alarm per input catches a hang; a regression
# input must take under a second), and is the
# ctest fuzz_<name>, labelled unit, so that the sanitizer build runs it too.
# `fuzz_targets` builds them all, whichever kind.
#
# fuzz_corpus_gen writes the seed inputs that are the project's own encodings
# (state records, snapshots): run it from the tree's root to make them again
# after a format changes.

file(GLOB CXP_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_*.c)
list(SORT CXP_FUZZ_SOURCES)
if(CXP_FUZZ AND NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "CXP_FUZZ needs clang for libFuzzer: configure with "
                      "-DCMAKE_C_COMPILER=clang-14 (`make fuzz` does)")
endif()

add_custom_target(fuzz_targets)
foreach(src IN LISTS CXP_FUZZ_SOURCES)
  get_filename_component(target ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" name ${target})
  if(CXP_FUZZ)
    add_executable(${target} ${src})
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${target} ${src} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay.c)
    # A regression input of a hang must now take well under a second (it ran
    # for seconds in the code that hung); the seeds only have the alarm.
    add_test(NAME ${target}
             COMMAND ${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name}
                     --max-seconds=1 ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/regress/${name})
    set_tests_properties(${target} PROPERTIES LABELS unit TIMEOUT 600)
  endif()
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz
                                               ${HTTP_PARSER_INCLUDE_DIR})
  target_link_libraries(${target} PRIVATE cxptools)
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  add_dependencies(fuzz_targets ${target})
endforeach()

add_executable(fuzz_corpus_gen ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/gen_corpus.c)
target_include_directories(fuzz_corpus_gen PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
target_link_libraries(fuzz_corpus_gen PRIVATE cxptools)
set_target_properties(fuzz_corpus_gen PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
