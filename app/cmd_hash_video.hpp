// `hashguard hash --format=vpdq FILE`: a video's vPDQ in the reference's text format
// (scanner/vpdq.hpp), one `frame,quality,hash,timestamp` line per sampled frame, on stdout.
#pragma once

#include "hashguard/core/vpdq_text.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hashguard::app {

struct vpdq_cli_options {
  double seconds_per_hash{1.0};  ///< 0 = every frame
  std::uint32_t downsample{};    ///< 0 = native size
};

/// Hashes one video file in the sandboxed worker beside this executable. On failure returns
/// nullopt and sets `error` to "CODE: MESSAGE".
std::optional<std::vector<core::vpdq_frame>> hash_video_frames(const std::string& path,
                                                               const vpdq_cli_options& options,
                                                               std::string& error);

/// Hashes one video file and prints its vPDQ. Returns exit_ok, or exit_failure after printing
/// `hashguard hash: PATH: CODE: MESSAGE` to stderr (unreadable file, scanner error).
int hash_video_file(const std::string& path, const vpdq_cli_options& options);

}  // namespace hashguard::app
