// Keys and what they may learn, on a real `hashguard serve` (real sockets, the fixture's
// PostgreSQL): ingest answers hide entry, distance and detail unless an admin granted the key
// match_details; the probe detector answers 429 probe_suspected to a one-bit-flip attack long
// before it could recover a listed hash, audits it and counts it in /metrics; the key routes
// (admin only, audited); and config keys keep working when the database's keys cannot be read.
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"

#include "hashguard/core/hex.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <signal.h>

#include <string>
#include <vector>

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string ingest = "ingest-key-for-keys-test-0123456789ab";
const std::string compliance = "compliance-key-for-keys-test-01234567";
const std::string admin = "admin-key-for-keys-test-0123456789abcd";
const std::vector<std::pair<std::string, std::string>> json_type{
    {"Content-Type", "application/json"}};

std::optional<http_response> call(std::uint16_t port, std::string_view method,
                                  const std::string& target, const std::string& key,
                                  std::optional<std::string> body = std::nullopt) {
  if (body) return exchange(port, method, target, key, *body, json_type, 30000ms);
  return exchange(port, method, target, key, std::nullopt, {}, 30000ms);
}

std::optional<http_response> match_pdq(std::uint16_t port, const std::string& key,
                                       const hashguard::core::hash256& h) {
  return call(port, "POST", "/v1/match", key, R"({"pdq":")" + hashguard::core::to_hex(h) + R"("})");
}

/// The audit rows (newest first) whose action is `action`.
std::vector<json::object> audit_rows(std::uint16_t port, std::string_view action) {
  std::vector<json::object> out;
  auto r = call(port, "GET", "/v1/audit?limit=200", compliance);
  if (!r || r->status != 200) return out;
  const auto v = json::parse(r->body);
  for (const auto& e : v.at("entries").as_array()) {
    if (e.at("action").as_string() == action) out.push_back(e.as_object());
  }
  return out;
}

}  // namespace

TEST_CASE("serve: hit details need match_details, probing gets 429, key routes are admin's") {
  test_database db;
  const temp_dir dir("hg-serve-keys");
  serve_process srv(serve_command({"--database-url=" + db.url(), "--data-dir=" + dir.path.string(),
                                   "--auth-keys=ingest:" + ingest + ",compliance:" + compliance,
                                   "--auth-bootstrap-key=" + admin, "--snapshot-poll-ms=50",
                                   "--auth-refresh-ms=200"}));
  const auto port = srv.port();

  // A listed hash (synthetic: any 256 bits) and a key made through the route with
  // match_details; the config ingest key has no capability.
  hashguard::core::hash256 listed;
  listed.words = {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x0f1e2d3c4b5a6978ULL,
                  0x8796a5b4c3d2e1f0ULL};
  make_list(port, admin, "probed", {hashguard::core::to_hex(listed)});
  REQUIRE(wait_pdq_entries(port, admin, 1));

  SECTION("key routes: admin only, audited, a revoked key stops working") {
    auto refused = call(port, "POST", "/v1/keys", ingest, R"({"name":"x","role":"ingest"})");
    REQUIRE(refused);
    CHECK(refused->status == 403);
    CHECK(call(port, "GET", "/v1/keys", compliance)->status == 403);
    auto made = call(port, "POST", "/v1/keys", admin,
                     R"({"name":"investigator","role":"ingest","capabilities":["match_details"]})");
    REQUIRE(made);
    INFO(made->body);
    REQUIRE(made->status == 201);
    const auto key = json::parse(made->body).as_object();
    const std::string secret(key.at("secret").as_string());
    const auto id = key.at("id").as_int64();
    CHECK(key.at("capabilities").as_array().size() == 1);
    CHECK(call(port, "POST", "/v1/keys", admin,
               R"({"name":"x","role":"ingest","capabilities":["root"]})")
              ->status == 400);

    // The granted key sees the whole hit; the config ingest key only list, signal, action.
    REQUIRE(eventually(
        [&] {
          auto r = match_pdq(port, secret, listed);
          return r && r->status == 200;
        },
        30s));
    const auto full = json::parse(match_pdq(port, secret, listed)->body);
    const auto& full_hit = full.at("hits").as_array().at(0).as_object();
    CHECK(full_hit.at("distance").as_int64() == 0);
    CHECK(full_hit.contains("entry"));
    const auto plain = json::parse(match_pdq(port, ingest, listed)->body);
    const auto& plain_hit = plain.at("hits").as_array().at(0).as_object();
    CHECK(plain_hit.at("list_name").as_string() == "probed");
    CHECK_FALSE(plain_hit.contains("distance"));
    CHECK_FALSE(plain_hit.contains("entry"));

    auto listed_keys = call(port, "GET", "/v1/keys", admin);
    REQUIRE(listed_keys);
    REQUIRE(listed_keys->status == 200);
    CHECK(listed_keys->body.find("investigator") != std::string::npos);
    CHECK(listed_keys->body.find(secret) == std::string::npos);  // never a secret

    auto revoked = call(port, "DELETE", "/v1/keys/" + std::to_string(id), admin);
    REQUIRE(revoked);
    CHECK(revoked->status == 200);
    CHECK(call(port, "DELETE", "/v1/keys/999999", admin)->status == 404);
    CHECK(eventually(
        [&] {
          auto r = match_pdq(port, secret, listed);
          return r && r->status == 401;
        },
        30s));
    for (const char* action : {"key.create", "key.revoke", "key.list"}) {
      INFO(action);
      const auto rows = audit_rows(port, action);
      REQUIRE_FALSE(rows.empty());
      CHECK(rows.front().at("actor").as_string() == "bootstrap");
    }
    CHECK(audit_rows(port, "key.create").front().at("detail").as_string().find("match_details") !=
          std::string::npos);
    CHECK(audit_rows(port, "key.create").front().at("detail").as_string().find(secret) ==
          std::string::npos);
  }

  SECTION("256 one-bit-flip queries: 429 probe_suspected long before the hash is recovered") {
    // The attack: from a guess 40 bits off, flip one bit per query; each answer would tell
    // whether that bit brought the guess closer. Exact repeats of a query are never counted.
    hashguard::core::hash256 guess = listed;
    guess.words[0] ^= (std::uint64_t{1} << 40) - 1;  // 40 bits off: no match
    for (int i = 0; i < 5; ++i) REQUIRE(match_pdq(port, ingest, guess)->status == 200);
    int answered = 0;
    int first_refused = -1;
    for (unsigned bit = 0; bit < 256; ++bit) {
      auto flipped = guess;
      flipped.words[bit / 64] ^= std::uint64_t{1} << (bit % 64);
      auto r = match_pdq(port, ingest, flipped);
      REQUIRE(r);
      if (r->status == 200) {
        ++answered;
        continue;
      }
      CHECK(r->status == 429);
      CHECK(r->body.find("probe_suspected") != std::string::npos);
      CHECK_FALSE(r->header("retry-after").empty());
      if (first_refused < 0) first_refused = static_cast<int>(bit);
    }
    CHECK(first_refused == 64);  // match.probe_limit's default: 64 near-duplicates an hour
    CHECK(answered == 64);
    // Other queries of the same key, and other keys, go on.
    hashguard::core::hash256 unrelated;
    unrelated.words = {~listed.words[0], listed.words[1], ~listed.words[2], listed.words[3]};
    CHECK(match_pdq(port, ingest, unrelated)->status == 200);

    CHECK(eventually([&] { return !audit_rows(port, "key.probe_suspected").empty(); }, 30s));
    const auto rows = audit_rows(port, "key.probe_suspected");
    REQUIRE(rows.size() == 1);  // once per episode, not per refused query
    CHECK(rows.front().at("subject").as_string().starts_with("key:k_"));
    auto metrics = fetch(port, "GET", "/metrics");
    REQUIRE(metrics);
    const auto refused = metric_value(metrics->body, "hg_probe_suspected_total");
    REQUIRE(refused);
    CHECK(*refused >= 192);
  }
  CHECK(srv.stop(SIGTERM).exited);
}

TEST_CASE("serve: config keys work when the database's keys cannot be loaded at start") {
  test_database db;  // migrated
  {
    pqxx::connection c(db.url());
    pqxx::work tx(c);
    tx.exec0("ALTER TABLE api_keys RENAME TO api_keys_unreadable");
    tx.commit();
  }
  const temp_dir dir("hg-serve-keys-down");
  serve_process srv(
      serve_command({"--database-url=" + db.url(), "--data-dir=" + dir.path.string(),
                     "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin}));
  auto index = call(srv.port(), "GET", "/v1/index", admin);
  REQUIRE(index);
  CHECK(index->status == 200);
  auto hashed = call(srv.port(), "POST", "/v1/match", ingest,
                     R"({"md5":"00112233445566778899aabbccddeeff"})");
  REQUIRE(hashed);
  CHECK(hashed->status == 200);
  CHECK(srv.stop(SIGTERM).exited);
  CHECK(srv.err_text().find("task keys failed") != std::string::npos);
}
