#include "serve_process.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;  // NOLINT: POSIX

namespace hg_test {

child_process spawn_process(const std::vector<std::string>& args,
                            const std::vector<std::string>& extra_env) {
  if (args.empty()) throw std::runtime_error("spawn_process: no program");
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe(out_pipe) != 0) throw std::runtime_error("pipe failed");
  if (::pipe(err_pipe) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const auto& e : extra_env) envp.push_back(const_cast<char*>(e.c_str()));  // NOLINT
  envp.push_back(nullptr);
  child_process c;
  const int rc = posix_spawn(&c.pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
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

serve_process::serve_process(const std::vector<std::string>& args,
                             const std::vector<std::string>& extra_env)
    : child_(spawn_process(args, extra_env)) {
  drain_ = std::thread([this] {
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(child_.err, buf, sizeof buf)) > 0) {
      std::lock_guard lock(err_mu_);
      err_.append(buf, static_cast<std::size_t>(n));
    }
  });
  constexpr std::string_view marker = "listening on http://127.0.0.1:";
  out_ = read_until(child_.out, "\n", std::chrono::seconds(60));
  const auto at = out_.find(marker);
  if (at == std::string::npos) {
    const std::string why = "hashguard serve did not start: " + out_;
    (void)stop(SIGKILL);
    throw std::runtime_error(why + "\n" + err_text());
  }
  port_ = static_cast<std::uint16_t>(std::stoi(out_.substr(at + marker.size())));
}

serve_process::~serve_process() {
  if (!reaped_) (void)stop(SIGKILL);
}

void serve_process::signal(int sig) const {
  if (!reaped_) ::kill(child_.pid, sig);
}

serve_process::exit_status serve_process::wait(std::chrono::milliseconds timeout) {
  exit_status st;
  if (reaped_) return st;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  pid_t r = 0;
  while ((r = ::waitpid(child_.pid, &status, WNOHANG)) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child_.pid, SIGKILL);
      r = ::waitpid(child_.pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reaped_ = true;
  if (drain_.joinable()) drain_.join();  // the pipe closes with the process
  ::close(child_.out);
  ::close(child_.err);
  if (r == child_.pid && WIFEXITED(status)) {
    st.exited = true;
    st.code = WEXITSTATUS(status);
  }
  return st;
}

serve_process::exit_status serve_process::stop(int sig, std::chrono::milliseconds timeout) {
  signal(sig);
  return wait(timeout);
}

std::string serve_process::err_text() const {
  std::lock_guard lock(err_mu_);
  return err_;
}

}  // namespace hg_test
