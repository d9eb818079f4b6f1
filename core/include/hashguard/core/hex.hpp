// Text forms of hashes and digests.
//
// Format: always lowercase hex. PDQ (hash256) is 64 digits, word 15 first (see hash.hpp);
// pHash (hash64) is 16 digits, OpenCV's first byte first.
// Parse: exactly the right number of digits; upper-case digits are accepted (lists from some
// sources use them) and normalised; anything else (whitespace anywhere, "0x" prefixes, other
// characters) is rejected: callers that read lines trim them first. Errors: errc::wrong_length
// or errc::not_hex.
#pragma once

#include "hashguard/core/errc.hpp"
#include "hashguard/core/hash.hpp"

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::core {

[[nodiscard]] std::string to_hex(const hash256& h);
[[nodiscard]] std::string to_hex(hash64 h);
/// Bytes in order, two lowercase digits each (digests: MD5, SHA-1, SHA-256).
[[nodiscard]] std::string to_hex(std::span<const std::uint8_t> bytes);

/// The value (0..15) of one hex digit, upper or lower case; -1 for any other character.
[[nodiscard]] constexpr int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Whether `text` is exactly `digits` lowercase hex digits: the one form hashguard writes, and
/// the only one an identifier made of hex (a content's SHA-256, a key id) is matched in.
[[nodiscard]] constexpr bool is_canonical_hex(std::string_view text, std::size_t digits) noexcept {
  if (text.size() != digits) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

[[nodiscard]] result<hash256> parse_hash256(std::string_view text);
[[nodiscard]] result<hash64> parse_hash64(std::string_view text);
/// Exactly `byte_count` bytes as 2*byte_count hex digits.
[[nodiscard]] result<std::vector<std::uint8_t>> parse_hex_bytes(std::string_view text,
                                                                std::size_t byte_count);

/// Exactly `out.size()` bytes as 2*out.size() hex digits, written into `out` (no allocation; on
/// an error `out` holds an unspecified prefix of the bytes).
[[nodiscard]] result<void> parse_hex_into(std::string_view text, std::span<std::uint8_t> out);

/// Streams the hex text (for logs and test diagnostics).
std::ostream& operator<<(std::ostream& out, const hash256& h);
std::ostream& operator<<(std::ostream& out, hash64 h);

}  // namespace hashguard::core
