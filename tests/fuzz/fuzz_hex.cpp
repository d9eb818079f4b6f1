// libFuzzer target: the hex parsers of core/hex.hpp. Invariants: whatever parses has exactly the
// right number of digits and prints back as the input in lower case; what prints parses back.
#include "fuzz_support.hpp"
#include "hashguard/core/hex.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace core = hashguard::core;
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT

  if (const auto h = core::parse_hash256(text)) {
    HG_FUZZ_CHECK(text.size() == 64);
    const std::string back = core::to_hex(*h);
    HG_FUZZ_CHECK(back == lower(text));
    HG_FUZZ_CHECK(core::parse_hash256(back).value() == *h);
  }
  if (const auto h = core::parse_hash64(text)) {
    HG_FUZZ_CHECK(text.size() == 16);
    const std::string back = core::to_hex(*h);
    HG_FUZZ_CHECK(back == lower(text));
    HG_FUZZ_CHECK(core::parse_hash64(back).value() == *h);
  }
  for (const std::size_t n : {text.size() / 2, std::size_t{16}, std::size_t{20}, std::size_t{32}}) {
    if (const auto b = core::parse_hex_bytes(text, n)) {
      HG_FUZZ_CHECK(b->size() == n && text.size() == 2 * n);
      HG_FUZZ_CHECK(core::to_hex(std::span<const std::uint8_t>(*b)) == lower(text));
    }
  }
  return 0;
}
