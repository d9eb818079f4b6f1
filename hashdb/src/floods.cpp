#include "hashguard/hashdb/floods.hpp"

#include "audit_internal.hpp"
#include "pg.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace hashguard::hashdb {
namespace {

// Any key distinct from the other advisory locks' (serve_lock, zone locks use their own).
constexpr std::int64_t flood_lock_key = 0x68670016;  // "hg" + issue 16

constexpr const char* flag_columns =
    "f.id, f.list_id, coalesce(l.name, ''), f.entry_id, coalesce(l.signal, ''),"
    " to_char(f.flagged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    " f.window_s, f.distinct_contents, f.baseline, f.reason, f.auto_quarantined,"
    " h.quarantined_at IS NOT NULL,"
    " to_char(f.cleared_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";

flood_flag flag_of(const pqxx::row& r) {
  flood_flag f;
  f.id = r[0].as<std::int64_t>();
  f.list_id = r[1].as<std::int64_t>();
  f.list_name = r[2].as<std::string>();
  f.entry_id = r[3].as<std::int64_t>();
  f.signal = r[4].as<std::string>();
  f.flagged_at = r[5].as<std::string>();
  f.window_s = r[6].as<std::int64_t>();
  f.distinct_contents = r[7].as<std::int64_t>();
  f.baseline = r[8].as<double>();
  f.reason = r[9].as<std::string>();
  f.auto_quarantined = r[10].as<bool>();
  f.quarantined = r[11].as<bool>();
  if (!r[12].is_null()) f.cleared_at = r[12].as<std::string>();
  return f;
}

std::int64_t bump_version(pqxx::work& tx, std::int64_t list_id) {
  return tx
      .exec_params1(
          "UPDATE hash_lists SET version = nextval('list_version_seq'), updated_at = now()"
          " WHERE id = $1 RETURNING version",
          list_id)[0]
      .as<std::int64_t>();
}

}  // namespace

core::result<std::vector<flood_flag>> flood_store::evaluate(const flood_options& o) {
  if (o.window.count() < 1 || o.max_distinct < 1 || o.baseline_factor < 1.0 || o.min_distinct < 1 ||
      o.baseline_windows < 1) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    std::vector<flood_flag> out;
    // One evaluator at a time across the cluster; the others skip this round.
    if (!tx.exec_params1("SELECT pg_try_advisory_xact_lock($1)", flood_lock_key)[0].as<bool>()) {
      return out;
    }
    const auto window_s = static_cast<std::int64_t>(o.window.count());
    // The current window's distinct contents per entry (only entries that could qualify), then
    // those entries' baseline: distinct (content, window) pairs over the windows before, per
    // window.
    const auto spikes = tx.exec_params(
        "WITH cur AS ("
        "  SELECT s.list_id, s.entry_id, count(DISTINCT s.content) AS n"
        "    FROM hg_flood_sightings s"
        "   WHERE s.occurred_at > now() - $1 * interval '1 second' AND s.content IS NOT NULL"
        "   GROUP BY 1, 2 HAVING count(DISTINCT s.content) >= least($3, $2 + 1)),"
        " base AS ("
        "  SELECT s.list_id, s.entry_id,"
        "         count(DISTINCT (s.content, floor(extract(epoch FROM s.occurred_at) / $1)))"
        "           ::float8 / $5 AS b"
        "    FROM hg_flood_sightings s JOIN cur USING (list_id, entry_id)"
        "   WHERE s.content IS NOT NULL"
        "     AND s.occurred_at > now() - $1 * ($5 + 1) * interval '1 second'"
        "     AND s.occurred_at <= now() - $1 * interval '1 second'"
        "   GROUP BY 1, 2)"
        " SELECT cur.list_id, cur.entry_id, cur.n, coalesce(base.b, 0),"
        "        CASE WHEN cur.n > $2 THEN 'over_limit' ELSE 'over_baseline' END"
        "   FROM cur LEFT JOIN base USING (list_id, entry_id)"
        "  WHERE (cur.n > $2 OR (cur.n >= $3 AND cur.n > $4 * coalesce(base.b, 0)))"
        "    AND NOT EXISTS (SELECT 1 FROM entry_floods f"
        "                     WHERE f.entry_id = cur.entry_id AND f.cleared_at IS NULL)"
        "  ORDER BY cur.list_id, cur.entry_id",
        window_s, o.max_distinct, o.min_distinct, o.baseline_factor, o.baseline_windows);
    for (const auto& s : spikes) {
      const auto list_id = s[0].as<std::int64_t>();
      const auto entry_id = s[1].as<std::int64_t>();
      // Auto-quarantine only a live perceptual entry of an auto_quarantine list that no
      // confirmed case ever matched.
      const bool quarantine =
          tx.exec_params1(
                "SELECT coalesce(bool_and(l.auto_quarantine AND l.signal IN ('pdq', 'phash')"
                "   AND h.quarantined_at IS NULL AND h.retired_at IS NULL"
                "   AND NOT EXISTS (SELECT 1 FROM case_entries ce"
                "                     JOIN decisions d ON d.case_id = ce.case_id"
                "                    WHERE ce.list_id = h.list_id AND ce.entry_id = h.id"
                "                      AND d.decision = 'confirmed')), false)"
                "  FROM hashes h JOIN hash_lists l ON l.id = h.list_id"
                " WHERE h.id = $1 AND h.list_id = $2",
                entry_id, list_id)[0]
              .as<bool>();
      const auto id = tx.exec_params1(
                            "INSERT INTO entry_floods (list_id, entry_id, window_s,"
                            " distinct_contents, baseline, reason, auto_quarantined)"
                            " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                            list_id, entry_id, window_s, s[2].as<std::int64_t>(), s[3].as<double>(),
                            s[4].as<std::string>(), quarantine)[0]
                          .as<std::int64_t>();
      boost::json::object detail{{"entry_id", entry_id},
                                 {"distinct_contents", s[2].as<std::int64_t>()},
                                 {"baseline", s[3].as<double>()},
                                 {"window_s", window_s},
                                 {"reason", s[4].as<std::string>()},
                                 {"auto_quarantined", quarantine}};
      detail::audit_append(tx, "flood-detector", "list.entry_flood",
                           "list:" + std::to_string(list_id), boost::json::serialize(detail));
      if (quarantine) {
        tx.exec_params0(
            "UPDATE hashes SET quarantined_at = now(), quarantined_by = 'flood' WHERE id = $1",
            entry_id);
        const auto version = bump_version(tx, list_id);
        detail::audit_append(tx, "flood-detector", "list.entry_quarantine",
                             "list:" + std::to_string(list_id),
                             boost::json::serialize(
                                 boost::json::object{{"entry_id", entry_id},
                                                     {"reason", "flood flag " + std::to_string(id)},
                                                     {"version", version}}));
      }
      auto row = tx.exec_params1(std::string("SELECT ") + flag_columns +
                                     " FROM entry_floods f LEFT JOIN hash_lists l ON l.id ="
                                     " f.list_id LEFT JOIN hashes h ON h.id = f.entry_id"
                                     " WHERE f.id = $1",
                                 id);
      out.push_back(flag_of(row));
    }
    tx.commit();
    return out;
  });
}

core::result<std::vector<flood_flag>> flood_store::list(bool include_cleared, std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, 1000);
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    std::vector<flood_flag> out;
    for (const auto& r :
         tx.exec_params(std::string("SELECT ") + flag_columns +
                            " FROM entry_floods f LEFT JOIN hash_lists l ON l.id = f.list_id"
                            " LEFT JOIN hashes h ON h.id = f.entry_id"
                            " WHERE $1 OR f.cleared_at IS NULL ORDER BY f.id DESC LIMIT $2",
                        include_cleared, static_cast<std::int64_t>(limit))) {
      out.push_back(flag_of(r));
    }
    return out;
  });
}

core::result<std::int64_t> flood_store::open_count() {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    return tx.exec1("SELECT count(*) FROM entry_floods WHERE cleared_at IS NULL")[0]
        .as<std::int64_t>();
  });
}

core::result<quarantine_change> flood_store::set_quarantine(std::int64_t list_id,
                                                            std::int64_t entry_id, bool on,
                                                            std::string_view reason,
                                                            std::string_view actor) {
  if (!detail::valid_audit_reason(reason)) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::work tx(pc);
    // The list's row first, as imports and disable_entry lock it.
    const auto list =
        tx.exec_params("SELECT version FROM hash_lists WHERE id = $1 FOR UPDATE", list_id);
    if (list.empty()) throw abort_with{errc::not_found, "no list " + std::to_string(list_id)};
    const auto entry = tx.exec_params(
        "SELECT quarantined_at IS NOT NULL FROM hashes"
        " WHERE id = $1 AND list_id = $2 AND retired_at IS NULL FOR UPDATE",
        entry_id, list_id);
    if (entry.empty()) throw abort_with{errc::not_found, "no such entry in this list"};
    quarantine_change out;
    out.list_id = list_id;
    out.entry_id = entry_id;
    out.quarantined = on;
    out.version = list[0][0].as<std::int64_t>();
    if (entry[0][0].as<bool>() == on) return out;
    if (on) {
      tx.exec_params0("UPDATE hashes SET quarantined_at = now(), quarantined_by = $2 WHERE id = $1",
                      entry_id, std::string(actor));
    } else {
      tx.exec_params0(
          "UPDATE hashes SET quarantined_at = NULL, quarantined_by = NULL WHERE id = $1", entry_id);
      // A restored entry may be flagged again by a later spike.
      tx.exec_params0(
          "UPDATE entry_floods SET cleared_at = now() WHERE entry_id = $1 AND cleared_at IS NULL",
          entry_id);
    }
    out.version = bump_version(tx, list_id);
    out.changed = true;
    detail::audit_append(
        tx, actor, on ? "list.entry_quarantine" : "list.entry_restore",
        "list:" + std::to_string(list_id),
        boost::json::serialize(boost::json::object{
            {"entry_id", entry_id}, {"reason", reason}, {"version", out.version}}));
    tx.commit();
    return out;
  });
}

}  // namespace hashguard::hashdb
