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
// Who stops it (issue 15): every embedded_server object is *attached* (a shared lock on
// D/postgres/attached.lock, held for its life); at most one is the *owner* (an exclusive lock on
// D/postgres/owner.lock). The process that starts the server owns it; with `adopt`, a starter
// that finds it running with no owner takes ownership (`hashguard serve`: the only serve of a
// data directory owns its server). stop() by the owner stops the server only when no other
// object is attached; otherwise it leaves it running and gives ownership up. An object that
// does not own it, when it ends, stops a server that nobody owns and nobody else is attached
// to (the last one out). keep_running() has the owner restart a server that died, or adopt one
// whose owner has gone. start(), stop() and keep_running() are serialised between processes by
// D/postgres/start.lock, so nobody attaches to a server being stopped. The locks are flock(2)
// locks on descriptors closed on exec: the server never inherits them, and a process that
// dies drops its own. Not thread-safe; movable.
#pragma once

#include "hashguard/hashdb/errc.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace hashguard::hashdb {

struct server_options {
  std::filesystem::path data_dir;                               ///< hashguard's data directory
  std::filesystem::path bin_dir{"/usr/lib/postgresql/15/bin"};  ///< initdb, pg_ctl
  std::string database{"hashguard"};                            ///< created on first start
  std::string run_as{"postgres"};  ///< system user that owns the cluster when we are root
  int timeout_s{60};               ///< pg_ctl start/stop wait
  bool adopt{false};               ///< take ownership of a running server that has no owner (serve)
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
  /// True when this object owns the server (started or adopted it, and so stops it).
  [[nodiscard]] bool owns() const noexcept { return owner_fd_ >= 0; }

  /// Detaches. The owner stops the server (fast shutdown: sessions are closed, committed work
  /// is durable) when no other object is attached, else leaves it running and gives ownership
  /// up; `*left_running` says which. An object that does not own it stops it when nobody owns
  /// it and nobody else is attached. Idempotent. errc::server_failed when pg_ctl stop failed.
  [[nodiscard]] core::result<void> stop(bool* left_running = nullptr);
  /// Detaches without stopping anything: the server keeps running after this object is gone.
  void release() noexcept;

  /// What keep_running() did.
  enum class upkeep : std::uint8_t { nothing, adopted, restarted };
  /// For the owner: restarts the server when its postmaster is gone (killed, crashed). With
  /// options.adopt, first takes ownership of a server whose owner has gone. errc::server_failed
  /// (reason in `detail`) when the restart failed; call again later (a killed postmaster's
  /// backends hold its shared memory for a moment).
  [[nodiscard]] core::result<upkeep> keep_running(std::string* detail = nullptr);

 private:
  embedded_server() = default;
  void close_locks() noexcept;
  // stop() with start.lock already held by this process.
  [[nodiscard]] core::result<void> stop_locked(bool* left_running);
  server_options options_;
  std::string url_;
  std::string server_url_;
  bool initialized_{false};
  int attach_fd_{-1};  // shared flock on attached.lock while attached
  int owner_fd_{-1};   // exclusive flock on owner.lock while owning
};

/// The postmaster's pid when the cluster under data_dir has a live one (its postmaster.pid
/// names a process that exists and is not a zombie), else 0. Cheap: no child process.
[[nodiscard]] long embedded_postmaster(const server_options& options);

/// True when the cluster under data_dir has a running postmaster.
[[nodiscard]] bool embedded_server_running(const server_options& options);

}  // namespace hashguard::hashdb
