#include "hashguard/api/options.hpp"

#include <algorithm>
#include <limits>
#include <thread>

namespace hashguard::api {
namespace {

using core::config_type;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::uint64_t server_options::body_limit(body_class c) const noexcept {
  switch (c) {
    case body_class::none:
    case body_class::json: return body_limit_json;
    case body_class::image: return body_limit_image;
    case body_class::import: return body_limit_import;
    case body_class::video: return body_limit_video;
  }
  return body_limit_json;
}

void declare_config(core::config& cfg) {
  const server_options d;
  auto num = [](auto v) { return std::to_string(v); };
  cfg.declare("http.address", config_type::string, d.address, "listen address");
  cfg.declare("http.port", config_type::integer, num(d.port), "listen port (0: any free port)");
  cfg.declare("http.io_threads", config_type::integer, num(d.io_threads),
              "I/O threads (they also answer /v1/match); 0: one per core");
  cfg.declare("http.scan_threads", config_type::integer, num(d.scan_threads),
              "scan pool threads (decode, hash, match); 0: one per core");
  cfg.declare("http.scan_queue", config_type::integer, num(d.scan_queue),
              "scan jobs that may wait; when full: 503 with Retry-After");
  cfg.declare("http.video_threads", config_type::integer, num(d.video_threads),
              "video pool threads: videos hashed at once, each in its own sandboxed "
              "hashguard-video-worker process (never on the scan pool)");
  cfg.declare("http.video_queue", config_type::integer, num(d.video_queue),
              "video jobs that may wait; when full: 503 with Retry-After");
  cfg.declare("http.db_threads", config_type::integer, num(d.db_threads), "database pool threads");
  cfg.declare("http.db_queue", config_type::integer, num(d.db_queue),
              "database jobs that may wait; when full: 503 with Retry-After");
  cfg.declare("http.header_limit_bytes", config_type::integer, num(d.header_limit),
              "request line and header fields; over it: 431");
  cfg.declare("http.body_limit_json_bytes", config_type::integer, num(d.body_limit_json),
              "JSON request bodies; over it: 413");
  cfg.declare("http.body_limit_image_bytes", config_type::integer, num(d.body_limit_image),
              "image uploads (/v1/scan, /v1/hash); over it: 413");
  cfg.declare("http.body_limit_video_bytes", config_type::integer, num(d.body_limit_video),
              "video uploads (/v1/scan/video); over it: 413");
  cfg.declare("http.body_limit_import_bytes", config_type::integer, num(d.body_limit_import),
              "hash-list imports; over it: 413");
  cfg.declare("http.body_budget_bytes", config_type::integer, num(d.body_budget),
              "request bodies held in memory at once across all connections (reserved by "
              "Content-Length before the body is read, grown as a chunked body grows); a "
              "request that cannot reserve: 503 overloaded with Retry-After; at least the "
              "largest body limit");
  cfg.declare("http.read_timeout_ms", config_type::integer, num(d.read_timeout.count()),
              "each read must make progress within this");
  cfg.declare("http.request_deadline_ms", config_type::integer, num(d.request_deadline.count()),
              "the whole request must arrive within this");
  cfg.declare("http.write_timeout_ms", config_type::integer, num(d.write_timeout.count()),
              "each response write");
  cfg.declare("http.idle_timeout_ms", config_type::integer, num(d.idle_timeout.count()),
              "keep-alive wait for the next request");
  cfg.declare("http.keepalive_max_requests", config_type::integer, num(d.keepalive_max_requests),
              "requests per connection before it closes");
  cfg.declare(
      "http.max_connections", config_type::integer, num(d.max_connections),
      "concurrent connections; at it, a new one evicts an idle or slow one (503 if all busy)");
  cfg.declare("http.drain_timeout_ms", config_type::integer, num(d.drain_timeout.count()),
              "on SIGTERM, in-flight requests get this long to finish");
  cfg.declare("http.retry_after_s", config_type::integer, num(d.retry_after_s),
              "Retry-After of 503 answers");
  cfg.declare("http.tls_cert", config_type::string, "", "PEM certificate chain (enables TLS)");
  cfg.declare("http.tls_key", config_type::string, "", "PEM private key (enables TLS)");
  cfg.declare("http.log_requests", config_type::boolean, "true",
              "one JSON line per request on stderr");
  cfg.declare("auth.bootstrap_key", config_type::secret, "",
              "an admin key from config or a secret (key id \"bootstrap\")");
  cfg.declare("auth.keys", config_type::secret, "",
              "extra keys as role:key,role:key (tests and demos)");
  // On by default (server_options' 0 is for in-process tests that build options by hand): a
  // key's flood, or a prober interleaving unrelated queries, is throttled before it costs much.
  cfg.declare("auth.rate_limit_per_s", config_type::integer, "500",
              "requests per second per key (0: unlimited)");
  cfg.declare("auth.rate_limit_burst", config_type::integer, "1000",
              "token bucket size per key (0: one second's worth)");
}

core::result<server_options> options_from(const core::config& cfg) {
  server_options o;
  auto in_range = [&](std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    out = cfg.get_int(key);
    return out >= lo && out <= hi;
  };
  std::int64_t v = 0;
  constexpr std::int64_t big = std::numeric_limits<std::int32_t>::max();
  o.address = cfg.get_string("http.address");
  if (!in_range("http.port", 0, 65535, v)) return errc::malformed;
  o.port = static_cast<std::uint16_t>(v);
  if (!in_range("http.io_threads", 0, 256, v)) return errc::malformed;
  o.io_threads = static_cast<unsigned>(v);
  if (o.io_threads == 0) o.io_threads = std::max(1U, std::thread::hardware_concurrency());
  if (!in_range("http.scan_threads", 0, 1024, v)) return errc::malformed;
  o.scan_threads = static_cast<unsigned>(v);
  if (o.scan_threads == 0) o.scan_threads = std::max(1U, std::thread::hardware_concurrency());
  if (!in_range("http.scan_queue", 1, big, v)) return errc::malformed;
  o.scan_queue = static_cast<std::size_t>(v);
  if (!in_range("http.video_threads", 1, 64, v)) return errc::malformed;
  o.video_threads = static_cast<unsigned>(v);
  if (!in_range("http.video_queue", 1, big, v)) return errc::malformed;
  o.video_queue = static_cast<std::size_t>(v);
  if (!in_range("http.db_threads", 1, 1024, v)) return errc::malformed;
  o.db_threads = static_cast<unsigned>(v);
  if (!in_range("http.db_queue", 1, big, v)) return errc::malformed;
  o.db_queue = static_cast<std::size_t>(v);
  if (!in_range("http.header_limit_bytes", 256, big, v)) return errc::malformed;
  o.header_limit = static_cast<std::uint32_t>(v);
  constexpr std::int64_t huge = std::numeric_limits<std::int64_t>::max();
  if (!in_range("http.body_limit_json_bytes", 0, huge, v)) return errc::malformed;
  o.body_limit_json = static_cast<std::uint64_t>(v);
  if (!in_range("http.body_limit_image_bytes", 0, huge, v)) return errc::malformed;
  o.body_limit_image = static_cast<std::uint64_t>(v);
  if (!in_range("http.body_limit_video_bytes", 0, huge, v)) return errc::malformed;
  o.body_limit_video = static_cast<std::uint64_t>(v);
  if (!in_range("http.body_limit_import_bytes", 0, huge, v)) return errc::malformed;
  o.body_limit_import = static_cast<std::uint64_t>(v);
  if (!in_range("http.body_budget_bytes", 1, huge, v)) return errc::malformed;
  o.body_budget = static_cast<std::uint64_t>(v);
  if (o.body_budget <
      std::max({o.body_limit_json, o.body_limit_image, o.body_limit_import, o.body_limit_video})) {
    return errc::malformed;
  }
  auto ms = [&](std::string_view key, std::chrono::milliseconds& out) {
    if (!in_range(key, 1, huge / 1'000'000, v)) return false;
    out = std::chrono::milliseconds(v);
    return true;
  };
  if (!ms("http.read_timeout_ms", o.read_timeout) ||
      !ms("http.request_deadline_ms", o.request_deadline) ||
      !ms("http.write_timeout_ms", o.write_timeout) ||
      !ms("http.idle_timeout_ms", o.idle_timeout) ||
      !ms("http.drain_timeout_ms", o.drain_timeout)) {
    return errc::malformed;
  }
  if (!in_range("http.keepalive_max_requests", 1, big, v)) return errc::malformed;
  o.keepalive_max_requests = static_cast<unsigned>(v);
  if (!in_range("http.max_connections", 1, big, v)) return errc::malformed;
  o.max_connections = static_cast<unsigned>(v);
  if (!in_range("http.retry_after_s", 0, 86400, v)) return errc::malformed;
  o.retry_after_s = static_cast<int>(v);
  o.tls_cert = cfg.get_string("http.tls_cert");
  o.tls_key = cfg.get_string("http.tls_key");
  if (o.tls_cert.empty() != o.tls_key.empty()) return errc::malformed;
  o.log_requests = cfg.get_bool("http.log_requests");
  if (!in_range("auth.rate_limit_per_s", 0, big, v)) return errc::malformed;
  o.rate_limit_per_s = static_cast<double>(v);
  if (!in_range("auth.rate_limit_burst", 0, big, v)) return errc::malformed;
  o.rate_limit_burst = static_cast<double>(v);
  return o;
}

std::string config_key_problem(std::string_view key) {
  if (key.size() < min_config_key_length) {
    return "a key must be at least " + std::to_string(min_config_key_length) +
           " characters (this one has " + std::to_string(key.size()) +
           "); make one with `openssl rand -hex 24`";
  }
  std::string lower(key);
  for (char& c : lower) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  for (const std::string_view shipped : {"replace-me", "placeholder"}) {
    if (lower.find(shipped) != std::string::npos) {
      return "the key holds the placeholder text of the shipped examples (\"" +
             std::string(shipped) + "\"): replace it with a secret of your own";
    }
  }
  return {};
}

core::result<std::vector<key_record>> keys_from(const core::config& cfg, std::string* problem) {
  const auto refuse = [problem](std::string why) -> core::result<std::vector<key_record>> {
    if (problem != nullptr) *problem = std::move(why);
    return errc::malformed;
  };
  std::vector<key_record> out;
  const std::string& bootstrap = cfg.get_string("auth.bootstrap_key");
  if (!bootstrap.empty()) {
    if (auto why = config_key_problem(bootstrap); !why.empty()) {
      return refuse("auth.bootstrap_key: " + why);
    }
    out.push_back(key_record{digest_key(bootstrap), "bootstrap", core::role::admin, 0, 0});
  }
  std::string_view rest = cfg.get_string("auth.keys");
  int position = 0;
  while (!trim(rest).empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) continue;
    ++position;  // 1-based, for the message: which entry of the list is refused
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) return refuse("auth.keys: expected role:key,role:key");
    const auto role = core::parse_role(trim(item.substr(0, colon)));
    const std::string_view key = trim(item.substr(colon + 1));
    // An exchange key is scoped to named lists, which only a stored key carries.
    if (!role || *role == core::role::exchange || key.empty()) {
      return refuse(
          "auth.keys: expected role:key,role:key with a role of ingest, reviewer, "
          "compliance or admin");
    }
    if (auto why = config_key_problem(key); !why.empty()) {
      return refuse("auth.keys: entry " + std::to_string(position) + ": " + why);
    }
    const key_digest d = digest_key(key);
    out.push_back(key_record{d, key_id_of(d), *role, 0, 0});
  }
  return out;
}

}  // namespace hashguard::api
