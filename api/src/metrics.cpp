#include "hashguard/api/metrics.hpp"

#include <cmath>
#include <sstream>
#include <utility>

namespace hashguard::api {
namespace {

class metrics_category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.metrics"; }
  std::string message(int code) const override {
    switch (static_cast<metrics_errc>(code)) {
      case metrics_errc::invalid_name: return "not a valid metric family name";
      case metrics_errc::duplicate_family: return "metric family registered twice";
    }
    return "unknown metrics error";
  }
  const char* code_name(int code) const noexcept override {
    switch (static_cast<metrics_errc>(code)) {
      case metrics_errc::invalid_name: return "invalid_metric_name";
      case metrics_errc::duplicate_family: return "duplicate_metric_family";
    }
    return "unknown";
  }
};

bool name_start(char c, bool colon_ok) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
}

// [a-zA-Z_:][a-zA-Z0-9_:]* for families, [a-zA-Z_][a-zA-Z0-9_]* for labels.
bool valid_name(std::string_view n, bool colon_ok) {
  if (n.empty() || !name_start(n.front(), colon_ok)) return false;
  for (char c : n) {
    if (!name_start(c, colon_ok) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

// "le" belongs to histograms and "__" names are reserved for Prometheus itself.
bool valid_label_name(std::string_view n) {
  return valid_name(n, false) && n != "le" && !n.starts_with("__");
}

// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string escape(std::string_view v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || (quote && c == '"')) {
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

std::string escape_label(std::string_view v) {
  return escape(v, true);
}

// Numbers as Prometheus reads them: 12 significant digits keep bucket bounds short ("0.0005",
// "10"); infinities and NaN have their own spellings.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(12);
  s << v;
  return s.str();
}

void render_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const histogram& h) {
  const auto counts = h.cumulative();
  const std::string sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i < latency_buckets.size(); ++i) {
    out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"");
    out.append(number(latency_buckets[i])).append("\"} ");
    out.append(std::to_string(counts[i])).append("\n");
  }
  out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"+Inf\"} ");
  out.append(std::to_string(counts.back())).append("\n");
  const std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
  out.append(name).append("_sum").append(braces).append(" ").append(number(h.sum())).append("\n");
  out.append(name).append("_count").append(braces).append(" ");
  out.append(std::to_string(h.count())).append("\n");
}

// One sample line of an added family; false (nothing written) for an invalid label name.
bool write_sample(std::string& out, std::string_view name, const metric_sample& s) {
  std::string labels;
  for (const auto& [label, value] : s.labels) {
    if (!valid_label_name(label)) return false;
    labels.append(labels.empty() ? "{" : ",").append(label).append("=\"");
    labels.append(escape_label(value)).append("\"");
  }
  if (!labels.empty()) labels.push_back('}');
  out.append(name).append(labels).append(" ").append(number(s.value)).append("\n");
  return true;
}

}  // namespace

const core::named_category& metrics_category() noexcept {
  static const metrics_category_impl category;
  return category;
}

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

core::result<void> metrics::add(family f) {
  if (!valid_name(f.name, true)) return metrics_errc::invalid_name;
  std::lock_guard lock(registry_mu_);
  for (const auto& known : families_) {
    if (known.name == f.name) return metrics_errc::duplicate_family;
  }
  families_.push_back(std::move(f));
  return {};
}

core::result<void> metrics::add_family(std::string name, std::string help, metric_kind kind,
                                       std::function<std::vector<metric_sample>()> collect) {
  std::string_view type = kind == metric_kind::counter ? "counter" : "gauge";
  auto write = [name, collect = std::move(collect)](std::string& out) {
    if (!collect) return;
    for (const auto& sample : collect()) write_sample(out, name, sample);
  };
  return add({std::move(name), std::move(help), type, std::move(write)});
}

core::result<void> metrics::add_gauge(std::string name, std::string help,
                                      std::function<double()> read) {
  return add_family(std::move(name), std::move(help), metric_kind::gauge, [read = std::move(read)] {
    return std::vector<metric_sample>{{{}, read ? read() : 0.0}};
  });
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

metrics::metrics() {
  // The built-in names are distinct constants: these registrations cannot fail.
  (void)add({"hg_http_requests_total",
             "HTTP requests answered, by route pattern, method and status.", "counter",
             [this](std::string& out) {
               std::lock_guard lock(mu_);
               for (const auto& [k, v] : requests_) {
                 out.append("hg_http_requests_total{route=\"")
                     .append(escape_label(std::get<0>(k)))
                     .append("\",method=\"")
                     .append(escape_label(std::get<1>(k)))
                     .append("\",status=\"")
                     .append(std::to_string(std::get<2>(k)))
                     .append("\"} ")
                     .append(std::to_string(v))
                     .append("\n");
               }
             }});
  (void)add({"hg_http_request_duration_seconds", "Time from the request header to the answer.",
             "histogram", [this](std::string& out) {
               std::lock_guard lock(mu_);
               for (const auto& [route, h] : durations_) {
                 render_histogram(out, "hg_http_request_duration_seconds",
                                  "route=\"" + escape_label(route) + "\"", h);
               }
             }});
  (void)add({"hg_stage_duration_seconds", "Time per request stage (decode, hash, match, store).",
             "histogram", [this](std::string& out) {
               for (std::size_t i = 0; i < stage_names.size(); ++i) {
                 render_histogram(out, "hg_stage_duration_seconds",
                                  "stage=\"" + std::string(stage_names[i]) + "\"", stages_[i]);
               }
             }});
  (void)add({"hg_http_rejected_total", "Connections or requests the server refused or cut.",
             "counter", [this](std::string& out) {
               std::lock_guard lock(mu_);
               for (const auto& [reason, n] : rejected_) {
                 out.append("hg_http_rejected_total{reason=\"")
                     .append(escape_label(reason))
                     .append("\"} ")
                     .append(std::to_string(n))
                     .append("\n");
               }
             }});
  (void)add(
      {"hg_http_connections_open", "Connections open now.", "gauge", [this](std::string& out) {
         out.append("hg_http_connections_open ")
             .append(std::to_string(open_connections_.load()))
             .append("\n");
       }});
}

std::string metrics::render() const {
  std::string out;
  std::lock_guard lock(registry_mu_);
  for (const auto& f : families_) {
    out.append("# HELP ").append(f.name).append(" ").append(escape(f.help, false)).append("\n");
    out.append("# TYPE ").append(f.name).append(" ").append(f.type).append("\n");
    f.write_samples(out);
  }
  return out;
}

void stage_timer::stop() noexcept {
  if (metrics_ == nullptr) return;
  const auto elapsed = std::chrono::steady_clock::now() - start_;
  metrics_->observe_stage(stage_, std::chrono::duration<double>(elapsed).count());
  metrics_ = nullptr;
}

}  // namespace hashguard::api
