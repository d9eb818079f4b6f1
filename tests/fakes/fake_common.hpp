// What the exchanges' fake servers (ncmec_fake, stopncii_fake, threatexchange_fake) share: the
// knobs a test turns to make a fake misbehave, and the small pieces of HTTP they all read.
// Thread-safety: none here; each fake guards its knobs with its own mutex.
#pragma once

#include "fake_http_server.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hg_fakes {

/// A fake's misbehaviour, consumed request by request (counts go down as they are used).
struct knobs {
  int page_size{100};      ///< entries per page (the client's own page size is ignored)
  int rate_limit_next{0};  ///< the next N requests answer 429 with Retry-After
  int retry_after_seconds{1};
  int server_error_next{0};  ///< the next N requests answer server_error_status
  int server_error_status{503};
  std::chrono::milliseconds delay{0};  ///< every answer waits this long (a slow server)
  int malformed_next{0};               ///< the next N pages are cut short (not well-formed)
  /// After this many more authorised requests the credentials are refused, as an expired
  /// token is (-1: never).
  int expire_after{-1};
};

/// The 429 or 5xx `k` asks for next (and counts it down), or nullopt.
[[nodiscard]] std::optional<hg_test::fake_response> injected_failure(knobs& k);

/// Counts an authorised request against expire_after; true once the credentials expired.
[[nodiscard]] bool credentials_expired(knobs& k);

/// Whether the next page is to be malformed (and counts it down).
[[nodiscard]] bool take_malformed(knobs& k);

/// The query parameter `name` of a request target, percent-decoded; nullopt when absent.
[[nodiscard]] std::optional<std::string> query_param(std::string_view target,
                                                     std::string_view name);
/// The path of a request target (without the query).
[[nodiscard]] std::string_view path_of(std::string_view target);
/// A header's value (case-insensitive name); "" when absent.
[[nodiscard]] std::string header_of(const hg_test::fake_request& r, std::string_view name);

/// "Basic " + base64(user:password).
[[nodiscard]] std::string basic_auth(std::string_view user, std::string_view password);

/// A deterministic 64-hex PDQ-like value for generated entry `i` (distinct for distinct i).
[[nodiscard]] std::string generated_hex(std::uint64_t i, std::size_t digits);

/// An answer with `status` and `body`.
[[nodiscard]] hg_test::fake_response answer(int status, std::string body,
                                            std::string content_type = "application/json");

}  // namespace hg_fakes
