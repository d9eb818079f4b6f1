// A small blocking HTTP/1.1 client over raw POSIX sockets (optionally TLS through OpenSSL) for
// the api tests. Raw sockets on purpose: the tests send what a real client would never send
// (dribbled headers, truncated bodies, oversized fields, pipelined bursts).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hg_test {

using namespace std::chrono_literals;

struct http_response {
  int status{0};
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  [[nodiscard]] std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

/// Builds a request. Content-Length is added when `body` is given and no such header is.
std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         std::optional<std::string_view> body = std::nullopt);

class client {
 public:
  /// Connects to 127.0.0.1:port (TLS: handshake, certificate not verified). Throws on failure.
  explicit client(std::uint16_t port, bool tls = false);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sends every byte; false when the peer closed or reset.
  bool send(std::string_view bytes);
  /// Half-closes (no more bytes from us).
  void shutdown_write();
  /// Reads one response (skipping 1xx unless keep_interim). nullopt on EOF, reset or timeout.
  std::optional<http_response> read_response(std::chrono::milliseconds timeout = 5000ms,
                                             bool keep_interim = false);
  /// True when the peer closes (EOF or reset) within `timeout` with no further response bytes.
  bool wait_closed(std::chrono::milliseconds timeout = 5000ms);

 private:
  // Reads more bytes into buf_; 0 on EOF/error/timeout.
  std::size_t fill(std::chrono::steady_clock::time_point deadline);
  int fd_{-1};
  struct tls_state;
  std::unique_ptr<tls_state> tls_;
  std::string buf_;
};

/// One request on a fresh connection.
std::optional<http_response> fetch(std::uint16_t port, std::string_view method,
                                   std::string_view target, std::string_view key = {},
                                   std::optional<std::string_view> body = std::nullopt,
                                   bool tls = false);

/// One request on a fresh connection with a key (when not empty), extra headers and a body;
/// waits `timeout` for the answer. nullopt when there was none (no connection, closed, reset,
/// timed out).
std::optional<http_response> exchange(
    std::uint16_t port, std::string_view method, std::string_view target, std::string_view key,
    std::optional<std::string_view> body = std::nullopt,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    std::chrono::milliseconds timeout = 10000ms);

/// The value of one series in a Prometheus text exposition: `series` is the metric's name with
/// its labels as the exposition writes them ("hg_spool_bytes",
/// R"(hg_http_rejected_total{reason="evicted"})"); nullopt when no line holds it.
std::optional<double> metric_value(std::string_view exposition, std::string_view series);

}  // namespace hg_test
