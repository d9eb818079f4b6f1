#include "hashguard/api/work_pool.hpp"

#include "hg_catch.hpp"

#include <atomic>
#include <future>

using namespace hashguard;

TEST_CASE("a pool runs every job it accepted") {
  api::work_pool pool("t", 3, 1000);
  std::atomic<int> ran{0};
  for (int i = 0; i < 500; ++i) REQUIRE(pool.try_post([&] { ++ran; }));
  pool.shutdown();
  CHECK(ran == 500);
  CHECK_FALSE(pool.try_post([] {}));  // shut down: refused
}

TEST_CASE("the queue is bounded: a full queue refuses, then accepts again") {
  api::work_pool pool("t", 1, 2);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> started;
  REQUIRE(pool.try_post([&started, gate] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();  // the only worker is busy now
  CHECK(pool.running() == 1);
  CHECK(pool.try_post([] {}));
  CHECK(pool.try_post([] {}));
  CHECK(pool.queued() == 2);
  CHECK_FALSE(pool.try_post([] {}));
  release.set_value();
  pool.shutdown();
  CHECK(pool.queued() == 0);
  CHECK(pool.capacity() == 2);
  CHECK(pool.threads() == 1);
}

TEST_CASE("a throwing job does not kill its worker") {
  api::work_pool pool("t", 1, 10);
  std::atomic<int> ran{0};
  REQUIRE(pool.try_post([] { throw std::runtime_error("boom"); }));
  REQUIRE(pool.try_post([&] { ++ran; }));
  pool.shutdown();
  CHECK(ran == 1);
}
