#include "hashguard/hashdb/spool.hpp"

#include "hg_catch.hpp"
#include "hg_util.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

using namespace hashguard;
namespace fs = std::filesystem;

namespace {

// The spool's file in a scratch directory of its own.
struct temp_file {
  hg_test::temp_dir dir{"hg-spool"};
  fs::path path = dir.path / "events.spool";
};

}  // namespace

TEST_CASE("spool: records come back in order, survive reopening, empty when caught up") {
  temp_file f;
  {
    auto s = hashdb::spool::open(f.path);
    REQUIRE(s.has_value());
    CHECK((*s)->size() == hashdb::spool::header_size);
    for (int i = 0; i < 10; ++i) REQUIRE((*s)->append("event-" + std::to_string(i)).has_value());
    REQUIRE((*s)->append("").has_value());  // an empty payload is a record too
  }
  auto s = hashdb::spool::open(f.path);
  REQUIRE(s.has_value());
  auto first = (*s)->read(hashdb::spool::header_size, 4);
  REQUIRE(first.has_value());
  REQUIRE(first->records.size() == 4);
  CHECK(first->records[0] == "event-0");
  CHECK(first->records[3] == "event-3");
  auto rest = (*s)->read(first->end, 100);
  REQUIRE(rest.has_value());
  REQUIRE(rest->records.size() == 7);
  CHECK(rest->records[5] == "event-9");
  CHECK(rest->records[6].empty());

  // An append after the read keeps the spool from being emptied.
  REQUIRE((*s)->append("late").has_value());
  CHECK((*s)->truncate_if_end(rest->end) == false);
  auto late = (*s)->read(rest->end, 100);
  REQUIRE(late.has_value());
  REQUIRE(late->records.size() == 1);
  CHECK((*s)->truncate_if_end(late->end) == true);
  CHECK((*s)->size() == hashdb::spool::header_size);
  CHECK(fs::file_size(f.path) == hashdb::spool::header_size);
}

TEST_CASE("spool: a torn final record is cut off, a bad checksum is reported") {
  temp_file f;
  {
    auto s = hashdb::spool::open(f.path);
    REQUIRE(s.has_value());
    REQUIRE((*s)->append("complete-1").has_value());
    REQUIRE((*s)->append("complete-2").has_value());
  }
  const auto full = fs::file_size(f.path);
  fs::resize_file(f.path, full - 3);  // a crash in the middle of the second append
  {
    auto s = hashdb::spool::open(f.path);
    REQUIRE(s.has_value());
    auto c = (*s)->read(hashdb::spool::header_size, 10);
    REQUIRE(c.has_value());
    REQUIRE(c->records.size() == 1);
    CHECK(c->records[0] == "complete-1");
    REQUIRE((*s)->append("after-crash").has_value());
    auto c2 = (*s)->read(hashdb::spool::header_size, 10);
    REQUIRE(c2.has_value());
    REQUIRE(c2->records.size() == 2);
    CHECK(c2->records[1] == "after-crash");
  }
  {
    // Flip one payload byte of the first record.
    std::fstream io(f.path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(hashdb::spool::header_size + 8));
    io.put('X');
  }
  auto s = hashdb::spool::open(f.path);
  REQUIRE(s.has_value());
  auto bad = (*s)->read(hashdb::spool::header_size, 10);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == hashdb::errc::spool_corrupt);

  std::ofstream(f.path, std::ios::trunc) << "NOTASPOOL";
  auto wrong = hashdb::spool::open(f.path);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error() == hashdb::errc::spool_corrupt);
}

TEST_CASE("spool: concurrent appenders never interleave records") {
  temp_file f;
  auto s = hashdb::spool::open(f.path);
  REQUIRE(s.has_value());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        (void)(*s)->append(
            std::string(100 + static_cast<std::size_t>(t), static_cast<char>('a' + t)));
      }
    });
  }
  for (auto& th : threads) th.join();
  auto all = (*s)->read(hashdb::spool::header_size, 1000);
  REQUIRE(all.has_value());
  REQUIRE(all->records.size() == 200);
  for (const auto& r : all->records) {
    CHECK(r.size() >= 100);
    CHECK(r.find_first_not_of(r[0]) == std::string::npos);
  }
}
