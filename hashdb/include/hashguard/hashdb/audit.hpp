// The audit log (table audit_log): append-only, hash-chained.
//
// Each row holds prev_hash (the row_hash of the row before it; 32 zero bytes for the first)
// and row_hash = SHA-256(prev_hash || the row's fields: time in microseconds, actor, action,
// subject, detail, each length-prefixed). Appends are serialised by an advisory lock, so the
// chain is linear even with many writers. A trigger refuses UPDATE, DELETE and TRUNCATE; the
// chain catches what someone with the power to bypass the trigger does:
//   edited     a row's fields no longer hash to its row_hash
//   deleted    a row's prev_hash names no row in the log (the row before it is gone)
//   reordered  a row's prev_hash names a row that is not the one before it
// (Removing the newest rows leaves a shorter valid chain: compare verify()'s head with a copy
// kept elsewhere to detect that.)
#pragma once

#include "hashguard/hashdb/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct audit_entry {
  std::int64_t id{};
  std::string at;  ///< ISO 8601 UTC with microseconds
  std::string actor;
  std::string action;
  std::string subject;
  std::string detail;
  std::string row_hash;  ///< hex
};

struct audit_verify_report {
  bool ok{true};
  std::uint64_t rows{};                   ///< rows checked
  std::optional<std::int64_t> first_bad;  ///< id of the first row whose check failed
  std::string problem;                    ///< "edited", "deleted" or "reordered"
  std::optional<std::int64_t> head_id;    ///< the newest row
  std::string head_hash;                  ///< its row_hash (hex)
};

class audit_log {
 public:
  explicit audit_log(connection& c) noexcept : conn_(c) {}

  /// Appends one row in its own transaction; returns its id.
  [[nodiscard]] core::result<std::int64_t> append(std::string_view actor, std::string_view action,
                                                  std::string_view subject,
                                                  std::string_view detail);
  /// The newest rows first; `before_id` pages backwards.
  [[nodiscard]] core::result<std::vector<audit_entry>> recent(
      std::size_t limit, std::optional<std::int64_t> before_id = std::nullopt);
  /// Walks the whole chain in id order.
  [[nodiscard]] core::result<audit_verify_report> verify();

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
