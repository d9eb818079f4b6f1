// Container sniffing by magic bytes (video.hpp).
#include "hashguard/scanner/video.hpp"

#include <algorithm>
#include <cstring>

namespace hashguard::scanner {

namespace {

bool at(std::span<const std::uint8_t> bytes, std::size_t offset, std::string_view magic) noexcept {
  return bytes.size() >= offset + magic.size() &&
         std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

// ISO BMFF brands of still-image formats (HEIF, AVIF): images, not videos.
constexpr std::array<std::string_view, 8> image_brands{"heic", "heix", "heim", "heis",
                                                       "mif1", "msf1", "avif", "avis"};

bool is_mp4(std::span<const std::uint8_t> bytes) noexcept {
  if (at(bytes, 4, "ftyp")) {
    if (bytes.size() < 12) return false;
    const std::string_view brand(reinterpret_cast<const char*>(bytes.data() + 8), 4);
    return std::find(image_brands.begin(), image_brands.end(), brand) == image_brands.end();
  }
  // Old QuickTime files may start with another top-level atom.
  constexpr std::array<std::string_view, 6> atoms{"moov", "mdat", "free", "skip", "wide", "pnot"};
  return std::any_of(atoms.begin(), atoms.end(),
                     [&](std::string_view atom) { return at(bytes, 4, atom); });
}

bool is_mpeg_ts(std::span<const std::uint8_t> bytes) noexcept {
  constexpr std::size_t packet = 188;
  return bytes.size() > 2 * packet && bytes[0] == 0x47 && bytes[packet] == 0x47 &&
         bytes[2 * packet] == 0x47;
}

}  // namespace

core::result<video_container> sniff_video(std::span<const std::uint8_t> bytes) noexcept {
  if (bytes.empty()) return errc::empty;
  if (at(bytes, 0, "\x1A\x45\xDF\xA3")) return video_container::matroska;
  if (at(bytes, 0, "RIFF") && at(bytes, 8, "AVI ")) return video_container::avi;
  if (is_mp4(bytes)) return video_container::mp4;
  if (is_mpeg_ts(bytes)) return video_container::mpeg_ts;
  return errc::unsupported_format;
}

}  // namespace hashguard::scanner
