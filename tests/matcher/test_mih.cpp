#include "hashguard/matcher/mih.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/matcher/kernel.hpp"
#include "test_support.hpp"

#include "hg_catch.hpp"

#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace hashguard;
using namespace hashguard::matcher;

namespace {

bool same(const std::vector<range_match>& a, const std::vector<range_match>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].index != b[i].index || a[i].query != b[i].query || a[i].distance != b[i].distance) {
      return false;
    }
  }
  return true;
}

const kernel& best() {
  return **startup_kernel();
}

// MIH against the linear scan of the same index, for each radius; the MIH path must have run
// for every radius up to 31.
void check_equal(const mih_index& index, const std::vector<core::hash256>& queries,
                 std::initializer_list<int> radii) {
  for (int radius : radii) {
    INFO("slots " << index.slot_count() << " radius " << radius << " size " << index.size());
    std::vector<range_match> want;
    index.linear().range(queries, radius, want);
    std::vector<range_match> got;
    search_stats stats;
    index.range(queries, radius, got, &stats);
    if (radius <= 31) {
      CHECK(stats.path == search_path::mih);
    }
    if (stats.path == search_path::mih) CHECK(stats.probes > 0);
    CHECK(same(got, want));
  }
}

std::vector<core::hash256> read_hashes(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::vector<core::hash256> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto h = core::parse_hash256(line);
    REQUIRE(h);
    out.push_back(*h);
  }
  return out;
}

}  // namespace

TEST_CASE("MIH equals the linear scan on random data with planted near-duplicates") {
  std::mt19937_64 rng(21);
  std::vector<core::hash256> queries;
  for (int i = 0; i < 12; ++i) queries.push_back(hg_test::random256(rng));
  std::vector<core::hash256> data;
  for (int i = 0; i < 30000; ++i) data.push_back(hg_test::random256(rng));
  for (std::size_t q = 0; q < queries.size(); ++q) {
    for (int d = 0; d <= 40; d += 3) data.push_back(hg_test::flip256(queries[q], d, rng));
  }
  std::shuffle(data.begin(), data.end(), rng);
  const mih_index automatic(data, best());
  CHECK(automatic.max_radius() >= 31);
  check_equal(automatic, queries, {0, 1, 2, 7, 15, 16, 30, 31, 32, 40});
  // Other layouts, including 16-bit slots and the narrowest and widest allowed.
  for (std::uint32_t slots : {11U, 13U, 16U, 20U, 32U}) {
    const mih_index index(data, best(), {31, slots});
    REQUIRE(index.slot_count() == slots);
    unsigned total = 0;
    for (std::size_t s = 0; s < slots; ++s) total += index.slot_width(s);
    CHECK(total == 256);
    check_equal(index, queries, {0, 5, 31});
  }
}

TEST_CASE("MIH equals the linear scan on clustered data (near-duplicates around a few centres)") {
  std::mt19937_64 rng(22);
  std::vector<core::hash256> centres;
  for (int i = 0; i < 6; ++i) centres.push_back(hg_test::random256(rng));
  std::vector<core::hash256> data;
  for (int i = 0; i < 6000; ++i) {
    data.push_back(hg_test::flip256(centres[static_cast<std::size_t>(i) % centres.size()],
                                    static_cast<int>(rng() % 45), rng));
  }
  std::vector<core::hash256> queries = centres;
  for (const auto& c : centres) queries.push_back(hg_test::flip256(c, 12, rng));
  queries.push_back(hg_test::random256(rng));
  for (std::uint32_t slots : {0U, 11U, 16U, 32U}) {
    const mih_index index(data, best(), {31, slots});
    check_equal(index, queries, {0, 4, 10, 20, 25, 31});
  }
}

TEST_CASE("MIH on the reference needles and haystack finds exactly the oracle's pairs") {
  const auto needles = read_hashes(std::string(HG_TEST_DATA) + "/matcher/needles.txt");
  const auto haystack = read_hashes(std::string(HG_TEST_DATA) + "/matcher/haystack.txt");
  REQUIRE(needles.size() == 100);
  REQUIRE(haystack.size() == 1350);
  std::ifstream csv(std::string(HG_TEST_DATA) + "/matcher/needles-haystack-pairs.csv");
  REQUIRE(csv);
  std::string line;
  std::getline(csv, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();  // the file has CRLF endings
  REQUIRE(line == "needle_line,haystack_line,distance");
  std::set<std::tuple<int, int, int>> oracle;  // 0-based needle, haystack, distance
  while (std::getline(csv, line)) {
    std::istringstream fields(line);
    int n = 0;
    int h = 0;
    int d = 0;
    char c1 = 0;
    char c2 = 0;
    REQUIRE(fields >> n >> c1 >> h >> c2 >> d);
    oracle.emplace(n - 1, h - 1, d);
  }
  REQUIRE(oracle.size() == 352);

  for (const kernel* k : hg_test::runnable_kernels()) {
    const mih_index index(haystack, *k);
    for (int radius : {0, 31, 63}) {
      INFO("kernel " << k->name << " radius " << radius);
      std::vector<range_match> got;
      search_stats stats;
      index.range(needles, radius, got, &stats);
      if (radius <= 31) CHECK(stats.path == search_path::mih);
      std::set<std::tuple<int, int, int>> found;
      for (const auto& m : got) found.emplace(m.query, m.index, m.distance);
      std::set<std::tuple<int, int, int>> want;
      for (const auto& t : oracle) {
        if (std::get<2>(t) <= radius) want.insert(t);
      }
      CHECK(found == want);
      if (radius == 0) CHECK(found.size() == 50);
      if (radius == 31) {
        CHECK(found.size() == 250);
        std::set<int> matched_needles;
        for (const auto& t : found) matched_needles.insert(std::get<0>(t));
        CHECK(matched_needles.size() == 100);
      }
      if (radius == 63) CHECK(found.size() == 352);
    }
  }
}

TEST_CASE("radii beyond the MIH limit fall back to the linear scan and say so") {
  std::mt19937_64 rng(23);
  std::vector<core::hash256> data;
  for (int i = 0; i < 2000; ++i) data.push_back(hg_test::random256(rng));
  const mih_index index(data, best());
  const int beyond = index.max_radius() + 1;
  REQUIRE(beyond <= 256);
  const std::vector<core::hash256> q{data[5], hg_test::random256(rng)};
  std::vector<range_match> got;
  search_stats stats;
  index.range(q, beyond, got, &stats);
  CHECK(stats.path == search_path::linear_fallback);
  std::vector<range_match> want;
  index.linear().range(q, beyond, want);
  CHECK(same(got, want));
  CHECK(!got.empty());
  // At the limit the tables still serve.
  got.clear();
  index.range(q, index.max_radius(), got, &stats);
  CHECK(stats.path == search_path::mih);
}

TEST_CASE("an empty or tiny MIH index works") {
  const std::vector<core::hash256> none;
  const mih_index empty(none, best());
  std::vector<range_match> got;
  const std::vector<core::hash256> q(1);
  search_stats stats;
  empty.range(q, 31, got, &stats);
  CHECK(got.empty());
  CHECK(stats.path == search_path::mih);
  const std::vector<core::hash256> one{core::hash256{{1, 2, 3, 4}}};
  const mih_index single(one, best());
  single.range(one, 0, got, &stats);
  REQUIRE(got.size() == 1);
  CHECK(got[0].index == 0);
  CHECK(got[0].distance == 0);
}

TEST_CASE("the layout serves every radius up to 31 at every size up to 10M within 2 GB") {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{100000},
                        std::size_t{1000000}, std::size_t{3000000}, std::size_t{10000000}}) {
    const mih_layout layout = mih_index::layout_for(n);
    INFO("n " << n << " slots " << layout.slots);
    CHECK(layout.max_radius >= 31);
    CHECK(layout.table_bytes <= std::size_t{2} << 30);
    CHECK(layout.slots >= 11);
    CHECK(layout.slots <= 32);
  }
  // Above a few million entries the choice moves away from 16-bit slots.
  CHECK(mih_index::layout_for(10000000).slots < 16);
}
