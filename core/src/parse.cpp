#include "hashguard/core/parse.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <chrono>

namespace hashguard::core {
namespace {

constexpr std::int64_t us_per_second = 1'000'000;

// `count` digits at text[at..], or -1 when one of them is not a digit (no sign, no space: the
// forms are fixed-width, so from_chars' leniency about '-' must not apply).
int fixed_digits(std::string_view text, std::size_t at, std::size_t count) noexcept {
  int v = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// text[0..10) as YYYY-MM-DD -> microseconds at its midnight UTC.
result<std::int64_t> date_prefix_us(std::string_view text) noexcept {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return errc::bad_time;
  const int y = fixed_digits(text, 0, 4);
  const int m = fixed_digits(text, 5, 2);
  const int d = fixed_digits(text, 8, 2);
  if (y < 0 || m < 1 || d < 1) return errc::bad_time;
  const std::chrono::year_month_day day{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!day.ok()) return errc::bad_time;
  const auto since_epoch = std::chrono::sys_days{day}.time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count();
}

}  // namespace

result<std::int64_t> parse_date_us(std::string_view text) noexcept {
  if (text.size() != 10) return errc::bad_time;
  return date_prefix_us(text);
}

result<std::int64_t> parse_utc_time_us(std::string_view text) noexcept {
  if (text.size() == 10) return date_prefix_us(text);
  // YYYY-MM-DDTHH:MM:SS then an optional .fraction, then Z.
  if (text.size() < 20 || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return errc::bad_time;
  }
  const auto day_us = date_prefix_us(text);
  if (!day_us) return day_us.error();
  const int h = fixed_digits(text, 11, 2);
  const int mi = fixed_digits(text, 14, 2);
  const int s = fixed_digits(text, 17, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return errc::bad_time;
  std::int64_t fraction_us = 0;
  const std::string_view fraction = text.substr(19, text.size() - 20);  // between SS and Z
  if (!fraction.empty()) {
    if (fraction.size() < 2 || fraction.size() > 10 || fraction[0] != '.') return errc::bad_time;
    std::int64_t scale = 100'000;
    for (char c : fraction.substr(1)) {
      if (c < '0' || c > '9') return errc::bad_time;
      fraction_us += (c - '0') * scale;
      scale /= 10;
    }
  }
  const std::int64_t seconds = std::int64_t{h} * 3600 + std::int64_t{mi} * 60 + s;
  return *day_us + seconds * us_per_second + fraction_us;
}

result<std::int64_t> parse_rfc3339_us(std::string_view text) noexcept {
  // Split off the zone: a final Z, or the last six characters as +HH:MM / -HH:MM.
  if (text.size() < 20) return errc::bad_time;
  std::int64_t offset_us = 0;
  std::string_view local;
  const char last = text.back();
  if (last == 'Z' || last == 'z') {
    local = text.substr(0, text.size() - 1);
  } else {
    const std::string_view zone = text.substr(text.size() - 6);
    if ((zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return errc::bad_time;
    const int oh = fixed_digits(zone, 1, 2);
    const int om = fixed_digits(zone, 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return errc::bad_time;
    offset_us = (std::int64_t{oh} * 3600 + std::int64_t{om} * 60) * us_per_second;
    if (zone[0] == '-') offset_us = -offset_us;
    local = text.substr(0, text.size() - 6);
  }
  if (local.size() < 19 || (local[10] != 'T' && local[10] != 't')) return errc::bad_time;
  // The local part in the UTC form parse_utc_time_us reads, then moved by the offset: the
  // instant is local time minus the offset (12:00+02:00 is 10:00Z).
  char buf[40];
  if (local.size() + 1 > sizeof buf) return errc::bad_time;
  local.copy(buf, local.size());
  buf[10] = 'T';
  buf[local.size()] = 'Z';
  const auto at = parse_utc_time_us(std::string_view(buf, local.size() + 1));
  if (!at) return at.error();
  return *at - offset_us;
}

result<std::string> parse_ip_address(std::string_view text) {
  // inet_pton reads a NUL-terminated string: longer text is no address (the longest IPv6
  // form, with an embedded IPv4 address, is 45 characters).
  char in[64];
  if (text.empty() || text.size() >= sizeof in) return errc::bad_address;
  text.copy(in, text.size());
  in[text.size()] = '\0';
  char out[INET6_ADDRSTRLEN];
  unsigned char raw[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, in, raw) != 1) return errc::bad_address;
    if (inet_ntop(AF_INET, raw, out, sizeof out) == nullptr) return errc::bad_address;
  } else {
    if (inet_pton(AF_INET6, in, raw) != 1) return errc::bad_address;
    if (inet_ntop(AF_INET6, raw, out, sizeof out) == nullptr) return errc::bad_address;
  }
  return std::string(out);
}

}  // namespace hashguard::core
