# hg_warnings: the warning set every hashguard target links PRIVATEly.
add_library(hg_warnings INTERFACE)
add_library(hg::warnings ALIAS hg_warnings)
target_compile_options(hg_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wold-style-cast -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2)
# HG_WERROR=ON (scripts/test's builds): a new warning fails the build instead of scrolling past.
if(HG_WERROR)
  target_compile_options(hg_warnings INTERFACE -Werror)
endif()
# Never -march=native: the binary must run on any x86-64; ISA choice happens at run time.
