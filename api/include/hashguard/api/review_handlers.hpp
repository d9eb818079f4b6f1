// The review and compliance routes of DESIGN.md section 5, on the hashdb case store:
//   GET  /v1/cases                          reviewer    queue:
//   ?status=&zone=&list=&from=&to=&limit=&offset= GET  /v1/cases/{id}                     reviewer
//   one case in full (audited: case.view) POST /v1/cases/{id}/decision            reviewer
//   {decision, note, classification?, suppress?} POST /v1/cases/{id}/files/{content}/reveal
//   reviewer  preserved evidence, decrypted (audited) POST /v1/cases/{id}/report compliance  record
//   a CyberTipline submission GET  /v1/audit, /v1/audit/verify        compliance  the trail
//   (?limit=&before=) and its check GET  /v1/exports/cases|events           compliance
//   ?from=&to=&format=csv|json GET  /v1/exports/aggregate              compliance
//   ?from=&to=&period=day|week|month&format= GET  /v1/exports/cases/{id}/cybertipline compliance
//   tar package, or ?part=report.xml
//
// Dates in queries: YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ; `to` is exclusive. A
// decision needs a non-empty note, and a classification (A1, A2, B1, B2) when it confirms.
// The reviewer id stored with a decision is derived from the caller's key id (the first 48
// bits of its digest for "k_" ids), so the two-person rule counts distinct keys.
// Exports are generated into an unlinked temporary file in `spill_dir` and sent from it
// (Content-Length, streamed in chunks): memory stays bounded, and the custody record's SHA-256
// (also sent as X-Export-SHA256) is that of exactly the bytes of the body.
// Every handler runs on the database pool with a connection from a small pool of its own.
// Errors map to the api's shape: not_found 404, invalid_argument 400, conflict 409,
// database_unavailable 503 (Retry-After), integrity 500.
#pragma once

#include "hashguard/api/router.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/hashdb/export.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace hashguard::api {

struct review_deps {
  std::string database_url;                      ///< a migrated hashguard database
  int required_confirmations{1};                 ///< decisions on new cases are counted against it
  hashdb::package_options package;               ///< reporter block of report.xml
  std::optional<hashdb::evidence_key> evidence;  ///< set when preservation is enabled
  std::size_t connections{4};                    ///< pool size (the database pool's threads)
  /// Where exports are generated before they are sent (unlinked temporary files, 0600).
  std::filesystem::path spill_dir{std::filesystem::temp_directory_path()};
};

/// report.person.first_name / last_name / email / phone, report.publicly_available.
void declare_review_config(core::config& cfg);
[[nodiscard]] hashdb::package_options package_options_from(const core::config& cfg);

/// The reviewer id a key id stands for in decisions (see above).
[[nodiscard]] std::int64_t reviewer_id_of(std::string_view key_id) noexcept;

/// Adds the routes above (replacing the 501 placeholders). The handlers share the connection
/// pool (opened lazily, one connection per concurrent request up to `connections`).
void add_review_routes(route_table& table, review_deps deps);

}  // namespace hashguard::api
