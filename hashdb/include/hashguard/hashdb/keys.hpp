// API keys (table api_keys). Only the SHA-256 of a key is stored; the key itself is shown once,
// when it is created. Each key has exactly one role (no role inherits another) and the
// capabilities an admin granted it (core::capability; none by default).
//
// Key text: "hg_" followed by 43 base64url characters (32 random bytes from OpenSSL). The
// first 11 characters are kept as a non-secret prefix for listings.
#pragma once

#include "hashguard/core/vocabulary.hpp"
#include "hashguard/hashdb/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hashguard::hashdb {

struct api_key_info {
  std::int64_t id{};
  std::string name;
  core::role role{core::role::ingest};
  std::string prefix;  ///< "hg_XXXXXXXX": enough to recognise a key, useless to use one
  std::string created_at;
  std::optional<std::string> revoked_at;
  core::capability_set capabilities;  ///< names the server does not know are ignored
  /// The lists (names) a key of role exchange may read the change feed of; empty for every
  /// other role (the database checks both ways).
  std::vector<std::string> lists{};
};

struct new_api_key {
  api_key_info info;
  std::string secret;  ///< the key; not stored anywhere
};

/// Lowercase hex SHA-256 of a key's text (what api_keys.key_sha256 holds, and what a
/// bootstrap key from config is compared by).
[[nodiscard]] std::string key_digest(std::string_view secret);

/// A fresh random key text (no database involved).
[[nodiscard]] std::string generate_key_secret();

class key_store {
 public:
  explicit key_store(connection& c) noexcept : conn_(c) {}

  /// errc::invalid_argument for an empty or over-long name, a role exchange without lists or
  /// another role with some (each list name must be [A-Za-z0-9][A-Za-z0-9._-]{0,63}; a list
  /// need not exist yet).
  [[nodiscard]] core::result<new_api_key> create(std::string_view name, core::role role,
                                                 core::capability_set capabilities = {},
                                                 std::vector<std::string> lists = {});
  /// Every key, revoked ones included, by id.
  [[nodiscard]] core::result<std::vector<api_key_info>> list();
  /// Revokes a key (idempotent). errc::not_found when no key has that id.
  [[nodiscard]] core::result<api_key_info> revoke(std::int64_t id);
  /// Every unrevoked key with the lowercase hex SHA-256 of its text, by id: what a server
  /// loads into its in-memory key registry (the digests are not secrets; the keys are).
  [[nodiscard]] core::result<std::vector<std::pair<api_key_info, std::string>>> live_digests();
  /// The live key whose text is `secret`. errc::not_found when unknown or revoked.
  [[nodiscard]] core::result<api_key_info> authenticate(std::string_view secret);

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
