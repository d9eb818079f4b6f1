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
