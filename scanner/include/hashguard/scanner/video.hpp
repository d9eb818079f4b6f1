// Video: sniffing the container by its magic bytes, and decoding frames with FFmpeg's
// libraries (libavformat, libavcodec, libswscale; Debian 12's 5.1). No FFmpeg type appears
// here: callers see the scanner's own types.
//
// Containers (magic bytes only; a Content-Type or file name is never consulted):
//   mp4       ISO BMFF / QuickTime: "ftyp" at offset 4 (HEIF/AVIF image brands excluded: those
//             are images), or an old QuickTime file starting with a moov, mdat, free, skip,
//             wide or pnot atom
//   matroska  Matroska and WebM: the EBML magic 1A 45 DF A3
//   avi       "RIFF" size "AVI " (RIFF "WEBP", animated WebP included, stays with the images)
//   mpeg_ts   0x47 sync bytes at 0, 188 and 376 (plain 188-byte transport streams; 192-byte
//             M2TS is not read)
// Everything else is errc::unsupported_format. The sniffed container picks the demuxer: FFmpeg
// never probes, and the decoder only ever runs the mov, matroska, avi and mpegts demuxers and
// the codecs in video_codec_names (others: unsupported_format).
//
// What the decoder reproduces (the vPDQ reference, ThreatExchange vpdq/cpp filehasher.cpp): the
// first video stream; its frame rate is avg_frame_rate, else r_frame_rate; every frame is
// decoded in order and numbered from 0 in the order the decoder returns it (the codec's
// frame_number - 1); a frame that is sampled is converted by swscale (SWS_AREA) from the
// decoder's pixel format to RGB24 at the stream's size (or the sampling's downsample size).
// Sampling: with seconds_per_hash s > 0, the frames whose number is a multiple of
// max(1, int(s x frame rate)) (truncated: every 29th frame at 29.97 fps and s = 1); s = 0
// samples every frame. One difference: the reference flushes the decoder's delayed frames only
// when the video is the container's stream 0 (its flush packet is a blank packet, whose stream
// index is 0); here the decoder is always flushed, so a video in another stream keeps its last
// frames.
//
// Limits (video_limits), each checked before the work it bounds:
//   max_bytes         before anything is read (too_large)
//   max_streams       while the demuxer reads the header: FFmpeg's own cap stops it creating
//                     more streams (too_many_streams)
//   max_pixels        per frame: the stream header's size before any decoder is opened, and the
//                     decoders' own max_pixels (also while probing) (too_many_pixels)
//   max_duration_s    the container's and the stream's declared duration after the header,
//                     then each decoded frame's timestamp (too_long)
//   max_frames        the stream's declared frame count after the header, then each frame
//                     before it is decoded (too_many_frames)
//   max_total_pixels  declared frames x frame size after the header, then before each packet
//                     is decoded: the pixels decoded so far plus one more frame (too_many_pixels)
//   CPU               the scan_budget, checked before each packet and each frame conversion
//                     (scan_budget_exceeded, scan_cancelled). One FFmpeg call is the
//                     granularity; the sandboxed worker's RLIMIT_CPU is the backstop.
// A header the demuxer cannot read (truncated file, corrupt moov) is corrupt or truncated; a
// video without a video stream, or in a codec outside the list, unsupported_format.
//
// Threads: the decoder runs FFmpeg single-threaded (one thread's CPU time is what the budget
// measures; H.264 output does not depend on the thread count).
// Thread-safety: free functions, reentrant; nothing is shared between calls except FFmpeg's
// log level (set to quiet once, on first use).
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/scanner/budget.hpp"
#include "hashguard/scanner/errc.hpp"
#include "hashguard/scanner/image.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace hashguard::scanner {

enum class video_container : std::uint8_t { mp4, matroska, avi, mpeg_ts };
inline constexpr std::array<std::string_view, 4> video_container_names{"mp4", "matroska", "avi",
                                                                       "mpeg_ts"};
[[nodiscard]] constexpr std::string_view to_string(video_container c) noexcept {
  return video_container_names[static_cast<std::size_t>(c)];
}

/// The codecs the decoder opens (FFmpeg decoder names); any other is unsupported_format.
inline constexpr std::array<std::string_view, 9> video_codec_names{
    "h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "mpeg1video", "mjpeg"};

/// The container named by the leading magic bytes (see above). Needs at least 12 bytes (MPEG-TS:
/// 377). Errors: empty, unsupported_format (also for a prefix too short to tell). Pure.
[[nodiscard]] core::result<video_container> sniff_video(
    std::span<const std::uint8_t> bytes) noexcept;

struct video_limits {
  std::size_t max_bytes{512U << 20U};               ///< 512 MiB
  std::uint32_t max_streams{32};                    ///< streams of any kind in the container
  std::uint64_t max_pixels{16'777'216};             ///< per frame (4096 x 4096)
  double max_duration_s{3600.0};                    ///< declared or decoded, seconds
  std::uint64_t max_frames{216'000};                ///< one hour at 60 frames per second
  std::uint64_t max_total_pixels{250'000'000'000};  ///< about an hour of 1080p at 30 fps
};

/// Which frames are converted to RGB (all are decoded), and at what size.
struct video_sampling {
  /// 0 = every frame; otherwise every max(1, int(seconds_per_hash x frame rate))-th frame.
  double seconds_per_hash{1.0};
  /// 0 = the stream's own size; otherwise frames are scaled to width x height (both > 0).
  std::uint32_t width{};
  std::uint32_t height{};
};

struct video_info {
  video_container container{};
  std::string codec;      ///< FFmpeg's decoder name, one of video_codec_names
  std::uint32_t width{};  ///< the stream header's frame size
  std::uint32_t height{};
  double frame_rate{};           ///< avg_frame_rate, else r_frame_rate (frames per second)
  double declared_duration_s{};  ///< the container's claim (0 when it states none)
  std::uint64_t frames_decoded{};
  std::uint64_t frames_sampled{};
  /// The sampling step in frames (1 = every frame).
  std::uint64_t frame_step{1};
  /// The decoder rejected some packets (damaged data); the frames it could decode are there.
  bool damaged{};
};

/// One sampled frame, as the sink sees it. `rgb` is valid only during the call.
struct video_frame {
  std::uint64_t number{};  ///< 0-based, in decoder output order
  pixels_view rgb;         ///< packed RGB24 at the sampling size
};

/// Called for each sampled frame in order; an error it returns ends the decode with that error.
using video_frame_sink = std::function<core::result<void>(const video_frame&)>;

/// Decodes `bytes` (a whole file in memory), calling `sink` for every sampled frame.
/// Errors: scanner::errc as the header comment says; never throws.
[[nodiscard]] core::result<video_info> decode_video(std::span<const std::uint8_t> bytes,
                                                    const video_sampling& sampling,
                                                    const video_limits& limits, scan_budget& budget,
                                                    const video_frame_sink& sink) noexcept;

}  // namespace hashguard::scanner
