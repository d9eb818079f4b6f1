#include "hashguard/core/periodic_task.hpp"

#include "hg_catch.hpp"
#include "hg_util.hpp"

#include <boost/system/errc.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace hashguard;
using namespace std::chrono_literals;
using hg_test::eventually;

namespace {

// Long enough that no test ever sees an interval elapse: what runs was started by start() or
// poke(), never by the clock.
constexpr auto never = std::chrono::hours(1);
constexpr auto generous = std::chrono::milliseconds(30'000);

core::periodic_task::options named(
    std::string name, std::chrono::milliseconds interval,
    core::periodic_task::first_run first = core::periodic_task::first_run::after_interval) {
  core::periodic_task::options o;
  o.name = std::move(name);
  o.interval = interval;
  o.first = first;
  return o;
}

core::error_code io_error() {
  return boost::system::errc::make_error_code(boost::system::errc::io_error);
}

// A gate the task's function waits at until the test opens it.
struct gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open{false};
  int waiting{0};
  void pass() {
    std::unique_lock lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(lock, [this] { return open; });
    --waiting;
  }
  void release() {
    {
      const std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  bool someone_waiting() {
    const std::lock_guard lock(mu);
    return waiting > 0;
  }
};

}  // namespace

TEST_CASE("periodic task: a synchronous first run happens in start(), on the caller's thread") {
  std::atomic<int> calls{0};
  std::thread::id ran_on;
  core::periodic_task task(named("sync", never, core::periodic_task::first_run::synchronous),
                           [&]() -> core::result<void> {
                             if (calls++ == 0) ran_on = std::this_thread::get_id();
                             return {};
                           });
  CHECK(calls == 0);  // constructing starts nothing
  auto first = task.start();
  CHECK(first.has_value());
  CHECK(calls == 1);
  CHECK(ran_on == std::this_thread::get_id());
  const auto s = task.status();
  CHECK(s.runs == 1);
  CHECK(s.successes == 1);
  CHECK(s.last_success.has_value());

  // Its failure is start()'s result too.
  core::periodic_task failing(
      named("sync-fail", never, core::periodic_task::first_run::synchronous),
      []() -> core::result<void> { return io_error(); });
  auto failed = failing.start();
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error() == io_error());
  CHECK(failing.status().failures == 1);
}

TEST_CASE("periodic task: after_interval does not run in start(), poke() runs it at once") {
  std::atomic<int> calls{0};
  core::periodic_task task(named("poked", never), [&]() -> core::result<void> {
    ++calls;
    return {};
  });
  REQUIRE(task.start().has_value());
  CHECK(task.status().runs == 0);
  task.poke();
  CHECK(eventually([&] { return task.status().runs == 1; }, generous, 1ms));
  CHECK(calls == 1);
  task.poke();
  CHECK(eventually([&] { return task.status().runs == 2; }, generous, 1ms));
}

TEST_CASE("periodic task: runs every interval without pokes") {
  core::periodic_task task(named("ticking", 5ms), []() -> core::result<void> { return {}; });
  REQUIRE(task.start().has_value());
  CHECK(eventually([&] { return task.status().runs >= 3; }, generous, 1ms));
}

TEST_CASE("periodic task: pokes during a run coalesce into one more run") {
  gate g;
  std::atomic<int> calls{0};
  core::periodic_task task(named("coalescing", never), [&]() -> core::result<void> {
    if (calls++ == 0) g.pass();  // the first run waits for the test
    return {};
  });
  REQUIRE(task.start().has_value());
  task.poke();
  REQUIRE(eventually([&] { return g.someone_waiting(); }, generous, 1ms));
  for (int i = 0; i < 5; ++i) task.poke();
  g.release();
  CHECK(eventually([&] { return task.status().runs == 2; }, generous, 1ms));
  // Nothing else is owed: the five pokes were one. (A wait that can only miss a bug, never
  // fail a correct task.)
  std::this_thread::sleep_for(100ms);
  CHECK(task.status().runs == 2);
}

TEST_CASE("periodic task: stop() during a long interval returns promptly, and is idempotent") {
  core::periodic_task task(named("sleepy", never), []() -> core::result<void> { return {}; });
  REQUIRE(task.start().has_value());
  const auto t0 = std::chrono::steady_clock::now();
  task.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(task.stop_requested());
  task.stop();
  task.poke();  // ignored once stopped
  CHECK(task.status().runs == 0);
  // Started twice, or after stop(): refused.
  auto again = task.start();
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error() == boost::system::errc::operation_not_permitted);
}

TEST_CASE("periodic task: a long run sees stop_requested() and stop() waits for it") {
  std::atomic<bool> in_run{false};
  std::atomic<bool> ended{false};
  core::periodic_task* self = nullptr;
  core::periodic_task task(named("long", never), [&]() -> core::result<void> {
    in_run = true;
    // Stands for a run over many items that checks between them.
    while (!self->stop_requested()) std::this_thread::sleep_for(1ms);
    ended = true;
    return {};
  });
  self = &task;
  REQUIRE(task.start().has_value());
  task.poke();
  REQUIRE(eventually([&] { return in_run.load(); }, generous, 1ms));
  task.stop();  // returns only once the run ended
  CHECK(ended);
  CHECK(task.status().runs == 1);
}

TEST_CASE(
    "periodic task: failures are counted, the last error is kept, success resets the streak") {
  std::atomic<bool> fail{true};
  std::mutex mu;
  std::vector<std::pair<std::string, core::error_code>> reported;
  auto o = named("flaky", never);
  o.on_failure = [&](std::string_view name, const core::error_code& e) {
    const std::lock_guard lock(mu);
    reported.emplace_back(std::string(name), e);
  };
  core::periodic_task task(o, [&]() -> core::result<void> {
    if (fail) return io_error();
    return {};
  });
  REQUIRE(task.start().has_value());
  task.poke();
  REQUIRE(eventually([&] { return task.status().runs == 1; }, generous, 1ms));
  task.poke();
  REQUIRE(eventually([&] { return task.status().runs == 2; }, generous, 1ms));
  auto s = task.status();
  CHECK(s.failures == 2);
  CHECK(s.successes == 0);
  CHECK(s.consecutive_failures == 2);
  CHECK(s.last_error == io_error());
  CHECK(s.last_error_message == io_error().message());
  CHECK(s.last_failure.has_value());
  CHECK_FALSE(s.last_success.has_value());
  {
    const std::lock_guard lock(mu);
    REQUIRE(reported.size() == 2);
    CHECK(reported[0].first == "flaky");
    CHECK(reported[0].second == io_error());
  }

  fail = false;
  const auto before = std::chrono::system_clock::now();
  task.poke();
  REQUIRE(eventually([&] { return task.status().runs == 3; }, generous, 1ms));
  s = task.status();
  CHECK(s.successes == 1);
  CHECK(s.failures == 2);
  CHECK(s.consecutive_failures == 0);
  REQUIRE(s.last_success.has_value());
  CHECK(*s.last_success >= before);
  // Kept after the success: what went wrong last.
  CHECK(s.last_error == io_error());
  const std::lock_guard lock(mu);
  CHECK(reported.size() == 2);  // successes are not reported
}

TEST_CASE("periodic task: the destructor stops a running task") {
  std::atomic<int> calls{0};
  {
    core::periodic_task task(named("scoped", 1ms), [&]() -> core::result<void> {
      ++calls;
      return {};
    });
    REQUIRE(task.start().has_value());
    REQUIRE(eventually([&] { return calls >= 1; }, generous, 1ms));
  }
  const int after = calls;
  std::this_thread::sleep_for(20ms);
  CHECK(calls == after);  // joined: nothing runs any more
}
