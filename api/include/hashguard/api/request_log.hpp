// The one JSON log line per request (stderr). It names the key by its id and role, never the
// key; it never holds a body (image bytes) or header values other than the request id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hashguard::api {

struct request_log_entry {
  std::string_view method;
  std::string_view route;  ///< the route pattern ("unmatched" for 404s)
  std::string_view path;   ///< the path without the query (queries can hold cursors, not keys)
  int status{0};
  std::uint64_t bytes_in{0};   ///< body bytes read
  std::uint64_t bytes_out{0};  ///< body bytes written
  double duration_ms{0};
  std::string_view request_id;
  std::string_view key_id;  ///< empty for public routes and unauthenticated requests
  std::string_view role;    ///< empty likewise
  std::string_view remote;  ///< peer address
  std::string_view error;   ///< the answer's response::error_code ("" for other answers)
};

/// {"ts":"2026-...Z","method":...,"route":...,...} without a newline.
[[nodiscard]] std::string to_json_line(const request_log_entry& e);

}  // namespace hashguard::api
