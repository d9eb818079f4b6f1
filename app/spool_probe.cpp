#include "spool_probe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace hashguard::app {

spool_probe::spool_probe(std::filesystem::path spool_dir, std::size_t bytes,
                         std::chrono::milliseconds interval)
    : dir_(std::move(spool_dir)), bytes_(bytes), interval_(interval) {}

bool spool_probe::writable() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!checked_once_ || now - checked_ >= interval_) {
    ok_ = probe();
    checked_ = now;
    checked_once_ = true;
  }
  return ok_;
}

bool spool_probe::probe() const {
  // Real bytes, not fallocate: a filesystem without fallocate support, or one that
  // over-commits sparse files, must fail here the way a spool append would.
  const auto file = dir_ / (".readyz-probe-" + std::to_string(::getpid()));
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const std::vector<char> zeros(bytes_, '\0');
  std::size_t done = 0;
  bool ok = true;
  while (done < zeros.size()) {
    const ssize_t w = ::write(fd, zeros.data() + done, zeros.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(w);
  }
  if (ok && ::fdatasync(fd) != 0) ok = false;
  ::close(fd);
  ::unlink(file.c_str());
  return ok;
}

}  // namespace hashguard::app
