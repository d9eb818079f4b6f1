// Service metrics in the Prometheus text exposition format (version 0.0.4), served at /metrics.
//
// Every family goes through one registry: a name is registered once (built-in or added), and
// render() writes each family's HELP and TYPE once, followed by its samples. A second
// registration of a name is refused (metrics_errc::duplicate_family): Prometheus rejects a
// scrape that names a family twice, so the app treats it as a start-up error.
//
// Built-in families (what the server itself measures):
//   hg_http_requests_total{route,method,status}          counter, one per answered request
//   hg_http_request_duration_seconds{route}              histogram, header read to answer
// (the server counts a request when its answer is ready, before sending it: a client that has
// its answer finds it counted in its next scrape)
//   hg_stage_duration_seconds{stage}                     histogram per stage: decode, hash,
//                                                        match, store (handlers call observe)
//   hg_http_connections_open, hg_http_rejected_total{reason}   set by the server
// Everything else (snapshot entries and version, the active kernel, queue depths...) is added by
// the app with add_family or add_gauge, read from its owner at render time, so no copy of a
// value can go stale.
// Route labels are route patterns ("/v1/cases/{id}"), never raw paths, so the label set stays
// bounded; unmatched requests count under route "unmatched".
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "hashguard/core/error.hpp"

namespace hashguard::api {

enum class metrics_errc {
  invalid_name = 1,  ///< a family name outside [a-zA-Z_:][a-zA-Z0-9_:]*
  duplicate_family,  ///< a family name registered before (built-in or added)
};
const core::named_category& metrics_category() noexcept;
HG_DECLARE_ERRC(metrics_errc, metrics_category)

/// The exposition TYPE of an added family.
enum class metric_kind { gauge, counter };

/// One sample of an added family: its labels (name, unescaped value) and value. Label names
/// must match [a-zA-Z_][a-zA-Z0-9_]* and must not be "le" or start with "__"; a sample with
/// another label name is left out of the exposition (a strict scraper would reject it all).
struct metric_sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value;
};

enum class stage : std::uint8_t { decode, hash, match, store };
inline constexpr std::array<std::string_view, 4> stage_names{"decode", "hash", "match", "store"};

/// Upper bounds (seconds) of the latency histogram buckets; +Inf is implied.
inline constexpr std::array<double, 14> latency_buckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

class histogram {
 public:
  void observe(double seconds) noexcept;
  /// Cumulative counts per bucket (then +Inf), the sum and the count, for rendering.
  [[nodiscard]] std::array<std::uint64_t, latency_buckets.size() + 1> cumulative() const noexcept;
  [[nodiscard]] double sum() const noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, latency_buckets.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_micros_{0};
  std::atomic<std::uint64_t> count_{0};
};

class metrics {
 public:
  /// Registers the built-in families.
  metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// One answered request.
  void count_request(std::string_view route, std::string_view method, int status, double seconds);
  /// One stage of one request (handlers call this, or use stage_timer).
  void observe_stage(stage s, double seconds) noexcept;
  /// A connection refused or cut by the server (reason: "max_connections", "timeout"...).
  void count_rejected(std::string_view reason);
  void connection_opened() noexcept { ++open_connections_; }
  void connection_closed() noexcept { --open_connections_; }

  /// A family whose samples `collect` returns at each render (any number, none included).
  /// `collect` must be thread-safe, must not call into this object and must stay callable as
  /// long as this object renders. Errors: metrics_errc::invalid_name, duplicate_family.
  [[nodiscard]] core::result<void> add_family(std::string name, std::string help, metric_kind kind,
                                              std::function<std::vector<metric_sample>()> collect);
  /// A family of one unlabelled gauge sample read at render time (e.g. a pool's queue depth);
  /// add_family's contract and errors.
  [[nodiscard]] core::result<void> add_gauge(std::string name, std::string help,
                                             std::function<double()> read);

  /// The whole exposition text.
  [[nodiscard]] std::string render() const;

  [[nodiscard]] std::uint64_t requests(std::string_view route, int status) const;
  [[nodiscard]] std::uint64_t stage_count(stage s) const noexcept;

 private:
  std::array<histogram, stage_names.size()> stages_{};
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t, std::less<>> requests_;
  std::map<std::string, histogram, std::less<>> durations_;
  std::map<std::string, std::uint64_t, std::less<>> rejected_;
  std::atomic<std::int64_t> open_connections_{0};

  // The registry: families in registration order, each writing its own sample lines.
  struct family {
    std::string name;
    std::string help;
    std::string_view type;  // "counter", "gauge" or "histogram"
    std::function<void(std::string&)> write_samples;
  };
  core::result<void> add(family f);
  void add_builtin_families();
  mutable std::mutex registry_mu_;  // guards families_; taken before mu_, never after
  std::vector<family> families_;
};

/// Observes the time from construction to stop() (or destruction) as one stage.
class stage_timer {
 public:
  stage_timer(metrics& m, stage s) noexcept
      : metrics_(&m), stage_(s), start_(std::chrono::steady_clock::now()) {}
  ~stage_timer() { stop(); }
  stage_timer(const stage_timer&) = delete;
  stage_timer& operator=(const stage_timer&) = delete;
  /// Records now; later calls (and the destructor) do nothing.
  void stop() noexcept;

 private:
  metrics* metrics_;
  stage stage_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace hashguard::api

HG_REGISTER_ERRC(hashguard::api::metrics_errc)
