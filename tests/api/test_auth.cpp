#include "hashguard/api/auth.hpp"

#include "hashguard/core/hex.hpp"
#include "hg_catch.hpp"

#include <thread>

using namespace hashguard;
using namespace std::chrono_literals;

TEST_CASE("keys are digested with SHA-256 (FIPS 180-2 vector)") {
  const auto d = api::digest_key("abc");
  CHECK(core::to_hex(d) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(api::key_id_of(d) == "k_ba7816bf8f01");
}

TEST_CASE("bearer tokens: scheme case-insensitive, one token, nothing else") {
  CHECK(api::bearer_token("Bearer abc") == "abc");
  CHECK(api::bearer_token("bearer   abc  ") == "abc");
  CHECK(api::bearer_token("BEARER\tabc") == "abc");
  CHECK_FALSE(api::bearer_token(""));
  CHECK_FALSE(api::bearer_token("Bearer"));
  CHECK_FALSE(api::bearer_token("Bearer "));
  CHECK_FALSE(api::bearer_token("Bearerabc"));
  CHECK_FALSE(api::bearer_token("Basic YWJjOmRlZg=="));
  CHECK_FALSE(api::bearer_token("Bearer a b"));
}

TEST_CASE("a key set finds exactly the stored digests") {
  std::vector<api::key_record> records;
  for (int i = 0; i < 100; ++i) {
    const auto d = api::digest_key("key-" + std::to_string(i));
    records.push_back({d, api::key_id_of(d), static_cast<core::role>(i % 4), 0, 0});
  }
  const api::key_set set(records);
  CHECK(set.size() == 100);
  for (int i = 0; i < 100; ++i) {
    const auto* r = set.find(api::digest_key("key-" + std::to_string(i)));
    REQUIRE(r != nullptr);
    CHECK(r->role == static_cast<core::role>(i % 4));
  }
  CHECK(set.find(api::digest_key("key-100")) == nullptr);
  // Same 8-byte prefix, different tail: the full comparison decides.
  auto almost = records[5].digest;
  almost[31] ^= 1;
  CHECK(set.find(almost) == nullptr);
}

TEST_CASE("the registry authenticates presented keys and swaps sets atomically") {
  api::key_registry reg;
  CHECK(reg.size() == 0);
  CHECK_FALSE(reg.authenticate("anything"));
  const auto d = api::digest_key("secret-1");
  reg.replace({{d, "one", core::role::ingest, 0, 0}});
  auto r = reg.authenticate("secret-1");
  REQUIRE(r);
  CHECK(r->key_id == "one");
  CHECK(r->role == core::role::ingest);
  CHECK_FALSE(reg.authenticate("secret-2"));

  const auto d2 = api::digest_key("secret-2");
  reg.add({{d2, "two", core::role::admin, 0, 0}, {d, "one-again", core::role::reviewer, 0, 0}});
  CHECK(reg.size() == 2);
  CHECK(reg.authenticate("secret-2")->role == core::role::admin);
  CHECK(reg.authenticate("secret-1")->key_id == "one-again");
  CHECK(reg.authenticate("secret-1")->role == core::role::reviewer);

  reg.replace({});
  CHECK_FALSE(reg.authenticate("secret-1"));
}

TEST_CASE("token buckets: burst, refill, Retry-After, per key, 0 = unlimited") {
  using clock = api::rate_limiter::clock;
  const auto t0 = clock::now();
  api::rate_limiter lim(2.0, 3.0);
  CHECK(lim.take("a", 0, 0, t0).allowed);
  CHECK(lim.take("a", 0, 0, t0).allowed);
  CHECK(lim.take("a", 0, 0, t0).allowed);
  auto refused = lim.take("a", 0, 0, t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after_s == 1);
  CHECK(lim.take("b", 0, 0, t0).allowed);          // another key has its own bucket
  CHECK(lim.take("a", 0, 0, t0 + 500ms).allowed);  // 2/s refills one token in 0.5 s
  CHECK_FALSE(lim.take("a", 0, 0, t0 + 500ms).allowed);

  api::rate_limiter slow(0.1, 1.0);  // one request per 10 s
  CHECK(slow.take("k", 0, 0, t0).allowed);
  CHECK(slow.take("k", 0, 0, t0).retry_after_s == 10);
  // A per-key override beats the default.
  CHECK(slow.take("fast", 100, 100, t0).allowed);
  CHECK(slow.take("fast", 100, 100, t0).allowed);

  api::rate_limiter off(0, 0);
  for (int i = 0; i < 1000; ++i) REQUIRE(off.take("x", 0, 0, t0).allowed);
}
