// Routes: method + path pattern ("/v1/cases/{id}/decision") -> required role, where the
// handler runs, the body class, and the handler.
//
// Matching: a pattern is split on '/'; a "{name}" segment matches one non-empty segment and
// binds it (percent-decoded) as a path parameter; a last segment "{name...}" matches the rest
// of the path (one or more segments, the last possibly empty: "/ui/" binds ""), joined with
// '/' and percent-decoded; every other segment matches literally. A trailing '/' is
// significant. When several patterns match, the one with more literal
// segments before the first parameter wins ("/v1/audit/verify" beats "/v1/audit/{id}").
// No role inherits another: a route requires exactly one role, or none (public).
//
// Thread-safety: build the table at start-up, then share it read-only between threads.
#pragma once

#include "hashguard/api/http.hpp"
#include "hashguard/core/vocabulary.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::api {

/// Where the handler runs. I/O threads never decode, hash or wait on the database.
enum class run_on : std::uint8_t {
  io,     ///< inline on the connection's I/O thread: cheap, non-blocking handlers only
  scan,   ///< the scan pool (decode, hash, match)
  db,     ///< the database pool (anything that may wait on PostgreSQL)
  video,  ///< the video pool (a few threads, each waiting on one sandboxed decoder process)
};

/// Which body limit applies (server options hold the sizes).
enum class body_class : std::uint8_t {
  none,    ///< a small limit (json); routes that take no body
  json,    ///< JSON requests
  image,   ///< raw image uploads
  import,  ///< hash-list imports
  video,   ///< raw video uploads
};

struct route_spec {
  std::string method;              ///< "GET", "POST", "PATCH", "DELETE"
  std::string pattern;             ///< "/v1/lists/{id}/hashes"
  std::optional<core::role> role;  ///< nullopt: public
  run_on where{run_on::io};
  body_class body{body_class::none};
  std::string summary;  ///< one line, for the OpenAPI document check and the docs
};

struct route {
  route_spec spec;
  async_handler handler;
  /// Set when the route was added with a sync_handler (handler then wraps it): the server
  /// calls it directly on the I/O thread for run_on::io routes, with no hop through the
  /// executor (a bounded in-memory handler answers in microseconds; a post would cost more).
  sync_handler sync;
};

struct route_match {
  const route* matched{nullptr};  ///< null when no route matched
  std::map<std::string, std::string, std::less<>> params;
  /// When matched is null: the methods the path accepts ("GET, POST"), empty for 404.
  std::string allow;
};

class route_table {
 public:
  /// Adds a route. A second route with the same method and pattern replaces the first (how the
  /// app swaps a placeholder for the real handler).
  void add(route_spec spec, async_handler handler);
  void add(route_spec spec, sync_handler handler);

  /// Finds the route for (method, path). path excludes the query.
  [[nodiscard]] route_match match(std::string_view method, std::string_view path) const;
  [[nodiscard]] const std::vector<route>& routes() const noexcept { return routes_; }
  [[nodiscard]] const route* find(std::string_view method, std::string_view pattern) const;

 private:
  std::vector<route> routes_;
  std::vector<std::vector<std::string>> patterns_;  // routes_[i].spec.pattern, split once
};

/// Splits a path into its segments ("/a/b/" -> "a", "b", ""). The leading '/' is dropped.
[[nodiscard]] std::vector<std::string_view> split_path(std::string_view path);
/// Percent-decodes text ('+' is kept unless plus_is_space). Malformed escapes stay as they are.
[[nodiscard]] std::string percent_decode(std::string_view text, bool plus_is_space = false);

}  // namespace hashguard::api
