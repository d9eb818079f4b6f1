// Service metrics in the Prometheus text exposition format (version 0.0.4), served at /metrics.
//
// What is measured:
//   hg_http_requests_total{route,method,status}          counter, one per answered request
//   hg_http_request_duration_seconds{route}              histogram, header read to answer
// (the server counts a request when its answer is ready, before sending it: a client that has
// its answer finds it counted in its next scrape)
//   hg_stage_duration_seconds{stage}                     histogram per stage: decode, hash,
//                                                        match, store (handlers call observe)
//   hg_snapshot_entries, hg_snapshot_version             gauges the app sets
//   hg_active_kernel{kernel}                             1 for the kernel in use
//   hg_spool_depth_events                                gauge the app sets
//   hg_http_connections_open, hg_http_rejected_total{reason}   set by the server
//   any gauge registered with add_gauge (the pools' queue depths)
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
#include <vector>

namespace hashguard::api {

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
  metrics() = default;
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

  void set_snapshot(std::uint64_t entries, std::uint64_t version) noexcept;
  void set_active_kernel(std::string_view kernel);
  void set_spool_depth(std::uint64_t events) noexcept;
  /// A gauge read at render time (e.g. a pool's queue depth). `name` must be a valid metric
  /// name; the callback must be thread-safe and outlive this object's renders.
  void add_gauge(std::string name, std::string help, std::function<double()> read);

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
  std::string kernel_;
  struct gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  std::vector<gauge> gauges_;
  std::atomic<std::int64_t> open_connections_{0};
  std::atomic<std::uint64_t> snapshot_entries_{0};
  std::atomic<std::uint64_t> snapshot_version_{0};
  std::atomic<std::uint64_t> spool_depth_{0};
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
