// The web UI's static files (DESIGN.md section 5: /ui/, no role; all its data comes through
// /v1 with per-role checks). The whole directory is read into memory at start-up, so serving
// never touches the disk from an I/O thread, and only files that existed then can be served:
// no path from a request ever reaches the file system, which rules out traversal.
//
// Answers carry a Content-Type by extension, `X-Content-Type-Options: nosniff`, a
// Content-Security-Policy that allows only same-origin resources, `Referrer-Policy:
// no-referrer` and `Cache-Control: no-cache`. A directory path serves its index.html.
//
// Thread-safety: immutable after load(); share it between threads.
#pragma once

#include "hashguard/api/router.hpp"
#include "hashguard/core/error.hpp"

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace hashguard::api {

class static_site {
 public:
  /// Reads every regular file under `dir` (recursively). Errors: errc::not_found when `dir`
  /// is not a directory, errc::payload_too_large when the files exceed `max_bytes` in total.
  [[nodiscard]] static core::result<std::shared_ptr<const static_site>> load(
      const std::string& dir, std::size_t max_bytes = 64 * 1024 * 1024);

  /// The answer for a path relative to the site root ("" and "sub/" mean their index.html).
  /// 404 not_found for anything else, including "..", "." and empty segments.
  [[nodiscard]] response serve(std::string_view relative_path) const;
  [[nodiscard]] std::size_t files() const noexcept { return files_.size(); }

 private:
  struct file {
    std::string content_type;
    std::string bytes;
  };
  std::map<std::string, file, std::less<>> files_;  // by '/'-separated relative path
};

/// The Content-Type for a file name's extension ("application/octet-stream" when unknown).
[[nodiscard]] std::string_view static_site_content_type(std::string_view file_name);

/// Adds GET {prefix} (a 308 redirect to {prefix}/) and GET {prefix}/{path...}, public, answered
/// on the I/O thread from memory.
void add_static_routes(route_table& table, std::shared_ptr<const static_site> site,
                       const std::string& prefix = "/ui");

}  // namespace hashguard::api
