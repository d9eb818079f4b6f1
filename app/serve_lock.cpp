#include "serve_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

namespace hashguard::app {
namespace fs = std::filesystem;

std::optional<serve_lock> serve_lock::acquire(const fs::path& data_dir, refusal& refused) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  const fs::path file = data_dir / "serve.lock";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    refused.why = "cannot open " + file.string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    // The holder wrote its pid right after it took the lock; a holder caught in between
    // leaves the file empty (pid unknown).
    char text[32] = {};
    const auto n = ::pread(fd, text, sizeof text - 1, 0);
    ::close(fd);
    refused.owner_pid = n > 0 ? std::strtol(text, nullptr, 10) : 0;
    refused.why = "data directory " + data_dir.string() +
                  " is in use by another hashguard serve (pid " +
                  (refused.owner_pid > 0 ? std::to_string(refused.owner_pid) : "unknown") + ", " +
                  file.string() +
                  "); one serve per data directory: stop it first, or give this one its own "
                  "--data-dir";
    return std::nullopt;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    refused.why = "cannot write " + file.string() + ": " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  return serve_lock(fd);
}

serve_lock::serve_lock(serve_lock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

serve_lock& serve_lock::operator=(serve_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

serve_lock::~serve_lock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock; the pid stays in the file, harmlessly
}

}  // namespace hashguard::app
