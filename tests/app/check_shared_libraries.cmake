# Fails when BINARY loads more than MAX shared objects (the vDSO and the dynamic loader
# included), as the dynamic loader lists them with LD_TRACE_LOADED_OBJECTS=1 (it maps them
# without running the program). Every object is code in the process that parses hostile
# images and start-up CPU for every command (issue 15: OpenCV's imgcodecs once brought 139).
execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_TRACE_LOADED_OBJECTS=1 ${BINARY}
  OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "listing the shared libraries of ${BINARY} failed (${rc})")
endif()
string(REGEX MATCHALL "[^\n]*[^ \t\n][^\n]*" objects "${listing}")
list(LENGTH objects count)
if(count GREATER MAX)
  message(FATAL_ERROR "${BINARY} loads ${count} shared objects, more than ${MAX}:\n${listing}")
endif()
if(count LESS 5)
  message(FATAL_ERROR "only ${count} objects listed: not a dynamic loader listing?\n${listing}")
endif()
message(STATUS "${BINARY} loads ${count} shared objects (at most ${MAX})")
