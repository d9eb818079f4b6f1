#include "hashguard/matcher/linear.hpp"

#include "hashguard/matcher/kernel.hpp"
#include "test_support.hpp"

#include "hg_catch.hpp"

#include <algorithm>
#include <random>
#include <vector>

using namespace hashguard;
using namespace hashguard::matcher;

namespace {

template <class Hash>
std::vector<range_match> brute_range(const std::vector<Hash>& data, const std::vector<Hash>& qs,
                                     int radius) {
  std::vector<range_match> out;
  for (std::size_t q = 0; q < qs.size(); ++q) {
    for (std::size_t i = 0; i < data.size(); ++i) {
      const int d = core::distance(data[i], qs[q]);
      if (d <= radius) {
        out.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint16_t>(q),
                       static_cast<std::uint16_t>(d)});
      }
    }
  }
  return out;
}

bool same(const std::vector<range_match>& a, const std::vector<range_match>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].index != b[i].index || a[i].query != b[i].query || a[i].distance != b[i].distance) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("linear_index256 range search equals brute force for every kernel, across blocks") {
  std::mt19937_64 rng(3);
  std::vector<core::hash256> queries;
  for (int i = 0; i < 11; ++i) queries.push_back(hg_test::random256(rng));  // > max_batch
  std::vector<core::hash256> data;
  for (std::size_t i = 0; i < 20000; ++i) {  // more than one kernel block (8192)
    data.push_back(i % 5 == 0 ? hg_test::flip256(queries[i % queries.size()],
                                                 static_cast<int>(rng() % 48), rng)
                              : hg_test::random256(rng));
  }
  for (const kernel* k : hg_test::runnable_kernels()) {
    const linear_index256 index(data, *k);
    REQUIRE(index.size() == data.size());
    CHECK(index.at(123) == data[123]);
    CHECK(index.storage_bytes() == data.size() * 32);
    CHECK(reinterpret_cast<std::uintptr_t>(index.words()) % 64 == 0);
    for (int radius : {-1, 0, 10, 31, 47, 100}) {
      INFO("kernel " << k->name << " radius " << radius);
      std::vector<range_match> got;
      index.range(queries, radius, got);
      const auto want = brute_range(data, queries, radius);
      CHECK(same(got, want));
      if (radius >= 31) CHECK(!got.empty());
    }
  }
}

TEST_CASE("linear_index64 range search equals brute force for every kernel") {
  std::mt19937_64 rng(4);
  std::vector<core::hash64> queries;
  for (int i = 0; i < 9; ++i) queries.push_back({rng()});
  std::vector<core::hash64> data;
  for (std::size_t i = 0; i < 9001; ++i) {
    data.push_back(i % 4 == 0 ? core::hash64{hg_test::flip64(queries[i % 9].value,
                                                             static_cast<int>(rng() % 20), rng)}
                              : core::hash64{rng()});
  }
  for (const kernel* k : hg_test::runnable_kernels()) {
    const linear_index64 index(data, *k);
    for (int radius : {0, 4, 10, 20, 64}) {
      INFO("kernel " << k->name << " radius " << radius);
      std::vector<range_match> got;
      index.range(queries, radius, got);
      CHECK(same(got, brute_range(data, queries, radius)));
    }
  }
}

TEST_CASE("k-nearest returns the k smallest distances, ties by index") {
  std::mt19937_64 rng(5);
  const auto q = hg_test::random256(rng);
  std::vector<core::hash256> data;
  for (int i = 0; i < 3000; ++i)
    data.push_back(hg_test::flip256(q, static_cast<int>(rng() % 90), rng));
  std::vector<neighbor> all;
  for (std::size_t i = 0; i < data.size(); ++i) {
    all.push_back({static_cast<std::uint32_t>(i), core::distance(data[i], q)});
  }
  std::sort(all.begin(), all.end(), [](const neighbor& a, const neighbor& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.index < b.index;
  });
  for (const kernel* k : hg_test::runnable_kernels()) {
    const linear_index256 index(data, *k);
    for (std::size_t kk :
         {std::size_t{1}, std::size_t{5}, std::size_t{100}, data.size(), data.size() + 3}) {
      INFO("kernel " << k->name << " k " << kk);
      const auto got = index.nearest(q, kk);
      const std::vector<neighbor> want(
          all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(kk, all.size())));
      CHECK(got == want);
    }
    CHECK(index.nearest(q, 0).empty());
  }
  // 64-bit too.
  std::vector<core::hash64> d64;
  for (int i = 0; i < 500; ++i) d64.push_back({rng()});
  const linear_index64 i64(d64, hg_test::scalar());
  const core::hash64 q64{rng()};
  const auto got = i64.nearest(q64, 3);
  REQUIRE(got.size() == 3);
  int best = 65;
  for (const auto& h : d64) best = std::min(best, core::distance(h, q64));
  CHECK(got[0].distance == best);
  CHECK(got[0].distance <= got[1].distance);
  CHECK(got[1].distance <= got[2].distance);
}

TEST_CASE("an empty linear index finds nothing") {
  const std::vector<core::hash256> none;
  const linear_index256 index(none, hg_test::scalar());
  std::vector<range_match> got;
  const std::vector<core::hash256> q(1);
  index.range(q, 256, got);
  CHECK(got.empty());
  CHECK(index.nearest(q[0], 4).empty());
}
