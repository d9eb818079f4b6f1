#include "hashguard/handlers/probe_guard.hpp"

#include "hg_catch.hpp"

#include <string>

using namespace hashguard;
using handlers::probe_guard;
using namespace std::chrono_literals;

namespace {

core::hash256 base_hash() {
  core::hash256 h;
  h.words = {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x0f1e2d3c4b5a6978ULL,
             0x8796a5b4c3d2e1f0ULL};
  return h;
}

core::hash256 flipped(core::hash256 h, unsigned bit) {
  h.words[bit / 64] ^= std::uint64_t{1} << (bit % 64);
  return h;
}

}  // namespace

TEST_CASE("probe guard: one-bit flips are refused past the limit, once reported") {
  probe_guard guard({});  // the defaults: radius 32, 64 an hour
  const auto t0 = probe_guard::clock::now();
  const auto base = base_hash();
  REQUIRE(guard.check("k_attacker", base, t0).allowed);
  int answered = 0;
  int first_refused = -1;
  for (unsigned bit = 0; bit < 256; ++bit) {
    const auto d = guard.check("k_attacker", flipped(base, bit), t0 + 1ms * bit);
    if (d.allowed) {
      ++answered;
    } else if (first_refused < 0) {
      first_refused = static_cast<int>(bit);
      CHECK(d.retry_after_s >= 3599);  // until the first counted one leaves the hour
      CHECK(d.retry_after_s <= 3600);
    }
  }
  CHECK(answered == 64);
  CHECK(first_refused == 64);
  CHECK(guard.refused() == 192);
  const auto suspects = guard.take_new_suspects();
  REQUIRE(suspects.size() == 1);  // one report per episode, not per refusal
  CHECK(suspects[0].key_id == "k_attacker");
  CHECK(suspects[0].near_queries == 64);
  CHECK(guard.take_new_suspects().empty());

  // Another key is not affected, and neither are this key's unrelated queries.
  CHECK(guard.check("k_other", flipped(base, 3), t0).allowed);
  core::hash256 far = base;
  far.words[0] = ~far.words[0];
  CHECK(guard.check("k_attacker", far, t0 + 1s).allowed);
  // An hour later the window has moved on.
  CHECK(guard.check("k_attacker", flipped(base, 200), t0 + 1h + 1s).allowed);
}

TEST_CASE("probe guard: exact repeats (a cache resending an image) never count") {
  probe_guard::options o;
  o.limit = 2;
  probe_guard guard(o);
  const auto t0 = probe_guard::clock::now();
  const auto base = base_hash();
  for (int i = 0; i < 500; ++i) CHECK(guard.check("k_cache", base, t0).allowed);
  CHECK(guard.check("k_cache", flipped(base, 1), t0).allowed);
  for (int i = 0; i < 500; ++i) CHECK(guard.check("k_cache", flipped(base, 1), t0).allowed);
  CHECK(guard.check("k_cache", flipped(base, 2), t0).allowed);
  CHECK_FALSE(guard.check("k_cache", flipped(base, 3), t0).allowed);  // the third near one
  // Beyond the radius is no near-duplicate: distance 33 from every recent query.
  core::hash256 d33 = base;
  d33.words[1] ^= (std::uint64_t{1} << 33) - 1;
  CHECK(guard.check("k_cache", d33, t0).allowed);
  CHECK(guard.refused() == 1);
}

TEST_CASE("probe guard: memory is bounded per key and in keys, limit 0 turns it off") {
  probe_guard::options o;
  o.max_keys = 32;  // 2 per shard
  probe_guard guard(o);
  const auto t0 = probe_guard::clock::now();
  for (int i = 0; i < 1000; ++i) {
    (void)guard.check("k_" + std::to_string(i), base_hash(), t0 + 1ms * i);
  }
  CHECK(guard.tracked_keys() <= 32);

  probe_guard::options off;
  off.limit = 0;
  probe_guard disabled(off);
  for (unsigned bit = 0; bit < 256; ++bit) {
    CHECK(disabled.check("k", flipped(base_hash(), bit), t0).allowed);
  }
  CHECK(disabled.tracked_keys() == 0);
}
