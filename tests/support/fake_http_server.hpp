// The harness under every fake external service in the tests (exchanges, the CyberTipline):
// a real HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel), plain TCP, that hands each
// request to the fake's handler and writes back what it returns, with knobs a fake sets per
// answer (a delay, a dropped connection, a body cut short).
//
// Thread-safety: the handler runs on the server's one thread, one request at a time, so a fake
// needs no lock against itself; state the test thread reads or changes (knobs, counters) needs
// the fake's own mutex or atomics. Keep-alive is honoured. The destructor stops the server and
// joins its thread (a handler in progress finishes first; a delay is cut short).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hg_test {

struct fake_request {
  std::string method;
  std::string target;  ///< path and query as sent, e.g. "/v2/entries?from=1&to=2"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// The path without the query.
  [[nodiscard]] std::string_view path() const noexcept;
  /// A query parameter's value, percent-decoded; nullopt when absent.
  [[nodiscard]] std::optional<std::string> query(std::string_view name) const;
  /// The first header of that name (case-insensitive); "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const;
};

struct fake_response {
  int status{200};
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type{"application/json"};
  std::chrono::milliseconds delay{0};  ///< wait before answering (a slow server)
  bool drop_connection{false};         ///< close the connection without answering
  bool truncate_body{false};  ///< announce the full Content-Length, send half the body, close
};

class fake_http_server {
 public:
  using handler = std::function<fake_response(const fake_request&)>;
  /// Listens at once; throws std::runtime_error when it cannot (tests only).
  explicit fake_http_server(handler h);
  ~fake_http_server();
  fake_http_server(const fake_http_server&) = delete;
  fake_http_server& operator=(const fake_http_server&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept;
  /// "http://127.0.0.1:PORT" (no trailing slash).
  [[nodiscard]] std::string base_url() const;
  /// Requests handed to the handler so far.
  [[nodiscard]] std::uint64_t requests_seen() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hg_test
