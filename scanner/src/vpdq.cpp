// vPDQ hashing and text format (vpdq.hpp).
#include "hashguard/scanner/vpdq.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/scanner/pdq.hpp"

#include <charconv>
#include <cstdio>
#include <new>

namespace hashguard::scanner {

core::result<vpdq_result> hash_video(std::span<const std::uint8_t> bytes,
                                     const vpdq_options& options, const video_limits& limits,
                                     scan_budget& budget) noexcept {
  try {
    vpdq_result out;
    pdq_hasher hasher;
    video_sampling sampling;
    sampling.seconds_per_hash = options.seconds_per_hash;
    sampling.width = options.downsample;
    sampling.height = options.downsample;
    auto info = decode_video(bytes, sampling, limits, budget,
                             [&](const video_frame& frame) -> core::result<void> {
                               const pdq_result pdq = hasher.hash(frame.rgb, pdq_mode::video_frame);
                               vpdq_frame f;
                               f.frame_number = static_cast<std::uint32_t>(frame.number);
                               f.quality = pdq.quality;
                               f.hash = pdq.hash;
                               out.frames.push_back(f);
                               return {};
                             });
    if (!info) return info.error();
    out.info = std::move(*info);
    // The reference keeps the rate as a float and divides in float.
    const auto frame_rate = static_cast<float>(out.info.frame_rate);
    for (auto& f : out.frames) f.timestamp = static_cast<float>(f.frame_number) / frame_rate;
    return out;
  } catch (const std::bad_alloc&) {
    return errc::out_of_memory;
  }
}

std::string format_vpdq_line(const vpdq_frame& frame) {
  char timestamp[64];
  std::snprintf(timestamp, sizeof timestamp, "%.3f", static_cast<double>(frame.timestamp));
  std::string line = std::to_string(frame.frame_number);
  line += ',';
  line += std::to_string(frame.quality);
  line += ',';
  line += core::to_hex(frame.hash);
  line += ',';
  line += timestamp;
  return line;
}

std::string format_vpdq(std::span<const vpdq_frame> frames) {
  std::string text;
  text.reserve(frames.size() * 80);
  for (const auto& f : frames) {
    text += format_vpdq_line(f);
    text += '\n';
  }
  return text;
}

namespace {

template <typename T>
bool parse_number(std::string_view field, T& value) {
  const auto* end = field.data() + field.size();
  const auto [ptr, ec] = std::from_chars(field.data(), end, value);
  return ec == std::errc{} && ptr == end;
}

// "12", "0.000", "3.5": digits with at most one '.', as the reference writes them.
bool parse_seconds(std::string_view field, float& value) {
  if (field.empty() || field.size() > 32) return false;
  double v = 0;
  if (!parse_number(field, v) || !(v >= 0.0) || v > 1e9) return false;
  value = static_cast<float>(v);
  return true;
}

bool parse_line(std::string_view line, vpdq_frame& frame, std::string& reason) {
  std::string_view fields[4];
  std::size_t count = 0;
  while (true) {
    const auto comma = line.find(',');
    if (count == 4) {
      reason = "more than 4 fields";
      return false;
    }
    fields[count++] = line.substr(0, comma);
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  if (count != 4) {
    reason = "expected 4 fields: frame,quality,hash,timestamp";
    return false;
  }
  if (!parse_number(fields[0], frame.frame_number)) {
    reason = "frame number is not a non-negative integer";
    return false;
  }
  if (!parse_number(fields[1], frame.quality) || frame.quality < 0 || frame.quality > 100) {
    reason = "quality is not an integer 0..100";
    return false;
  }
  auto hash = core::parse_hash256(fields[2]);
  if (!hash) {
    reason = "hash is not 64 hex digits";
    return false;
  }
  frame.hash = *hash;
  if (!parse_seconds(fields[3], frame.timestamp)) {
    reason = "timestamp is not a non-negative decimal number of seconds";
    return false;
  }
  return true;
}

}  // namespace

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
    if (!parse_line(line, frame, reason)) {
      if (error != nullptr) *error = vpdq_parse_error{line_number, std::move(reason)};
      return errc::corrupt;
    }
    frames.push_back(frame);
  }
  return frames;
}

}  // namespace hashguard::scanner
