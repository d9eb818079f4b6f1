#include "hashguard/api/log_writer.hpp"

#include "hg_catch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
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

api::batched_log_writer::options writing_to(int fd, std::chrono::milliseconds interval,
                                            std::size_t flush_bytes = std::size_t{1} << 20,
                                            std::size_t max_buffered_bytes = std::size_t{4} << 20) {
  api::batched_log_writer::options o;
  o.fd = fd;
  o.flush_interval = interval;
  o.flush_bytes = flush_bytes;
  o.max_buffered_bytes = max_buffered_bytes;
  return o;
}

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
    api::batched_log_writer w(writing_to(log.fd, 5ms, 1024, 4096));  // small: every write path runs
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
  api::batched_log_writer w(writing_to(log.fd, 20ms));
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
  // The flushing task would wait an hour and is never poked (flush_bytes is out of reach):
  // what reaches the file was written by append() or flush() on this thread.
  api::batched_log_writer w(writing_to(log.fd, std::chrono::hours(1), 1 << 20, 64));
  w.append("short");
  CHECK(log.text().empty());  // under the bound: buffered
  const std::string long_line(100, 'x');
  w.append(long_line);  // over it: written at once, with what was buffered before
  CHECK(log.text() == "short\n" + long_line + "\n");
  w.append("tail");
  CHECK(w.flush().has_value());
  CHECK(log.text() == "short\n" + long_line + "\ntail\n");
  CHECK(w.task().status().runs == 0);
}

TEST_CASE("batched log writer: flush_bytes pokes the flushing task, whatever the interval") {
  temp_log log;
  REQUIRE(log.fd >= 0);
  api::batched_log_writer w(writing_to(log.fd, std::chrono::hours(1), 64, 1 << 20));
  w.append("short");
  CHECK(log.text().empty());  // under flush_bytes: waits for the (hour-long) interval
  const std::string long_line(100, 'x');
  w.append(long_line);  // past it: the task writes the batch now, not this thread
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (log.text().empty() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK(log.text() == "short\n" + long_line + "\n");
  CHECK(w.task().status().successes >= 1);
}

TEST_CASE("batched log writer: a failed write is the flushing task's failure, reported") {
  std::mutex mu;
  std::vector<std::pair<std::string, core::error_code>> reported;
  api::batched_log_writer::options o;
  o.fd = -1;  // every write fails (EBADF)
  o.flush_interval = std::chrono::hours(1);
  o.flush_bytes = 1;  // every line pokes the task
  o.on_failure = [&](std::string_view task, const core::error_code& e) {
    const std::lock_guard lock(mu);
    reported.emplace_back(std::string(task), e);
  };
  api::batched_log_writer w(o);
  w.append("lost");
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (w.task().status().failures == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(5ms);
  }
  const auto s = w.task().status();
  CHECK(s.failures == 1);
  CHECK(s.last_error == boost::system::errc::bad_file_descriptor);
  const std::lock_guard lock(mu);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].first == "log_flush");
  CHECK(reported[0].second == boost::system::errc::bad_file_descriptor);
}
