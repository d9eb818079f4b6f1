#include "hashguard/scanner/digest.hpp"

#include "hashguard/core/hex.hpp"

#include "hg_catch.hpp"
#include "scanner_test_support.hpp"

#include <string>

using namespace hashguard::scanner;
using hashguard::core::to_hex;

namespace {
std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}
}  // namespace

TEST_CASE("digests match the published test vectors") {
  const auto empty = digest({});
  REQUIRE(empty);
  CHECK(to_hex(empty->md5) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(to_hex(empty->sha1) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(to_hex(empty->sha256) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  const auto abc = digest(bytes_of("abc"));
  REQUIRE(abc);
  CHECK(to_hex(abc->md5) == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(to_hex(abc->sha1) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(to_hex(abc->sha256) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  const auto million = digest(bytes_of(std::string(1'000'000, 'a')));
  REQUIRE(million);
  CHECK(to_hex(million->md5) == "7707d6ae4e027c70eea2a935c2296f21");
  CHECK(to_hex(million->sha1) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  CHECK(to_hex(million->sha256) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("a reused digester gives the same digests as fresh ones") {
  digester d;
  const auto dir = hg_test::vectors_dir() / "generated";
  for (const char* name : {"g01-tiny-4x4.png", "g05-100x75.png", "g13-palette-300x300.png"}) {
    INFO(name);
    const auto bytes = hg_test::read_file(dir / name);
    const auto reused = d.digest(bytes);
    const auto fresh = digest(bytes);
    REQUIRE(reused);
    REQUIRE(fresh);
    CHECK(*reused == *fresh);
  }
  // Digests of different inputs differ (the context is reset between calls).
  CHECK(d.digest(bytes_of("a"))->sha256 != d.digest(bytes_of("b"))->sha256);
}
