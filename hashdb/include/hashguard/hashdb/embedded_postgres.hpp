// The embedded PostgreSQL server: what `hashguard serve` and `hashguard db start` run when no
// database URL is configured, so the first run needs no setup (DESIGN.md section 6).
//
// Layout under the data directory D:
//   D/postgres/data      the cluster (initdb on first start)
//   D/postgres/run       the Unix socket directory (the server listens on nothing else)
//   D/postgres/server.log, D/postgres/commands.log
// Started as root, the cluster belongs to an unprivileged system user (`postgres` by default)
// and initdb/pg_ctl run through `runuser -u USER --`; PostgreSQL refuses to run as root. Auth is
// `trust` over the socket only; the socket directory is mode 0700, so only the server's user
// (and root) can connect.
//
// start() is serialised between processes by a lock file. When the cluster is already running
// (another hashguard process started it), start() attaches without owning it. The object stops
// the server it started when it is destroyed (or stop() is called); release() leaves it
// running. Not thread-safe; movable.
#pragma once

#include "hashguard/hashdb/errc.hpp"

#include <filesystem>
#include <string>

namespace hashguard::hashdb {

struct server_options {
  std::filesystem::path data_dir;                               ///< hashguard's data directory
  std::filesystem::path bin_dir{"/usr/lib/postgresql/15/bin"};  ///< initdb, pg_ctl
  std::string database{"hashguard"};                            ///< created on first start
  std::string run_as{"postgres"};  ///< system user that owns the cluster when we are root
  int timeout_s{60};               ///< pg_ctl start/stop wait
};

class embedded_server {
 public:
  /// Initialises (first run) and starts the cluster, then creates the database. errc::
  /// server_failed with the reason in `detail` (initdb or pg_ctl output) when it cannot.
  [[nodiscard]] static core::result<embedded_server> start(const server_options& options,
                                                           std::string* detail = nullptr);

  embedded_server(embedded_server&& other) noexcept;
  embedded_server& operator=(embedded_server&& other) noexcept;
  embedded_server(const embedded_server&) = delete;
  embedded_server& operator=(const embedded_server&) = delete;
  ~embedded_server();

  /// URL of options.database on this server.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// URL of the `postgres` maintenance database (for creating and dropping databases).
  [[nodiscard]] const std::string& server_url() const noexcept { return server_url_; }
  /// True when this start() ran initdb.
  [[nodiscard]] bool initialized() const noexcept { return initialized_; }
  /// True when this object started the server (and so stops it).
  [[nodiscard]] bool owns() const noexcept { return owns_; }

  /// Stops the server if this object started it (fast shutdown: sessions are closed,
  /// committed work is durable). Idempotent.
  [[nodiscard]] core::result<void> stop();
  /// Forgets ownership: the server keeps running after this object is gone.
  void release() noexcept { owns_ = false; }

 private:
  embedded_server() = default;
  server_options options_;
  std::string url_;
  std::string server_url_;
  bool initialized_{false};
  bool owns_{false};
};

/// True when the cluster under data_dir has a running postmaster.
[[nodiscard]] bool embedded_server_running(const server_options& options);

}  // namespace hashguard::hashdb
