#include "hashguard/core/hex.hpp"

namespace hashguard::core {
namespace {

constexpr char digits[] = "0123456789abcdef";

void append_u64(std::string& out, std::uint64_t v) {
  for (int shift = 60; shift >= 0; shift -= 4) {
    out.push_back(digits[(v >> shift) & 0xFU]);
  }
}

// Parses exactly 16 digits (already length-checked by the caller).
result<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t v = 0;
  for (char c : text) {
    const int n = hex_digit_value(c);
    if (n < 0) return errc::not_hex;
    v = (v << 4) | static_cast<std::uint64_t>(n);
  }
  return v;
}

}  // namespace

std::string to_hex(const hash256& h) {
  std::string out;
  out.reserve(64);
  for (int w = 3; w >= 0; --w) append_u64(out, h.words[static_cast<std::size_t>(w)]);
  return out;
}

std::string to_hex(hash64 h) {
  std::string out;
  out.reserve(16);
  append_u64(out, h.value);
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xFU]);
  }
  return out;
}

result<hash256> parse_hash256(std::string_view text) {
  if (text.size() != 64) return errc::wrong_length;
  hash256 h;
  for (std::size_t i = 0; i < 4; ++i) {
    auto word = parse_u64(text.substr(i * 16, 16));
    if (!word) return word.error();
    h.words[3 - i] = *word;
  }
  return h;
}

result<hash64> parse_hash64(std::string_view text) {
  if (text.size() != 16) return errc::wrong_length;
  auto v = parse_u64(text);
  if (!v) return v.error();
  return hash64{*v};
}

result<void> parse_hex_into(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() != out.size() * 2) return errc::wrong_length;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit_value(text[2 * i]);
    const int lo = hex_digit_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return errc::not_hex;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return {};
}

result<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view text, std::size_t byte_count) {
  if (text.size() != byte_count * 2) return errc::wrong_length;  // before allocating
  std::vector<std::uint8_t> out(byte_count);
  if (auto r = parse_hex_into(text, out); !r) return r.error();
  return out;
}

std::ostream& operator<<(std::ostream& out, const hash256& h) {
  return out << to_hex(h);
}
std::ostream& operator<<(std::ostream& out, hash64 h) {
  return out << to_hex(h);
}

}  // namespace hashguard::core
