// The scan facade: image bytes -> everything hashguard matches on, in one call.
//
//   bytes --digest--> MD5, SHA-1, SHA-256 (of the bytes as received)
//         --decode--> format, size, frames (decode.hpp: caps enforced before allocation)
//         --hash----> PDQ with quality and the 8 dihedral hashes (pdq.hpp) of every frame,
//                     pHash (phash.hpp) of the first frame
//         --match-only hashes (options; never reported): the 8 orientation hashes of every
//                     frame; the first frame's content inside borders/letterbox bars (trim.hpp)
//
// Animated GIFs: `pdq` and `phash` describe the first frame; `frames` holds the PDQ of every
// decoded frame (the first included), and an image matches if any frame does. Still images
// have an empty `frames`.
//
// Timings: wall-clock time of each stage of the last call, for the API's metrics (decode and
// hash are reported separately; the digests are their own stage).
//
// CPU budget (budget.hpp): every scan spends at most scan_options::max_scan of its thread's
// CPU time. It is checked between the stages (the header and caps, digests, decode, PDQ of
// each frame, pHash, the bar detection, the trimmed content's PDQ) and inside the decoders' own
// loops; a scan that spends it ends with errc::scan_budget_exceeded, one whose stop flag goes up
// with errc::scan_cancelled. A stage that cannot be interrupted (one PDQ hash, one TurboJPEG or
// OpenCV call) may overrun the budget by its own cost, which the pixel and byte caps bound.
//
// Thread-safety: an image_scanner is not thread-safe; use one per thread. It owns its decoder,
// hashers and digester, and keeps their buffers between calls (releasing pixel buffers above
// scan_options::keep_pixel_bytes), so scanning images of a recurring size allocates nothing
// beyond the result. A moved-from image_scanner may only be assigned to or destroyed.
// Errors: scanner::errc (decode.hpp, digest.hpp), as values.
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/core/hash.hpp"
#include "hashguard/scanner/budget.hpp"
#include "hashguard/scanner/decode.hpp"
#include "hashguard/scanner/digest.hpp"
#include "hashguard/scanner/pdq.hpp"
#include "hashguard/scanner/phash.hpp"
#include "hashguard/scanner/trim.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace hashguard::scanner {

struct scan_options {
  decode_limits limits{};
  pdq_mode mode{pdq_mode::fullres};
  pdq_kernel kernel{pdq_kernel::automatic};
  /// Decoded pixel buffers up to this size are kept for the next call; larger ones are freed
  /// after the scan, so one huge image does not pin its memory to the thread.
  std::size_t keep_pixel_bytes{64U << 20U};
  /// CPU time (the scanning thread's) one scan may spend; over it: scan_budget_exceeded.
  /// The default is some 20 times what a 100 MP image needs here.
  std::chrono::milliseconds max_scan{10'000};
  /// Also compute the orientation hashes of every frame (pdq.hpp; for matching only, never
  /// reported): set by the caller when it matches with match.orientations = exact.
  bool orientations{false};
  /// Also look for borders, letterbox and pillarbox bars (trim.hpp) and, when found, hash the
  /// content inside them for each candidate layout (scan_result::trimmed; with orientations
  /// when those are on).
  bool trim{false};
  trim_options trimming{};
};

/// Declares the scanner's configuration keys with scan_options' defaults:
///   scanner.max_bytes (67108864), scanner.max_pixels (100000000),
///   scanner.max_decode_bytes (400000000), scanner.max_frames (32),
///   scanner.max_total_pixels (100000000), scanner.pdq_mode (fullres | reference-512),
///   scanner.keep_pixel_bytes (67108864), scanner.max_scan_ms (10000).
void declare_config(core::config& cfg);
/// Reads them back. Errors: core::errc::config_bad_value for a value out of range (sizes and
/// counts must be at least 1) or an unknown PDQ mode.
[[nodiscard]] core::result<scan_options> scan_options_from(const core::config& cfg);

struct frame_hash {
  std::uint32_t index{};  ///< 0-based position in the animation
  pdq_result pdq;
  orientation_hashes orientations{};  ///< all zero unless scan_options::orientations
};

struct scan_timings {
  std::chrono::nanoseconds digest{};
  std::chrono::nanoseconds decode{};
  std::chrono::nanoseconds hash{};  ///< PDQ of every frame plus pHash
};

/// The first frame's content inside its bars, hashed for matching only (never reported).
struct trimmed_hash {
  trim_sides sides;
  pixel_rect content;
  pdq_result pdq;
  orientation_hashes orientations{};  ///< all zero unless scan_options::orientations
};

struct scan_result {
  image_format format{};
  std::uint32_t width{};
  std::uint32_t height{};
  pdq_result pdq;  ///< first frame
  /// First frame; all zero unless scan_options::orientations. Never reported or stored.
  orientation_hashes orientations{};
  core::hash64 phash;  ///< first frame
  /// When scan_options::trim found bars around the first frame: the content inside them for
  /// each candidate layout of the bars (trim.hpp find_candidates), the detected one first.
  std::vector<trimmed_hash> trimmed;
  digests digest;
  /// Every decoded frame of an animated image (frames_in_file > 1); empty for still images.
  std::vector<frame_hash> frames;
  std::uint32_t frames_in_file{1};
  bool damaged{};  ///< see decoded_image::damaged
  scan_timings timings;

  [[nodiscard]] bool animated() const noexcept { return frames_in_file > 1; }
};

class image_scanner {
 public:
  explicit image_scanner(scan_options options = {});
  ~image_scanner();
  image_scanner(const image_scanner&) = delete;
  image_scanner& operator=(const image_scanner&) = delete;
  image_scanner(image_scanner&&) noexcept;
  image_scanner& operator=(image_scanner&&) noexcept;

  [[nodiscard]] const scan_options& options() const noexcept;

  /// Scans within a budget of options().max_scan, with no stop flag.
  [[nodiscard]] core::result<scan_result> scan(std::span<const std::uint8_t> bytes) noexcept;
  /// Scans within `budget` (made on this thread; options().max_scan is not applied).
  [[nodiscard]] core::result<scan_result> scan(std::span<const std::uint8_t> bytes,
                                               scan_budget& budget) noexcept;
  /// Scans within options().max_scan, ending early once `stop` reads true (may be null; must
  /// outlive the call): scan_cancelled.
  [[nodiscard]] core::result<scan_result> scan(std::span<const std::uint8_t> bytes,
                                               const std::atomic<bool>* stop) noexcept;

  /// Timings of the last call, also when it failed (stages not reached are zero).
  [[nodiscard]] const scan_timings& last_timings() const noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace hashguard::scanner
