// The one column list and row mapper for a case summary, shared by cases.cpp (the case store's
// prepared statements) and review.cpp (the queue, case detail and exports). Private to hashdb.
// case_select_columns() and case_from_row() must change together: the mapper reads the
// columns by position.
#pragma once

#include "hashguard/hashdb/cases.hpp"
#include "pg.hpp"

#include <pqxx/pqxx>

#include <string>

namespace hashguard::hashdb::detail {

/// Inserts a CyberTipline report row (record_report's rules after its status check: the
/// production preservation clock, the "case.report" audit row) in the caller's transaction.
/// Shared by case_store::record_report and report_job_store's finish. Defined in cases.cpp.
/// A finished production report also starts the report hold (apply_report_hold, hold_days).
std::int64_t insert_report(pqxx::work& tx, const report_input& r, int preserve_days,
                           std::string_view actor, int hold_days = 365);

/// The report hold of holds.hpp in the caller's transaction (the case row locked by the
/// caller or here): until finished_us + hold_days, never shortened; audited as
/// case.report_hold. Returns the hold's end (ISO 8601 UTC). Defined in holds.cpp.
std::string apply_report_hold(pqxx::work& tx, std::int64_t case_id, std::int64_t finished_us,
                              int hold_days, std::string_view actor);

/// The harm-type rule (README "Harm types"): only a csam case carries an A1-B2 classification or
/// goes to the CyberTipline (NCMEC takes child sexual abuse material; StopNCII's and GIFCT's
/// content is reported elsewhere). `what` names the refused step for the error.
inline void require_csam(const std::string& harm_type, std::int64_t case_id,
                         std::string_view what) {
  if (harm_type != "csam") {
    throw abort_with{errc::harm_type_refused, "case " + std::to_string(case_id) + " holds " +
                                                  harm_type + " content: " + std::string(what) +
                                                  " is for csam cases only"};
  }
}

/// to_char(column AT TIME ZONE 'UTC', ISO 8601 with microseconds and 'Z').
inline std::string iso_of(const char* column) {
  return std::string("to_char(") + column +
         " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

/// The columns case_from_row reads, for a query over `cases c`.
inline std::string case_select_columns() {
  return "c.id, c.zone, c.status, " + iso_of("c.opened_at") + ", " + iso_of("c.first_seen") + ", " +
         iso_of("c.last_seen") +
         ", c.sightings, (SELECT count(*) FROM case_files f WHERE f.case_id = c.id),"
         " c.required_confirmations, c.classification, " +
         iso_of("c.dismissed_at") + ", " + iso_of("c.reported_at") + ", " +
         iso_of("c.preserve_until") +
         ", c.legal_hold, c.details_purged_at IS NOT NULL, c.round,"
         " CASE WHEN NOT c.within_threshold THEN c.band_distance END, " +
         iso_of("c.report_hold_until") + ", c.legal_hold_reason, " + iso_of("c.legal_hold_until") +
         ", c.legal_hold_by, " + iso_of("c.legal_hold_at") + ", " +
         iso_of("c.evidence_destroyed_at") +
         ", hg_hold_reason(c.report_hold_until, c.legal_hold, c.legal_hold_until,"
         " c.legal_hold_reason), c.harm_type";
}

inline case_summary case_from_row(const pqxx::row& r) {
  case_summary c;
  c.id = r[0].as<std::int64_t>();
  c.zone = r[1].as<std::string>();
  c.status = r[2].as<std::string>();
  c.opened_at = r[3].as<std::string>();
  c.first_seen = r[4].as<std::string>();
  c.last_seen = r[5].as<std::string>();
  c.sightings = r[6].as<std::int64_t>();
  c.files = r[7].as<std::int64_t>();
  c.required_confirmations = r[8].as<int>();
  c.classification = opt_text(r[9]);
  c.dismissed_at = opt_text(r[10]);
  c.reported_at = opt_text(r[11]);
  c.preserve_until = opt_text(r[12]);
  c.legal_hold = r[13].as<bool>();
  c.details_purged = r[14].as<bool>();
  c.round = r[15].as<int>();
  if (!r[16].is_null()) c.near_miss_distance = r[16].as<int>();
  c.report_hold_until = opt_text(r[17]);
  c.legal_hold_reason = opt_text(r[18]);
  c.legal_hold_until = opt_text(r[19]);
  c.legal_hold_by = opt_text(r[20]);
  c.legal_hold_at = opt_text(r[21]);
  c.evidence_destroyed_at = opt_text(r[22]);
  c.held_because = opt_text(r[23]);
  c.harm_type = r[24].as<std::string>();
  return c;
}

}  // namespace hashguard::hashdb::detail
