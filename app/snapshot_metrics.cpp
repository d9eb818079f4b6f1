#include "snapshot_metrics.hpp"

#include "hashguard/matcher/kernel.hpp"

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

}  // namespace hashguard::app
