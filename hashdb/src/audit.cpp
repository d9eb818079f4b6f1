#include "hashguard/hashdb/audit.hpp"

#include "audit_internal.hpp"
#include "crypto.hpp"
#include "pg.hpp"

#include "hashguard/core/hex.hpp"

#include <cstring>

namespace hashguard::hashdb {
namespace {

constexpr long long audit_lock_key = 0x68675f617564LL;  // "hg_aud"
// verify reads this many rows per statement: memory stays bounded whatever the log's size.
constexpr std::int64_t verify_page_rows = 1000;

void put_field(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += ';';
}

struct row_fields {
  std::int64_t id{};
  std::int64_t at_us{};
  std::string_view actor;
  std::string_view action;
  std::string_view subject;
  std::string_view detail;
};

// Rows written before the chain was keyed: the id is not covered (kept as it was, so they
// verify as they did).
detail::digest256 legacy_hash(const detail::digest256& prev, const row_fields& f) {
  std::string canonical(reinterpret_cast<const char*>(prev.data()), prev.size());
  put_field(canonical, std::to_string(f.at_us));
  put_field(canonical, f.actor);
  put_field(canonical, f.action);
  put_field(canonical, f.subject);
  put_field(canonical, f.detail);
  return detail::sha256(canonical);
}

// The id and the key id are covered too: a row moved to another id, or relabelled with
// another key, no longer verifies.
detail::digest256 keyed_hash(const audit_key& key, const detail::digest256& prev,
                             const row_fields& f) {
  std::string canonical = "hg-audit-v2";
  canonical.append(reinterpret_cast<const char*>(prev.data()), prev.size());
  put_field(canonical, std::to_string(f.id));
  put_field(canonical, key.id);
  put_field(canonical, std::to_string(f.at_us));
  put_field(canonical, f.actor);
  put_field(canonical, f.action);
  put_field(canonical, f.subject);
  put_field(canonical, f.detail);
  return detail::hmac_sha256(key.bytes, canonical);
}

detail::digest256 from_bytea(const pqxx::field& f) {
  detail::digest256 out{};
  pqxx::binarystring b(f);
  if (b.size() == out.size()) std::memcpy(out.data(), b.data(), out.size());
  return out;
}

const char* const utc_text = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

}  // namespace

const audit_key* audit_keyring::find(std::string_view id) const noexcept {
  if (current.id == id) return &current;
  for (const auto& k : previous) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

namespace detail {

std::int64_t audit_append(pqxx::transaction_base& tx, std::string_view actor,
                          std::string_view action, std::string_view subject,
                          std::string_view detail_text) {
  const connection_impl* owner = owner_of(tx.conn());
  if (owner == nullptr || !owner->audit_keys) {
    throw abort_with{errc::audit_key_missing, "no audit key configured on this connection"};
  }
  const audit_key& key = owner->audit_keys->current;
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", audit_lock_key);
  digest256 prev{};
  auto last = tx.exec("SELECT row_hash FROM audit_log ORDER BY id DESC LIMIT 1");
  if (!last.empty()) prev = from_bytea(last[0][0]);
  const auto row = tx.exec1(
      "SELECT nextval('audit_log_id_seq'),"
      " (extract(epoch FROM clock_timestamp()) * 1000000)::bigint");
  const row_fields f{
      row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), actor, action, subject, detail_text};
  const digest256 h = keyed_hash(key, prev, f);
  tx.exec_params0(
      "INSERT INTO audit_log (id, at, actor, action, subject, detail, prev_hash, row_hash,"
      " key_id)"
      " VALUES ($1, 'epoch'::timestamptz + $2 * interval '1 microsecond', $3, $4, $5, $6,"
      "         decode($7, 'hex'), decode($8, 'hex'), $9)",
      f.id, f.at_us, std::string(actor), std::string(action), std::string(subject),
      std::string(detail_text), core::to_hex(prev), core::to_hex(h), key.id);
  return f.id;
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
    conn_.impl().prepare("audit_recent",
                         (std::string("SELECT id, ") + utc_text +
                          ", actor, action, subject, detail, encode(row_hash, 'hex')"
                          " FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2")
                             .c_str());
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

core::result<std::vector<audit_entry>> audit_log::query(const audit_filter& f, std::size_t limit,
                                                        std::optional<std::int64_t> before_id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    const auto v = detail::audit_filter_params(f);
    std::vector<audit_entry> out;
    const auto rows =
        tx.exec_params(std::string("SELECT a.id, ") + utc_text +
                           ", a.actor, a.action, a.subject, a.detail, encode(a.row_hash, 'hex')"
                           " FROM audit_log a WHERE a.id < $1 AND " +
                           detail::audit_filter_sql(3) + " ORDER BY a.id DESC LIMIT $2",
                       before_id.value_or(INT64_MAX), static_cast<std::int64_t>(limit), v.actor,
                       v.action, v.prefix, v.subject, v.from_us, v.to_us);
    for (const auto& r : rows) {
      out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                     r[6].as<std::string>()});
    }
    return out;
  });
}

namespace detail {

std::string audit_filter_sql(int first) {
  auto p = [first](int i) { return "$" + std::to_string(first + i); };
  // LIKE's wildcards in a prefix are escaped: "case.*" selects "case." and nothing wider.
  return "(" + p(0) + "::text IS NULL OR a.actor = " + p(0) + ") AND (" + p(1) +
         "::text IS NULL OR a.action = " + p(1) + ") AND (" + p(2) +
         "::text IS NULL OR a.action LIKE replace(replace(replace(" + p(2) +
         ", '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%') AND (" + p(3) +
         "::text IS NULL OR a.subject = " + p(3) + ") AND (" + p(4) +
         "::bigint IS NULL OR a.at >= 'epoch'::timestamptz + " + p(4) +
         " * interval '1 microsecond') AND (" + p(5) +
         "::bigint IS NULL OR a.at < 'epoch'::timestamptz + " + p(5) +
         " * interval '1 microsecond')";
}

audit_filter_values audit_filter_params(const audit_filter& f) {
  audit_filter_values v;
  v.actor = f.actor;
  if (f.action) {
    if (f.action->ends_with('*')) {
      v.prefix = f.action->substr(0, f.action->size() - 1);
    } else {
      v.action = f.action;
    }
  }
  if (f.case_id) v.subject = "case:" + std::to_string(*f.case_id);
  v.from_us = f.from_us;
  v.to_us = f.to_us;
  return v;
}

}  // namespace detail

core::result<std::optional<audit_head>> audit_log::head() {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    const auto rows = tx.exec(std::string("SELECT id, encode(row_hash, 'hex'), ") + utc_text +
                              " FROM audit_log ORDER BY id DESC LIMIT 1");
    if (rows.empty()) return std::optional<audit_head>{};
    return std::optional<audit_head>(audit_head{
        rows[0][0].as<std::int64_t>(), rows[0][1].as<std::string>(), rows[0][2].as<std::string>()});
  });
}

core::result<audit_verify_report> audit_log::verify(const std::optional<audit_head>& published) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    // One snapshot for every page, so rows appended meanwhile never half-appear.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(pc);
    const audit_keyring* keys = conn_.audit_keys().get();
    audit_verify_report report;
    report.published = published;
    const auto fail = [&report](std::int64_t id, const char* problem) {
      if (!report.ok) return;
      report.ok = false;
      report.first_bad = id;
      report.problem = problem;
    };
    detail::digest256 expected_prev{};
    bool keyed_seen = false;
    bool published_seen = false;
    std::int64_t after = INT64_MIN;
    for (;;) {
      // Keyset paging over the primary key: each page is an index range scan.
      const auto page = tx.exec_params(
          "SELECT id, (extract(epoch FROM at) * 1000000)::bigint, actor, action, subject,"
          " detail, prev_hash, row_hash, key_id FROM audit_log WHERE id > $1 ORDER BY id"
          " LIMIT $2",
          after, verify_page_rows);
      for (const auto& r : page) {
        const row_fields f{r[0].as<std::int64_t>(),
                           r[1].as<std::int64_t>(),
                           r[2].c_str(),
                           r[3].c_str(),
                           r[4].c_str(),
                           r[5].c_str()};
        const detail::digest256 prev = from_bytea(r[6]);
        const detail::digest256 stored = from_bytea(r[7]);
        after = f.id;
        ++report.rows;
        report.head_id = f.id;
        report.head_hash = core::to_hex(stored);
        if (published && f.id == published->id) {
          published_seen = true;
          if (report.head_hash != published->hash) fail(f.id, "head_mismatch");
        }
        if (!report.ok) continue;
        detail::digest256 computed{};
        if (r[8].is_null()) {
          ++report.legacy_rows;
          if (keyed_seen) {
            fail(f.id, "downgraded");
            continue;
          }
          computed = legacy_hash(prev, f);
        } else {
          keyed_seen = true;
          const audit_key* key = keys == nullptr ? nullptr : keys->find(r[8].c_str());
          if (key == nullptr) {
            fail(f.id, "unknown_key");
            continue;
          }
          computed = keyed_hash(*key, prev, f);
        }
        if (computed != stored) {
          fail(f.id, "edited");
        } else if (prev != expected_prev) {
          // Only on failure: is the named predecessor elsewhere in the log, or gone?
          const auto elsewhere =
              tx.exec_params("SELECT 1 FROM audit_log WHERE row_hash = decode($1, 'hex') LIMIT 1",
                             core::to_hex(prev));
          fail(f.id, elsewhere.empty() ? "deleted" : "reordered");
        }
        expected_prev = stored;
      }
      if (page.size() < static_cast<std::size_t>(verify_page_rows)) break;
    }
    if (published && !published_seen) {
      // The published row is gone: the log was cut back (or the row alone deleted).
      const bool shorter = !report.head_id || *report.head_id < published->id;
      fail(published->id, shorter ? "truncated" : "deleted");
    }
    return report;
  });
}

}  // namespace hashguard::hashdb
