#include "hashguard/hashdb/embedded_postgres.hpp"

#include "hashguard/hashdb/database.hpp"

#include "process.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <fstream>
#include <system_error>
#include <utility>
#include <vector>

namespace hashguard::hashdb {
namespace fs = std::filesystem;

namespace {

struct layout {
  fs::path root;  // D/postgres
  fs::path data;
  fs::path run;
  fs::path server_log;
  fs::path commands_log;
};

layout layout_of(const server_options& o) {
  const fs::path root = fs::absolute(o.data_dir) / "postgres";
  return {root, root / "data", root / "run", root / "server.log", root / "commands.log"};
}

bool is_root() {
  return geteuid() == 0;
}

// argv run as the cluster's owner: through runuser when we are root.
std::vector<std::string> as_owner(const server_options& o, std::vector<std::string> argv) {
  if (!is_root()) return argv;
  std::vector<std::string> out{"runuser", "-u", o.run_as, "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::string percent_encode(const std::string& s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || ch == '/' || ch == '-' || ch == '.' || ch == '_') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

// A lock file serialising start(), stop() and keep_running() between hashguard processes on
// the same data directory.
class start_lock {
 public:
  explicit start_lock(const fs::path& file)
      : fd_(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~start_lock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
  }
  start_lock(const start_lock&) = delete;
  start_lock& operator=(const start_lock&) = delete;
  [[nodiscard]] bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// A descriptor on a lock file holding the flock `op` (LOCK_SH or LOCK_EX) without waiting, or
// -1. Closed on exec: the server and the tools never inherit it.
int try_lock(const fs::path& file, int op) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (::flock(fd, op | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// pg_ctl start with the flags of a private, socket-only server; 0 on success.
int start_postmaster(const server_options& o, const layout& l) {
  const std::string server_flags = "-c listen_addresses='' -k " + l.run.string() +
                                   " -c unix_socket_permissions=0700 -c max_connections=100";
  return detail::run_command(as_owner(o, {(o.bin_dir / "pg_ctl").string(), "start", "-w", "-t",
                                          std::to_string(o.timeout_s), "-D", l.data.string(), "-l",
                                          l.server_log.string(), "-o", server_flags}),
                             l.commands_log);
}

core::result<void> fail(std::string* detail, std::string text) {
  if (detail != nullptr) *detail = std::move(text);
  return errc::server_failed;
}

// Gives the cluster's directories to the unprivileged user (root only).
bool chown_tree(const fs::path& root, const std::string& user, std::string& why) {
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    why = "no system user '" + user + "' to run PostgreSQL as (PostgreSQL refuses root)";
    return false;
  }
  std::error_code ec;
  auto own = [&](const fs::path& p) { return ::chown(p.c_str(), pw->pw_uid, pw->pw_gid) == 0; };
  if (!own(root)) {
    why = "cannot chown " + root.string();
    return false;
  }
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!own(it->path())) {
      why = "cannot chown " + it->path().string();
      return false;
    }
  }
  return true;
}

}  // namespace

long embedded_postmaster(const server_options& options) {
  std::ifstream in(layout_of(options).data / "postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return 0;
  // A killed postmaster nobody reaped yet still answers kill(pid, 0): look at its state.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  if (paren != std::string::npos && paren + 2 < line.size()) {
    const char state = line[paren + 2];
    if (state == 'Z' || state == 'X') return 0;
  }
  return pid;
}

bool embedded_server_running(const server_options& options) {
  const layout l = layout_of(options);
  if (!fs::exists(l.data / "postmaster.pid")) return false;
  const int rc = detail::run_command(
      as_owner(options, {(options.bin_dir / "pg_ctl").string(), "status", "-D", l.data.string()}),
      l.commands_log);
  return rc == 0;
}

core::result<embedded_server> embedded_server::start(const server_options& options,
                                                     std::string* detail) {
  if (options.data_dir.empty()) {
    if (detail != nullptr) *detail = "no data directory configured";
    return errc::invalid_argument;
  }
  const layout l = layout_of(options);
  std::error_code ec;
  fs::create_directories(l.run, ec);
  if (ec) {
    if (detail != nullptr) *detail = "cannot create " + l.run.string() + ": " + ec.message();
    return errc::io_error;
  }
  // The socket path (DIR/.s.PGSQL.5432) must fit in sockaddr_un.sun_path (108 bytes).
  if (l.run.string().size() + 15 >= 107) {
    auto r = fail(detail, "data directory path too long for a Unix socket: " + l.run.string());
    return r.error();
  }
  start_lock lock(l.root / "start.lock");
  if (!lock.ok()) return fail(detail, "cannot open " + (l.root / "start.lock").string()).error();

  fs::permissions(l.root, fs::perms::owner_all, fs::perm_options::replace, ec);
  fs::permissions(l.run, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (is_root()) {
    // The server's user must reach D/postgres: let it traverse the data directory.
    fs::permissions(fs::absolute(options.data_dir),
                    fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add, ec);
    std::string why;
    if (!chown_tree(l.root, options.run_as, why)) return fail(detail, why).error();
    const int can_reach = detail::run_command(
        {"runuser", "-u", options.run_as, "--", "test", "-w", l.root.string()}, "/dev/null");
    if (can_reach != 0) {
      return fail(detail, "user '" + options.run_as + "' cannot write " + l.root.string() +
                              " (a parent directory is not traversable for it)")
          .error();
    }
  }

  embedded_server server;
  server.options_ = options;

  server.server_url_ = "postgresql://postgres@/postgres?host=" + percent_encode(l.run.string());
  server.url_ = url_with_database(server.server_url_, options.database);

  if (!fs::exists(l.data / "PG_VERSION")) {
    fs::remove_all(l.data, ec);  // a half-finished initdb from an interrupted first run
    const int rc = detail::run_command(
        as_owner(options, {(options.bin_dir / "initdb").string(), "-D", l.data.string(), "-U",
                           "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"}),
        l.commands_log);
    if (rc != 0) return fail(detail, "initdb failed:\n" + detail::tail_of(l.commands_log)).error();
    server.initialized_ = true;
  }

  // Attached from here on (shared: never waits, since a stop holds start.lock as we do). On
  // the failures below the object must not stop() on its way out: that would wait for the
  // start.lock this process holds.
  server.attach_fd_ = try_lock(l.root / "attached.lock", LOCK_SH);
  if (server.attach_fd_ < 0) {
    return fail(detail, "cannot lock " + (l.root / "attached.lock").string()).error();
  }
  if (!embedded_server_running(options)) {
    if (start_postmaster(options, l) != 0) {
      server.release();
      return fail(detail, "pg_ctl start failed:\n" + detail::tail_of(l.server_log)).error();
    }
    // Who starts it owns it (unless an owner whose server had died is still there).
    server.owner_fd_ = try_lock(l.root / "owner.lock", LOCK_EX);
  } else if (options.adopt) {
    server.owner_fd_ = try_lock(l.root / "owner.lock", LOCK_EX);
  }

  if (auto r = create_database(server.server_url_, options.database); !r) {
    if (detail != nullptr) *detail = "cannot create database " + options.database;
    (void)server.stop_locked(nullptr);
    return r.error();
  }
  return server;
}

embedded_server::embedded_server(embedded_server&& other) noexcept
    : options_(std::move(other.options_)),
      url_(std::move(other.url_)),
      server_url_(std::move(other.server_url_)),
      initialized_(other.initialized_),
      attach_fd_(std::exchange(other.attach_fd_, -1)),
      owner_fd_(std::exchange(other.owner_fd_, -1)) {}

embedded_server& embedded_server::operator=(embedded_server&& other) noexcept {
  if (this != &other) {
    (void)stop();
    options_ = std::move(other.options_);
    url_ = std::move(other.url_);
    server_url_ = std::move(other.server_url_);
    initialized_ = other.initialized_;
    attach_fd_ = std::exchange(other.attach_fd_, -1);
    owner_fd_ = std::exchange(other.owner_fd_, -1);
  }
  return *this;
}

embedded_server::~embedded_server() {
  (void)stop();
}

void embedded_server::close_locks() noexcept {
  close_fd(attach_fd_);
  close_fd(owner_fd_);
}

void embedded_server::release() noexcept {
  close_locks();
}

core::result<void> embedded_server::stop(bool* left_running) {
  if (attach_fd_ < 0 && owner_fd_ < 0) {
    if (left_running != nullptr) *left_running = false;
    return {};
  }
  const layout l = layout_of(options_);
  start_lock lock(l.root / "start.lock");
  return stop_locked(left_running);
}

core::result<void> embedded_server::stop_locked(bool* left_running) {
  if (left_running != nullptr) *left_running = false;
  if (attach_fd_ < 0 && owner_fd_ < 0) return {};
  const layout l = layout_of(options_);
  const bool owner = owner_fd_ >= 0;
  close_fd(attach_fd_);
  // Alone when nobody else holds a shared lock; held until the server is down, so nobody
  // attaches meanwhile (start() also waits on start.lock, which the caller holds).
  int alone = try_lock(l.root / "attached.lock", LOCK_EX);
  bool stop_it = false;
  int unowned = -1;
  if (owner) {
    stop_it = alone >= 0;
  } else if (alone >= 0) {
    // The last one out stops a server nobody owns (its owner went away while others were
    // attached), so it does not run on forever.
    unowned = try_lock(l.root / "owner.lock", LOCK_EX);
    stop_it = unowned >= 0 && embedded_postmaster(options_) != 0;
  }
  core::result<void> out;
  if (stop_it) {
    const int rc =
        detail::run_command(as_owner(options_, {(options_.bin_dir / "pg_ctl").string(), "stop",
                                                "-w", "-t", std::to_string(options_.timeout_s),
                                                "-D", l.data.string(), "-m", "fast"}),
                            l.commands_log);
    if (rc != 0) out = errc::server_failed;
  } else if (left_running != nullptr) {
    *left_running = owner;
  }
  close_fd(unowned);
  close_fd(alone);
  close_fd(owner_fd_);  // an owner that left it running gives ownership up
  return out;
}

core::result<embedded_server::upkeep> embedded_server::keep_running(std::string* detail) {
  const layout l = layout_of(options_);
  if (attach_fd_ < 0) return upkeep::nothing;  // released or stopped
  start_lock lock(l.root / "start.lock");
  upkeep did = upkeep::nothing;
  if (owner_fd_ < 0) {
    if (!options_.adopt) return did;
    owner_fd_ = try_lock(l.root / "owner.lock", LOCK_EX);
    if (owner_fd_ < 0) return did;  // owned elsewhere: that owner keeps it running
    did = upkeep::adopted;
  }
  if (embedded_postmaster(options_) != 0) return did;
  if (start_postmaster(options_, l) != 0) {
    if (detail != nullptr) *detail = "pg_ctl start failed:\n" + detail::tail_of(l.server_log);
    return errc::server_failed;
  }
  return upkeep::restarted;
}

}  // namespace hashguard::hashdb
