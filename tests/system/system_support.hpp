// What the system tests share: a private PostgreSQL the test owns (so it may SIGKILL it), plain
// HTTP calls, /metrics values, lists made through a node, and waits for a node's state. The
// `hashguard serve` children are hg_test::serve_process (tests/support), the polling and the
// scratch directories hg_test::eventually and temp_dir (tests/support/hg_util.hpp). Everything
// waits by polling with generous deadlines: these tests run on a loaded 2-core machine, in the
// normal and the sanitizer build.
#pragma once

#include "hg_catch.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"

#include "hashguard/hashdb/embedded_postgres.hpp"

#include <boost/json.hpp>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace hg_sys {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;
using hg_test::http_response;
using header_list = std::vector<std::pair<std::string, std::string>>;

inline const std::string test_data = HG_TEST_DATA;

using hg_test::eventually;
using hg_test::file_bytes;
using hg_test::make_list;
using hg_test::pdq_of;
using hg_test::serve_command;
using hg_test::serve_process;
using hg_test::wait_pdq_entries;

/// A system test's scratch directory, /tmp/hg-sys-TAG-XXXXXX: others may pass through it (a
/// private PostgreSQL inside runs as `postgres` when the tests run as root).
struct sys_dir : hg_test::temp_dir {
  explicit sys_dir(const std::string& tag) : hg_test::temp_dir("hg-sys-" + tag) {
    let_others_through();
  }
};

/// A PostgreSQL server that belongs to one test (hashdb's embedded server in DIR), so the test
/// may SIGKILL it and start it again.
class private_pg {
 public:
  explicit private_pg(fs::path dir) : dir_(std::move(dir)) {
    // pg_ctl leaves the postmaster an orphan: as a subreaper this process becomes its parent,
    // so a killed postmaster can be reaped here rather than linger as a zombie that still
    // looks alive (to kill(pid, 0) and to pg_ctl status) where PID 1 does not reap.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    options_.data_dir = dir_;
    start();
    url_ = server_->url();
  }
  ~private_pg() {
    server_.reset();  // stops it when running
    // Reap what became ours (the killed postmaster's backends, the stopped postmaster); the
    // serve children are reaped by their serve_node, destroyed before this object.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
  private_pg(const private_pg&) = delete;
  private_pg& operator=(const private_pg&) = delete;

  [[nodiscard]] const std::string& url() const { return url_; }
  [[nodiscard]] fs::path data() const { return dir_ / "postgres" / "data"; }

  /// The postmaster's pid from its lock file (0 when none).
  [[nodiscard]] pid_t postmaster() const {
    std::ifstream in(data() / "postmaster.pid");
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
  }

  /// SIGKILL to the postmaster only: its backends notice and exit, nothing is shut down.
  void kill9() {
    const pid_t pm = postmaster();
    REQUIRE(pm > 0);
    REQUIRE(::kill(pm, SIGKILL) == 0);
    server_->release();  // nothing left to stop
    server_.reset();
    // Wait for the postmaster to be gone (reaped here when it was reparented to us).
    REQUIRE(eventually(
        [pm] {
          int status = 0;
          ::waitpid(pm, &status, WNOHANG);
          return ::kill(pm, 0) != 0;
        },
        60s));
  }

  /// Starts it (crash recovery after kill9); retries while the old backends still hold the
  /// shared memory block.
  void start() {
    std::string why;
    const bool up = eventually(
        [&] {
          auto s = hashguard::hashdb::embedded_server::start(options_, &why);
          if (!s) return false;
          server_.emplace(std::move(*s));
          return true;
        },
        120s, 250ms);
    INFO(why);
    REQUIRE(up);
  }

  /// Fast shutdown (committed work is durable).
  void stop() {
    if (server_) REQUIRE(server_->stop().has_value());
    server_.reset();
  }

 private:
  fs::path dir_;
  hashguard::hashdb::server_options options_;
  std::optional<hashguard::hashdb::embedded_server> server_;
  std::string url_;
};

/// One request on a fresh connection; nullopt when the server did not answer in time.
inline std::optional<http_response> call(std::uint16_t port, std::string_view method,
                                         std::string_view target, std::string_view key,
                                         std::optional<std::string_view> body = std::nullopt,
                                         const header_list& headers = {}) {
  return hg_test::exchange(port, method, target, key, body, headers, 60000ms);
}

/// A gauge or counter without labels from GET /metrics (nullopt when absent).
inline std::optional<double> metric(std::uint16_t port, const std::string& name) {
  auto r = call(port, "GET", "/metrics", {});
  if (!r || r->status != 200) return std::nullopt;
  return hg_test::metric_value(r->body, name);
}

inline json::value parse(const http_response& r) {
  return json::parse(r.body);
}

/// Waits until the node's recorder reaches the database and its spool is empty.
inline bool wait_spool_drained(std::uint16_t port, std::chrono::milliseconds limit = 180s) {
  return eventually(
      [&] {
        return metric(port, "hg_database_up") == 1.0 && metric(port, "hg_spool_bytes") == 0.0;
      },
      limit, 100ms);
}

/// Runs `hashguard ARGS...` to completion; its exit status (-1 when a signal ended it) and stdout.
inline std::pair<int, std::string> run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), hg_test::hashguard_bin());
  const hg_test::child_process c = hg_test::spawn_process(args);
  std::string out = hg_test::read_all(c.out);  // stderr stays in its pipe: a few lines at most
  ::close(c.out);
  int status = 0;
  const pid_t reaped = ::waitpid(c.pid, &status, 0);
  ::close(c.err);
  REQUIRE(reaped == c.pid);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace hg_sys
