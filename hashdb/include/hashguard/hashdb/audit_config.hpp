// Where the audit chain's keys come from, and the published head file.
//
// Configuration (declare_audit_config):
//   audit.key                 secret, 64 hex: the current key (new rows are keyed with it)
//   audit.key_file            a file holding the key as 64 hex (so the secret need not be on a
//                             command line): core::config's companion of every secret, read
//                             into audit.key by config::resolve_secret_files (setting both is
//                             its error, config_bad_value)
//   audit.key_id              the current key's id, stored in every row it keys ("k1")
//   audit.previous_keys       secret, "id:hex,id:hex": earlier keys, for verify after a rotation
//   audit.head_file           where serve publishes the head; empty = DATA_DIR/audit-head.json
//   audit.publish_interval_s  how often serve publishes the head (0 = never)
// With neither audit.key nor audit.key_file, the key is DATA_DIR/audit.key, created (32 random
// bytes as hex, mode 0600, atomically: two processes starting at once agree on one key) on
// first use; its id is "auto-" and the first 8 hex of the key's SHA-256. When a key is
// configured and that generated file exists, its key is accepted for verification too (rows
// written before the operator configured a key stay verifiable). A cluster of several nodes
// must configure one shared key: each node would otherwise generate its own.
//
// The head file is one JSON object, {"id", "hash", "at"} (audit_head), written atomically
// (a temporary file in the same directory, fsync, rename) with mode 0600, for an operator to
// ship to write-once storage; verify checks the log against it.
//
// All functions are thread-safe (no shared state); errors are values.
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/hashdb/audit.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

/// A key id: 1..64 of [A-Za-z0-9._-]. Else errc::invalid_argument.
[[nodiscard]] core::result<audit_key> parse_audit_key(std::string_view id, std::string_view hex);
/// "id:hex,id:hex" (empty: none). errc::invalid_argument for a malformed entry.
[[nodiscard]] core::result<std::vector<audit_key>> parse_audit_keys(std::string_view list);

void declare_audit_config(core::config& c);

struct audit_settings {
  std::string key_hex;              ///< audit.key, or audit.key_file's contents (empty: neither)
  std::string key_id;               ///< audit.key_id
  std::vector<audit_key> previous;  ///< audit.previous_keys
  std::filesystem::path generated_key;  ///< DATA_DIR/audit.key
  std::filesystem::path head_file;      ///< resolved (never empty)
  std::chrono::seconds publish_interval{};
};

/// Reads and checks the keys declare_audit_config declared (no file is touched).
/// audit.key_file must already be resolved into audit.key (config::resolve_secret_files).
/// errc::invalid_argument: a malformed key, id or list, an interval outside 0..86400.
[[nodiscard]] core::result<audit_settings> read_audit_settings(
    const core::config& c, const std::filesystem::path& data_dir);

struct loaded_audit_keys {
  std::shared_ptr<const audit_keyring> keys;
  bool generated{false};  ///< the generated key file was created now
};

/// The keyring the settings name: audit.key (or audit.key_file's contents), else the
/// generated key file (created when absent). errc::io_error when a file cannot be read or written,
/// errc::invalid_argument when a file does not hold 64 hex characters or two keys share an id.
[[nodiscard]] core::result<loaded_audit_keys> load_audit_keys(const audit_settings& s);

/// The head as the file holds it: {"id":N,"hash":"...","at":"..."} and a newline.
[[nodiscard]] std::string audit_head_json(const audit_head& h);
/// Writes the head file atomically, mode 0600. errc::io_error.
[[nodiscard]] core::result<void> write_audit_head(const std::filesystem::path& file,
                                                  const audit_head& h);
/// nullopt when the file does not exist; errc::io_error when it cannot be read,
/// errc::invalid_argument when it is not a head.
[[nodiscard]] core::result<std::optional<audit_head>> read_audit_head(
    const std::filesystem::path& file);

}  // namespace hashguard::hashdb
