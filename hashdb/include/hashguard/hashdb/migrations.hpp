// Numbered schema migrations, embedded in the binary from hashdb/sql/NNNN_name.sql
// (one file per migration; never edit a shipped one, add a new file).
//
// migrate() brings a database to the newest schema this binary knows: it takes a
// transaction-scoped advisory lock (so concurrent starters apply each migration once), creates
// schema_migrations when missing, applies every migration newer than the recorded version in
// one transaction, and records each. Running it again changes nothing. A database that has a
// migration this binary does not know is refused (errc::schema_too_new).
#pragma once

#include "hashguard/hashdb/database.hpp"

#include <span>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// Every migration, version 1.. in order.
[[nodiscard]] std::span<const migration> migrations() noexcept;

struct migrate_report {
  int from_version{};
  int to_version{};
  std::vector<int> applied;  ///< versions applied by this call (empty when up to date)
};

[[nodiscard]] core::result<migrate_report> migrate(connection& c);

/// The newest applied migration; 0 for an empty database.
[[nodiscard]] core::result<int> schema_version(connection& c);

}  // namespace hashguard::hashdb
