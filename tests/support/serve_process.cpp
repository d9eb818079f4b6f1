#include "serve_process.hpp"

#include "hashguard/core/parse.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;  // NOLINT: POSIX

namespace hg_test {

child_process spawn_process(const std::vector<std::string>& args,
                            const std::vector<std::string>& extra_env,
                            const std::string& err_file) {
  if (args.empty()) throw std::runtime_error("spawn_process: no program");
  // O_CLOEXEC: no other child (a second node, a PostgreSQL server) inherits these pipes; the
  // dup2 below gives this child its own copies without the flag.
  int out_pipe[2];
  int err_pipe[2]{-1, -1};  // [1] is the child's stderr: a pipe's write end, or err_file
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const int err_rc = err_file.empty()
                         ? ::pipe2(err_pipe, O_CLOEXEC)
                         : (err_pipe[1] = ::open(err_file.c_str(),
                                                 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (err_rc < 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error(err_file.empty() ? "pipe failed" : "cannot create " + err_file);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("HG_")) continue;  // only what the test sets
    envp.push_back(*e);
  }
  for (const auto& e : extra_env) envp.push_back(const_cast<char*>(e.c_str()));  // NOLINT
  envp.push_back(nullptr);
  child_process c;
  const int rc = posix_spawn(&c.pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    if (err_pipe[0] >= 0) ::close(err_pipe[0]);
    throw std::runtime_error("posix_spawn " + args[0] + " failed");
  }
  c.out = out_pipe[0];
  c.err = err_pipe[0];
  return c;
}

std::string read_until(int fd, std::string_view needle, std::chrono::milliseconds timeout) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (text.find(needle) == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  return text;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string hashguard_bin() {
  return HG_HASHGUARD_BIN;
}

std::vector<std::string> serve_command(const std::vector<std::string>& flags) {
  std::vector<std::string> argv{hashguard_bin(), "serve", "--http-port=0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

serve_process::serve_process(const std::vector<std::string>& argv,
                             const std::vector<std::string>& extra_env, const std::string& err_file,
                             std::chrono::seconds start_timeout) {
  const child_process c = spawn_process(argv, extra_env, err_file);
  pid_ = c.pid;
  fd_[0] = c.out;
  fd_[1] = c.err;
  eof_[1] = c.err < 0;  // stderr went to err_file
  for (const int fd : fd_) {
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  reader_ = std::thread([this] { drain(); });

  // The whole "listening on" line, or stdout's end (the process failed to start).
  constexpr std::string_view marker = "listening on http://127.0.0.1:";
  std::string out;
  {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, start_timeout, [&] {
      const auto at = text_[0].find(marker);
      return eof_[0] || (at != std::string::npos && text_[0].find('\n', at) != std::string::npos);
    });
    out = text_[0];
  }
  const auto at = out.find(marker);
  if (at == std::string::npos || out.find('\n', at) == std::string::npos) {
    (void)stop(SIGKILL);
    throw std::runtime_error("hashguard serve did not start: " + out + "\n" +
                             (err_file.empty() ? err_text() : "(its stderr: " + err_file + ")"));
  }
  const auto start = at + marker.size();
  const auto port = hashguard::core::parse_int<std::uint16_t>(
      std::string_view(out).substr(start, out.find('\n', start) - start), 1);
  if (!port) throw std::runtime_error("hashguard serve printed no port: " + out);
  port_ = *port;
}

serve_process::~serve_process() {
  if (!reaped_) {
    (void)stop(SIGKILL);
  } else {
    finish();
  }
}

void serve_process::pump_locked(int which) const {
  if (eof_[which] || fd_[which] < 0) return;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd_[which], buf, sizeof buf);
    if (n > 0) {
      text_[which].append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    eof_[which] = true;  // EOF, or the pipe failed: nothing more will come
    return;
  }
}

void serve_process::drain() {
  while (true) {
    pollfd p[2];
    nfds_t n = 0;
    {
      std::lock_guard lock(mu_);
      for (int which = 0; which < 2; ++which) {
        if (!eof_[which]) p[n++] = pollfd{fd_[which], POLLIN, 0};
      }
    }
    if (n == 0) return;
    if (::poll(p, n, -1) < 0 && errno != EINTR) return;
    {
      std::lock_guard lock(mu_);
      pump_locked(0);
      pump_locked(1);
    }
    changed_.notify_all();
  }
}

void serve_process::finish() {
  if (reader_.joinable()) reader_.join();  // the pipes close with the process
  std::lock_guard lock(mu_);
  for (int& fd : fd_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

bool serve_process::alive() {
  if (reaped_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    reaped_ = true;
    wait_status_ = status;
    return false;
  }
  return true;
}

void serve_process::signal(int sig) const {
  if (!reaped_) ::kill(pid_, sig);
}

serve_process::exit_status serve_process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (alive()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      if (::waitpid(pid_, &status, 0) == pid_) wait_status_ = status;
      reaped_ = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  finish();
  exit_status st;
  if (WIFEXITED(wait_status_)) {
    st.exited = true;
    st.code = WEXITSTATUS(wait_status_);
  } else if (WIFSIGNALED(wait_status_)) {
    st.signal = WTERMSIG(wait_status_);
  }
  return st;
}

serve_process::exit_status serve_process::stop(int sig, std::chrono::milliseconds timeout) {
  signal(sig);
  return wait(timeout);
}

bool serve_process::limit_file_size(std::optional<std::uint64_t> bytes) const {
  if (reaped_) return false;
  rlimit now{};
  if (::prlimit(pid_, RLIMIT_FSIZE, nullptr, &now) != 0) return false;
  const rlimit want{bytes ? static_cast<rlim_t>(*bytes) : now.rlim_max, now.rlim_max};
  return ::prlimit(pid_, RLIMIT_FSIZE, &want, nullptr) == 0;
}

std::string serve_process::err_text() const {
  std::lock_guard lock(mu_);
  pump_locked(1);
  return text_[1];
}

std::string serve_process::out_text() const {
  std::lock_guard lock(mu_);
  pump_locked(0);
  return text_[0];
}

}  // namespace hg_test
