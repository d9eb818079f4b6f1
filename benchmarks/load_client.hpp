// The HTTP/1.1 load generator shared by load_bench and soak_bench (benchmarks only).
//
// run_load drives N keep-alive connections (Boost.Asio coroutines on one I/O thread per client
// thread) against a server on loopback, with requests given as complete pre-serialised HTTP/1.1
// messages (each connection cycles through them). Two modes:
//   - closed loop (rate == 0): each connection sends its next request as soon as the previous
//     answer arrived; the completed rate is the server's maximum throughput for that
//     concurrency;
//   - open loop (rate > 0): requests are scheduled at a fixed total rate, spread evenly over
//     the connections (each connection has rate/N, as wrk2 does); a request's latency runs from
//     its scheduled time, not from when the connection got round to sending it, so a server
//     that falls behind shows up in the percentiles instead of silently slowing the client
//     down (no coordinated omission).
// Responses are parsed with Beast; `Connection: close` (the server's keep-alive limit) makes the
// connection reconnect. Non-2xx answers and transport errors are counted, never hidden.
//
// Thread-safety: run_load blocks the caller and owns every thread it starts; the progress
// callback runs on the caller's thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::bench {

/// Latency histogram with fixed memory for any run length: log-linear buckets over
/// microseconds (64 sub-buckets per power of two), so a percentile is within 1/64 (1.6%) of
/// the recorded value. Range 1 us .. 2^40 us; longer values land in the top bucket.
class latency_histogram {
 public:
  void record(std::chrono::nanoseconds d) noexcept;
  void merge(const latency_histogram& other) noexcept;
  /// p in [0, 100]; the upper edge of the bucket holding that rank, in milliseconds; 0 if empty.
  [[nodiscard]] double percentile_ms(double p) const noexcept;
  [[nodiscard]] double mean_ms() const noexcept;
  [[nodiscard]] double max_ms() const noexcept { return static_cast<double>(max_us_) / 1e3; }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }

 private:
  static constexpr unsigned sub_bits = 6;
  static constexpr unsigned magnitudes = 41;
  static std::size_t bucket_of(std::uint64_t us) noexcept;
  static std::uint64_t upper_edge_us(std::size_t bucket) noexcept;
  std::array<std::uint64_t, magnitudes << sub_bits> buckets_{};
  std::uint64_t count_{0};
  std::uint64_t max_us_{0};
  double sum_us_{0};
};

/// A complete HTTP/1.1 request (request line, headers with Content-Length, body);
/// `extra_headers` is raw "Name: value\r\n" lines. Empty key or content type: no such header.
[[nodiscard]] std::string make_request(std::string_view method, std::string_view target,
                                       std::string_view bearer_key, std::string_view content_type,
                                       std::string_view body, std::string_view extra_headers = {});

struct load_options {
  std::string host{"127.0.0.1"};
  std::uint16_t port{0};
  unsigned connections{8};
  unsigned threads{1};      ///< client I/O threads; connections are split between them
  double rate{0};           ///< requests/s over all connections; 0 = closed loop
  double warmup_s{0.5};     ///< requests scheduled before this are sent but not counted
  double seconds{5};        ///< measured window after the warm-up
  double grace_s{5};        ///< after the window, how long answers still in flight may take
  std::string_view marker;  ///< answers whose body holds it are counted in `marked`
  /// Called about once a second on the calling thread with the seconds elapsed in the window.
  std::function<void(double)> progress;
};

struct load_result {
  double window_s{0};                 ///< measured window (wall clock)
  std::uint64_t completed{0};         ///< answers to requests scheduled inside the window
  std::uint64_t ok{0};                ///< of those, 2xx
  std::uint64_t marked{0};            ///< of those, bodies holding load_options::marker
  std::uint64_t transport_errors{0};  ///< connect/read/write failures (any time)
  std::uint64_t unfinished{0};        ///< requests of the window still unanswered after the grace
  std::uint64_t reconnects{0};        ///< keep-alive ends (Connection: close) and error reconnects
  std::map<int, std::uint64_t> statuses;  ///< answers by HTTP status (window only)
  latency_histogram latency;              ///< window only; from the scheduled time in open loop
  latency_histogram latency_marked;       ///< the same, answers holding the marker only
  latency_histogram latency_unmarked;     ///< the same, answers without it
  double client_cpu_s{0};                 ///< user + system CPU of this process in the run
  [[nodiscard]] double rps() const noexcept {
    return window_s > 0 ? static_cast<double>(completed) / window_s : 0;
  }
  [[nodiscard]] std::uint64_t errors() const noexcept {
    return (completed - ok) + transport_errors + unfinished;
  }
};

/// Runs the load described by `options`, cycling through `requests` (at least one).
[[nodiscard]] load_result run_load(const load_options& options,
                                   const std::vector<std::string>& requests);

}  // namespace hashguard::bench
