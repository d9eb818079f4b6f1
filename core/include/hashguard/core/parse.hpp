// Decimal integers and UTC dates and times from text, parsed one way everywhere (config values,
// list metadata, cursors, query parameters, command-line flags, export ranges).
//
// Integers: an optional '-' (signed types only) then decimal digits, and nothing else: no '+',
// no spaces, no "0x", not empty. Leading zeros are accepted ("007" is 7).
// Times: "YYYY-MM-DD" is midnight UTC; "YYYY-MM-DDTHH:MM:SS[.fraction]Z" is that UTC instant,
// the fraction (1 to 9 digits) kept to the microsecond (truncated). Every digit sits at its
// fixed place; the day must exist in its month (no 2026-02-30); second 60 (a leap second) is the
// next minute's 0. Results are microseconds since 1970-01-01T00:00:00Z.
// Errors are values: errc::not_a_number, errc::out_of_range, errc::bad_time. Thread-safe, no
// allocation.
#pragma once

#include "hashguard/core/errc.hpp"

#include <charconv>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

namespace hashguard::core {

/// A decimal integer of type T within [min, max] (both inclusive). errc::not_a_number for text
/// that is not one; errc::out_of_range for one that does not fit T or lies outside [min, max].
template <std::integral T>
[[nodiscard]] result<T> parse_int(std::string_view text, T min = std::numeric_limits<T>::min(),
                                  T max = std::numeric_limits<T>::max()) noexcept {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range && ptr == end) return errc::out_of_range;
  if (text.empty() || ec != std::errc{} || ptr != end) return errc::not_a_number;
  if (value < min || value > max) return errc::out_of_range;
  return value;
}

/// "YYYY-MM-DD" -> microseconds since the epoch at that day's midnight UTC; errc::bad_time.
[[nodiscard]] result<std::int64_t> parse_date_us(std::string_view text) noexcept;

/// "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SS[.fraction]Z" -> microseconds since the
/// epoch; errc::bad_time for anything else (a missing 'Z', an offset, a space for the 'T').
[[nodiscard]] result<std::int64_t> parse_utc_time_us(std::string_view text) noexcept;

/// An RFC 3339 date-time (ISO 8601's profile for the internet): "YYYY-MM-DDTHH:MM:SS[.frac]"
/// then "Z" or a "+HH:MM" / "-HH:MM" offset (the 'T' and 'Z' in either case) -> microseconds
/// since the epoch of that instant. errc::bad_time otherwise (a date alone is refused: an
/// instant needs its time and zone).
[[nodiscard]] result<std::int64_t> parse_rfc3339_us(std::string_view text) noexcept;

/// An IPv4 or IPv6 address in text form -> its canonical text (IPv6 compressed and lowercase,
/// an IPv4-mapped IPv6 address kept as written by inet_ntop). errc::bad_address otherwise (no
/// port, no brackets, no zone id, no prefix length).
[[nodiscard]] result<std::string> parse_ip_address(std::string_view text);

}  // namespace hashguard::core
