#include "hashguard/hashdb/cases.hpp"

#include "audit_internal.hpp"
#include "case_rows.hpp"
#include "pg.hpp"

#include <boost/json.hpp>

#include <algorithm>

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
  c.prepare("cases_lock",
            "SELECT status, legal_hold, required_confirmations, round, harm_type FROM cases"
            " WHERE id = $1 FOR UPDATE");
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
  bool uploaders = false;
  for (std::size_t i = 0; i < events.size(); ++i) {
    match_event e = events[i];
    if (e.id.empty()) e.id = new_uuid();
    if (e.occurred_us == 0) e.occurred_us = now_us();
    if (!validate(e)) return errc::invalid_argument;
    uploaders = uploaders || !e.uploader.empty();
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
        // The uploader an ingest request named, stored on its event in the same transaction
        // (only batches that carry one pay for it). A repeat (duplicate_request) is the first
        // event, which keeps what its own request said; a replayed id fills only what is unset.
        if (uploaders) {
          tx.exec_params0(
              "UPDATE events e SET uploader_account = nullif(u.j->'uploader'->>'account', ''),"
              "  uploader_ip = nullif(u.j->'uploader'->>'ip', '')::inet,"
              "  uploader_at = CASE WHEN (u.j->'uploader'->>'at_us')::bigint > 0 THEN"
              "    'epoch'::timestamptz + (u.j->'uploader'->>'at_us')::bigint"
              "    * interval '1 microsecond' END"
              "  FROM jsonb_array_elements($1::jsonb) u(j)"
              " WHERE u.j ? 'uploader' AND e.id = (u.j->>'id')::uuid"
              "   AND e.uploader_account IS NULL AND e.uploader_ip IS NULL"
              "   AND e.uploader_at IS NULL",
              array);
        }
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

namespace {

// The case row, locked until the transaction ends: every decision, ruling and reopen request
// of one case is serialised here, so two concurrent requests never both decide.
struct locked_case {
  std::string status;
  int required{2};
  int round{1};
  std::string harm_type{"csam"};
};

locked_case lock_case(pqxx::work& tx, std::int64_t case_id) {
  auto r = tx.exec_prepared("cases_lock", case_id);
  if (r.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(case_id)};
  return {r[0][0].as<std::string>(), r[0][2].as<int>(), r[0][3].as<int>(),
          r[0][4].as<std::string>()};
}

bool is_final(const std::string& status) {
  return status == "confirmed" || status == "false_positive" || status == "reported";
}

// Suppression would make every node answer no_match for the case's contents, in every zone.
// Refused for exact-digest hits (a wrong exact entry is the list's fault: an admin disables
// the entry) and for content another case confirmed (one dismissal never lifts that block).
void check_suppression(pqxx::work& tx, std::int64_t case_id) {
  const auto exact = tx.exec_params(
      "SELECT 1 FROM events e JOIN event_hits h ON h.event_id = e.id"
      " WHERE e.case_id = $1 AND h.signal IN ('md5', 'sha1', 'sha256')"
      " UNION ALL SELECT 1 FROM case_entries ce JOIN hash_lists l ON l.id = ce.list_id"
      " WHERE ce.case_id = $1 AND l.signal IN ('md5', 'sha1', 'sha256') LIMIT 1",
      case_id);
  if (!exact.empty()) {
    throw abort_with{errc::suppression_refused, "the case has an exact-digest hit"};
  }
  const auto blocked = tx.exec_params(
      "SELECT o.case_id FROM case_files f JOIN case_files o"
      "   ON o.content = f.content AND o.case_id <> f.case_id"
      " JOIN cases oc ON oc.id = o.case_id AND oc.status IN ('confirmed', 'reported')"
      " WHERE f.case_id = $1 LIMIT 1",
      case_id);
  if (!blocked.empty()) {
    throw abort_with{errc::suppression_refused,
                     "content confirmed in case " + blocked[0][0].as<std::string>()};
  }
}

// A dismissal is only as good as the look behind it: every preserved file of the case must
// have been revealed unblurred to this actor (evidence_views; a blurred preview is no view).
void check_viewed(pqxx::work& tx, std::int64_t case_id, std::string_view actor) {
  const auto unseen = tx.exec_params(
      "SELECT 1 FROM evidence v WHERE v.case_id = $1 AND NOT EXISTS"
      " (SELECT 1 FROM evidence_views w WHERE w.case_id = v.case_id"
      "   AND w.content = v.content AND w.viewer = $2) LIMIT 1",
      case_id, std::string(actor));
  if (!unseen.empty()) {
    throw abort_with{errc::evidence_not_viewed, "preserved evidence not viewed by this reviewer"};
  }
}

// The case's status from the decisions of its current round (the table in cases.hpp), and
// what a final status does: classification, dismissal time, suppressions, the feed (through
// migration 5's trigger on the status).
void settle(pqxx::work& tx, std::int64_t case_id, const locked_case& c, decision_result& out) {
  const auto n = tx.exec_params1(
      "SELECT count(DISTINCT reviewer_key_id) FILTER (WHERE decision = 'confirmed' AND NOT ruling),"
      " count(DISTINCT reviewer_key_id) FILTER (WHERE decision = 'false_positive' AND NOT ruling),"
      " count(*) FILTER (WHERE decision = 'escalated'),"
      " coalesce(bool_and(suppress) FILTER (WHERE decision = 'false_positive' AND NOT ruling),"
      "          false),"
      " (SELECT decision FROM decisions r WHERE r.case_id = $1 AND r.round = $2 AND r.ruling"
      "   ORDER BY r.id DESC LIMIT 1),"
      " (SELECT suppress FROM decisions r WHERE r.case_id = $1 AND r.round = $2 AND r.ruling"
      "   ORDER BY r.id DESC LIMIT 1)"
      " FROM decisions WHERE case_id = $1 AND round = $2",
      case_id, c.round);
  const int confirmed = n[0].as<int>();
  const int dismissed = n[1].as<int>();
  const int escalated = n[2].as<int>();
  bool suppress = n[3].as<bool>();
  out.confirmations = confirmed;
  out.dismissals = dismissed;
  std::string status;
  if (!n[4].is_null()) {
    status = n[4].as<std::string>();
    suppress = n[5].as<bool>();
  } else if (confirmed >= c.required && confirmed > dismissed) {
    status = "confirmed";
  } else if (dismissed >= c.required && dismissed > confirmed) {
    status = "false_positive";
  } else if (confirmed > 0 && dismissed > 0) {
    status = "disputed";
  } else if (escalated > 0) {
    status = "escalated";
  } else {
    status = "open";
  }
  if (status == "confirmed") {
    // The most severe classification its confirming reviewers gave (A1 < A2 < B1 < B2).
    tx.exec_params0(
        "UPDATE cases SET status = 'confirmed', dismissed_at = NULL,"
        " classification = (SELECT min(classification) FROM decisions"
        "   WHERE case_id = $1 AND round = $2 AND decision = 'confirmed')"
        " WHERE id = $1",
        case_id, c.round);
    // A confirmation overrides an earlier suppression of the same content (dismissed in
    // another case): confirmed content must match again. Migration 5's trigger feeds a
    // `confirmed` item per file now, so the table and the feed's "latest item wins" agree.
    tx.exec_params0(
        "DELETE FROM suppressions WHERE content IN"
        " (SELECT f.content FROM case_files f WHERE f.case_id = $1)",
        case_id);
  } else if (status == "false_positive") {
    tx.exec_params0(
        "UPDATE cases SET status = 'false_positive', dismissed_at = now(), classification = NULL"
        " WHERE id = $1",
        case_id);
    if (suppress) {
      // Never content another case confirmed since the request was checked.
      tx.exec_params0(
          "INSERT INTO suppressions (content, case_id)"
          " SELECT f.content, f.case_id FROM case_files f WHERE f.case_id = $1"
          "  AND NOT EXISTS (SELECT 1 FROM case_files o JOIN cases oc ON oc.id = o.case_id"
          "   WHERE o.content = f.content AND o.case_id <> f.case_id"
          "     AND oc.status IN ('confirmed', 'reported'))"
          " ON CONFLICT (content) DO NOTHING",
          case_id);
    }
  } else if (status != c.status) {
    tx.exec_params0("UPDATE cases SET status = $2 WHERE id = $1", case_id, status);
  }
  out.status = status;
}

std::int64_t insert_decision(pqxx::work& tx, const decision_input& d, int round, bool ruling) {
  // The unique index (case, round, reviewer) backs the check the callers make under the lock.
  const char* classification = d.classification ? d.classification->c_str() : nullptr;
  return tx
      .exec_params1(
          "INSERT INTO decisions (case_id, reviewer_key_id, decision, classification, note,"
          " round, suppress, ruling) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
          d.case_id, d.reviewer_key_id, std::string(to_string(d.kind)), classification, d.note,
          round, d.suppress, ruling)[0]
      .as<std::int64_t>();
}

void audit_decision(pqxx::work& tx, std::string_view actor, const char* action,
                    const decision_input& d, const locked_case& c, const decision_result& out) {
  boost::json::object detail;
  detail["decision"] = to_string(d.kind);
  detail["reviewer_key_id"] = d.reviewer_key_id;
  detail["classification"] =
      d.classification ? boost::json::value(*d.classification) : boost::json::value(nullptr);
  detail["suppress"] = d.suppress;
  detail["round"] = c.round;
  detail["status"] = out.status;
  detail::audit_append(tx, actor, action, "case:" + std::to_string(d.case_id),
                       boost::json::serialize(detail));
}

// The checks every decision shares, the row, the new status and the audit row; commits.
decision_result record_decision(pqxx::work& tx, const decision_input& d, const locked_case& c,
                                std::string_view actor, bool ruling) {
  // A csam confirmation names its classification; other harm types carry none.
  if (d.classification) detail::require_csam(c.harm_type, d.case_id, "an A1-B2 classification");
  if (d.kind == decision_kind::confirmed && !d.classification && c.harm_type == "csam") {
    throw abort_with{errc::classification_required,
                     "confirming a csam case needs a classification: A1, A2, B1 or B2"};
  }
  if (d.suppress) check_suppression(tx, d.case_id);
  decision_result out;
  out.decision_id = insert_decision(tx, d, c.round, ruling);
  settle(tx, d.case_id, c, out);
  audit_decision(tx, actor, ruling ? "case.ruling" : "case.decision", d, c, out);
  tx.commit();
  return out;
}

bool valid_decision_input(const decision_input& d) {
  return valid_classification(d.classification) && d.note.size() <= 10000 &&
         (!d.suppress || d.kind == decision_kind::false_positive);
}

}  // namespace

core::result<decision_result> case_store::decide(const decision_input& d, std::string_view actor) {
  if (!valid_decision_input(d)) return errc::invalid_argument;
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    const locked_case c = lock_case(tx, d.case_id);
    if (is_final(c.status)) {
      throw abort_with{errc::case_locked, "case " + std::to_string(d.case_id) + " is " + c.status +
                                              ": only a reopen changes it"};
    }
    const auto again = tx.exec_params(
        "SELECT 1 FROM decisions WHERE case_id = $1 AND round = $2 AND reviewer_key_id = $3",
        d.case_id, c.round, d.reviewer_key_id);
    if (!again.empty()) {
      throw abort_with{errc::conflict, "this reviewer already decided this round of the case"};
    }
    if (d.kind == decision_kind::false_positive) check_viewed(tx, d.case_id, actor);
    return record_decision(tx, d, c, actor, false);
  });
}

core::result<decision_result> case_store::rule(const decision_input& d, std::string_view actor) {
  if (!valid_decision_input(d) || d.kind == decision_kind::escalated) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    const locked_case c = lock_case(tx, d.case_id);
    if (c.status != "disputed") {
      throw abort_with{errc::conflict, "an admin rules only on a disputed case"};
    }

    return record_decision(tx, d, c, actor, true);
  });
}

core::result<reopen_result> case_store::request_reopen(const reopen_input& r,
                                                       std::string_view actor) {
  if (!detail::valid_audit_reason(r.reason)) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    const locked_case c = lock_case(tx, r.case_id);
    if (c.status == "reported") {
      throw abort_with{errc::case_locked, "a reported case is never reopened"};
    }
    if (!is_final(c.status)) throw abort_with{errc::conflict, "the case is not decided"};
    const auto decided = tx.exec_params(
        "SELECT 1 FROM decisions WHERE case_id = $1 AND round = $2 AND reviewer_key_id = $3",
        r.case_id, c.round, r.reviewer_key_id);
    if (!decided.empty()) {
      throw abort_with{errc::conflict, "a reviewer who made the decision cannot reopen it"};
    }
    const auto added = tx.exec_params(
        "INSERT INTO reopen_requests (case_id, round, reviewer_key_id, reason)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
        r.case_id, c.round, r.reviewer_key_id, r.reason);
    if (added.empty()) throw abort_with{errc::conflict, "this reviewer already asked"};
    reopen_result out;
    out.needed = std::max(2, c.required);
    out.requests =
        tx.exec_params1("SELECT count(*) FROM reopen_requests WHERE case_id = $1 AND round = $2",
                        r.case_id, c.round)[0]
            .as<int>();
    out.status = c.status;
    out.round = c.round;
    boost::json::object detail{{"reviewer_key_id", r.reviewer_key_id},
                               {"round", c.round},
                               {"status", c.status},
                               {"reason", r.reason},
                               {"requests", out.requests},
                               {"needed", out.needed}};
    detail::audit_append(tx, actor, "case.reopen_request", "case:" + std::to_string(r.case_id),
                         boost::json::serialize(detail));
    if (out.requests >= out.needed) {
      out.reopened = true;
      out.status = "open";
      out.round = c.round + 1;
      tx.exec_params0(
          "UPDATE cases SET status = 'open', round = round + 1, classification = NULL,"
          " dismissed_at = NULL WHERE id = $1",
          r.case_id);
      // A dismissal's suppressions end with it: the feed tells every node (and the cache
      // layer) that the content is under review again. Feed writers hold lock 7003 until they
      // commit (migration 5), so the ids stay in commit order.
      tx.exec("SELECT pg_advisory_xact_lock(7003)");
      tx.exec_params0(
          "WITH gone AS (DELETE FROM suppressions WHERE case_id = $1 RETURNING content)"
          " INSERT INTO decision_feed (case_id, decision, action, content, md5, sha1, sha256,"
          "  pdq, phash)"
          " SELECT $1, 'reopened', 'review', g.content, f.md5, f.sha1, f.sha256, f.pdq, f.phash"
          "   FROM gone g LEFT JOIN case_files f ON f.case_id = $1 AND f.content = g.content",
          r.case_id);
      detail::audit_append(tx, actor, "case.reopen", "case:" + std::to_string(r.case_id),
                           boost::json::serialize(boost::json::object{{"from_status", c.status},
                                                                      {"round", out.round}}));
    }
    tx.commit();
    return out;
  });
}

core::result<std::vector<std::int64_t>> case_store::decided_in_round(
    std::int64_t reviewer_key_id, std::span<const std::int64_t> case_ids) {
  std::string ids = "{";
  for (std::size_t i = 0; i < case_ids.size(); ++i) {
    if (i > 0) ids += ',';
    ids += std::to_string(case_ids[i]);
  }
  ids += '}';
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    std::vector<std::int64_t> out;
    for (const auto& row : tx.exec_params(
             "SELECT DISTINCT d.case_id FROM decisions d JOIN cases c"
             "   ON c.id = d.case_id AND c.round = d.round"
             " WHERE d.reviewer_key_id = $1 AND d.case_id = ANY($2::bigint[]) ORDER BY 1",
             reviewer_key_id, ids)) {
      out.push_back(row[0].as<std::int64_t>());
    }
    return out;
  });
}

bool blind_to_undecided(const case_summary& c) noexcept {
  return c.status == "open" || c.status == "disputed" || c.status == "escalated";
}

case_summary blind_summary(case_summary c) {
  c.status = "needs_review";
  c.classification.reset();
  c.dismissed_at.reset();
  return c;
}

namespace detail {

std::int64_t insert_report(pqxx::work& tx, const report_input& r, int preserve_days,
                           std::string_view actor, int hold_days) {
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
        tx.exec_params1("SELECT 'epoch'::timestamptz + $1 * interval '1 microsecond'", submitted)[0]
            .as<std::string>(),
        preserve_days);
  }
  boost::json::object detail;
  detail["report_id"] = r.report_id;
  detail["environment"] = r.environment;
  detail["file_ids"] = file_ids;
  detail::audit_append(tx, actor, "case.report", "case:" + std::to_string(r.case_id),
                       boost::json::serialize(detail));
  // A finished production report obliges a year's preservation from its finish (the REPORT
  // Act): the hold starts in the transaction that records the report, so neither exists
  // without the other.
  if (r.environment == "production" && r.finished_us) {
    (void)apply_report_hold(tx, r.case_id, *r.finished_us, hold_days, actor);
  }
  return id;
}

}  // namespace detail

core::result<std::int64_t> case_store::record_report(const report_input& r,
                                                     std::string_view actor) {
  if (r.report_id.empty() || (r.environment != "production" && r.environment != "test")) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    prepare_all(conn_.impl());
    pqxx::work tx(pc);
    const locked_case c = lock_case(tx, r.case_id);
    // A report states that reviewers confirmed the content: never for a case still under
    // review (open, disputed, escalated) or dismissed.
    if (c.status != "confirmed" && c.status != "reported") {
      throw abort_with{errc::not_confirmed,
                       "case " + std::to_string(r.case_id) + " is " + c.status + ", not confirmed"};
    }
    detail::require_csam(c.harm_type, r.case_id, "a CyberTipline report");
    // A filing job of hashguard's own is (or was) at it: a report recorded by hand beside it
    // would be a second report of the case.
    if (!tx.exec_params("SELECT 1 FROM report_jobs WHERE case_id = $1"
                        " AND state IN ('queued', 'finished')",
                        r.case_id)
             .empty()) {
      throw abort_with{errc::job_exists, "case " + std::to_string(r.case_id) +
                                             " has a CyberTipline filing job: it records the "
                                             "report itself"};
    }
    const std::int64_t id =
        detail::insert_report(tx, r, options_.preserve_days, actor, options_.hold_days);
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
        "SELECT id,"
        " hg_hold_reason(report_hold_until, legal_hold, legal_hold_until, legal_hold_reason),"
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
      // A held case is refused with why it is held (and until when).
      if (!rows[0][1].is_null()) {
        throw abort_with{errc::purge_refused, "case " + std::to_string(*only_case) + " is " +
                                                  rows[0][1].as<std::string>()};
      }
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
      if (!row[1].is_null()) {
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
