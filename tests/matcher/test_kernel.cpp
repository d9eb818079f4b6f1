#include "hashguard/matcher/kernel.hpp"

#include "hashguard/core/hash.hpp"
#include "test_support.hpp"

#include "hg_catch.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

using namespace hashguard;
using namespace hashguard::matcher;

namespace {

using triple = std::tuple<std::uint32_t, std::uint16_t, std::uint16_t>;

std::vector<triple> sorted(const std::vector<kernel_match>& m, std::size_t count) {
  std::vector<triple> out;
  for (std::size_t i = 0; i < count; ++i) out.emplace_back(m[i].index, m[i].query, m[i].distance);
  std::sort(out.begin(), out.end());
  return out;
}

// Data of n 256-bit hashes: random, with some near the first query so small radii hit.
std::vector<std::uint64_t> make_data256(std::size_t n, const core::hash256& near,
                                        std::mt19937_64& rng) {
  std::vector<std::uint64_t> words;
  for (std::size_t i = 0; i < n; ++i) {
    core::hash256 h = (i % 3 == 0) ? hg_test::flip256(near, static_cast<int>(rng() % 140), rng)
                                   : hg_test::random256(rng);
    words.insert(words.end(), h.words.begin(), h.words.end());
  }
  return words;
}

const std::size_t sizes[] = {0, 1, 7, 8, 9, 31, 33, 1000};

}  // namespace

TEST_CASE(
    "the priority table lists the four kernels best first under their HG_FORCE_KERNEL names") {
  const auto table = kernels();
  REQUIRE(table.size() == 4);
  CHECK(std::string(table[0]->name) == "avx512_vpopcntdq");
  CHECK(std::string(table[1]->name) == "avx2");
  CHECK(std::string(table[2]->name) == "popcnt");
  CHECK(std::string(table[3]->name) == "scalar");
  CHECK(table[3]->features == 0);
}

TEST_CASE("this machine runs every kernel its CPU flags announce") {
  // Cross-check __builtin_cpu_supports against /proc/cpuinfo so that a kernel the CPU has is
  // never silently left out of the per-kernel tests below.
  std::ifstream cpuinfo("/proc/cpuinfo");
  REQUIRE(cpuinfo);
  std::string flags;
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("flags", 0) == 0) {
      flags = line + " ";
      break;
    }
  }
  REQUIRE(!flags.empty());
  const auto has = [&](const char* f) {
    return flags.find(std::string(" ") + f + " ") != std::string::npos;
  };
  const std::uint32_t f = cpu_features();
  CHECK(((f & feature_popcnt) != 0) == has("popcnt"));
  CHECK(((f & feature_avx2) != 0) == has("avx2"));
  CHECK(((f & feature_avx512_vpopcntdq) != 0) ==
        (has("avx512f") && has("avx512cd") && has("avx512dq") && has("avx512bw") &&
         has("avx512_vpopcntdq")));
}

TEST_CASE("kernel selection: best supported by default, forced by name, errors for bad names") {
  const std::uint32_t all = feature_popcnt | feature_avx2 | feature_avx512_vpopcntdq;
  CHECK(std::string((*select_kernel("", all))->name) == "avx512_vpopcntdq");
  CHECK(std::string((*select_kernel("", feature_popcnt | feature_avx2))->name) == "avx2");
  CHECK(std::string((*select_kernel("", feature_popcnt))->name) == "popcnt");
  CHECK(std::string((*select_kernel("", 0))->name) == "scalar");
  CHECK(std::string((*select_kernel("popcnt", all))->name) == "popcnt");

  auto unknown = select_kernel("sse9", all);
  REQUIRE(!unknown);
  CHECK(unknown.error() == errc::unknown_kernel);
  CHECK(core::error_name(unknown.error()) == "unknown_kernel");
  auto unsupported = select_kernel("avx512_vpopcntdq", feature_popcnt | feature_avx2);
  REQUIRE(!unsupported);
  CHECK(unsupported.error() == errc::unsupported_kernel);
  CHECK(core::error_name(unsupported.error()) == "unsupported_kernel");
  // Names are exact: no case folding, no prefixes.
  CHECK(!select_kernel("AVX2", all));
  CHECK(!select_kernel("avx", all));
}

TEST_CASE("every runnable kernel equals scalar on 256-bit hashes over awkward sizes and radii") {
  const auto runnable = hg_test::runnable_kernels();
  // Every kernel whose features this CPU has is in the list (no silent skip).
  for (const kernel* k : kernels()) {
    if (can_run(*k, cpu_features())) {
      CHECK(std::count(runnable.begin(), runnable.end(), k) == 1);
    }
  }
  const kernel& ref = hg_test::scalar();
  std::mt19937_64 rng(7);
  for (const kernel* k : runnable) {
    for (std::size_t n : sizes) {
      for (std::size_t nq = 1; nq <= max_batch; ++nq) {
        std::vector<std::uint64_t> queries;
        for (std::size_t q = 0; q < nq; ++q) {
          const auto h = hg_test::random256(rng);
          queries.insert(queries.end(), h.words.begin(), h.words.end());
        }
        const core::hash256 first{{queries[0], queries[1], queries[2], queries[3]}};
        // One word of padding in front: kernels take any 8-byte aligned pointer.
        std::vector<std::uint64_t> data{0};
        const auto body = make_data256(n, first, rng);
        data.insert(data.end(), body.begin(), body.end());
        const std::uint64_t* p = data.data() + 1;
        INFO("kernel " << k->name << " n " << n << " nq " << nq);

        std::vector<std::uint16_t> d_ref(n * nq + 1, 0xFFFF);
        std::vector<std::uint16_t> d_k(n * nq + 1, 0xFFFF);
        ref.distances256(p, n, queries.data(), nq, d_ref.data());
        k->distances256(p, n, queries.data(), nq, d_k.data());
        CHECK(d_ref == d_k);  // also: the sentinel past the end is untouched
        // Scalar itself against core::distance.
        for (std::size_t i = 0; i < n; ++i) {
          const core::hash256 h{{p[4 * i], p[4 * i + 1], p[4 * i + 2], p[4 * i + 3]}};
          REQUIRE(d_ref[i] == core::distance(h, first));
        }
        for (std::uint32_t radius : {0U, 1U, 31U, 64U, 100U, 120U, 128U, 136U, 200U, 256U}) {
          std::vector<kernel_match> m_ref(n * nq + 1);
          std::vector<kernel_match> m_k(n * nq + 1);
          const std::size_t c_ref = ref.range256(p, n, queries.data(), nq, radius, m_ref.data());
          const std::size_t c_k = k->range256(p, n, queries.data(), nq, radius, m_k.data());
          CHECK(c_ref == c_k);
          CHECK(sorted(m_ref, c_ref) == sorted(m_k, c_k));
          std::size_t expect = 0;
          for (std::uint16_t d : d_ref) expect += d <= radius && d != 0xFFFF ? 1 : 0;
          CHECK(c_ref == expect);
        }
      }
    }
  }
}

TEST_CASE("every runnable kernel equals scalar on 64-bit hashes over awkward sizes and radii") {
  const kernel& ref = hg_test::scalar();
  std::mt19937_64 rng(11);
  for (const kernel* k : hg_test::runnable_kernels()) {
    for (std::size_t n : sizes) {
      for (std::size_t nq = 1; nq <= max_batch; ++nq) {
        std::vector<std::uint64_t> queries(nq);
        for (auto& q : queries) q = rng();
        std::vector<std::uint64_t> data{0};
        for (std::size_t i = 0; i < n; ++i) {
          data.push_back(i % 2 == 0 ? hg_test::flip64(queries[0], static_cast<int>(rng() % 40), rng)
                                    : rng());
        }
        const std::uint64_t* p = data.data() + 1;
        INFO("kernel " << k->name << " n " << n << " nq " << nq);
        std::vector<std::uint16_t> d_ref(n * nq + 1, 0xFFFF);
        std::vector<std::uint16_t> d_k(n * nq + 1, 0xFFFF);
        ref.distances64(p, n, queries.data(), nq, d_ref.data());
        k->distances64(p, n, queries.data(), nq, d_k.data());
        CHECK(d_ref == d_k);
        for (std::size_t i = 0; i < n; ++i) {
          REQUIRE(d_ref[i] == core::distance(core::hash64{p[i]}, core::hash64{queries[0]}));
        }
        for (std::uint32_t radius : {0U, 3U, 10U, 28U, 32U, 36U, 64U}) {
          std::vector<kernel_match> m_ref(n * nq + 1);
          std::vector<kernel_match> m_k(n * nq + 1);
          const std::size_t c_ref = ref.range64(p, n, queries.data(), nq, radius, m_ref.data());
          const std::size_t c_k = k->range64(p, n, queries.data(), nq, radius, m_k.data());
          CHECK(c_ref == c_k);
          CHECK(sorted(m_ref, c_ref) == sorted(m_k, c_k));
        }
      }
    }
  }
}

TEST_CASE("kernels give the extreme distances 0 and 256 exactly") {
  const std::vector<std::uint64_t> zeros(4 * 9, 0);
  const std::vector<std::uint64_t> ones(4, ~std::uint64_t{0});
  for (const kernel* k : hg_test::runnable_kernels()) {
    INFO(k->name);
    std::vector<std::uint16_t> d(9);
    k->distances256(zeros.data(), 9, ones.data(), 1, d.data());
    CHECK(std::all_of(d.begin(), d.end(), [](std::uint16_t v) { return v == 256; }));
    k->distances256(zeros.data(), 9, zeros.data(), 1, d.data());
    CHECK(std::all_of(d.begin(), d.end(), [](std::uint16_t v) { return v == 0; }));
    std::vector<kernel_match> m(9);
    CHECK(k->range256(zeros.data(), 9, ones.data(), 1, 255, m.data()) == 0);
    CHECK(k->range256(zeros.data(), 9, ones.data(), 1, 256, m.data()) == 9);
  }
}
