#include "entry_rules.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/core/text.hpp"
#include "hashguard/core/vocabulary.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace hashguard::exchanges::detail {

bool is_hashguard_signal(std::string_view signal) noexcept {
  const auto sig = core::parse_signal(signal);
  return sig && core::has_hex_entries(*sig);
}

std::string_view trim(std::string_view text) noexcept {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<std::string> normalise_value(std::string_view signal, std::string_view value) {
  value = trim(value);
  if (const auto sig = core::parse_signal(signal); sig && core::has_hex_entries(*sig)) {
    std::string hex = ascii_lower(value);
    if (!core::is_canonical_hex(hex, core::signal_hex_length(*sig))) return std::nullopt;
    return hex;
  }
  if (value.empty() || value.size() > max_value_bytes || !core::printable_utf8(value)) {
    return std::nullopt;
  }
  return std::string(value);
}

void add_tag(std::vector<std::string>& tags, std::string_view tag) {
  tag = trim(tag);
  if (tag.empty() || tag.size() > max_tag_bytes || tags.size() >= max_tags) return;
  if (!core::printable_utf8(tag)) return;
  if (std::find(tags.begin(), tags.end(), tag) != tags.end()) return;
  tags.emplace_back(tag);
}

bool valid_source_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= max_source_id_bytes && core::printable_utf8(id);
}

std::string iso_utc(std::int64_t seconds) {
  const std::chrono::sys_seconds tp{std::chrono::seconds(seconds)};
  const auto day = std::chrono::floor<std::chrono::days>(tp);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{tp - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<std::int64_t> parse_iso_utc(std::string_view text) noexcept {
  if (text.size() < 20 || text[10] != 'T') return std::nullopt;  // a bare date is not a time
  const auto us = core::parse_utc_time_us(text);
  if (!us) return std::nullopt;
  return *us / 1000000;
}

std::string query_escape(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += digits[c >> 4U];
      out += digits[c & 15U];
    }
  }
  return out;
}

}  // namespace hashguard::exchanges::detail
