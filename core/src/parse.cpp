#include "hashguard/core/parse.hpp"

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

}  // namespace hashguard::core
