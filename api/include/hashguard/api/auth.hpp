// Authentication: `Authorization: Bearer <key>`, keys held in memory as SHA-256 digests, each
// with exactly one role; per-key token-bucket rate limits.
//
// Keys are never stored, compared or logged in clear: the server hashes the presented key
// once, looks its digest up and compares candidates with CRYPTO_memcmp (constant time). The
// lookup narrows candidates by the digest's first 8 bytes; that reveals nothing usable, since
// finding a key whose SHA-256 shares a prefix with a stored digest means inverting SHA-256.
// Scanning never waits on the database to authenticate: the hashdb key store feeds
// key_registry::replace() at start and when keys change; config keys (the bootstrap admin key,
// test keys) are records like any other.
#pragma once

#include "hashguard/core/vocabulary.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hashguard::api {

using key_digest = std::array<std::uint8_t, 32>;

/// SHA-256 of the key's bytes.
[[nodiscard]] key_digest digest_key(std::string_view key);
/// A printable, non-secret id derived from a digest: "k_" + its first 6 bytes in hex.
[[nodiscard]] std::string key_id_of(const key_digest& digest);

struct key_record {
  key_digest digest{};
  std::string key_id;  ///< shown in logs and audit entries; never the key
  core::role role{core::role::ingest};
  /// Per-key rate limit (requests per second) and burst; 0 means "the limiter's default".
  double rate_per_s{0};
  double burst{0};
  /// What an admin granted the key beyond its role (none for config keys).
  core::capability_set capabilities{};
  /// The lists (names) a key of role exchange may read; empty for every other role.
  std::vector<std::string> lists{};
};

/// The "Bearer <key>" token of an Authorization value (scheme case-insensitive, one or more
/// spaces). nullopt when the scheme is not Bearer or the token is empty or has spaces.
[[nodiscard]] std::optional<std::string_view> bearer_token(std::string_view authorization);

/// An immutable set of keys. Thread-safe (read-only).
class key_set {
 public:
  key_set() = default;
  explicit key_set(std::vector<key_record> records);
  /// The record whose digest equals `digest`, or null.
  [[nodiscard]] const key_record* find(const key_digest& digest) const;
  [[nodiscard]] std::size_t size() const noexcept { return records_.size(); }

 private:
  std::vector<key_record> records_;
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> by_prefix_;
};

/// The keys the server authenticates against. replace() publishes a new set atomically;
/// authenticate() keeps using the set it loaded. Thread-safe.
class key_registry {
 public:
  key_registry();
  void replace(std::vector<key_record> records);
  /// Adds records to the current set (a key with the same digest is replaced).
  void add(std::vector<key_record> records);
  /// The record of a presented key (hashed here), or nullopt.
  [[nodiscard]] std::optional<key_record> authenticate(std::string_view presented_key) const;
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] std::vector<key_record> records() const;

 private:
  std::shared_ptr<const std::vector<key_record>> records_;
  std::shared_ptr<const key_set> set_;
  mutable std::mutex mu_;  // guards the two pointers; readers copy them and release
};

/// Token buckets per key id. A bucket holds up to `burst` tokens, refills at `rate_per_s`, and
/// each request takes one. rate 0 (after defaults) disables limiting. Thread-safe.
class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;
  struct decision {
    bool allowed{true};
    int retry_after_s{0};  ///< whole seconds until a token is back (>= 1) when refused
  };

  rate_limiter(double default_rate_per_s, double default_burst);
  /// Takes a token for `key`. rate/burst of 0 use the defaults; a burst below 1 is 1.
  [[nodiscard]] decision take(std::string_view key_id, double rate_per_s, double burst,
                              clock::time_point now = clock::now());

 private:
  struct bucket {
    double tokens{0};
    clock::time_point last{};
  };
  double default_rate_;
  double default_burst_;
  std::mutex mu_;
  std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace hashguard::api
