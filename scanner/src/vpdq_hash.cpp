// hash_video (vpdq.hpp): the one place the scanner decodes a video in process. It lives in
// hg::scanner_video with the FFmpeg decoder, apart from hg::scanner, so that only the sandboxed
// hashguard-video-worker and the tests link FFmpeg; the hashguard binary never loads it.
#include "hashguard/scanner/pdq.hpp"
#include "hashguard/scanner/vpdq.hpp"

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

}  // namespace hashguard::scanner
