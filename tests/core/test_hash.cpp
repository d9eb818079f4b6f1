#include "hashguard/core/hash.hpp"
#include "hashguard/core/hex.hpp"
#include "hashguard/core/hit.hpp"
#include "hashguard/core/vocabulary.hpp"

#include "hg_catch.hpp"

#include <random>

using namespace hashguard::core;

TEST_CASE("hash256 distance counts differing bits") {
  hash256 a;
  hash256 b;
  CHECK(distance(a, b) == 0);
  b.set_bit(0);
  CHECK(distance(a, b) == 1);
  b.set_bit(255);
  b.set_bit(64);
  CHECK(distance(a, b) == 3);
  hash256 ones{{~0ULL, ~0ULL, ~0ULL, ~0ULL}};
  CHECK(distance(a, ones) == 256);
  CHECK(distance(ones, ones) == 0);
}

TEST_CASE("distance is symmetric and matches a bit-by-bit count on random hashes") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    hash256 a{{rng(), rng(), rng(), rng()}};
    hash256 b{{rng(), rng(), rng(), rng()}};
    int slow = 0;
    for (unsigned k = 0; k < 256; ++k) slow += a.bit(k) != b.bit(k) ? 1 : 0;
    CHECK(distance(a, b) == slow);
    CHECK(distance(b, a) == slow);
  }
}

TEST_CASE("distance between two known PDQ hashes from the reference data") {
  // needles.txt line 1 and its haystack partner at distance 0 and a flipped variant.
  auto a = parse_hash256("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22");
  auto b = parse_hash256("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(distance(*a, *b) == 1);
}

TEST_CASE("hash64 distance") {
  CHECK(distance(hash64{0}, hash64{~0ULL}) == 64);
  CHECK(distance(hash64{0xF0}, hash64{0x0F}) == 8);
}

TEST_CASE("vocabulary names round trip and severity order") {
  for (std::size_t i = 0; i < signal_names.size(); ++i) {
    auto s = parse_signal(signal_names[i]);
    REQUIRE(s);
    CHECK(to_string(*s) == signal_names[i]);
  }
  CHECK_FALSE(parse_signal("PDQ"));
  CHECK_FALSE(parse_role("root"));
  CHECK(strictest(action::review, action::block) == action::block);
  CHECK(strictest(action::none, action::report) == action::report);
  CHECK(signal_hex_length(signal::sha1) == 40);
  CHECK(is_perceptual(signal::phash));
  CHECK_FALSE(is_perceptual(signal::md5));
  CHECK(to_string(dihedral::flipminus1) == "flipminus1");
  for (const auto name : harm_type_names) {
    auto h = parse_harm_type(name);
    REQUIRE(h);
    CHECK(to_string(*h) == name);
  }
  CHECK(parse_harm_type("ncii") == harm_type::ncii);
  CHECK_FALSE(parse_harm_type("CSAM"));
}
