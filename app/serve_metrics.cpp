#include "serve_metrics.hpp"

#include "hashguard/matcher/kernel.hpp"

#include <functional>
#include <string>
#include <vector>

namespace hashguard::app {

core::result<void> add_snapshot_metrics(api::metrics& stats,
                                        const matcher::snapshot_holder& holder) {
  using samples = std::vector<api::metric_sample>;
  auto version = stats.add_family(
      "hg_snapshot_version", "Catalog version of the published snapshot.", api::metric_kind::gauge,
      [&holder] {
        auto snap = holder.load();
        return snap ? samples{{{}, static_cast<double>(snap->version())}} : samples{};
      });
  if (!version) return version;
  auto entries =
      stats.add_family("hg_snapshot_entries", "Entries of the published snapshot, by signal.",
                       api::metric_kind::gauge, [&holder] {
                         samples out;
                         auto snap = holder.load();
                         for (std::size_t i = 0; i < core::signal_names.size(); ++i) {
                           const auto count = snap ? snap->size(static_cast<core::signal>(i)) : 0;
                           out.push_back({{{"signal", std::string(core::signal_names[i])}},
                                          static_cast<double>(count)});
                         }
                         return out;
                       });
  if (!entries) return entries;
  return stats.add_family("hg_active_kernel", "The Hamming kernel searches use (value 1).",
                          api::metric_kind::gauge, [&holder] {
                            const char* name = nullptr;
                            if (auto snap = holder.load()) {
                              name = snap->kernel_used().name;
                            } else if (auto chosen = matcher::startup_kernel()) {
                              name = (*chosen)->name;
                            }
                            return name ? samples{{{{"kernel", name}}, 1.0}} : samples{};
                          });
}

core::result<void> add_serve_metrics(api::metrics& stats, const matcher::snapshot_holder& holder,
                                     const serve_metric_sources& from) {
  auto gauge = [&stats](std::string name, std::string help, std::function<double()> read) {
    return stats.add_gauge(std::move(name), std::move(help), std::move(read));
  };
  auto counter = [&stats](std::string name, std::string help, std::function<double()> read) {
    return stats.add_family(std::move(name), std::move(help), api::metric_kind::counter,
                            [read = std::move(read)] {
                              return std::vector<api::metric_sample>{{{}, read()}};
                            });
  };
  const std::vector<std::function<core::result<void>()>> families{
      [&] { return add_snapshot_metrics(stats, holder); },
      [&] {
        return gauge("hg_scan_queue_depth", "scan jobs waiting",
                     [p = from.scan_pool] { return static_cast<double>(p->queued()); });
      },
      [&] {
        return gauge("hg_db_queue_depth", "database jobs waiting",
                     [p = from.db_pool] { return static_cast<double>(p->queued()); });
      },
      [&] {
        return gauge("hg_suppressed_contents", "contents in this node's suppression set",
                     [s = from.suppressions] { return static_cast<double>(s->load()->size()); });
      },
      [&] {
        return counter("hg_suppressed_answers_total",
                       "scan and match answers turned into no_match by a suppression",
                       [n = from.suppressed_answers] {
                         return static_cast<double>(n->load(std::memory_order_relaxed));
                       });
      },
      [&] {
        return gauge("hg_spool_bytes", "bytes waiting in the event spool",
                     [r = from.recorder] { return static_cast<double>(r->stats().spool_bytes); });
      },
      [&] {
        return gauge("hg_database_up", "1 when the recorder reaches PostgreSQL",
                     [r = from.recorder] { return r->stats().database_up ? 1.0 : 0.0; });
      },
      [&] {
        return counter(
            "hg_probe_suspected_total",
            "scan and match queries refused as probing (429 probe_suspected)",
            [p = from.probes] { return p == nullptr ? 0.0 : static_cast<double>(p->refused()); });
      },
  };
  for (const auto& add : families) {
    if (auto r = add(); !r) return r;
  }
  if (const auto* keeper = from.evidence) {
    if (auto r = gauge("hg_evidence_pending_bytes", "matched content waiting to be preserved",
                       [keeper] { return static_cast<double>(keeper->pending_bytes()); });
        !r) {
      return r;
    }
    return counter("hg_evidence_lost_total", "matched content not preserved (budget, errors)",
                   [keeper] {
                     const auto c = keeper->stats();
                     return static_cast<double>(c.dropped + c.failed);
                   });
  }
  return {};
}

}  // namespace hashguard::app
