// vPDQ hashing and text format (vpdq.hpp).
#include "hashguard/scanner/vpdq.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/scanner/pdq.hpp"

#include <charconv>
#include <cstdio>
#include <new>

namespace hashguard::scanner {

core::result<std::vector<vpdq_frame>> parse_vpdq(std::string_view text, vpdq_parse_error* error) {
  std::vector<vpdq_frame> frames;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    vpdq_frame frame;
    std::string reason;
    if (!core::parse_vpdq_line(line, frame, reason)) {
      if (error != nullptr) *error = vpdq_parse_error{line_number, std::move(reason)};
      return errc::corrupt;
    }
    frames.push_back(frame);
  }
  return frames;
}

}  // namespace hashguard::scanner
