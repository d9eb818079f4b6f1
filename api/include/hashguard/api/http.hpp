// The request and response types handlers see. They hold no Boost.Beast type on purpose: a
// handler file compiles without Beast (compile time), and tests build requests directly.
//
// A handler is a function from (request, auth context) to a response. Synchronous handlers
// return it; asynchronous ones get a `responder` and call it once, from any thread (the answer
// travels back to the connection's strand). Handlers run where their route says (router.hpp):
// on the I/O thread (cheap, non-blocking work only), on the scan pool (CPU work), or on the
// database pool.
#pragma once

#include "hashguard/api/errors.hpp"
#include "hashguard/core/vocabulary.hpp"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hashguard::api {

struct header_field {
  std::string name;
  std::string value;
};

/// Case-insensitive ASCII comparison (HTTP field names).
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

struct request {
  std::string method;                 ///< "GET", "POST"... as sent
  std::string target;                 ///< the raw request target ("/v1/cases?status=open")
  std::string path;                   ///< target before '?'
  std::string query;                  ///< target after '?', not decoded ("" when none)
  std::vector<header_field> headers;  ///< every field as sent (Authorization included)
  std::string body;                   ///< the whole body (already bounded by the route's limit)
  std::map<std::string, std::string, std::less<>> params;  ///< {name} path segments, decoded
  std::string request_id;  ///< X-Request-Id as sent, or one the server generated

  /// First field named `name` (case-insensitive); nullopt when absent.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  /// Query parameter `name`, percent-decoded ('+' is a space); nullopt when absent.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
  /// Path parameter `name` ("" when the route has no such segment).
  [[nodiscard]] std::string_view param(std::string_view name) const;
};

/// Who is calling. For public routes (no role) key_id is empty and role is nullopt.
struct auth_context {
  std::string key_id;  ///< a non-secret id of the key (never the key itself)
  std::optional<core::role> role;
  core::capability_set capabilities{};  ///< granted beyond the role (empty: none)
  /// Role exchange: the lists (names) the key may read; handlers check them (a list outside
  /// them answers as if it did not exist).
  std::vector<std::string> lists{};
};

/// A response body held in an open file instead of memory (large exports). Owns the
/// descriptor: closed when the last copy of the response goes. The server sends the file from
/// offset 0 to its end, with Content-Length, re-arming its write timeout at every chunk.
class body_file {
 public:
  explicit body_file(int fd) noexcept : fd_(fd) {}
  ~body_file();
  body_file(const body_file&) = delete;
  body_file& operator=(const body_file&) = delete;
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

struct response {
  int status{200};
  std::string content_type{"application/json"};
  std::string body;
  std::vector<header_field> headers;  ///< extra fields (Retry-After, Allow, Location...)
  std::shared_ptr<body_file> file;    ///< when set, the body comes from it and `body` is unused
  /// The stable error code of an error answer ("not_found"), as the error() helpers set it with
  /// the body; empty for other answers. The request log reads it (never the body).
  std::string error_code;

  /// A JSON answer.
  [[nodiscard]] static response json(int status, std::string body);
  /// A text answer with the given content type.
  [[nodiscard]] static response text(int status, std::string body, std::string content_type);
  /// The error shape with the status of `code_name` (errors.hpp), and error_code set to it.
  /// Adds Retry-After (seconds) for 429/503 when retry_after_s > 0.
  [[nodiscard]] static response error(std::string_view code_name, std::string_view message,
                                      int retry_after_s = 1);
  [[nodiscard]] static response error(errc code, std::string_view message, int retry_after_s = 1);
  /// A module's error: status from its code name, message from the error itself.
  [[nodiscard]] static response error(const core::error_code& ec, int retry_after_s = 1);

  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

/// Completes an asynchronous handler. Call it once, from any thread; later calls are ignored.
/// A responder destroyed without being called answers 500 "internal" (a handler bug must not
/// leave the connection hanging). Cheap to copy (shared state). Once called, it holds nothing
/// of the server, so a copy may outlive the server; an uncalled one must not (the server's
/// wait() waits for every answer it is owed).
class responder {
 public:
  using sink = std::function<void(response)>;
  responder() = default;
  explicit responder(sink s);
  void operator()(response r) const;
  [[nodiscard]] bool called() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

using sync_handler = std::function<response(const request&, const auth_context&)>;
using async_handler = std::function<void(const request&, const auth_context&, responder)>;

/// Wraps a synchronous handler as an asynchronous one.
[[nodiscard]] async_handler make_async(sync_handler h);

}  // namespace hashguard::api
