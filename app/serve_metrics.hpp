// The /metrics families `hashguard serve` adds beside the transport's own (api/metrics.hpp),
// each read at scrape time from the object it describes.
//
// The published snapshot, read from the holder so it can never disagree with what the node
// matches against:
//   hg_snapshot_version               catalog version of the published snapshot (no sample
//                                     before the first one is published)
//   hg_snapshot_entries{signal}       entries per signal (pdq, phash, md5, sha1, sha256)
//   hg_active_kernel{kernel}          1 for the Hamming kernel searches use: the published
//                                     snapshot's, or the process's start-up choice before one
//
// The rest (add_serve_metrics): hg_scan_queue_depth, hg_db_queue_depth, hg_suppressed_contents,
// hg_suppressed_answers_total, hg_spool_bytes, hg_database_up, hg_probe_suspected_total (queries
// the probe detector refused with 429 probe_suspected) and, with evidence preservation,
// hg_evidence_pending_bytes and hg_evidence_lost_total.
//
// Thread-safety: every source is read through its thread-safe accessors; each source must
// outlive `stats`'s renders.
#pragma once

#include "serve_evidence.hpp"

#include "hashguard/api/work_pool.hpp"
#include "hashguard/handlers/probe_guard.hpp"
#include "hashguard/hashdb/recorder.hpp"
#include "hashguard/hashdb/suppressions.hpp"

#include <atomic>
#include <cstdint>

#include "hashguard/api/metrics.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/matcher/snapshot.hpp"

namespace hashguard::app {

/// Registers the three families on `stats`. Errors: api::metrics_errc (a name taken before).
[[nodiscard]] core::result<void> add_snapshot_metrics(api::metrics& stats,
                                                      const matcher::snapshot_holder& holder);

/// What add_serve_metrics reads; `evidence` may be null (preservation off).
struct serve_metric_sources {
  const api::work_pool* scan_pool{nullptr};
  const api::work_pool* db_pool{nullptr};
  const hashdb::suppression_holder* suppressions{nullptr};
  const std::atomic<std::uint64_t>* suppressed_answers{nullptr};
  const hashdb::event_recorder* recorder{nullptr};
  const evidence_keeper* evidence{nullptr};
  const handlers::probe_guard* probes{nullptr};
};

/// Registers the families above (the snapshot's included). Errors: api::metrics_errc.
[[nodiscard]] core::result<void> add_serve_metrics(api::metrics& stats,
                                                   const matcher::snapshot_holder& holder,
                                                   const serve_metric_sources& from);

}  // namespace hashguard::app
