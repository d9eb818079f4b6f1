// Helpers every JSON handler needs, so they all reject bad input the same way:
//   - the body must be JSON (a Content-Type, when sent, must be application/json or +json:
//     otherwise 415 unsupported_media_type); an empty or unparsable body is 400 malformed;
//   - integer query parameters are parsed strictly and range-checked (400 malformed).
// Errors are api::errc values; turn them into answers with response::error(ec).
// Includes Boost.JSON: handler files pay for it, the server and other headers do not.
#pragma once

#include "hashguard/api/http.hpp"
#include "hashguard/core/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hashguard::api {

/// Parses the request body as JSON (any value). Errors: unsupported_media_type, malformed.
[[nodiscard]] core::result<boost::json::value> parse_json_body(const request& req);
/// Like parse_json_body, and the value must be an object. Errors: as above.
[[nodiscard]] core::result<boost::json::object> parse_json_object(const request& req);

/// The string member `key` of `o`; nullopt when absent or not a string.
[[nodiscard]] std::optional<std::string> string_field(const boost::json::object& o,
                                                      std::string_view key);

/// A JSON answer from a value.
[[nodiscard]] response json_response(int status, const boost::json::value& v);

/// The integer query parameter `name`, or `fallback` when absent. Errors: malformed when it is
/// not a decimal integer or lies outside [min, max].
[[nodiscard]] core::result<std::int64_t> int_query(const request& req, std::string_view name,
                                                   std::int64_t fallback, std::int64_t min,
                                                   std::int64_t max);

/// The time query parameter `name` (core::parse_utc_time_us's forms: YYYY-MM-DD or
/// YYYY-MM-DDTHH:MM:SS[.fraction]Z, UTC), in microseconds; nullopt when absent or empty.
/// Errors: malformed when it is present and not such a time.
[[nodiscard]] core::result<std::optional<std::int64_t>> time_query(const request& req,
                                                                   std::string_view name);

}  // namespace hashguard::api
