// What the system tests share: `hashguard serve` as a child process (stdout and stderr to files
// in the test's directory, so a chatty server never blocks on a full pipe), a private
// PostgreSQL the test owns (so it may SIGKILL it), plain HTTP calls, /metrics values and a
// polling helper. Everything waits by polling with generous deadlines: these tests run on a
// loaded 2-core machine, in the normal and the sanitizer build.
#pragma once

#include "hg_catch.hpp"
#include "http_client.hpp"

#include "hashguard/hashdb/server.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace hg_sys {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;
using hg_test::http_response;
using header_list = std::vector<std::pair<std::string, std::string>>;

inline const std::string test_data = HG_TEST_DATA;

inline std::string file_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Polls `done` every `step` until it is true or `limit` passes; true when it became true.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit,
                       std::chrono::milliseconds step = 50ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

/// A fresh directory under /tmp, removed when the object goes. Traversable by others: a
/// private PostgreSQL inside runs as the `postgres` user when the tests run as root.
class temp_dir {
 public:
  explicit temp_dir(const std::string& tag) {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("hg-sys-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
    fs::permissions(path_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// Copies what a child writes on `fd` (a pipe) to `file` until EOF. Pipes, not files, for the
/// child's stdout and stderr: a file-size limit set on the child (the spool-full test) must not
/// cut its log, and a reader thread keeps a chatty child from blocking on a full pipe.
inline std::thread pump(int fd, fs::path file) {
  return std::thread([fd, file = std::move(file)] {
    std::ofstream out(file, std::ios::binary);
    char buf[8192];
    while (true) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.write(buf, n);
      out.flush();
    }
    ::close(fd);
  });
}

/// One `hashguard serve` child. Its stdout goes to DIR/NAME.out (the "listening on" line gives
/// the port), its stderr (configuration, request log) to DIR/NAME.err.
class serve_node {
 public:
  serve_node(const fs::path& dir, const std::string& name, std::vector<std::string> args)
      : out_(dir / (name + ".out")), err_(dir / (name + ".err")) {
    args.insert(args.begin(), {HG_HASHGUARD_BIN, "serve", "--http-port=0"});
    int out_pipe[2];
    int err_pipe[2];
    REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err_pipe, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    pumps_.push_back(pump(out_pipe[0], out_));
    pumps_.push_back(pump(err_pipe[0], err_));
    try {
      REQUIRE(rc == 0);
      const std::string marker = "listening on http://127.0.0.1:";
      std::string text;
      const bool up = eventually(
          [&] {
            text = file_text(out_);
            return text.find(marker) != std::string::npos || !alive();
          },
          120s);
      INFO(log());
      REQUIRE(up);
      const auto at = text.find(marker);
      REQUIRE(at != std::string::npos);
      port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + marker.size())));
    } catch (...) {
      end();  // a failed REQUIRE throws: never leave the child or the pumps behind
      throw;
    }
  }
  ~serve_node() { end(); }
  serve_node(const serve_node&) = delete;
  serve_node& operator=(const serve_node&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string log() const { return file_text(err_); }

  /// True while the child has not exited (reaps it when it has).
  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = status;
      pid_ = -1;
      return false;
    }
    return true;
  }

  /// SIGTERM, then waits (SIGKILL after `limit`). The wait status (-1 when it had to be killed).
  int stop(std::chrono::milliseconds limit = 60s) {
    if (pid_ <= 0) return exit_status_;
    ::kill(pid_, SIGTERM);
    if (!eventually([&] { return !alive(); }, limit)) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      exit_status_ = -1;
    }
    return exit_status_;
  }

 private:
  void end() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    for (auto& t : pumps_) {
      if (t.joinable()) t.join();  // the pipes close with the child
    }
  }

  fs::path out_;
  fs::path err_;
  pid_t pid_{-1};
  int exit_status_{-1};
  std::uint16_t port_{0};
  std::vector<std::thread> pumps_;
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
                                         header_list headers = {}) {
  if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + std::string(key));
  try {
    hg_test::client c(port);
    if (!c.send(hg_test::make_request(method, target, headers, body))) return std::nullopt;
    return c.read_response(60000ms);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

/// A gauge or counter without labels from GET /metrics (nullopt when absent).
inline std::optional<double> metric(std::uint16_t port, const std::string& name) {
  auto r = call(port, "GET", "/metrics", {});
  if (!r || r->status != 200) return std::nullopt;
  std::istringstream lines(r->body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

inline json::value parse(const http_response& r) {
  return json::parse(r.body);
}

/// The PDQ hex of an image, from POST /v1/hash.
inline std::string pdq_of(std::uint16_t port, std::string_view ingest_key,
                          const std::string& image) {
  auto r = call(port, "POST", "/v1/hash", ingest_key, image);
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
  const auto v = parse(*r);
  REQUIRE(v.at("hashes").at("quality").as_int64() >= 50);
  return std::string(v.at("hashes").at("pdq").as_string());
}

/// Creates a PDQ list through node `port` holding `hashes`; returns its id.
inline std::int64_t make_list(std::uint16_t port, std::string_view admin_key,
                              const std::string& name, const std::vector<std::string>& hashes) {
  auto created =
      call(port, "POST", "/v1/lists", admin_key,
           R"({"name":")" + name + R"(","signal":"pdq","threshold":31,"action":"block"})",
           {{"Content-Type", "application/json"}});
  REQUIRE(created);
  INFO(created->body);
  REQUIRE(created->status == 201);
  const std::int64_t id = parse(*created).at("id").as_int64();
  std::string body;
  for (const auto& h : hashes) body += h + "\n";
  auto imported =
      call(port, "POST", "/v1/lists/" + std::to_string(id) + "/hashes?format=hex", admin_key, body);
  REQUIRE(imported);
  INFO(imported->body);
  REQUIRE(imported->status == 200);
  REQUIRE(parse(*imported).at("accepted").to_number<std::uint64_t>() == hashes.size());
  return id;
}

/// Waits until node `port` publishes a snapshot with `pdq_entries` PDQ entries.
inline bool wait_pdq_entries(std::uint16_t port, std::string_view admin_key,
                             std::uint64_t pdq_entries, std::chrono::milliseconds limit = 120s) {
  return eventually(
      [&] {
        auto idx = call(port, "GET", "/v1/index", admin_key);
        return idx && idx->status == 200 &&
               parse(*idx).at("sizes").at("pdq").to_number<std::uint64_t>() == pdq_entries;
      },
      limit);
}

/// Waits until the node's recorder reaches the database and its spool is empty.
inline bool wait_spool_drained(std::uint16_t port, std::chrono::milliseconds limit = 180s) {
  return eventually(
      [&] {
        return metric(port, "hg_database_up") == 1.0 && metric(port, "hg_spool_bytes") == 0.0;
      },
      limit, 100ms);
}

}  // namespace hg_sys

namespace hg_sys {

/// Runs `hashguard ARGS...` to completion; its exit status and stdout.
inline std::pair<int, std::string> run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), HG_HASHGUARD_BIN);
  int out_pipe[2];
  REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(out_pipe[0], buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(out_pipe[0]);
  REQUIRE(rc == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace hg_sys
