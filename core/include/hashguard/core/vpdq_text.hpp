// vPDQ text: the reference's per-frame line format, and hashguard's multi-video file for list
// imports and exports. The one parser of both (the scanner's parse_vpdq, the list store's
// import and the CLI use it).
//
// Frame line (the reference's vpdqio):
//   frame_number,quality,pdq_hex,timestamp_seconds      e.g. 0,100,dadb...f07c,0.000
// frame_number: decimal, 0-based; quality: 0..100; pdq_hex: 64 hex digits (either case on
// input, lowercase on output); timestamp: decimal seconds (output: 3 decimals, as the
// reference's std::fixed << setprecision(3)).
//
// Video file (one or many videos):
//   # vpdq-videos v1                   optional first line (what an export writes)
//   # video: NAME                      starts a video named NAME (1..200 bytes, no control
//                                      characters; leading and trailing blanks trimmed)
//   0,100,dadb...f07c,0.000            its frame lines
// A file with no "# video:" line is one video, named by the caller (the reference's files are
// this form: one video per file). Frame lines before the first "# video:" line form a video
// of that caller-given name too. Other lines starting with '#' are comments; blank lines are
// skipped; "\r\n" is accepted; a UTF-8 BOM on the first line is skipped. A frame line that
// does not parse rejects its video (the rest of the file is still read): each video is
// reported on its own, with the line that failed it.
//
// Thread-safety: pure functions.
#pragma once

#include "hashguard/core/hash.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::core {

struct vpdq_frame {
  std::uint32_t frame_number{};
  int quality{};  ///< 0..100
  hash256 hash;
  float timestamp{};  ///< seconds

  friend bool operator==(const vpdq_frame&, const vpdq_frame&) = default;
};

/// One line of the frame format, without its newline.
[[nodiscard]] std::string format_vpdq_line(const vpdq_frame& frame);
/// The frame format, one line per frame.
[[nodiscard]] std::string format_vpdq(std::span<const vpdq_frame> frames);
/// Parses one frame line (no newline). On failure returns false and says why in `reason`.
[[nodiscard]] bool parse_vpdq_line(std::string_view line, vpdq_frame& frame, std::string& reason);

inline constexpr std::string_view vpdq_videos_magic = "# vpdq-videos v1";
inline constexpr std::size_t vpdq_video_name_max = 200;

struct vpdq_video {
  std::string name;
  std::vector<vpdq_frame> frames;
  std::size_t line{};  ///< 1-based line of its "# video:" header (or of its first frame)
  /// Set when the video is rejected: the 1-based line and the reason ("bad_frame: ...",
  /// "bad_name", "no_frames").
  std::optional<std::size_t> error_line;
  std::string error;
};

/// Parses the video file above. `default_name` names the frames before any "# video:" line.
[[nodiscard]] std::vector<vpdq_video> parse_vpdq_videos(std::string_view text,
                                                        std::string_view default_name);
/// Writes videos in the file form above (the magic line, then each video's header and frames).
[[nodiscard]] std::string format_vpdq_videos(std::span<const vpdq_video> videos);
/// Whether `name` may name a video (1..vpdq_video_name_max bytes, no control characters).
[[nodiscard]] bool valid_vpdq_video_name(std::string_view name) noexcept;

}  // namespace hashguard::core
