// The reviewer UI's static files (web/) at /ui/ (DESIGN.md section 5: public, all data comes
// through /v1 with per-role checks).
//
// Files come from the copy embedded at build time (web/ as it was when hashguard was built), or
// from a directory (config http.ui_dir, for UI development). web/ is flat: /ui/NAME serves one
// file; /ui/ serves index.html; /ui redirects to /ui/. A NAME is [A-Za-z0-9_-] plus dots, never
// starting with a dot, so no request can leave the directory ("..", "%2e%2e%2f", "a/b" and
// absolute paths all answer 404). Content-Type comes from the extension.
//
// Every answer carries a strict Content-Security-Policy (scripts and styles from this origin
// only, no inline script, no eval, images only from this origin and blob:, no framing,
// connections to this origin only), X-Content-Type-Options: nosniff, Referrer-Policy:
// no-referrer, X-Frame-Options: DENY and Cache-Control: no-cache.
//
// Thread-safety: the handlers are read-only after construction.
#pragma once

#include "hashguard/api/router.hpp"
#include "hashguard/core/config.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hashguard::handlers {

/// The files of web/ embedded at build time: name -> bytes.
[[nodiscard]] const std::map<std::string, std::string_view, std::less<>>& embedded_ui_files();

/// The Content-Type for a file name ("app.js" -> "text/javascript; charset=utf-8");
/// application/octet-stream for unknown extensions.
[[nodiscard]] std::string_view content_type_for(std::string_view name) noexcept;

/// True when `name` is a safe flat file name (see above).
[[nodiscard]] bool safe_ui_name(std::string_view name) noexcept;

/// The security headers every UI answer carries.
void add_ui_security_headers(api::response& r);

/// http.ui_dir: empty serves the embedded copy.
void declare_ui_config(core::config& cfg);

}  // namespace hashguard::handlers
