# Fails when a Catch2 TEST_CASE or SECTION name holds a ';': catch_discover_tests passes names
# to ctest as a CMake list, which splits them there, so such a test runs as two names that
# match nothing and fail (or, worse, pass with nothing run). Run by ctest as test_names.
file(GLOB_RECURSE sources ${ROOT}/tests/*.cpp)
set(bad "")
foreach(f IN LISTS sources)
  file(STRINGS ${f} lines REGEX "(TEST_CASE|SECTION)\\(\"[^\"]*;")
  foreach(l IN LISTS lines)
    string(APPEND bad "${f}: ${l}\n")
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "test names with ';' (ctest splits them):\n${bad}")
endif()
list(LENGTH sources n)
message(STATUS "test names: ${n} files checked")
