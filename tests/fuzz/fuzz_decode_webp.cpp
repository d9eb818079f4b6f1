// libFuzzer target: sniff + decode + scan of WEBP inputs (image_fuzz.hpp says what is checked).
#include "image_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return hg_fuzz::fuzz_image(data, size, hashguard::scanner::image_format::webp);
}
