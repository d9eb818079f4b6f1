// The scanner's error codes (sniff, decode, scan). Every failure to turn bytes into hashes is
// one of these, as a value: no exception leaves the scanner.
//
// Stable code names (the `code` of the API's and the CLI's error objects) are the enumerator
// names: "empty", "truncated", "unsupported_format", "too_large", "too_many_pixels",
// "corrupt", "out_of_memory", "digest_failed", "scan_budget_exceeded", "scan_cancelled",
// "too_long", "too_many_frames", "too_many_streams", "decoder_crashed".
#pragma once

#include "hashguard/core/error.hpp"

namespace hashguard::scanner {

enum class errc {
  empty = 1,             ///< no input bytes at all
  truncated,             ///< the data ends before the header or the image data is complete
  unsupported_format,    ///< not JPEG, PNG, GIF, WebP, BMP or TIFF by its magic bytes, or a
                         ///< variant the decoders do not read (BigTIFF, animated WebP, ...)
  too_large,             ///< more input bytes than the byte cap (decode_limits::max_bytes)
  too_many_pixels,       ///< the header declares more pixels than the pixel cap, or more
                         ///< decoded bytes than decode_limits::max_decode_bytes; nothing was
                         ///< allocated for them
  corrupt,               ///< a malformed header, or image data the decoder cannot read
  out_of_memory,         ///< allocating the pixel buffers failed
  digest_failed,         ///< OpenSSL could not compute a digest (e.g. MD5 disabled by FIPS)
  scan_budget_exceeded,  ///< the scan spent its CPU budget (budget.hpp): the input costs more
                         ///< work than scan_options::max_scan allows
  scan_cancelled,        ///< the scan's owner raised its stop flag (budget.hpp) mid-scan
  too_long,              ///< a video declares or decodes to more than video_limits::max_duration_s
  too_many_frames,       ///< a video declares or decodes more frames than video_limits::max_frames
  too_many_streams,      ///< a video container holds more streams than video_limits::max_streams
  decoder_crashed,       ///< the sandboxed video decoder process died without an answer
};

const core::named_category& scanner_category() noexcept;
HG_DECLARE_ERRC(errc, scanner_category)

}  // namespace hashguard::scanner

HG_REGISTER_ERRC(hashguard::scanner::errc)
