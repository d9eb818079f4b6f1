#include "hashguard/exchanges/folder.hpp"

#include "hg_catch.hpp"
#include "hg_util.hpp"

#include <filesystem>
#include <fstream>
#include <set>

using namespace hashguard;
namespace fs = std::filesystem;

namespace {

const std::string pdq_a(64, 'a');
const std::string pdq_b(64, 'b');
const std::string pdq_c(64, 'c');
const std::string md5_a(32, '1');

void write(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

// Fetches from `checkpoint` until caught up; the entries as "signal source_id value".
std::multiset<std::string> fetch_all(exchanges::source& s, std::string& checkpoint, bool& restarted,
                                     int& pages) {
  std::multiset<std::string> out;
  restarted = false;
  pages = 0;
  while (true) {
    auto p = s.fetch(checkpoint);
    REQUIRE(p.has_value());
    ++pages;
    restarted = restarted || p->restart;
    for (const auto& e : p->entries) out.insert(e.signal + " " + e.source_id + " " + e.value);
    checkpoint = p->checkpoint;
    if (!p->more) return out;
  }
}

}  // namespace

TEST_CASE("folder source: reads every file in pages, then answers nothing until it changes") {
  hg_test::temp_dir dir;
  write(dir.path / "a.txt", pdq_a + "\n" + pdq_b + ",id-b\n");
  write(dir.path / "hashes.md5.txt", md5_a + "\n");
  write(dir.path / ".hidden", "junk\n");
  exchanges::folder_source src(dir.path, core::signal::pdq, 2);
  std::string cp;
  bool restarted = false;
  int pages = 0;
  auto all = fetch_all(src, cp, restarted, pages);
  CHECK(restarted);
  CHECK(pages >= 2);
  CHECK(all == std::multiset<std::string>{"pdq a.txt:" + pdq_a + " " + pdq_a,
                                          "pdq a.txt:id-b " + pdq_b,
                                          "md5 hashes.md5.txt:" + md5_a + " " + md5_a});
  // Unchanged: an empty page, the same checkpoint.
  auto again = src.fetch(cp);
  REQUIRE(again.has_value());
  CHECK(again->entries.empty());
  CHECK_FALSE(again->more);
  CHECK_FALSE(again->restart);
  CHECK(again->checkpoint == cp);

  // A removed file: a re-fetch of what is left (the store deletes the rest at its end).
  fs::remove(dir.path / "hashes.md5.txt");
  all = fetch_all(src, cp, restarted, pages);
  CHECK(restarted);
  CHECK(all.size() == 2);
}

TEST_CASE("folder source: a new source object resumes mid-file from a checkpoint") {
  hg_test::temp_dir dir;
  write(dir.path / "a.txt", pdq_a + "\n" + pdq_b + "\n" + pdq_c + "\n");
  std::string first_checkpoint;
  {
    exchanges::folder_source src(dir.path, core::signal::pdq, 2);
    auto p = src.fetch("");
    REQUIRE(p.has_value());
    CHECK(p->entries.size() == 2);
    CHECK(p->more);
    first_checkpoint = p->checkpoint;
  }
  exchanges::folder_source restarted(dir.path, core::signal::pdq, 2);
  auto p = restarted.fetch(first_checkpoint);
  REQUIRE(p.has_value());
  CHECK_FALSE(p->restart);
  REQUIRE(p->entries.size() == 1);
  CHECK(p->entries[0].value == pdq_c);
}

TEST_CASE("folder source: a bad line makes a bad page that names the file and line") {
  hg_test::temp_dir dir;
  write(dir.path / "a.txt", pdq_a + "\nnot-a-hash\n");
  exchanges::folder_source src(dir.path, core::signal::pdq, 10);
  auto p = src.fetch("");
  CHECK(p.error() == exchanges::errc::bad_page);
  CHECK(src.last_error_detail().rfind("a.txt:2: ", 0) == 0);
  exchanges::folder_source missing(dir.path / "nope", core::signal::pdq, 10);
  CHECK(missing.fetch("").error() == exchanges::errc::unavailable);
  src.cancel();
  CHECK(src.fetch("").error() == exchanges::errc::cancelled);
}
