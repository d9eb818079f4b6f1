// Holds on a case's evidence and events, and their one override (issue 19).
//
//  - The report hold: a finished production CyberTipline report obliges the provider to
//    preserve its contents for a year (18 U.S.C. 2258A(h) as amended by the REPORT Act, 2024).
//    start_report_hold() puts the case on hold until finish + hold_days (reporting.hold_days,
//    365 or more, never less); a later call only lengthens it. It cannot be lifted.
//  - The legal hold: set by compliance with a reason and an optional end (audited), lifted by
//    compliance with a reason (audited). Lifting it never touches the report hold.
//  - Purges (case_store::purge, purge_evidence) skip or refuse a held case and say why
//    (case_summary::held_because: the report hold first, then the legal hold and its reason).
//  - Destruction on a law-enforcement request (18 U.S.C. 2258B(c)): two people. A compliance
//    key records the request with the request's reference; an admin key (never the one that
//    asked) approves it, which destroys the case's preserved evidence at once, holds or not.
//    Both steps are audited with the reference; one request may be pending per case.
// Every change writes its audit row in its own transaction. Functions borrow a connection.
#pragma once

#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/database.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

/// The shortest report hold the law allows, in days.
inline constexpr int min_report_hold_days = 365;

/// Puts `case_id` on the report hold until finished_us + hold_days (or keeps a later end), and
/// keeps the case's preservation deadline (preserve_until) at least as long. Call it when a
/// production report finishes (the filing job; a recorded submission with its finish time).
/// Audited as case.report_hold. Returns the hold's end (ISO 8601 UTC).
/// errc::invalid_argument for hold_days < min_report_hold_days; errc::not_found for no case.
[[nodiscard]] core::result<std::string> start_report_hold(connection& c, std::int64_t case_id,
                                                          std::int64_t finished_us, int hold_days,
                                                          std::string_view actor);

struct legal_hold_input {
  std::int64_t case_id{};
  std::string reason;                    ///< required (not blank, <= 10,000 bytes)
  std::optional<std::int64_t> until_us;  ///< the hold's end; nullopt: until lifted
};

/// Sets (or replaces) the case's legal hold. Audited as case.legal_hold {reason, until}.
/// errc::invalid_argument for a blank reason or an end not in the future; errc::not_found.
/// Returns the case afterwards.
[[nodiscard]] core::result<case_summary> set_legal_hold(connection& c, const legal_hold_input& in,
                                                        std::string_view actor);
/// Lifts the legal hold (the report hold stays). Audited as case.legal_hold_lift {reason}.
/// errc::conflict when the case has no legal hold; errc::invalid_argument; errc::not_found.
[[nodiscard]] core::result<case_summary> lift_legal_hold(connection& c, std::int64_t case_id,
                                                         std::string_view reason,
                                                         std::string_view actor);

struct destruction_request {
  std::int64_t id{};
  std::int64_t case_id{};
  std::string reference;  ///< the law-enforcement request's reference
  std::string requested_by, requested_at;
  std::optional<std::string> approved_by, approved_at;
  std::optional<int> destroyed;  ///< evidence files destroyed, once approved
};

/// Records a law-enforcement destruction request (audited as evidence.destruction_request).
/// errc::invalid_argument for a blank reference or one over 500 bytes; errc::already_exists
/// while one is pending for the case; errc::not_found.
[[nodiscard]] core::result<destruction_request> request_destruction(connection& c,
                                                                    std::int64_t case_id,
                                                                    std::string_view reference,
                                                                    std::string_view actor);
/// Approves the case's pending request and destroys its evidence in the same transaction
/// (audited as evidence.destroy with the reference, the requester and each content).
/// errc::not_found when nothing is pending; errc::conflict when `actor` made the request.
[[nodiscard]] core::result<destruction_request> approve_destruction(connection& c,
                                                                    std::int64_t case_id,
                                                                    std::string_view actor);
/// The case's destruction requests, oldest first.
[[nodiscard]] core::result<std::vector<destruction_request>> destruction_requests(
    connection& c, std::int64_t case_id);

}  // namespace hashguard::hashdb
