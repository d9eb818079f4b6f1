// The api's error codes, the one table that maps every error to an HTTP status, and the one
// error shape: {"error": {"code": "stable_string", "message": "..."}} (DESIGN.md section 5).
//
// Errors reach a response in one of two ways:
//  - HTTP-level problems the server itself detects (no key, wrong role, over-limit body...):
//    an api::errc.
//  - a module's error (scanner, matcher, hashdb, core) returned by a handler: its
//    core::named_category code name decides the status through status_for_name().
// Unknown names map to 500: a module error that reaches a client without a mapping is a bug
// to fix here, in this one table.
#pragma once

#include "hashguard/core/error.hpp"

#include <string>
#include <string_view>

namespace hashguard::api {

enum class errc {
  malformed = 1,           ///< 400: the request does not parse (HTTP, JSON, parameters)
  truncated_body,          ///< 400: the connection ended before Content-Length bytes
  unauthorized,            ///< 401: no key, a malformed Authorization header or an unknown key
  forbidden,               ///< 403: a valid key whose role is not the route's role
  not_found,               ///< 404: no route (or no such resource)
  method_not_allowed,      ///< 405: the path exists with other methods (Allow lists them)
  request_timeout,         ///< 408: a read timed out or the whole-request deadline passed
  payload_too_large,       ///< 413: body over the route's limit
  unsupported_media_type,  ///< 415: a format the route does not take
  unprocessable,           ///< 422: well-formed but undecodable or semantically invalid
  rate_limited,            ///< 429: the key's token bucket is empty (Retry-After)
  header_too_large,        ///< 431: request line + header fields over the header limit
  internal,                ///< 500: a bug (an exception from a handler, an unmapped error)
  not_implemented,         ///< 501: a route of the table whose handler is not wired yet
  overloaded,              ///< 503: the work queue is full or the server is at its connection cap
  not_ready,  ///< 503: readiness predicate false (snapshot not loaded, spool unwritable)
};

const core::named_category& api_category() noexcept;
HG_DECLARE_ERRC(errc, api_category)

/// The HTTP status of an error code name (api's own names and every module's named_category
/// names that can reach a client). Unknown names: 500.
[[nodiscard]] int status_for_name(std::string_view code_name) noexcept;
/// Whether the status table has a row for `code_name`.
[[nodiscard]] bool has_status_row(std::string_view code_name) noexcept;
/// Whether `code_name` is on the list of codes that answer 500 on purpose (faults a client
/// cannot cause: configuration, storage, programming).
[[nodiscard]] bool answers_500_on_purpose(std::string_view code_name) noexcept;
/// status_for_name(core::error_name(ec)); a foreign category (system errors): 500.
[[nodiscard]] int status_for(const core::error_code& ec) noexcept;
/// True for the statuses that carry Retry-After (429, 503).
[[nodiscard]] constexpr bool wants_retry_after(int status) noexcept {
  return status == 429 || status == 503;
}

/// The error shape as JSON text: {"error":{"code":"...","message":"..."}}.
[[nodiscard]] std::string error_json(std::string_view code, std::string_view message);

/// The standard reason phrase of a status ("Not Found"); "Unknown" for others.
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

}  // namespace hashguard::api

HG_REGISTER_ERRC(hashguard::api::errc)
