// vPDQ text formats (vpdq_text.hpp).
#include "hashguard/core/vpdq_text.hpp"

#include "hashguard/core/hex.hpp"

#include <charconv>
#include <cstdio>

namespace hashguard::core {

std::string format_vpdq_line(const vpdq_frame& frame) {
  char timestamp[64];
  std::snprintf(timestamp, sizeof timestamp, "%.3f", static_cast<double>(frame.timestamp));
  std::string line = std::to_string(frame.frame_number);
  line += ',';
  line += std::to_string(frame.quality);
  line += ',';
  line += to_hex(frame.hash);
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

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool parse_vpdq_line(std::string_view line, vpdq_frame& frame, std::string& reason) {
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
  auto hash = parse_hash256(fields[2]);
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

bool valid_vpdq_video_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > vpdq_video_name_max) return false;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::vector<vpdq_video> parse_vpdq_videos(std::string_view text, std::string_view default_name) {
  constexpr std::string_view header = "# video:";
  std::vector<vpdq_video> videos;
  std::size_t line_number = 0;
  // The video frame lines go to: none until a header or a frame line opens one.
  vpdq_video* current = nullptr;
  const auto reject = [](vpdq_video& v, std::size_t line, std::string why) {
    if (v.error_line) return;
    v.error_line = line;
    v.error = std::move(why);
  };
  const auto open = [&](std::string_view name, std::size_t line) {
    vpdq_video v;
    v.name = std::string(name);
    v.line = line;
    if (!valid_vpdq_video_name(name)) reject(v, line, "bad_name: 1..200 bytes, no control bytes");
    videos.push_back(std::move(v));
    current = &videos.back();
  };
  while (!text.empty()) {
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line_number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
    if (trim_blanks(line).empty()) continue;
    if (line.substr(0, header.size()) == header) {
      open(trim_blanks(line.substr(header.size())), line_number);
      continue;
    }
    if (line.front() == '#') continue;  // the magic line, comments
    if (current == nullptr) open(default_name, line_number);
    if (current->error_line) continue;  // a rejected video's other lines
    vpdq_frame frame;
    std::string reason;
    if (!parse_vpdq_line(line, frame, reason)) {
      reject(*current, line_number, "bad_frame: " + reason);
      current->frames.clear();
      continue;
    }
    current->frames.push_back(frame);
  }
  for (auto& v : videos) {
    if (v.frames.empty()) reject(v, v.line, "no_frames: a video needs at least one frame line");
  }
  return videos;
}

std::string format_vpdq_videos(std::span<const vpdq_video> videos) {
  std::string text(vpdq_videos_magic);
  text += '\n';
  for (const auto& v : videos) {
    text += "# video: ";
    text += v.name;
    text += '\n';
    text += format_vpdq(v.frames);
  }
  return text;
}

}  // namespace hashguard::core
