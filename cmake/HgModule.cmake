# hg_add_module(NAME SOURCES... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# One static library per module: hg_<name> with alias hg::<name>, public headers under
# <name>/include/hashguard/<name>/, warnings linked privately.
function(hg_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(hg_${name} STATIC ${ARG_SOURCES})
  add_library(hg::${name} ALIAS hg_${name})
  target_include_directories(hg_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_link_libraries(hg_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE hg::warnings ${ARG_PRIVATE_DEPS})
endfunction()
