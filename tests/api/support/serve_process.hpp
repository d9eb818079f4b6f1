// A `hashguard serve` child process for integration tests: started with the given arguments,
// its stdout and stderr going to files (a pipe nobody drains would stall a chatty server),
// its port read from the "listening on" line. The destructor stops it (SIGTERM, then SIGKILL
// after 10 s) and waits for it, so no server outlives its test.
#pragma once

#include "hg_catch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;  // NOLINT: POSIX

namespace hg_test {

class serve_process {
 public:
  /// Starts `args` (argv[0] = the hashguard binary), logging into `log_dir`. REQUIREs that it
  /// listens within 30 s.
  serve_process(const std::vector<std::string>& args, const std::filesystem::path& log_dir)
      : out_(log_dir / "serve.out"), err_(log_dir / "serve.err") {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::string text;
    while (std::chrono::steady_clock::now() < deadline) {
      text = slurp(out_);
      if (const auto at = text.find("listening on http://127.0.0.1:"); at != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + 30)));
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    INFO(slurp(err_));
    FAIL("hashguard serve did not start");
  }
  ~serve_process() { (void)stop(); }
  serve_process(const serve_process&) = delete;
  serve_process& operator=(const serve_process&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// What the server wrote to stderr so far.
  [[nodiscard]] std::string stderr_text() const { return slurp(err_); }

  /// SIGTERM and wait; returns the exit status (-1 when it had to be killed or was gone).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1000; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }

  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::filesystem::path out_, err_;
  pid_t pid_{-1};
  std::uint16_t port_{0};
};

}  // namespace hg_test
