// Admission: what the server decides from a request's header alone, before it reads any body
// byte (server.hpp describes the order to the client). A pure function of the header and the
// server's tables: no socket, no Asio, so every early answer is unit-tested without a server.
//
// In order, the first that applies answers early:
//   400 malformed         X-Request-Id present but not 1-128 visible ASCII characters
//   400 malformed         the target is not an absolute path ("*", "http://...", "")
//   404 not_found         no route has the path
//   405 method_not_allowed  routes have the path with other methods (Allow lists them)
//   -- routes with a role only (public routes skip the key checks) --
//   401 unauthorized      no Authorization, not "Bearer <token>", or an unknown key
//                         (WWW-Authenticate: Bearer)
//   429 rate_limited      the key's token bucket is empty (Retry-After); every request of a
//                         valid key takes a token, whatever the route's role
//   403 forbidden         the key's role is not the route's role
//   --
//   413 payload_too_large the declared Content-Length is over the route's body limit
// Otherwise the request is admitted with its route, path parameters, caller and body limit (a
// chunked body is cut at that limit while it streams; that check is the transport's).
// There is no 411: a request without Content-Length or chunked encoding has no body (HTTP/1.1).
//
// Thread-safety: as thread-safe as its arguments (the route table and key registry are shared
// read-only; the rate limiter is thread-safe).
#pragma once

#include "hashguard/api/auth.hpp"
#include "hashguard/api/http.hpp"
#include "hashguard/api/options.hpp"
#include "hashguard/api/router.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hashguard::api {

/// The parts of a parsed request header that admission reads. Views into the header: they must
/// outlive the call, and admission's result views into them too.
struct request_head {
  std::string_view method;         ///< as sent ("GET")
  std::string_view target;         ///< as sent, query included ("/v1/cases?status=open")
  std::string_view request_id;     ///< the X-Request-Id value; "" when absent
  std::string_view authorization;  ///< the Authorization value; "" when absent
  /// The declared Content-Length; nullopt when none (no body, or a chunked one).
  std::optional<std::uint64_t> content_length;
};

/// What the server checks a header against. Everything must outlive the call.
struct admission_rules {
  const route_table* routes{nullptr};     ///< required
  const key_registry* keys{nullptr};      ///< null: no key is known (protected routes answer 401)
  rate_limiter* limiter{nullptr};         ///< null: no rate limit
  const server_options* limits{nullptr};  ///< required: the body limit of each body class
};

/// Admission's decision. `early` set: answer it and read no body. Otherwise the request is
/// admitted and `matched`, `params`, `caller` and `body_limit` say how to serve it. The other
/// fields are also filled as far as admission got before an early answer, for the request
/// log: `matched` once the route was found (so a 401 names its route), `caller` once the key
/// authenticated (so a 403 or 429 names its key).
struct admission {
  /// The client's X-Request-Id when valid; "" when absent or invalid (the server makes one).
  std::string_view request_id;
  /// The target before '?'; "" when the target is not an absolute path (kept out of the log).
  std::string_view path;
  /// The target after '?' ("" when none), not decoded.
  std::string_view query;
  const route* matched{nullptr};
  std::map<std::string, std::string, std::less<>> params;  ///< decoded {name} segments
  auth_context caller;          ///< key id and role; empty for public routes
  std::uint64_t body_limit{0};  ///< bytes the body may hold (admitted requests)
  std::optional<response> early;

  [[nodiscard]] bool admitted() const noexcept { return !early.has_value(); }
};

/// Decides a request from its header (see the top of this file).
[[nodiscard]] admission admit(const request_head& head, const admission_rules& rules);

/// True for an X-Request-Id the server echoes and logs: 1 to 128 visible ASCII characters.
[[nodiscard]] bool valid_request_id(std::string_view id) noexcept;

}  // namespace hashguard::api
