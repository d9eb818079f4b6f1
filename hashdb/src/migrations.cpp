#include "hashguard/hashdb/migrations.hpp"

#include "pg.hpp"

#include <array>

namespace hashguard::hashdb {
namespace {

constexpr std::array<std::string_view, 6> migration_sql{
#include "schema.sql.inc"
};

constexpr std::array<migration, 6> table{{
    {1, "lists_keys_audit", migration_sql[0]},
    {2, "case_store", migration_sql[1]},
    {3, "review_evidence", migration_sql[2]},
    {4, "statement_level_list_check", migration_sql[3]},
    {5, "decision_feed", migration_sql[4]},
    {6, "set_based_record_events", migration_sql[5]},
}};

// Any constant shared by every hashguard process: pg_advisory_xact_lock(key).
constexpr long long migrate_lock_key = 0x68675f6d6967LL;  // "hg_mig"

int current_version(pqxx::transaction_base& tx) {
  const auto exists = tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists[0].as<bool>()) return 0;
  return tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
}

}  // namespace

std::span<const migration> migrations() noexcept {
  return table;
}

core::result<migrate_report> migrate(connection& c) {
  return guarded(c, [](pqxx::connection& pc) {
    migrate_report report;
    pqxx::work tx(pc);
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", migrate_lock_key);
    report.from_version = current_version(tx);
    if (report.from_version > static_cast<int>(table.size())) {
      throw abort_with{errc::schema_too_new,
                       "database schema version " + std::to_string(report.from_version) +
                           " is newer than this binary's " + std::to_string(table.size())};
    }
    tx.exec0(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    for (const migration& m : table) {
      if (m.version <= report.from_version) continue;
      tx.exec(std::string(m.sql));
      tx.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                      std::string(m.name));
      report.applied.push_back(m.version);
    }
    tx.commit();
    report.to_version = static_cast<int>(table.size());
    return report;
  });
}

core::result<int> schema_version(connection& c) {
  return guarded(c, [](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    return current_version(tx);
  });
}

}  // namespace hashguard::hashdb
