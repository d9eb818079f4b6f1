#include "hashguard/core/hex.hpp"

#include "hg_catch.hpp"

#include <array>

using namespace hashguard::core;

namespace {
// A hash from ../shared/pdq-vectors (bridge-1-original.jpg, fullres-core.csv).
constexpr const char* bridge = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
}  // namespace

TEST_CASE("hash256 hex round trip keeps every digit") {
  auto h = parse_hash256(bridge);
  REQUIRE(h);
  CHECK(to_hex(*h) == bridge);
}

TEST_CASE("hash256 text is word 15 first: the first four digits are PDQ word 15") {
  auto h = parse_hash256("8000000000000000000000000000000000000000000000000000000000000001");
  REQUIRE(h);
  CHECK(h->bit(255));
  CHECK(h->bit(0));
  CHECK(h->word16(15) == 0x8000);
  CHECK(h->word16(0) == 0x0001);
  for (unsigned k = 1; k < 255; ++k) CHECK_FALSE(h->bit(k));
}

TEST_CASE("set_bit and to_hex agree on where PDQ bit k lives") {
  for (unsigned k : {0U, 15U, 16U, 63U, 64U, 200U, 255U}) {
    hash256 h;
    h.set_bit(k);
    const std::string text = to_hex(h);
    // bit k is in hex digit 63 - k/4 counting from the left, with value 1 << (k % 4)
    const std::size_t digit = 63 - k / 4;
    const char expected = "1248"[k % 4];
    CHECK(text[digit] == expected);
    auto back = parse_hash256(text);
    REQUIRE(back);
    CHECK(*back == h);
  }
}

TEST_CASE("upper-case hex is accepted and formatted lower-case") {
  std::string upper = bridge;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto h = parse_hash256(upper);
  REQUIRE(h);
  CHECK(to_hex(*h) == bridge);
  auto p = parse_hash64("ABCDEF0123456789");
  REQUIRE(p);
  CHECK(to_hex(*p) == "abcdef0123456789");
}

TEST_CASE("malformed hash256 text is rejected with the right error") {
  const std::string good = bridge;
  SECTION("wrong length") {
    CHECK(parse_hash256("").error() == errc::wrong_length);
    CHECK(parse_hash256(good.substr(0, 63)).error() == errc::wrong_length);
    CHECK(parse_hash256(good + "0").error() == errc::wrong_length);
    CHECK(parse_hash256(good.substr(0, 16)).error() == errc::wrong_length);
  }
  SECTION("non-hex characters at every position class") {
    for (std::size_t pos : {0UL, 15UL, 16UL, 40UL, 63UL}) {
      for (char bad : {'g', 'G', 'x', '-', '\0', '\xff', ':'}) {
        std::string s = good;
        s[pos] = bad;
        INFO("position " << pos << " char " << static_cast<int>(bad));
        CHECK(parse_hash256(s).error() == errc::not_hex);
      }
    }
  }
  SECTION("whitespace is never skipped") {
    CHECK(parse_hash256(" " + good.substr(1)).error() == errc::not_hex);
    CHECK(parse_hash256(good.substr(0, 63) + "\n").error() == errc::not_hex);
    CHECK(parse_hash256(good.substr(0, 63) + "\r").error() == errc::not_hex);
    CHECK(parse_hash256(good.substr(0, 32) + "\t" + good.substr(33)).error() == errc::not_hex);
    CHECK(parse_hash256(" " + good).error() == errc::wrong_length);
  }
  SECTION("a 0x prefix is not part of the format") {
    CHECK(parse_hash256("0x" + good.substr(2)).error() == errc::not_hex);
  }
}

TEST_CASE("hash64 parse and format") {
  auto h = parse_hash64("00000000000000ff");
  REQUIRE(h);
  CHECK(h->value == 0xFFU);
  CHECK(to_hex(*h) == "00000000000000ff");
  CHECK(parse_hash64("00ff").error() == errc::wrong_length);
  CHECK(parse_hash64("00000000000000fz").error() == errc::not_hex);
  CHECK(parse_hash64(" 0000000000000ff").error() == errc::not_hex);
}

TEST_CASE("digest bytes parse and format in byte order") {
  auto b = parse_hex_bytes("d41d8cd98f00b204e9800998ecf8427e", 16);
  REQUIRE(b.has_value());
  CHECK((*b)[0] == 0xd4);
  CHECK((*b)[15] == 0x7e);
  CHECK(to_hex(*b) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(parse_hex_bytes("d41d", 16).error() == errc::wrong_length);
  CHECK(parse_hex_bytes("d41d8cd98f00b204e9800998ecf8427q", 16).error() == errc::not_hex);
}

TEST_CASE("hex_digit_value maps 0-9 a-f A-F and rejects every other byte") {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    int expected = -1;
    if (c >= '0' && c <= '9') expected = c - '0';
    if (c >= 'a' && c <= 'f') expected = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') expected = c - 'A' + 10;
    INFO(c);
    CHECK(hex_digit_value(ch) == expected);
  }
  static_assert(hex_digit_value('f') == 15);
}

TEST_CASE("parse_hex_into fills the caller's bytes, exactly their number") {
  std::array<std::uint8_t, 3> out{};
  REQUIRE(parse_hex_into("00aBff", out));
  CHECK(out == std::array<std::uint8_t, 3>{0x00, 0xab, 0xff});
  CHECK(parse_hex_into("00ab", out).error() == errc::wrong_length);
  CHECK(parse_hex_into("00abff00", out).error() == errc::wrong_length);
  CHECK(parse_hex_into("00abfg", out).error() == errc::not_hex);
  CHECK(parse_hex_into("", std::span<std::uint8_t>{}));
}
