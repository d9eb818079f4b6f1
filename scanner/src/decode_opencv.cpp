// WebP, BMP and TIFF through OpenCV's imdecode: the only file that includes OpenCV, so its
// types and exceptions never leave this translation unit (every OpenCV call is inside the
// try block below).
#include "decode_internal.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <opencv2/core/utils/logger.hpp>

#include <cstring>
#include <exception>
#include <mutex>
#include <new>

namespace hashguard::scanner::detail {

namespace {

// OpenCV logs warnings (libtiff's complaints among them) to stderr by default; a library must
// not print. The level is OpenCV's process-wide setting, set once, before the first decode.
void silence_opencv_logging() {
  static std::once_flag once;
  std::call_once(once,
                 [] { cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT); });
}

// 16-bit to 8-bit as ImageMagick 6 (the reference's decoder) does: floor(v / 257). The PNG
// decoder does the same.
std::uint8_t to_8bit(std::uint16_t v) noexcept {
  return static_cast<std::uint8_t>(static_cast<unsigned>(v) / 257U);
}

// Copies an 8- or 16-bit Mat of 1-4 channels (OpenCV order: B, G, R, A) into RGB or grey,
// dropping alpha.
template <class Sample, class Convert>
void copy_pixels(const cv::Mat& mat, pixels& frame, Convert convert) {
  const int in_channels = mat.channels();
  const std::uint32_t out_channels = frame.channels;
  std::uint8_t* out = frame.data.data();
  for (int y = 0; y < mat.rows; ++y) {
    const auto* row = mat.ptr<Sample>(y);
    for (int x = 0; x < mat.cols; ++x) {
      const Sample* px = row + static_cast<std::ptrdiff_t>(x) * in_channels;
      if (out_channels == 1) {
        *out++ = convert(px[0]);
      } else {
        *out++ = convert(px[2]);
        *out++ = convert(px[1]);
        *out++ = convert(px[0]);
      }
    }
  }
}

std::uint32_t u16le(bytes_t b, std::size_t p) noexcept {
  return static_cast<std::uint32_t>(b[p]) | static_cast<std::uint32_t>(b[p + 1]) << 8;
}
std::uint32_t u32le(bytes_t b, std::size_t p) noexcept {
  return u16le(b, p) | u16le(b, p + 2) << 16;
}
bool fits(bytes_t b, std::uint64_t offset, std::uint64_t length) noexcept {
  return offset <= b.size() && length <= b.size() - offset;
}

// OpenCV 4.6's imdecode prints every decoder exception to std::cerr before returning an empty
// Mat, and a library must not print. So the data that the file's own structure says must be
// there is checked first, and a file that ends too early is reported as truncated without
// OpenCV seeing it. (Damage inside data that is present can still reach OpenCV's message.)
errc precheck_webp(bytes_t b) noexcept {
  // RIFF size covers everything after the first 8 bytes; the first chunk must be complete.
  if (!fits(b, 0, std::uint64_t{u32le(b, 4)} + 8)) return errc::truncated;
  if (!fits(b, 20, u32le(b, 16))) return errc::truncated;
  return {};
}

errc precheck_bmp(bytes_t b, const image_header& header) noexcept {
  if (!fits(b, 0, 30)) return errc::truncated;
  const std::uint32_t offset = u32le(b, 10);
  const std::uint32_t info_size = u32le(b, 14);
  if (!fits(b, 14, info_size) || !fits(b, 0, offset)) return errc::truncated;
  if (info_size < 40) return {};  // OS/2 headers: OpenCV checks those itself
  const std::uint32_t bits = u16le(b, 28);
  const std::uint32_t compression = u32le(b, 30);
  if (compression != 0 && compression != 3) return {};  // RLE: its length is in the data
  const std::uint64_t stride = (std::uint64_t{header.width} * bits + 31) / 32 * 4;
  if (!fits(b, offset, stride * header.height)) return errc::truncated;
  return {};
}

}  // namespace

core::result<void> decode_opencv(bytes_t bytes, const image_header& header, decoded_image& out) {
  if (header.animated) return errc::unsupported_format;  // OpenCV 4.6 reads still WebP only
  errc early{};
  switch (header.format) {
    case image_format::webp: early = precheck_webp(bytes); break;
    case image_format::bmp: early = precheck_bmp(bytes, header); break;
    case image_format::tiff: early = precheck_tiff(bytes, header); break;
    default: break;
  }
  if (early != errc{}) return early;
  silence_opencv_logging();
  try {
    // imdecode only reads the buffer; the Mat header wraps it without copying.
    const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8UC1,
                          const_cast<std::uint8_t*>(bytes.data()));
    const cv::Mat mat = cv::imdecode(encoded, cv::IMREAD_UNCHANGED);
    if (mat.empty()) return errc::corrupt;
    if (static_cast<std::uint32_t>(mat.cols) != header.width ||
        static_cast<std::uint32_t>(mat.rows) != header.height || mat.dims != 2) {
      return errc::corrupt;
    }
    const int channels = mat.channels();
    if (channels < 1 || channels > 4) return errc::corrupt;
    out.frames.resize(1);
    pixels& frame = out.frames.front();
    // 1 = grey, 2 = grey + alpha, 3 = BGR, 4 = BGRA.
    shape(frame, header.width, header.height, channels <= 2 ? 1 : 3);
    switch (mat.depth()) {
      case CV_8U: copy_pixels<std::uint8_t>(mat, frame, [](std::uint8_t v) { return v; }); break;
      case CV_16U: copy_pixels<std::uint16_t>(mat, frame, to_8bit); break;
      default: return errc::unsupported_format;  // float or signed samples
    }
    return {};
  } catch (const std::bad_alloc&) {
    return errc::out_of_memory;
  } catch (const cv::Exception& e) {
    return e.code == cv::Error::StsNoMem ? errc::out_of_memory : errc::corrupt;
  } catch (const std::exception&) {
    return errc::corrupt;
  }
}

}  // namespace hashguard::scanner::detail
