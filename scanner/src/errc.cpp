#include "hashguard/scanner/errc.hpp"

namespace hashguard::scanner {

namespace {

class scanner_category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.scanner"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::empty: return "the input is empty";
      case errc::truncated: return "the image data ends before it is complete";
      case errc::unsupported_format:
        return "not a supported image format (JPEG, PNG, GIF, WebP, BMP, TIFF)";
      case errc::too_large: return "the input is larger than the byte limit";
      case errc::too_many_pixels:
        return "the image has more pixels than the pixel limit, or more decoded bytes than the "
               "decode byte limit";
      case errc::corrupt: return "the image data is malformed and cannot be decoded";
      case errc::out_of_memory: return "not enough memory to decode the image";
      case errc::digest_failed: return "the digest library failed";
      case errc::scan_budget_exceeded:
        return "the image needs more CPU time to scan than the scan budget allows";
      case errc::scan_cancelled: return "the scan was stopped (the server is shutting down)";
      case errc::too_long: return "the video is longer than the duration limit";
      case errc::too_many_frames: return "the video has more frames than the frame limit";
      case errc::too_many_streams: return "the video container has more streams than the limit";
      case errc::decoder_crashed:
        return "the sandboxed video decoder died on this input (a crash or a sandbox limit)";
    }
    return "unknown scanner error";
  }
  const char* code_name(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::empty: return "empty";
      case errc::truncated: return "truncated";
      case errc::unsupported_format: return "unsupported_format";
      case errc::too_large: return "too_large";
      case errc::too_many_pixels: return "too_many_pixels";
      case errc::corrupt: return "corrupt";
      case errc::out_of_memory: return "out_of_memory";
      case errc::digest_failed: return "digest_failed";
      case errc::scan_budget_exceeded: return "scan_budget_exceeded";
      case errc::scan_cancelled: return "scan_cancelled";
      case errc::too_long: return "too_long";
      case errc::too_many_frames: return "too_many_frames";
      case errc::too_many_streams: return "too_many_streams";
      case errc::decoder_crashed: return "decoder_crashed";
    }
    return "unknown";
  }
};

}  // namespace

const core::named_category& scanner_category() noexcept {
  static const scanner_category_impl instance;
  return instance;
}

}  // namespace hashguard::scanner
