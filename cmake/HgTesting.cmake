# hg_add_test(NAME SOURCES... LIBS ... [LABELS ...]): one Catch2 executable, each TEST_CASE
# registered with ctest through catch_discover_tests.
find_package(Catch2 2 REQUIRED)
include(Catch)
add_library(hg_catch_main STATIC ${PROJECT_SOURCE_DIR}/tests/catch_main.cpp)
target_link_libraries(hg_catch_main PUBLIC Catch2::Catch2 Boost::headers)
target_include_directories(hg_catch_main PUBLIC ${PROJECT_SOURCE_DIR}/tests/support)

function(hg_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS;PROPERTIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE hg_catch_main hg::warnings ${ARG_LIBS})
  target_compile_definitions(${name} PRIVATE
    HG_SOURCE_DIR="${PROJECT_SOURCE_DIR}" HG_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data")
  # One label only: a ;-list would split catch_discover_tests' PROPERTIES pairs.
  set(labels ${ARG_LABELS})
  if(NOT labels)
    set(labels unit)
  endif()
  # --warn NoTests: a test whose name Catch cannot match (a ';' or ',' in it) fails instead of
  # passing with nothing run.
  catch_discover_tests(${name} EXTRA_ARGS --warn NoTests
    PROPERTIES LABELS "${labels}" ${ARG_PROPERTIES})
endfunction()
