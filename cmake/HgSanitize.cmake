# HG_SANITIZE=ON instruments every target with ASan + UBSan (the test command runs the suite
# once this way). UBSan aborts on the first report so a finding fails the test.
if(HG_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(HG_TSAN_TESTS)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
# HG_FUZZ=ON (scripts/fuzz, build-fuzz/): every target gets libFuzzer's coverage
# instrumentation plus ASan + UBSan; the targets in tests/fuzz link the fuzzer's main.
if(HG_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "HG_FUZZ needs clang (scripts/fuzz uses clang++-16)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
  add_link_options(-fsanitize=address,undefined)
endif()
