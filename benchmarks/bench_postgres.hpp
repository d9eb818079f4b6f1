// The PostgreSQL server a database benchmark runs against: the embedded one in a temporary
// directory (removed with it), or the one HG_BENCH_DATABASE_URL names (HG_BENCH_SERVER_DIR: a
// directory holding its postmaster.pid, to measure its CPU). Not thread-safe; one per process.
#pragma once

#include "hashguard/hashdb/embedded_postgres.hpp"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

namespace hashguard::bench {

class bench_database {
 public:
  /// The server, or nullopt after printing why to stderr (prefixed with `who`).
  static std::optional<bench_database> open(const std::string& who) {
    bench_database db;
    if (const char* u = std::getenv("HG_BENCH_DATABASE_URL"); u != nullptr && *u != '\0') {
      db.url_ = u;
      if (const char* d = std::getenv("HG_BENCH_SERVER_DIR"); d != nullptr) db.server_dir_ = d;
      return db;
    }
    std::string tmpl = "/tmp/hg-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::cerr << who << ": mkdtemp failed\n";
      return std::nullopt;
    }
    db.tmp_ = tmpl;
    hashdb::server_options so;
    so.data_dir = db.tmp_;
    std::string why;
    auto s = hashdb::embedded_server::start(so, &why);
    if (!s) {
      std::cerr << who << ": embedded server: " << why << "\n";
      return std::nullopt;
    }
    db.server_.emplace(std::move(*s));
    db.url_ = db.server_->url();
    db.server_dir_ = db.tmp_;
    return db;
  }

  // A moved-from database owns nothing: its destructor must not remove the directory.
  bench_database(bench_database&& o) noexcept
      : server_(std::exchange(o.server_, std::nullopt)),
        tmp_(std::exchange(o.tmp_, {})),
        url_(std::move(o.url_)),
        server_dir_(std::move(o.server_dir_)) {}
  bench_database& operator=(bench_database&&) = delete;
  ~bench_database() { stop(); }

  /// Stops the embedded server and removes its directory (connections must be closed first).
  void stop() {
    server_.reset();
    if (!tmp_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(tmp_, ec);
      tmp_.clear();
    }
  }

  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// The embedded server's temporary directory (scratch space beside it); empty otherwise.
  [[nodiscard]] const std::filesystem::path& temp_dir() const noexcept { return tmp_; }
  /// Where postmaster.pid is found (empty when unknown).
  [[nodiscard]] const std::filesystem::path& server_dir() const noexcept { return server_dir_; }

 private:
  bench_database() = default;
  std::optional<hashdb::embedded_server> server_;
  std::filesystem::path tmp_;
  std::string url_;
  std::filesystem::path server_dir_;
};

}  // namespace hashguard::bench
