// Exact digests of the input bytes (MD5, SHA-1, SHA-256), as the hash lists carry them.
// Computed with OpenSSL's EVP interface over the bytes as received (not the decoded pixels).
//
// digester keeps OpenSSL's fetched algorithms and a context for reuse; it is not thread-safe
// (one per thread). The free function digest() is thread-safe and makes a temporary one.
// Errors: errc::digest_failed when OpenSSL refuses (an algorithm disabled by its
// configuration, e.g. MD5 under a FIPS provider).
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/scanner/errc.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace hashguard::scanner {

struct digests {
  std::array<std::uint8_t, 16> md5{};
  std::array<std::uint8_t, 20> sha1{};
  std::array<std::uint8_t, 32> sha256{};

  friend bool operator==(const digests&, const digests&) = default;
};

class digester {
 public:
  digester();
  ~digester();
  digester(const digester&) = delete;
  digester& operator=(const digester&) = delete;
  digester(digester&&) noexcept;
  digester& operator=(digester&&) noexcept;

  [[nodiscard]] core::result<digests> digest(std::span<const std::uint8_t> bytes) noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

[[nodiscard]] core::result<digests> digest(std::span<const std::uint8_t> bytes) noexcept;

}  // namespace hashguard::scanner
