# Run by ctest: fails when an ISA-specific object of the scanner (pdq_avx2.cpp, built with
# -mavx2) defines any symbol other than its entry points. A weak definition there would be an
# inline function (a std:: template, a header helper) compiled with AVX2 that the linker may
# keep for every caller, including code that runs on CPUs without AVX2 (DESIGN.md section 4).
# Inputs: OBJECTS (the target's objects, separated by '|'), NM.
string(REPLACE "|" ";" objects "${OBJECTS}")
set(checked 0)
foreach(obj IN LISTS objects)
  if(NOT obj MATCHES "pdq_avx2")
    continue()
  endif()
  execute_process(COMMAND ${NM} --defined-only -C ${obj} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${obj}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  foreach(line IN LISTS lines)
    # Global (T), weak (W, V) or unique (u) definitions; local ones (t, r, b, d) are private.
    if(line MATCHES "^[0-9a-f]+ [TWVu] (.*)$")
      set(sym "${CMAKE_MATCH_1}")
      if(sym MATCHES "^hashguard::scanner::pdq_detail::downsample_avx2\\(" OR
         sym MATCHES "^DW\\.ref\\.__gxx_personality_v0$")
        continue()
      endif()
      message(FATAL_ERROR "${obj} defines ${sym}: keep AVX2 code file-local")
    endif()
  endforeach()
  math(EXPR checked "${checked} + 1")
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "no pdq_avx2 object among: ${OBJECTS}")
endif()
message(STATUS "checked ${checked} ISA object(s)")
