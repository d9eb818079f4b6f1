#include "hashguard/api/log_writer.hpp"

#include "hg_catch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace hashguard;
using namespace std::chrono_literals;

namespace {

// A temporary file the writer writes to; read back whole.
struct temp_log {
  std::string path;
  int fd{-1};
  temp_log() {
    char name[] = "/tmp/hg-log-writer-XXXXXX";
    fd = ::mkstemp(name);
    path = name;
  }
  ~temp_log() {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
  }
  temp_log(const temp_log&) = delete;
  temp_log& operator=(const temp_log&) = delete;
  [[nodiscard]] std::string text() const {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("batched log writer: every line from several threads, whole and in each thread's order") {
  temp_log log;
  REQUIRE(log.fd >= 0);
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  {
    api::batched_log_writer w({log.fd, 5ms, 4096});  // small: both write paths run
    auto sink = w.sink();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&sink, t] {
        for (int i = 0; i < per_thread; ++i) {
          sink("{\"thread\":" + std::to_string(t) + ",\"n\":" + std::to_string(i) + "}");
        }
      });
    }
    for (auto& th : pool) th.join();
  }  // the destructor writes what is left
  const auto lines = lines_of(log.text());
  REQUIRE(lines.size() == static_cast<std::size_t>(threads * per_thread));
  std::map<int, int> next;
  for (const auto& line : lines) {
    int t = -1;
    int n = -1;
    REQUIRE(std::sscanf(line.c_str(), "{\"thread\":%d,\"n\":%d}", &t, &n) == 2);
    CHECK(n == next[t]);  // in order, none lost, none twice
    next[t] = n + 1;
  }
  for (int t = 0; t < threads; ++t) CHECK(next[t] == per_thread);
}

TEST_CASE("batched log writer: a line reaches the file within the flush interval") {
  temp_log log;
  REQUIRE(log.fd >= 0);
  api::batched_log_writer w({log.fd, 20ms, 1 << 20});
  w.append("first");
  // Not a timing assertion: wait (up to a generous bound) for the flushing thread.
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (log.text().empty() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK(log.text() == "first\n");
}

TEST_CASE("batched log writer: a full buffer is written by the appender, flush() writes now") {
  temp_log log;
  REQUIRE(log.fd >= 0);
  // The flushing thread would wait an hour: what reaches the file was written by append() or
  // flush() on this thread.
  api::batched_log_writer w({log.fd, std::chrono::hours(1), 64});
  w.append("short");
  CHECK(log.text().empty());  // under the bound: buffered
  const std::string long_line(100, 'x');
  w.append(long_line);  // over it: written at once, with what was buffered before
  CHECK(log.text() == "short\n" + long_line + "\n");
  w.append("tail");
  w.flush();
  CHECK(log.text() == "short\n" + long_line + "\ntail\n");
}
