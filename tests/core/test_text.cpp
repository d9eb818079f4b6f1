#include "hashguard/core/text.hpp"

#include "hg_catch.hpp"

using namespace hashguard;

TEST_CASE("valid_utf8: well-formed text passes, every malformed form is refused") {
  CHECK(core::valid_utf8(""));
  CHECK(core::valid_utf8("https://shop.example/img/1.jpg?q=a%20b"));
  CHECK(core::valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  CHECK_FALSE(core::valid_utf8("\xff"));
  CHECK_FALSE(core::valid_utf8("\xc3"));              // cut short
  CHECK_FALSE(core::valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(core::valid_utf8("\xe0\x80\xaf"));      // overlong, three bytes
  CHECK_FALSE(core::valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(core::valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(core::valid_utf8("a\x80z"));            // a lone continuation byte
}

TEST_CASE("escape_invalid_utf8 keeps valid text and escapes only the bad bytes") {
  CHECK(core::escape_invalid_utf8("https://a.example/\xc3\xa9") == "https://a.example/\xc3\xa9");
  CHECK(core::escape_invalid_utf8("/x\xff\xfey") == "/x%FF%FEy");
  CHECK(core::escape_invalid_utf8("\xc3") == "%C3");
  CHECK(core::escape_invalid_utf8("100%") == "100%");
  CHECK(core::valid_utf8(core::escape_invalid_utf8("\x80\xc0\xaf\xed\xa0\x80ok")));
}

TEST_CASE("printable_utf8 refuses control characters and malformed text") {
  CHECK(core::printable_utf8("shop.example"));
  CHECK(core::printable_utf8("<script>alert(1)</script>"));  // markup is text, shown as such
  CHECK_FALSE(core::printable_utf8("zone\n"));
  CHECK_FALSE(core::printable_utf8(std::string_view("a\0b", 3)));
  CHECK_FALSE(core::printable_utf8("\x7f"));
  CHECK_FALSE(core::printable_utf8("\xff"));
}

TEST_CASE("url_prefix cuts at a character and escape boundary, never inside one") {
  CHECK(core::url_prefix("https://a.example/x", 100) == "https://a.example/x");
  CHECK(core::url_prefix("abcdef", 6) == "abcdef");
  CHECK(core::url_prefix("abcdef", 4) == "abcd");
  CHECK(core::url_prefix("", 0).empty());
  // é is two bytes, € three, 😀 four: a cut inside one drops the whole character.
  CHECK(core::url_prefix("a\xc3\xa9z", 2) == "a");
  CHECK(core::url_prefix("a\xc3\xa9z", 3) == "a\xc3\xa9");
  CHECK(core::url_prefix("a\xe2\x82\xacz", 3) == "a");
  CHECK(core::url_prefix("a\xf0\x9f\x98\x80z", 4) == "a");
  CHECK(core::url_prefix("a\xf0\x9f\x98\x80z", 5) == "a\xf0\x9f\x98\x80");
  // A %XX escape is kept whole or not at all.
  CHECK(core::url_prefix("/a%20b", 3) == "/a");
  CHECK(core::url_prefix("/a%20b", 4) == "/a");
  CHECK(core::url_prefix("/a%20b", 5) == "/a%20");
  CHECK(core::url_prefix("/a%FFb", 4) == "/a");
  // Every cut of a mixed URL is valid UTF-8 and ends on no partial escape.
  const std::string url = "https://s.example/caf\xc3\xa9/%FF%FE/\xf0\x9f\x98\x80?q=%20\xe2\x82\xac";
  for (std::size_t n = 0; n <= url.size(); ++n) {
    const auto p = core::url_prefix(url, n);
    INFO(n);
    CHECK(p.size() <= n);
    CHECK(core::valid_utf8(p));
    CHECK(url.substr(0, p.size()) == p);
    const auto pct = p.rfind('%');
    CHECK((pct == std::string_view::npos || pct + 3 <= p.size()));
    CHECK(p.size() + 4 > n);  // at most a 4-byte character or a 2-byte escape head is dropped
  }
}
