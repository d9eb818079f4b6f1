#include "hashguard/core/checksum.hpp"

#include <array>

namespace hashguard::core {
namespace detail {
namespace {

constexpr std::uint32_t polynomial = 0x82F63B78U;  // CRC-32C, reflected

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1U) != 0 ? (c >> 1) ^ polynomial : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto table = make_table();

std::uint32_t update_portable(std::uint32_t crc, const std::byte* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    crc = table[(crc ^ static_cast<std::uint8_t>(p[i])) & 0xFFU] ^ (crc >> 8);
  }
  return crc;
}

std::uint64_t pack(const std::uint32_t lanes[3]) noexcept {
  // Lane 1 in the low half; lanes 0 and 2 share the high half, lane 2 rotated so that equal
  // lanes do not cancel. For fixed other lanes the value is a bijection of each lane.
  const std::uint32_t c = (lanes[2] << 16) | (lanes[2] >> 16);
  return (std::uint64_t{lanes[0] ^ c} << 32) | lanes[1];
}

}  // namespace

bool has_sse42() noexcept {
  static const bool yes = __builtin_cpu_supports("sse4.2") != 0;
  return yes;
}

std::uint32_t crc32c_update(std::uint32_t crc, std::span<const std::byte> bytes,
                            bool hardware) noexcept {
  return hardware ? crc32c_update_sse42(crc, bytes.data(), bytes.size())
                  : update_portable(crc, bytes.data(), bytes.size());
}

std::uint64_t checksum64(std::span<const std::byte> bytes, bool hardware) noexcept {
  std::uint32_t lanes[3] = {0xFFFFFFFFU, 0xFFFFFFFFU, 0xFFFFFFFFU};
  const std::size_t words = bytes.size() / 8;
  if (hardware) {
    crc32c_lanes_sse42(bytes.data(), words, lanes);
  } else {
    for (std::size_t i = 0; i < words; ++i) {
      lanes[i % 3] = update_portable(lanes[i % 3], bytes.data() + 8 * i, 8);
    }
  }
  lanes[0] = crc32c_update(lanes[0], bytes.subspan(8 * words), hardware);
  for (auto& l : lanes) l = ~l;
  return pack(lanes) ^ (std::uint64_t{bytes.size()} * 0x9E3779B97F4A7C15ULL);
}

}  // namespace detail

std::uint32_t crc32c(std::span<const std::byte> bytes) noexcept {
  return ~detail::crc32c_update(0xFFFFFFFFU, bytes, detail::has_sse42());
}

std::uint64_t checksum64(std::span<const std::byte> bytes) noexcept {
  return detail::checksum64(bytes, detail::has_sse42());
}

}  // namespace hashguard::core
