// Small helpers every test directory shares: waiting for a condition with a deadline, and a
// scratch directory. Header-only, no Catch: REQUIRE the results where they matter.
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

namespace hg_test {

/// Polls `done` every `step` until it is true or `limit` passes; true when it became true. The
/// limit only bounds a failure: a test waits for the state it checks, never for a time.
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit,
                       std::chrono::milliseconds step = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

/// A fresh directory /tmp/PREFIX-XXXXXX (mkdtemp: mode 0700), removed with everything in it.
/// Throws std::runtime_error when it cannot be made.
struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& prefix = "hg-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Lets other users through (not read): a PostgreSQL started inside runs as `postgres` when
  /// the tests run as root, and its data directory's parents must be traversable.
  void let_others_through() const {
    std::filesystem::permissions(
        path, std::filesystem::perms::group_exec | std::filesystem::perms::others_exec,
        std::filesystem::perm_options::add);
  }
};

}  // namespace hg_test
