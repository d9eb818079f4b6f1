// Decoded pixels as they reach the hashers.
//
// pixels: 8-bit samples, row-major, rows packed (stride = width * channels), channels 1 (grey)
// or 3 (R, G, B interleaved, in that order). Alpha never reaches a hasher: decoders drop it and
// keep the RGB stored under transparent pixels, as the PDQ reference does. EXIF orientation is
// not applied (the reference does not; dihedral matching covers rotations).
// pixels_view is a non-owning view of the same layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hashguard::scanner {

struct pixels_view {
  std::uint32_t width{};
  std::uint32_t height{};
  std::uint32_t channels{};            ///< 1 = grey, 3 = RGB
  std::span<const std::uint8_t> data;  ///< width * height * channels bytes

  [[nodiscard]] std::size_t size_bytes() const noexcept {
    return std::size_t{width} * height * channels;
  }
};

struct pixels {
  std::uint32_t width{};
  std::uint32_t height{};
  std::uint32_t channels{};
  std::vector<std::uint8_t> data;

  [[nodiscard]] pixels_view view() const noexcept { return {width, height, channels, data}; }
};

}  // namespace hashguard::scanner
