#include "hashguard/hashdb/audit.hpp"

#include "audit_internal.hpp"
#include "crypto.hpp"
#include "pg.hpp"

#include "hashguard/core/hex.hpp"

#include <cstring>
#include <map>

namespace hashguard::hashdb {
namespace {

constexpr long long audit_lock_key = 0x68675f617564LL;  // "hg_aud"

void put_field(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ';';
}

detail::digest256 row_hash(const detail::digest256& prev, std::int64_t at_us,
                           std::string_view actor, std::string_view action,
                           std::string_view subject, std::string_view detail_text) {
  std::string canonical(reinterpret_cast<const char*>(prev.data()), prev.size());
  put_field(canonical, std::to_string(at_us));
  put_field(canonical, actor);
  put_field(canonical, action);
  put_field(canonical, subject);
  put_field(canonical, detail_text);
  return detail::sha256(canonical);
}

detail::digest256 from_bytea(const pqxx::field& f) {
  detail::digest256 out{};
  pqxx::binarystring b(f);
  if (b.size() == out.size()) std::memcpy(out.data(), b.data(), out.size());
  return out;
}

std::string hex_of(const detail::digest256& d) {
  return core::to_hex(d);
}

}  // namespace

namespace detail {

std::int64_t audit_append(pqxx::transaction_base& tx, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail_text) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", audit_lock_key);
  digest256 prev{};
  auto last = tx.exec("SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1");
  if (!last.empty()) prev = from_bytea(last[0][0]);
  const auto row = tx.exec1(
      "SELECT nextval('audit_log_id_seq'),"
      " (extract(epoch FROM clock_timestamp()) * 1000000)::bigint");
  const auto id = row[0].as<std::int64_t>();
  const auto at_us = row[1].as<std::int64_t>();
  const digest256 h = row_hash(prev, at_us, actor, action, subject, detail_text);
  tx.exec_params0(
      "INSERT INTO audit_log (id, at, actor, action, subject, detail, prev_hash, row_hash)"
      " VALUES ($1, 'epoch'::timestamptz + $2 * interval '1 microsecond', $3, $4, $5, $6,"
      "         decode($7, 'hex'), decode($8, 'hex'))",
      id, at_us, std::string(actor), std::string(action), std::string(subject),
      std::string(detail_text), core::to_hex(prev), core::to_hex(h));
  return id;
}

}  // namespace detail

core::result<std::int64_t> audit_log::append(std::string_view actor, std::string_view action,
                                             std::string_view subject, std::string_view detail) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    const auto id = detail::audit_append(tx, actor, action, subject, detail);
    tx.commit();
    return id;
  });
}

core::result<std::vector<audit_entry>> audit_log::recent(std::size_t limit,
                                                         std::optional<std::int64_t> before_id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    conn_.impl().prepare(
        "audit_recent",
        "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor,"
        " action, subject, detail, encode(row_hash, 'hex') FROM audit_log"
        " WHERE id < $1 ORDER BY id DESC LIMIT $2");
    pqxx::read_transaction tx(pc);
    std::vector<audit_entry> out;
    const auto rows = tx.exec_prepared("audit_recent", before_id.value_or(INT64_MAX),
                                       static_cast<std::int64_t>(limit));
    for (const auto& r : rows) {
      out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                     r[6].as<std::string>()});
    }
    return out;
  });
}

core::result<audit_verify_report> audit_log::verify() {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    // Every row's hash -> id, to tell a deleted predecessor from a misplaced one.
    std::map<detail::digest256, std::int64_t> ids_by_hash;
    for (const auto& r : tx.exec("SELECT id, row_hash FROM audit_log")) {
      ids_by_hash.emplace(from_bytea(r[1]), r[0].as<std::int64_t>());
    }
    audit_verify_report report;
    detail::digest256 expected_prev{};
    const auto all = tx.exec(
        "SELECT id, (extract(epoch FROM at) * 1000000)::bigint, actor, action, subject, detail,"
        " prev_hash, row_hash FROM audit_log ORDER BY id");
    for (const auto& r : all) {
      const auto id = r[0].as<std::int64_t>();
      const detail::digest256 prev = from_bytea(r[6]);
      const detail::digest256 stored = from_bytea(r[7]);
      ++report.rows;
      report.head_id = id;
      report.head_hash = hex_of(stored);
      if (!report.ok) continue;
      const detail::digest256 computed = row_hash(prev, r[1].as<std::int64_t>(), r[2].c_str(),
                                                  r[3].c_str(), r[4].c_str(), r[5].c_str());
      if (computed != stored) {
        report.ok = false;
        report.first_bad = id;
        report.problem = "edited";
      } else if (prev != expected_prev) {
        report.ok = false;
        report.first_bad = id;
        report.problem = ids_by_hash.contains(prev) ? "reordered" : "deleted";
      }
      expected_prev = stored;
    }
    return report;
  });
}

}  // namespace hashguard::hashdb
