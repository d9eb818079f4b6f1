// The ingest handlers of `hashguard serve` (DESIGN.md sections 3 and 5): POST /v1/scan,
// POST /v1/hash, POST /v1/match and GET /v1/index, wired over the scanner, the published
// matcher snapshot and the event recorder.
//
// Ownership: the deps point at objects run_serve owns; they must outlive the route table.
// Thread-safety: the handlers run on the scan pool; each pool thread keeps its own
// image_scanner (thread_local), the snapshot is read through the holder once per request.
#pragma once
#include "serve_evidence.hpp"

#include "hashguard/api/metrics.hpp"
#include "hashguard/api/router.hpp"
#include "hashguard/hashdb/recorder.hpp"
#include "hashguard/hashdb/suppressions.hpp"
#include "hashguard/matcher/snapshot.hpp"
#include "hashguard/scanner/scan.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace hashguard::app {

struct ingest_deps {
  matcher::snapshot_holder* holder{nullptr};
  hashdb::event_recorder* recorder{nullptr};  ///< null: matches cannot be recorded (500)
  api::metrics* stats{nullptr};
  scanner::scan_options scan;
  std::string node;      ///< this node's name, stored with each event
  int retry_after_s{1};  ///< Retry-After of the 503 sent when a match cannot be recorded
  /// Evidence preservation (serve_evidence.hpp): null when off. When set, the bytes of a scan
  /// whose match event was recorded are handed to it; a no_match scan never is.
  evidence_keeper* evidence{nullptr};
  /// Search the 7 rotated/mirrored PDQ variants of a scanned image too (match.dihedral);
  /// false searches the original orientation only (about 8x fewer PDQ probes per scan).
  bool dihedral{true};
  /// Content reviewers dismissed with suppression (hashdb/suppressions.hpp, kept fresh from the
  /// decisions feed): a scan or match of it answers no_match, action none, no hits,
  /// "suppressed": true. Null: only the recorder's `suppressed` outcome says so.
  const hashdb::suppression_holder* suppressions{nullptr};
  /// Counts the answers suppression turned into no_match (null: not counted).
  std::atomic<std::uint64_t>* suppressed_answers{nullptr};
};

/// Replaces the 501 placeholders of /v1/scan, /v1/hash, /v1/match and /v1/index.
void add_ingest_routes(api::route_table& table, const ingest_deps& deps);

}  // namespace hashguard::app
