// How the protocol clients call out: one outbound::http_client per source, every request
// through send_with_retry with a wait that cancel() cuts short, and the answer's status mapped
// onto the exchanges' errors. Private to exchanges/.
//
// Thread-safety: send() from the source's one syncing thread; cancel() from any thread.
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>

namespace hashguard::exchanges::detail {

class http_call {
 public:
  http_call(const outbound::client_options& options, const outbound::retry_policy& retry);

  /// Sends `r` with retries. errc::cancelled after cancel(); errc::unavailable when the service
  /// could not be reached (the transport's own error is not passed on: it may name the URL).
  /// Any status is returned as a response.
  [[nodiscard]] core::result<outbound::response> send(const outbound::request& r);

  /// Fails a send() in progress (including a wait between retries) and every later one.
  void cancel() noexcept;
  [[nodiscard]] bool cancelled() const noexcept { return cancelled_.load(); }

 private:
  outbound::http_client client_;
  outbound::retry_policy retry_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::atomic<bool> cancelled_{false};
};

/// The error an answer's status means after the retries: none for 2xx; 401 and 403
/// unauthorized; 429 rate_limited; 404 bad_config (a wrong base URL, group or environment);
/// any other unavailable.
[[nodiscard]] core::result<void> status_error(int status);

/// "Basic " + base64(user ":" password), the Authorization value of HTTP Basic auth.
[[nodiscard]] std::string basic_authorization(std::string_view user, std::string_view password);

/// Seconds since the epoch now.
[[nodiscard]] std::int64_t now_seconds();

}  // namespace hashguard::exchanges::detail
