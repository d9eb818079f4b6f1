#include "hashguard/hashdb/cases.hpp"

#include "audit_internal.hpp"
#include "case_rows.hpp"
#include "pg.hpp"

#include <boost/json.hpp>

namespace hashguard::hashdb {
namespace {

record_outcome parse_outcome(const std::string& s) {
  if (s == "suppressed") return record_outcome::suppressed;
  if (s == "duplicate_id") return record_outcome::duplicate_id;
  if (s == "duplicate_request") return record_outcome::duplicate_request;
  return record_outcome::recorded;
}

bool valid_classification(const std::optional<std::string>& c) {
  return !c || *c == "A1" || *c == "A2" || *c == "B1" || *c == "B2";
}

void prepare_all(detail::connection_impl& c) {
  c.prepare("cases_record",
            "SELECT r.event_id::text, r.case_id, r.outcome"
            "  FROM hg_record_events($1::jsonb, $2, $3) r ORDER BY r.ord");
  c.prepare("cases_get",
            ("SELECT " + detail::case_select_columns() + " FROM cases c WHERE c.id = $1").c_str());
  c.prepare("cases_list", ("SELECT " + detail::case_select_columns() +
                           " FROM cases c WHERE ($1::text IS NULL OR c.status = $1)"
                           " AND c.id < $2 ORDER BY c.id DESC LIMIT $3")
                              .c_str());
  c.prepare("cases_lock", "SELECT status, legal_hold FROM cases WHERE id = $1 FOR UPDATE");
  c.prepare("cases_events",
            "SELECT id::text FROM events WHERE case_id = $1 ORDER BY occurred_at, id");
  c.prepare("cases_suppressed", "SELECT 1 FROM suppressions WHERE content = decode($1, 'hex')");
}

}  // namespace

std::string_view to_string(record_outcome o) noexcept {
  switch (o) {
    case record_outcome::recorded: return "recorded";
    case record_outcome::suppressed: return "suppressed";
    case record_outcome::duplicate_id: return "duplicate_id";
    case record_outcome::duplicate_request: return "duplicate_request";
  }
  return "recorded";
}

std::string_view to_string(decision_kind d) noexcept {
  switch (d) {
    case decision_kind::confirmed: return "confirmed";
    case decision_kind::false_positive: return "false_positive";
    case decision_kind::escalated: return "escalated";
  }
  return "confirmed";
}

std::optional<decision_kind> parse_decision(std::string_view text) noexcept {
  if (text == "confirmed") return decision_kind::confirmed;
  if (text == "false_positive") return decision_kind::false_positive;
  if (text == "escalated") return decision_kind::escalated;
  return std::nullopt;
}

core::result<record_result> case_store::record(const match_event& e) {
  auto r = record_batch(std::span<const match_event>(&e, 1));
  if (!r) return r.error();
  return std::move(r->front());
}

core::result<std::vector<record_result>> case_store::record_batch(
    std::span<const match_event> events) {
  std::string array = "[";
  for (std::size_t i = 0; i < events.size(); ++i) {
    match_event e = events[i];
    if (e.id.empty()) e.id = new_uuid();
    if (e.occurred_us == 0) e.occurred_us = now_us();
    if (!validate(e)) return errc::invalid_argument;
    if (i > 0) array += ',';
    array += to_json(e);
  }
  array += ']';
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    for (int attempt = 0;; ++attempt) {
      try {
        pqxx::work tx(pc);
        auto rows = tx.exec_prepared("cases_record", array, options_.dedupe_window_s,
                                     options_.required_confirmations);
        tx.commit();
        std::vector<record_result> out;
        out.reserve(rows.size());
        for (const auto& row : rows) {
          record_result r;
          r.event_id = row[0].as<std::string>();
          if (!row[1].is_null()) r.case_id = row[1].as<std::int64_t>();
          r.outcome = parse_outcome(row[2].as<std::string>());
          out.push_back(std::move(r));
        }
        return out;
      } catch (const pqxx::deadlock_detected&) {
        // hg_record_events takes its zone locks in one order, so batches do not deadlock each
        // other; this stays for a cycle with another writer of the same case rows.
        if (attempt >= 3) throw;
      } catch (const pqxx::serialization_failure&) {
        if (attempt >= 3) throw;
      }
    }
  });
}

core::result<case_summary> case_store::get(std::int64_t id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    auto r = tx.exec_prepared("cases_get", id);
    if (r.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(id)};
    return detail::case_from_row(r[0]);
  });
}

core::result<std::vector<case_summary>> case_store::list(std::optional<std::string> status,
                                                         std::size_t limit,
                                                         std::optional<std::int64_t> before_id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    std::vector<case_summary> out;
    const char* filter = status ? status->c_str() : nullptr;
    for (const auto& row : tx.exec_prepared("cases_list", filter, before_id.value_or(INT64_MAX),
                                            static_cast<std::int64_t>(limit))) {
      out.push_back(detail::case_from_row(row));
    }
    return out;
  });
}

core::result<std::vector<std::string>> case_store::event_ids(std::int64_t case_id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    std::vector<std::string> out;
    for (const auto& row : tx.exec_prepared("cases_events", case_id)) {
      out.push_back(row[0].as<std::string>());
    }
    return out;
  });
}

core::result<decision_result> case_store::decide(const decision_input& d, std::string_view actor) {
  if (!valid_classification(d.classification) || d.note.size() > 10000 ||
      (d.suppress && d.kind != decision_kind::false_positive)) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto lock = tx.exec_prepared("cases_lock", d.case_id);
    if (lock.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(d.case_id)};
    const std::string status = lock[0][0].as<std::string>();
    if (status == "reported") {
      throw abort_with{errc::conflict, "case " + std::to_string(d.case_id) + " is reported"};
    }
    const std::string kind(to_string(d.kind));
    if (d.kind == decision_kind::confirmed) {
      auto again = tx.exec_params(
          "SELECT 1 FROM decisions WHERE case_id = $1 AND reviewer_key_id = $2"
          " AND decision = 'confirmed'",
          d.case_id, d.reviewer_key_id);
      if (!again.empty()) {
        throw abort_with{errc::conflict, "this reviewer already confirmed the case"};
      }
    }
    const char* classification = d.classification ? d.classification->c_str() : nullptr;
    decision_result out;
    out.decision_id = tx.exec_params1(
                            "INSERT INTO decisions (case_id, reviewer_key_id, decision,"
                            " classification, note) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                            d.case_id, d.reviewer_key_id, kind, classification, d.note)[0]
                          .as<std::int64_t>();
    if (d.classification) {
      tx.exec_params0("UPDATE cases SET classification = $2 WHERE id = $1", d.case_id,
                      *d.classification);
    }
    out.confirmations = tx.exec_params1(
                              "SELECT count(DISTINCT reviewer_key_id) FROM decisions"
                              " WHERE case_id = $1 AND decision = 'confirmed'",
                              d.case_id)[0]
                            .as<int>();
    switch (d.kind) {
      case decision_kind::confirmed:
        tx.exec_params0(
            "UPDATE cases SET status = 'confirmed', dismissed_at = NULL"
            " WHERE id = $1 AND $2 >= required_confirmations",
            d.case_id, out.confirmations);
        // A confirmation overrides an earlier suppression of the same content (dismissed in
        // another case, or this one dismissed before): confirmed content must match again.
        // Only when the case becomes confirmed now, which is when migration 5's trigger feeds
        // a `confirmed` item per file, so the suppression table and the feed's "latest item
        // wins" (what every node's in-memory suppression set follows) agree.
        if (status != "confirmed") {
          tx.exec_params0(
              "DELETE FROM suppressions WHERE content IN"
              " (SELECT f.content FROM case_files f JOIN cases c ON c.id = f.case_id"
              "   WHERE f.case_id = $1 AND c.status = 'confirmed')",
              d.case_id);
        }
        break;
      case decision_kind::false_positive:
        tx.exec_params0(
            "UPDATE cases SET status = 'false_positive', dismissed_at = now() WHERE id = $1",
            d.case_id);
        if (d.suppress) {
          tx.exec_params0(
              "INSERT INTO suppressions (content, case_id)"
              " SELECT content, case_id FROM case_files WHERE case_id = $1"
              " ON CONFLICT (content) DO NOTHING",
              d.case_id);
        }
        break;
      case decision_kind::escalated:
        tx.exec_params0("UPDATE cases SET status = 'escalated' WHERE id = $1", d.case_id);
        break;
    }
    out.status =
        tx.exec_params1("SELECT status FROM cases WHERE id = $1", d.case_id)[0].as<std::string>();
    boost::json::object detail;
    detail["decision"] = kind;
    detail["reviewer_key_id"] = d.reviewer_key_id;
    detail["classification"] =
        d.classification ? boost::json::value(*d.classification) : boost::json::value(nullptr);
    detail["suppress"] = d.suppress;
    detail["status"] = out.status;
    detail::audit_append(tx, actor, "case.decision", "case:" + std::to_string(d.case_id),
                         boost::json::serialize(detail));
    tx.commit();
    return out;
  });
}

core::result<std::int64_t> case_store::record_report(const report_input& r,
                                                     std::string_view actor) {
  if (r.report_id.empty() || (r.environment != "production" && r.environment != "test")) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto lock = tx.exec_prepared("cases_lock", r.case_id);
    if (lock.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(r.case_id)};
    if (lock[0][0].as<std::string>() == "false_positive") {
      throw abort_with{errc::conflict, "case was dismissed as a false positive"};
    }
    std::string file_ids;
    for (const std::string& f : r.file_ids) {
      if (!file_ids.empty()) file_ids += ',';
      file_ids += f;
    }
    const std::int64_t submitted = r.submitted_us != 0 ? r.submitted_us : now_us();
    const auto id =
        tx.exec_params1(
              "INSERT INTO reports (case_id, report_id, file_ids, submitted_at, finished_at,"
              " environment, responses)"
              " VALUES ($1, $2, $3, 'epoch'::timestamptz + $4 * interval '1 microsecond',"
              "  'epoch'::timestamptz + $5 * interval '1 microsecond', $6, $7) RETURNING id",
              r.case_id, r.report_id, file_ids, submitted,
              r.finished_us ? std::optional<std::int64_t>(*r.finished_us) : std::nullopt,
              r.environment, r.responses)[0]
            .as<std::int64_t>();
    if (r.environment == "production") {
      // The preservation clock starts with the first production report (18 U.S.C. 2258A(h)).
      tx.exec_params0(
          "UPDATE cases SET status = 'reported',"
          " reported_at = least(coalesce(reported_at, 'infinity'::timestamptz), $2::timestamptz),"
          " preserve_until = least(coalesce(reported_at, 'infinity'::timestamptz),"
          "                        $2::timestamptz) + make_interval(days => $3)"
          " WHERE id = $1",
          r.case_id,
          tx.exec_params1("SELECT 'epoch'::timestamptz + $1 * interval '1 microsecond'",
                          submitted)[0]
              .as<std::string>(),
          options_.preserve_days);
    }
    boost::json::object detail;
    detail["report_id"] = r.report_id;
    detail["environment"] = r.environment;
    detail["file_ids"] = file_ids;
    detail::audit_append(tx, actor, "case.report", "case:" + std::to_string(r.case_id),
                         boost::json::serialize(detail));
    tx.commit();
    return id;
  });
}

core::result<void> case_store::set_legal_hold(std::int64_t case_id, bool hold,
                                              std::string_view actor) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    auto r = tx.exec_params("UPDATE cases SET legal_hold = $2 WHERE id = $1 RETURNING id", case_id,
                            hold);
    if (r.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(case_id)};
    detail::audit_append(tx, actor, hold ? "case.hold" : "case.release",
                         "case:" + std::to_string(case_id), "{}");
    tx.commit();
  });
}

core::result<bool> case_store::is_suppressed(std::string_view content_hex) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::read_transaction tx(pc);
    return !tx.exec_prepared("cases_suppressed", std::string(content_hex)).empty();
  });
}

core::result<purge_report> case_store::purge(std::optional<std::int64_t> only_case,
                                             std::string_view actor, bool dry_run) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    // kind: 'delete' (reported, preservation over), 'reduce' (false positive, short retention
    // over), NULL (not expired). Held cases are listed to be skipped.
    const std::string classify =
        "SELECT id, legal_hold,"
        " CASE WHEN status = 'reported' AND preserve_until < now() THEN 'delete'"
        "      WHEN status = 'false_positive' AND details_purged_at IS NULL"
        "       AND dismissed_at + make_interval(days => $1) < now() THEN 'reduce'"
        " END AS kind FROM cases";
    purge_report report;
    pqxx::result rows;
    if (only_case) {
      rows = tx.exec_params(classify + " WHERE id = $2 FOR UPDATE", options_.false_positive_days,
                            *only_case);
      if (rows.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(*only_case)};
      if (rows[0][1].as<bool>()) throw abort_with{errc::purge_refused, "case is on legal hold"};
      if (rows[0][2].is_null()) {
        throw abort_with{errc::purge_refused, "case retention has not expired"};
      }
    } else {
      rows = tx.exec_params(
          "SELECT * FROM (" + classify + ") k WHERE kind IS NOT NULL ORDER BY id FOR UPDATE",
          options_.false_positive_days);
    }
    for (const auto& row : rows) {
      const auto id = row[0].as<std::int64_t>();
      if (row[1].as<bool>()) {
        report.held_skipped.push_back(id);
        continue;
      }
      const std::string kind = row[2].as<std::string>();
      if (kind == "delete") {
        report.deleted.push_back(id);
        if (!dry_run) tx.exec_params0("DELETE FROM cases WHERE id = $1", id);
      } else {
        report.reduced.push_back(id);
        if (!dry_run) {
          tx.exec_params0("DELETE FROM events WHERE case_id = $1", id);
          tx.exec_params0("UPDATE cases SET details_purged_at = now() WHERE id = $1", id);
        }
      }
      if (!dry_run) {
        detail::audit_append(tx, actor, kind == "delete" ? "case.purge" : "case.reduce",
                             "case:" + std::to_string(id), "{}");
      }
    }
    if (dry_run) {
      tx.abort();
    } else {
      tx.commit();
    }
    return report;
  });
}

}  // namespace hashguard::hashdb
