#include "hashguard/core/checksum.hpp"

#include "hg_catch.hpp"

#include <random>
#include <string_view>
#include <vector>

using namespace hashguard::core;

namespace {
std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}
std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng() & 0xFFU);
  return v;
}
}  // namespace

TEST_CASE("crc32c: the standard check values") {
  CHECK(crc32c(bytes_of("123456789")) == 0xE3069283U);
  CHECK(crc32c(bytes_of("")) == 0U);
  // RFC 3720 (iSCSI) appendix B.4: 32 bytes of zeros, of 0xFF.
  const std::vector<std::byte> zeros(32, std::byte{0});
  const std::vector<std::byte> ones(32, std::byte{0xFF});
  CHECK(crc32c(zeros) == 0x8A9136AAU);
  CHECK(crc32c(ones) == 0x62A8AB43U);
}

TEST_CASE("crc32c and checksum64: the SSE4.2 and table paths agree at awkward sizes") {
  if (!detail::has_sse42()) {
    WARN("this CPU has no SSE4.2: only the table path runs");
    return;
  }
  const auto data = random_bytes(4099, 3);
  for (std::size_t n : std::vector<std::size_t>{0, 1, 7, 8, 9, 16, 23, 24, 25, 31, 33, 47, 48, 49,
                                                1000, 4096, 4099}) {
    const std::span<const std::byte> s(data.data(), n);
    INFO("size " << n);
    CHECK(detail::crc32c_update(0xFFFFFFFFU, s, true) ==
          detail::crc32c_update(0xFFFFFFFFU, s, false));
    CHECK(detail::checksum64(s, true) == detail::checksum64(s, false));
  }
}

TEST_CASE("checksum64: a flipped bit anywhere, a cut or a longer buffer changes it") {
  auto data = random_bytes(1031, 9);
  const auto base = checksum64(data);
  for (std::size_t at = 0; at < data.size(); ++at) {
    for (unsigned bit : {0U, 5U}) {
      data[at] ^= static_cast<std::byte>(1U << bit);
      CHECK(checksum64(data) != base);
      data[at] ^= static_cast<std::byte>(1U << bit);
    }
  }
  CHECK(checksum64(data) == base);
  CHECK(checksum64(std::span<const std::byte>(data.data(), data.size() - 1)) != base);
  data.push_back(std::byte{0});
  CHECK(checksum64(data) != base);
  // Zeros of different lengths differ too (the length is part of it).
  const std::vector<std::byte> z1(64, std::byte{0});
  const std::vector<std::byte> z2(72, std::byte{0});
  CHECK(checksum64(z1) != checksum64(z2));
}
