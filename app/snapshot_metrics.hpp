// The /metrics families that describe the published snapshot, read from the holder at each
// scrape so they can never disagree with what the node matches against:
//   hg_snapshot_version               catalog version of the published snapshot (no sample
//                                     before the first one is published)
//   hg_snapshot_entries{signal}       entries per signal (pdq, phash, md5, sha1, sha256)
//   hg_active_kernel{kernel}          1 for the Hamming kernel searches use: the published
//                                     snapshot's, or the process's start-up choice before one
//
// Thread-safety: the families read the holder (thread-safe); `holder` must outlive `stats`'s
// renders.
#pragma once

#include "hashguard/api/metrics.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/matcher/snapshot.hpp"

namespace hashguard::app {

/// Registers the three families on `stats`. Errors: api::metrics_errc (a name taken before).
[[nodiscard]] core::result<void> add_snapshot_metrics(api::metrics& stats,
                                                      const matcher::snapshot_holder& holder);

}  // namespace hashguard::app
