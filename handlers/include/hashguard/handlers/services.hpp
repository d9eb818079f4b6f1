// What the handlers work with: the objects `hashguard serve` (app/, the composition root)
// owns and hands to register_routes(). Every pointer must outlive the route table; null
// pointers are allowed where a field says so.
#pragma once

#include "hashguard/api/metrics.hpp"
#include "hashguard/handlers/db_pool.hpp"
#include "hashguard/handlers/probe_guard.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/hashdb/export.hpp"
#include "hashguard/hashdb/recorder.hpp"
#include "hashguard/hashdb/suppressions.hpp"
#include "hashguard/matcher/snapshot.hpp"
#include "hashguard/scanner/scan.hpp"
#include "hashguard/scanner/video_worker.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hashguard::handlers {

/// Readiness: snapshot loaded and spool writable (a database outage does not make a node
/// unready). `reason` says what is missing when not ready.
struct readiness {
  bool ready{false};
  std::string reason;
};

/// The outcome of one ISPWS GET /status call (POST /v1/reporting/check). Never credentials.
struct filing_check {
  std::string environment;  ///< test or production
  std::string base_url;
  bool ok{false};
  std::string detail;  ///< "responseCode 0 (...)" or why there was no answer
  std::string checked_at;
};

/// CyberTipline filing (handlers/src/filing.cpp; serve's report task runs the jobs).
struct filing_services {
  std::string environment{"test"};      ///< reporting.environment: where new jobs file
  bool allow_no_files{false};           ///< reporting.allow_no_files
  int max_attempts{3};                  ///< reporting.max_attempts (shown with each job)
  std::function<void()> job_queued;     ///< a job was queued: run the report task now
  std::function<filing_check()> check;  ///< ISPWS /status now; empty: the route answers 501
};

/// Hands the bytes of a recorded match event to evidence preservation (off the request path);
/// false when they were not taken (its budget is full).
using evidence_sink =
    std::function<bool(std::string event_id, std::string bytes, std::string media_type)>;

/// How a scanned image's rotations and mirrors are matched (match.orientations):
/// exact = the hashes of the pixel-level orientations (scanner/pdq.hpp: what the reference
/// gives for the rotated image), dihedral = the reference's 7 DCT-sign variants, off = upright
/// only. A list whose dihedral switch is off matches upright only in every mode.
enum class orientation_match : std::uint8_t { exact, dihedral, off };

struct services {
  // --- ingest (/v1/scan, /v1/scan/video, /v1/hash, /v1/match, /v1/index) ---
  matcher::snapshot_holder* snapshot{nullptr};  ///< required
  hashdb::event_recorder* recorder{nullptr};    ///< null: a match cannot be recorded (500)
  scanner::scan_options scan;
  std::string node;  ///< this node's name, stored with each event
  /// Which rotated/mirrored PDQ hashes of a scanned image are searched too
  /// (match.orientations): with `exact`, scan.orientations must be on.
  orientation_match orientations{orientation_match::exact};
  /// Also match the content inside borders and letterbox/pillarbox bars (match.trim; the
  /// hit's detail says what was trimmed).
  bool trim{true};
  /// Evidence preservation of matched content; empty when off.
  evidence_sink preserve;
  /// Content reviewers dismissed with suppression: a scan or match of it answers no_match
  /// with "suppressed": true. Null: only the recorder's `suppressed` outcome says so.
  const hashdb::suppression_holder* suppressions{nullptr};
  /// Counts the answers suppression turned into no_match (null: not counted).
  std::atomic<std::uint64_t>* suppressed_answers{nullptr};
  /// The probe detector of /v1/scan and /v1/match (429 probe_suspected); null: none.
  probe_guard* probes{nullptr};
  /// POST /v1/scan/video: hashes each video in its own sandboxed worker process; null: the
  /// route answers 501 not_implemented.
  const scanner::video_worker* video{nullptr};
  scanner::vpdq_options video_hashing;  ///< which frames are hashed (one per second)
  scanner::video_limits video_limits;

  // --- every route that touches PostgreSQL ---
  db_pool* db{nullptr};                 ///< required
  std::function<void()> lists_changed;  ///< after a list change: rebuild this node's snapshot
  std::function<void()> keys_changed;   ///< after a key change: reload this node's keys
  /// POST /v1/exchanges/{name}/sync: starts a sync of the named exchange on this node now
  /// (its periodic task runs at once); false when this node does not run that exchange.
  /// Null: this node runs no exchange.
  std::function<bool(std::string_view name)> sync_exchange;
  int required_confirmations{2};  ///< for decisions on new cases
  /// reporting.hold_days: a finished production report's hold (hashdb/holds.hpp), >= 365.
  int report_hold_days{365};
  hashdb::package_options package;               ///< reporter block of report.xml
  filing_services filing;                        ///< CyberTipline filing (reporting.*)
  std::optional<hashdb::evidence_key> evidence;  ///< set when preservation is enabled
  /// The published audit head (audit.head_file) /v1/audit/verify checks the log against;
  /// empty or absent: the chain alone is checked.
  std::filesystem::path audit_head_file;
  /// Where exports are generated before they are sent (unlinked temporary files, 0600).
  std::filesystem::path spill_dir{std::filesystem::temp_directory_path()};

  // --- built-in routes and the UI ---
  api::metrics* stats{nullptr};      ///< /metrics and the stage timings; may be null
  std::function<readiness()> ready;  ///< /readyz; empty: never ready
  int retry_after_s{1};              ///< Retry-After of every 503 the handlers send
  std::string ui_dir;                ///< http.ui_dir; empty: the embedded web/ files
};

}  // namespace hashguard::handlers
