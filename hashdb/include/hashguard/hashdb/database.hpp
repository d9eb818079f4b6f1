// One PostgreSQL connection, and the helpers that manage databases on a server.
//
// A `connection` wraps one libpqxx connection (kept behind a pointer: no pqxx type appears in
// hashdb's headers). Every store in hashdb (lists, keys, audit, cases) works on a connection
// passed by reference and prepares its statements on it once. Not thread-safe: one connection
// per thread, as libpqxx requires. Failures are errc values; the server's message for the most
// recent failure is kept in last_error() for logs and CLI diagnostics.
//
// URLs are libpq connection URIs, e.g. postgresql://user@/db?host=/run/dir (Unix socket) or
// postgresql://user:pw@host:5432/db.
#pragma once

#include "hashguard/hashdb/errc.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace hashguard::hashdb {

namespace detail {
struct connection_impl;  // src/pg.hpp
}
struct audit_keyring;  // audit.hpp

class connection {
 public:
  /// Connects. errc::unavailable when the server cannot be reached (the message is in
  /// `error_detail` when given).
  [[nodiscard]] static core::result<connection> open(const std::string& url,
                                                     std::string* error_detail = nullptr);

  connection(connection&&) noexcept;
  connection& operator=(connection&&) noexcept;
  ~connection();

  [[nodiscard]] const std::string& url() const noexcept;
  /// Runs `SELECT 1`; reconnects first when the connection broke earlier.
  [[nodiscard]] core::result<void> ping();
  /// Drops the connection and opens a new one to the same URL (statements are prepared again
  /// on first use).
  [[nodiscard]] core::result<void> reconnect();
  /// The server's (or libpq's) message for the last failure on this connection.
  [[nodiscard]] const std::string& last_error() const noexcept;
  /// The keys audit rows appended through this connection are keyed with (audit.hpp);
  /// without them an append fails (errc::audit_key_missing). Kept across reconnects.
  void use_audit_keys(std::shared_ptr<const audit_keyring> keys) noexcept;
  [[nodiscard]] const std::shared_ptr<const audit_keyring>& audit_keys() const noexcept;

  /// For hashdb's own sources only (the type is incomplete outside them).
  detail::connection_impl& impl() noexcept { return *impl_; }

 private:
  explicit connection(std::unique_ptr<detail::connection_impl> impl);
  std::unique_ptr<detail::connection_impl> impl_;
};

/// A connection string fit for logs: as given when it holds no secret; otherwise its
/// key=value form (what libpq's PQconninfoParse reads from a URI or from key=value text) with
/// the password and sslpassword shown as "***", so a password in the user part, in
/// `?password=` or in `password=...` never reaches a log. A string libpq cannot parse is not
/// echoed at all: "(a connection string libpq cannot parse)".
[[nodiscard]] std::string redact_url(std::string_view url);

/// The URL with its database name replaced by `database` (query parameters kept).
[[nodiscard]] std::string url_with_database(std::string_view url, std::string_view database);

/// Creates `name` on the server that `server_url` points at, unless it exists. Names are
/// restricted to [a-z0-9_] (1..63 characters): errc::invalid_argument otherwise.
[[nodiscard]] core::result<void> create_database(const std::string& server_url,
                                                 std::string_view name);
/// Drops `name` (closing its other sessions first); absent is not an error.
[[nodiscard]] core::result<void> drop_database(const std::string& server_url,
                                               std::string_view name);

}  // namespace hashguard::hashdb
