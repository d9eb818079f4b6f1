#include "hashguard/api/metrics.hpp"

#include <cmath>
#include <sstream>

namespace hashguard::api {
namespace {

// Prometheus label values escape backslash, double quote and newline.
std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Numbers as Prometheus reads them; %g keeps bucket bounds short ("0.0005", "10").
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  std::ostringstream s;
  s.precision(12);
  s << v;
  return s.str();
}

void render_histogram(std::ostringstream& out, std::string_view name, std::string_view labels,
                      const histogram& h) {
  const auto counts = h.cumulative();
  const std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
    out << name << "_bucket{" << labels << sep << "le=\"" << number(latency_buckets[i]) << "\"} "
        << counts[i] << "\n";
  }
  out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << counts.back() << "\n";
  const std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  out << name << "_sum" << braces << " " << number(h.sum()) << "\n";
  out << name << "_count" << braces << " " << h.count() << "\n";
}

}  // namespace

void histogram::observe(double seconds) noexcept {
  if (!(seconds >= 0)) seconds = 0;
  std::size_t i = 0;
  while (i < latency_buckets.size() && seconds > latency_buckets[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(std::llround(seconds * 1e6)),
                        std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::array<std::uint64_t, latency_buckets.size() + 1> histogram::cumulative() const noexcept {
  std::array<std::uint64_t, latency_buckets.size() + 1> out{};
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

double histogram::sum() const noexcept {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

std::uint64_t histogram::count() const noexcept {
  return count_.load(std::memory_order_relaxed);
}

void metrics::count_request(std::string_view route, std::string_view method, int status,
                            double seconds) {
  std::lock_guard lock(mu_);
  // Heterogeneous lookup: the hot path allocates only the first time a triple is seen.
  const std::tuple<std::string_view, std::string_view, int> key{route, method, status};
  auto counter = requests_.find(key);
  if (counter == requests_.end()) {
    counter = requests_.emplace(std::make_tuple(std::string(route), std::string(method), status), 0)
                  .first;
  }
  ++counter->second;
  auto it = durations_.find(route);
  if (it == durations_.end()) it = durations_.try_emplace(std::string(route)).first;
  it->second.observe(seconds);
}

void metrics::observe_stage(stage s, double seconds) noexcept {
  stages_[static_cast<std::size_t>(s)].observe(seconds);
}

void metrics::count_rejected(std::string_view reason) {
  std::lock_guard lock(mu_);
  auto it = rejected_.find(reason);
  if (it == rejected_.end()) it = rejected_.try_emplace(std::string(reason), 0).first;
  ++it->second;
}

void metrics::set_snapshot(std::uint64_t entries, std::uint64_t version) noexcept {
  snapshot_entries_ = entries;
  snapshot_version_ = version;
}

void metrics::set_active_kernel(std::string_view kernel) {
  std::lock_guard lock(mu_);
  kernel_ = std::string(kernel);
}

void metrics::set_spool_depth(std::uint64_t events) noexcept {
  spool_depth_ = events;
}

void metrics::add_gauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::uint64_t metrics::requests(std::string_view route, int status) const {
  std::lock_guard lock(mu_);
  std::uint64_t n = 0;
  for (const auto& [k, v] : requests_) {
    if (std::get<0>(k) == route && std::get<2>(k) == status) n += v;
  }
  return n;
}

std::uint64_t metrics::stage_count(stage s) const noexcept {
  return stages_[static_cast<std::size_t>(s)].count();
}

std::string metrics::render() const {
  std::ostringstream out;
  std::lock_guard lock(mu_);

  out << "# HELP hg_http_requests_total HTTP requests answered, by route pattern, method and "
         "status.\n# TYPE hg_http_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    out << "hg_http_requests_total{route=\"" << escape_label(std::get<0>(k)) << "\",method=\""
        << escape_label(std::get<1>(k)) << "\",status=\"" << std::get<2>(k) << "\"} " << v << "\n";
  }

  out << "# HELP hg_http_request_duration_seconds Time from the request header to the answer.\n"
         "# TYPE hg_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : durations_) {
    render_histogram(out, "hg_http_request_duration_seconds",
                     "route=\"" + escape_label(route) + "\"", h);
  }

  out << "# HELP hg_stage_duration_seconds Time per request stage (decode, hash, match, "
         "store).\n# TYPE hg_stage_duration_seconds histogram\n";
  for (std::size_t i = 0; i < stage_names.size(); ++i) {
    render_histogram(out, "hg_stage_duration_seconds",
                     "stage=\"" + std::string(stage_names[i]) + "\"", stages_[i]);
  }

  out << "# HELP hg_http_rejected_total Connections or requests the server refused or cut.\n"
         "# TYPE hg_http_rejected_total counter\n";
  for (const auto& [reason, n] : rejected_) {
    out << "hg_http_rejected_total{reason=\"" << escape_label(reason) << "\"} " << n << "\n";
  }

  out << "# HELP hg_http_connections_open Connections open now.\n"
         "# TYPE hg_http_connections_open gauge\nhg_http_connections_open "
      << open_connections_.load() << "\n";
  out << "# HELP hg_snapshot_entries Hashes in the index snapshot in use.\n"
         "# TYPE hg_snapshot_entries gauge\nhg_snapshot_entries "
      << snapshot_entries_.load() << "\n";
  out << "# HELP hg_snapshot_version Version of the index snapshot in use.\n"
         "# TYPE hg_snapshot_version gauge\nhg_snapshot_version "
      << snapshot_version_.load() << "\n";
  out << "# HELP hg_spool_depth_events Match events waiting in the local spool.\n"
         "# TYPE hg_spool_depth_events gauge\nhg_spool_depth_events "
      << spool_depth_.load() << "\n";
  out << "# HELP hg_active_kernel The Hamming kernel in use (value 1).\n"
         "# TYPE hg_active_kernel gauge\n";
  if (!kernel_.empty()) {
    out << "hg_active_kernel{kernel=\"" << escape_label(kernel_) << "\"} 1\n";
  }
  for (const auto& g : gauges_) {
    out << "# HELP " << g.name << " " << g.help << "\n# TYPE " << g.name << " gauge\n"
        << g.name << " " << number(g.read ? g.read() : 0.0) << "\n";
  }
  return out.str();
}

void stage_timer::stop() noexcept {
  if (metrics_ == nullptr) return;
  const auto elapsed = std::chrono::steady_clock::now() - start_;
  metrics_->observe_stage(stage_, std::chrono::duration<double>(elapsed).count());
  metrics_ = nullptr;
}

}  // namespace hashguard::api
