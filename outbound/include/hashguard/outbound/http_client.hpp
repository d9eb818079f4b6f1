// HTTP/1.1 client for hashguard's calls to services outside it: hash exchanges (NCMEC, StopNCII,
// ThreatExchange, another hashguard) and the CyberTipline reporting API.
//
// What it does: one request at a time per client object over http:// or https:// (TLS 1.2 or
// newer through OpenSSL, the peer's certificate and host name verified against the system store
// or `ca_file`, SNI set); a connect deadline and a whole-request deadline; the response body read
// up to `max_response_bytes` (past it: errc::response_too_large, nothing returned); redirects are
// never followed (a 3xx is an ordinary response); no cookies, no proxies, no compression.
// Any HTTP status is a response, not an error: the caller decides what a 404 or 429 means.
//
// What it never does: print or log (errors are values; a request's headers, which carry
// credentials, never appear in an error message).
//
// Thread-safety: one thread uses a client at a time; cancel() may be called from any thread.
#pragma once

#include "hashguard/core/error.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::outbound {

enum class errc {
  bad_url = 1,         ///< not an absolute http:// or https:// URL with a host
  resolve_failed,      ///< the host name did not resolve
  connect_failed,      ///< no connection (refused, unreachable, reset before an answer)
  tls_failed,          ///< handshake failed or the peer's certificate did not verify
  timeout,             ///< the connect or request deadline passed
  response_too_large,  ///< the body (or the header block, over 64 KiB) exceeded its cap
  protocol_error,      ///< the answer is not well-formed HTTP/1.1
  cancelled,           ///< cancel() was called
};

const core::named_category& outbound_category() noexcept;
HG_DECLARE_ERRC(errc, outbound_category)

struct header_field {
  std::string name;
  std::string value;
};

struct request {
  std::string method{"GET"};
  std::string url;  ///< absolute: scheme://host[:port]/path[?query]; the caller percent-encodes
  std::vector<header_field> headers;  ///< sent as given (Authorization included); Host is added
  std::string body;                   ///< sent with Content-Length when not empty (or not GET)
  std::string content_type;           ///< "" = no Content-Type header
};

struct response {
  int status{};
  std::vector<header_field> headers;
  std::string body;
  /// The first header of that name (case-insensitive), or nullopt.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept;
};

struct client_options {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};  ///< send + whole answer
  std::size_t max_response_bytes{std::size_t{256} << 20};
  std::string ca_file;  ///< PEM bundle; "" = the system's default store
  std::string user_agent{"hashguard"};
};

class http_client {
 public:
  explicit http_client(client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `r` and reads the whole answer. Keeps the connection for the next request to the
  /// same scheme, host and port when the server allows it.
  [[nodiscard]] core::result<response> send(const request& r);

  /// Makes a send() in progress, and every later one, fail promptly with errc::cancelled.
  void cancel() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// When and how often send_with_retry() tries again.
struct retry_policy {
  int max_attempts{5};                         ///< total tries, the first included (>= 1)
  std::chrono::milliseconds base_delay{500};   ///< first backoff before jitter
  std::chrono::milliseconds max_delay{60000};  ///< cap of one backoff
  std::chrono::milliseconds max_retry_after{std::chrono::minutes(10)};  ///< cap on Retry-After
};

/// How send_with_retry() waits; tests pass one that records the delays instead of sleeping.
/// Returns false to stop waiting (shutdown): the retry loop then ends with the last outcome.
using wait_function = std::function<bool(std::chrono::milliseconds)>;

/// Sends `r`, trying again after errc::resolve_failed, connect_failed, timeout or
/// protocol_error and after the statuses 429, 500, 502, 503 and 504: it waits the answer's
/// Retry-After (delta-seconds or an HTTP date, capped at max_retry_after) when there is one,
/// otherwise a full-jitter exponential backoff (uniform in [0, min(max_delay, base_delay *
/// 2^retry)]), up to max_attempts tries. Returns the last response (a 429 or 5xx after the last
/// try is returned as a response) or the last error. Other errors and statuses return at once.
/// `wait` defaults to sleeping on the calling thread.
[[nodiscard]] core::result<response> send_with_retry(http_client& client, const request& r,
                                                     const retry_policy& policy,
                                                     const wait_function& wait = {});

}  // namespace hashguard::outbound

HG_REGISTER_ERRC(hashguard::outbound::errc)
