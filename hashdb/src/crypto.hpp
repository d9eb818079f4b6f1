// SHA-256, HMAC-SHA-256 and random bytes through OpenSSL. Private to hashdb. (Hex text:
// core/hex.hpp.)
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace hashguard::hashdb::detail {

using digest256 = std::array<std::uint8_t, 32>;

digest256 sha256(std::string_view data);
/// HMAC-SHA-256 of `data` under a 32-byte key.
digest256 hmac_sha256(const std::array<std::uint8_t, 32>& key, std::string_view data);
/// Fills `out` from OpenSSL's CSPRNG; false when it fails.
bool random_bytes(std::uint8_t* out, std::size_t n);

}  // namespace hashguard::hashdb::detail
