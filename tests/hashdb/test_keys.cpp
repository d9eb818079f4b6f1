#include "hashguard/hashdb/keys.hpp"

#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <set>

using namespace hashguard;

TEST_CASE("key secrets are random, prefixed, base64url") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string k = hashdb::generate_key_secret();
    CHECK(k.size() == 46);
    CHECK(k.rfind("hg_", 0) == 0);
    CHECK(k.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                              3) == std::string::npos);
    seen.insert(k);
  }
  CHECK(seen.size() == 100);
  // SHA-256 of "abc" (FIPS 180-2 example).
  CHECK(hashdb::key_digest("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("keys: create, authenticate, list, revoke: only the digest is stored") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::key_store keys(c);
  auto made = keys.create("edge-cache", core::role::ingest);
  INFO(c.last_error());
  REQUIRE(made.has_value());
  CHECK(made->info.role == core::role::ingest);
  CHECK(made->info.prefix == made->secret.substr(0, 11));
  auto reviewer = keys.create("alice", core::role::reviewer);
  REQUIRE(reviewer.has_value());

  auto who = keys.authenticate(made->secret);
  REQUIRE(who.has_value());
  CHECK(who->id == made->info.id);
  CHECK(who->name == "edge-cache");
  CHECK(hg_test::error_of(keys.authenticate("hg_not-a-key")) == hashdb::errc::not_found);

  {
    pqxx::connection pc(db.url());
    pqxx::read_transaction tx(pc);
    const auto stored = tx.exec1(
                              "SELECT string_agg(encode(key_sha256, 'hex') || prefix || name"
                              " || role, ' ') FROM api_keys")[0]
                            .as<std::string>();
    CHECK(stored.find(made->secret) == std::string::npos);
    CHECK(stored.find(hashdb::key_digest(made->secret)) != std::string::npos);
  }

  auto all = keys.list();
  REQUIRE(all.has_value());
  CHECK(all->size() == 2);
  auto revoked = keys.revoke(made->info.id);
  REQUIRE(revoked.has_value());
  CHECK(revoked->revoked_at.has_value());
  CHECK(hg_test::error_of(keys.authenticate(made->secret)) == hashdb::errc::not_found);
  CHECK(keys.revoke(made->info.id).has_value());  // idempotent
  CHECK(hg_test::error_of(keys.revoke(9999)) == hashdb::errc::not_found);
  CHECK(hg_test::error_of(keys.create("", core::role::admin)) == hashdb::errc::invalid_argument);
}

TEST_CASE("keys: live_digests lists unrevoked keys with their SHA-256, never the key") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::key_store keys(c);
  auto ingest = keys.create("edge", core::role::ingest);
  auto reviewer = keys.create("bob", core::role::reviewer);
  REQUIRE(ingest.has_value());
  REQUIRE(reviewer.has_value());
  REQUIRE(keys.revoke(ingest->info.id).has_value());
  auto live = keys.live_digests();
  REQUIRE(live.has_value());
  REQUIRE(live->size() == 1);
  CHECK(live->front().first.id == reviewer->info.id);
  CHECK(live->front().first.role == core::role::reviewer);
  CHECK(live->front().second == hashdb::key_digest(reviewer->secret));
  CHECK(live->front().second.size() == 64);
}

TEST_CASE("keys: capabilities are stored with the key, none by default") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::key_store keys(c);
  core::capability_set details;
  details.add(core::capability::match_details);
  auto plain = keys.create("edge-cache", core::role::ingest);
  auto granted = keys.create("investigations", core::role::ingest, details);
  INFO(c.last_error());
  REQUIRE(plain.has_value());
  REQUIRE(granted.has_value());
  CHECK(plain->info.capabilities.empty());
  CHECK(granted->info.capabilities.has(core::capability::match_details));
  auto live = keys.live_digests();
  REQUIRE(live.has_value());
  REQUIRE(live->size() == 2);
  CHECK((*live)[0].first.capabilities.empty());
  CHECK((*live)[1].first.capabilities == details);
  CHECK((*live)[1].second == hashdb::key_digest(granted->secret));
  auto all = keys.list();
  REQUIRE(all.has_value());
  CHECK(all->at(1).capabilities == details);
  // A name this server does not know (a newer server granted it) is ignored, not fatal.
  pqxx::connection raw(db.url());
  pqxx::work tx(raw);
  tx.exec0("UPDATE api_keys SET capabilities = '{match_details,from_the_future}'");
  tx.commit();
  auto later = keys.list();
  REQUIRE(later.has_value());
  CHECK(later->at(0).capabilities == details);
}
