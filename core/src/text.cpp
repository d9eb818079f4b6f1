#include "hashguard/core/text.hpp"

#include <cstdint>

namespace hashguard::core {
namespace {

/// Length of the well-formed UTF-8 sequence at text[i], or 0 when there is none.
std::size_t sequence_at(std::string_view text, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint8_t lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

bool valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_at(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string escape_invalid_utf8(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_at(text, i);
    if (n == 0) {
      const auto b = static_cast<std::uint8_t>(text[i]);
      out += '%';
      out += digits[b >> 4];
      out += digits[b & 15];
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool printable_utf8(std::string_view text) noexcept {
  for (const char c : text) {
    const auto b = static_cast<std::uint8_t>(c);
    if (b < 0x20 || b == 0x7F) return false;
  }
  return valid_utf8(text);
}

std::string_view url_prefix(std::string_view url, std::size_t max_bytes) noexcept {
  if (url.size() <= max_bytes) return url;
  std::size_t n = max_bytes;
  // url[n] is the first byte cut off: a continuation byte means the cut splits a sequence,
  // so the whole sequence goes.
  while (n > 0 && (static_cast<std::uint8_t>(url[n]) & 0xC0) == 0x80) --n;
  // A cut after "%" or "%X" would leave an escape that decodes to nothing: it goes too.
  auto hex = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  };
  if (n >= 1 && url[n - 1] == '%') {
    n -= 1;
  } else if (n >= 2 && url[n - 2] == '%' && hex(url[n - 1])) {
    n -= 2;
  }
  return url.substr(0, n);
}

}  // namespace hashguard::core
