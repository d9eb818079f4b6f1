// The server's settings: their config keys with the embedded defaults (core::config), and the
// typed options the server runs on.
//
// Keys (all under http.* and auth.*; `hashguard serve --help` lists them with their help):
//   http.address, http.port            listen address (default 127.0.0.1:8080; port 0 = any)
//   http.io_threads                    I/O threads (0, the default: one per core)
//   http.scan_threads, http.scan_queue scan pool: threads (0 = one per core) and queue bound
//   http.video_threads, http.video_queue video pool: threads (videos at once) and queue bound
//   http.db_threads, http.db_queue     database pool: threads and queue bound
//   http.header_limit_bytes            request line + fields; over it: 431
//   http.body_limit_*_bytes            per body class (json, image, import, video); over it: 413
//   http.body_budget_bytes             request bodies in memory across all connections; a
//                                      request that cannot reserve its body: 503 overloaded
//   http.read_timeout_ms               each read must make progress within this
//   http.request_deadline_ms           the whole request (header + body) must arrive within this
//   http.write_timeout_ms              each response write
//   http.idle_timeout_ms               keep-alive wait for the next request
//   http.keepalive_max_requests        requests per connection before it is closed
//   http.max_connections               concurrent connections; at it, a new one evicts an idle
//                                      or slow one, or gets 503 when all are busy
//   http.drain_timeout_ms              SIGTERM: in-flight requests get this long to finish
//   http.retry_after_s                 Retry-After of 503 answers
//   http.tls_cert, http.tls_key        PEM paths; both set = HTTPS only
//   http.log_requests                  one JSON line per request on stderr
//   auth.bootstrap_key (secret)        an admin key from config / a Kubernetes Secret
//   auth.keys (secret)                 extra keys, "role:key,role:key" (tests, demos)
//   auth.rate_limit_per_s, auth.rate_limit_burst   per-key token bucket (0 = unlimited);
//                                      serve's defaults 500/s, burst 1000 (the struct's 0s are
//                                      for in-process servers built by hand)
#pragma once

#include "hashguard/api/auth.hpp"
#include "hashguard/api/router.hpp"
#include "hashguard/core/config.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace hashguard::api {

struct server_options {
  std::string address{"127.0.0.1"};
  std::uint16_t port{8080};
  /// 0: one per core (the default). /v1/match runs on the I/O threads, so fewer than the cores
  /// would leave cores idle under a match-only load.
  unsigned io_threads{0};
  unsigned scan_threads{0};  ///< 0: one per core
  std::size_t scan_queue{256};
  /// Videos hashed at once; each thread waits on one sandboxed decoder process, so a few
  /// bound the decoder processes (and their memory caps) a node runs.
  unsigned video_threads{2};
  std::size_t video_queue{16};
  unsigned db_threads{4};
  std::size_t db_queue{256};
  std::uint32_t header_limit{16 * 1024};
  std::uint64_t body_limit_json{1024 * 1024};
  std::uint64_t body_limit_image{32 * 1024 * 1024};
  std::uint64_t body_limit_import{512ULL * 1024 * 1024};
  std::uint64_t body_limit_video{256ULL * 1024 * 1024};
  /// Bytes of request bodies in memory at once, across all connections (see server.hpp).
  std::uint64_t body_budget{1ULL << 30U};
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds request_deadline{30'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  unsigned keepalive_max_requests{1000};
  unsigned max_connections{1024};
  std::chrono::milliseconds drain_timeout{10'000};
  int retry_after_s{1};
  std::string tls_cert;  ///< PEM certificate chain path; empty: plain HTTP
  std::string tls_key;   ///< PEM private key path
  bool log_requests{true};
  double rate_limit_per_s{0};
  double rate_limit_burst{0};

  /// The body limit of a route's body class.
  [[nodiscard]] std::uint64_t body_limit(body_class c) const noexcept;
  [[nodiscard]] bool tls() const noexcept { return !tls_cert.empty() || !tls_key.empty(); }
};

/// Declares every http.* and auth.* key with its embedded default.
void declare_config(core::config& cfg);
/// Reads the options from a config on which declare_config ran. Errors: errc::malformed for
/// values out of range (a port above 65535, negative sizes, one TLS path without the other, a
/// body budget smaller than a body limit: such a body could never be admitted).
[[nodiscard]] core::result<server_options> options_from(const core::config& cfg);
/// Config keys (auth.bootstrap_key, auth.keys) are typed by people, so they are checked: at
/// least this many characters (`hashguard keys create` makes 46; `openssl rand -hex 16` 32).
inline constexpr std::size_t min_config_key_length = 32;

/// Why `key` may not be used as a config key, or "" when it may: shorter than
/// min_config_key_length, or holding the placeholder text the shipped examples carry
/// ("REPLACE-ME", "placeholder", any case), which would otherwise become a working admin key
/// for anyone who read the repository.
[[nodiscard]] std::string config_key_problem(std::string_view key);

/// The key records that config provides: the bootstrap admin key (key id "bootstrap") and
/// auth.keys. Errors: errc::malformed for an unknown role, an empty key in auth.keys, or a key
/// config_key_problem refuses; `problem`, when given, then says which setting and why (never
/// the key itself).
[[nodiscard]] core::result<std::vector<key_record>> keys_from(const core::config& cfg,
                                                              std::string* problem = nullptr);

}  // namespace hashguard::api
