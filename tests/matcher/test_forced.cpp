// Run by ctest once per kernel name with HG_FORCE_KERNEL set in its environment (see
// CMakeLists.txt): the forced kernel must be the active one, or an error when the name is
// unknown or the CPU cannot run it. Never a silent fallback, never a skip.
#include "hashguard/matcher/kernel.hpp"
#include "hashguard/matcher/linear.hpp"
#include "test_support.hpp"

#include "hg_catch.hpp"

#include <cstdlib>
#include <random>
#include <string>

using namespace hashguard;
using namespace hashguard::matcher;

TEST_CASE("HG_FORCE_KERNEL decides the active kernel") {
  const char* forced = std::getenv("HG_FORCE_KERNEL");
  REQUIRE(forced != nullptr);
  const std::string name(forced);
  const kernel* named = nullptr;
  for (const kernel* k : kernels()) {
    if (name == k->name) named = k;
  }
  const auto active = startup_kernel();
  if (named == nullptr) {
    REQUIRE(!active);
    CHECK(active.error() == errc::unknown_kernel);
    return;
  }
  if (!can_run(*named, cpu_features())) {
    REQUIRE(!active);
    CHECK(active.error() == errc::unsupported_kernel);
    return;
  }
  REQUIRE(active);
  CHECK(*active == named);
  CHECK(std::string((*active)->name) == name);
  // Selected once: asking again gives the same kernel.
  CHECK(*startup_kernel() == named);
  // And an index built on the active kernel searches with it, agreeing with scalar.
  std::mt19937_64 rng(99);
  std::vector<core::hash256> data;
  for (int i = 0; i < 777; ++i) data.push_back(hg_test::random256(rng));
  const linear_index256 index(data, **active);
  CHECK(std::string(index.kernel_used().name) == name);
  const linear_index256 reference(data, hg_test::scalar());
  const std::vector<core::hash256> queries{data[0], hg_test::random256(rng)};
  std::vector<range_match> a;
  std::vector<range_match> b;
  index.range(queries, 120, a);
  reference.range(queries, 120, b);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].index == b[i].index);
}
