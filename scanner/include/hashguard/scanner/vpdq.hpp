// vPDQ: the PDQ hash of sampled video frames, as Meta's ThreatExchange vpdq computes it, and
// its text format.
//
// Hashing (vpdq/cpp's hashVideoFile): video.hpp decodes and samples the frames (seconds per
// hash: default 1.0 as in python-threatexchange; 0 = every frame, the reference's regression
// mode) and converts each to RGB24 (native size, or the downsample size); each gets the
// full-resolution PDQ hash and quality of the float RGB luma (pdq_mode::video_frame: no grey
// shortcut, the 64x64 filter skip of the reference core), its frame number and its timestamp
// float(frame number) / float(frame rate) in seconds (single precision, as the reference).
// Checked on ThreatExchange's sample videos (tests/data/vpdq-vectors) in every-frame mode:
// frame numbers, qualities, hashes and timestamps identical to the reference vpdq-hash-video
// built against Debian 12's FFmpeg 5.1.
//
// Text format (the reference's vpdqio, one frame per line):
//   frame_number,quality,pdq_hex,timestamp_seconds      e.g. 0,100,dadb...f07c,0.000
// frame_number: decimal, 0-based; quality: 0..100; pdq_hex: 64 hex digits (either case on
// input, lowercase on output); timestamp: decimal seconds (output: 3 decimals, as the
// reference's std::fixed << setprecision(3)). Lines end in "\n" ("\r\n" accepted); blank lines
// are skipped on input. One video per file.
//
// Thread-safety: free functions, reentrant. Errors: scanner::errc as video.hpp says (hashing);
// errc::corrupt for malformed text (parse), with the line in the message of parse_vpdq_error.
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/core/hash.hpp"
#include "hashguard/core/vpdq_text.hpp"
#include "hashguard/scanner/budget.hpp"
#include "hashguard/scanner/video.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::scanner {

/// The frame record and its text line live in core (vpdq_text.hpp), shared with the list store.
using core::vpdq_frame;

struct vpdq_options {
  double seconds_per_hash{1.0};  ///< 0 = every frame
  /// 0 = native size; otherwise frames are scaled to downsample x downsample (the reference's
  /// -s option) before hashing.
  std::uint32_t downsample{};
};

struct vpdq_result {
  video_info info;
  std::vector<vpdq_frame> frames;  ///< in frame order
};

/// Decodes `bytes` (video.hpp, within `limits` and `budget`) and hashes the sampled frames.
[[nodiscard]] core::result<vpdq_result> hash_video(std::span<const std::uint8_t> bytes,
                                                   const vpdq_options& options,
                                                   const video_limits& limits,
                                                   scan_budget& budget) noexcept;

/// The text format above (core/vpdq_text.hpp), one line per frame.
using core::format_vpdq;
using core::format_vpdq_line;

struct vpdq_parse_error {
  std::size_t line{};  ///< 1-based
  std::string reason;
};

/// Parses the text format. On failure returns nothing and fills `error` (when not null).
/// An empty text is an empty video (no frames), not an error.
[[nodiscard]] core::result<std::vector<vpdq_frame>> parse_vpdq(std::string_view text,
                                                               vpdq_parse_error* error = nullptr);

}  // namespace hashguard::scanner
