#include "hashguard/exchanges/sync.hpp"

#include "hashguard/exchanges/registry.hpp"
#include "hashguard/hashdb/exchange_store.hpp"

#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"

#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>

using namespace hashguard;
namespace fs = std::filesystem;

namespace {

std::string pdq_of(int i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", i * 7919 + 13);
  return buf;
}

void write_lines(const fs::path& file, int from, int to) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  for (int i = from; i < to; ++i) out << pdq_of(i) << "\n";
}

std::string one(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec1(sql)[0].as<std::string>();
}

exchanges::exchange_config config_for(const fs::path& dir) {
  exchanges::exchange_config c;
  c.name = "drop";
  c.kind = "folder";
  c.url = dir.string();
  c.settings["page_entries"] = "4";
  c.feeds.push_back({core::signal::pdq, "drop-pdq", 31, core::action::review});
  return c;
}

exchanges::sync_options node(const std::string& holder) {
  exchanges::sync_options o;
  o.holder = holder;
  o.lease_ttl = std::chrono::seconds(30);
  return o;
}

}  // namespace

TEST_CASE("sync: a folder exchange is followed in pages, one version move per batch") {
  hg_test::test_database db;
  hg_test::temp_dir dir;
  write_lines(dir.path / "a.txt", 0, 10);
  write_lines(dir.path / "b.txt", 10, 15);
  auto c = db.connect();
  const auto config = config_for(dir.path);
  REQUIRE(hashdb::exchange_store(c).register_exchange(exchanges::spec_of(config)).has_value());
  auto src = exchanges::make_source(config);
  REQUIRE(src.has_value());
  const auto v0 = one(db.url(), "SELECT version FROM hash_lists WHERE name = 'drop-pdq'");

  exchanges::sync_driver driver(c, "drop", **src, node("n1"));
  auto r = driver.run();
  INFO(c.last_error());
  REQUIRE(r.has_value());
  CHECK_FALSE(r->error);
  CHECK(r->caught_up);
  CHECK(r->pages >= 4);
  CHECK(r->added == 15);
  CHECK(one(db.url(), "SELECT count(*) FROM hashes WHERE exchange_id IS NOT NULL") == "15");
  const auto v1 = one(db.url(), "SELECT version FROM hash_lists WHERE name = 'drop-pdq'");
  CHECK(v1 != v0);
  // The pages of the batch moved the version once: one sequence value above the start.
  CHECK(std::stoll(v1) - std::stoll(v0) == 1);
  auto state = hashdb::exchange_store(c).get("drop");
  REQUIRE(state.has_value());
  CHECK(state->lease_holder.empty());
  CHECK(state->entries == 15);
  CHECK_FALSE(state->last_success_at.empty());

  // A removed file: its entries are deleted by the next batch.
  fs::remove(dir.path / "b.txt");
  r = driver.run();
  REQUIRE(r.has_value());
  CHECK(r->deleted == 5);
  CHECK(one(db.url(), "SELECT count(*) FROM hashes") == "10");
  CHECK(one(db.url(), "SELECT entries FROM hash_lists WHERE name = 'drop-pdq'") == "10");
}

TEST_CASE("sync: a bad page stops at the last good checkpoint and says why") {
  hg_test::test_database db;
  hg_test::temp_dir dir;
  write_lines(dir.path / "a.txt", 0, 6);
  {
    std::ofstream bad(dir.path / "b.txt");
    bad << pdq_of(6) << "\nzz-not-hex\n";
  }
  auto c = db.connect();
  const auto config = config_for(dir.path);
  REQUIRE(hashdb::exchange_store(c).register_exchange(exchanges::spec_of(config)).has_value());
  auto src = exchanges::make_source(config);
  REQUIRE(src.has_value());
  exchanges::sync_driver driver(c, "drop", **src, node("n1"));
  auto r = driver.run();
  REQUIRE(r.has_value());
  CHECK(r->error == exchanges::errc::bad_page);
  CHECK(r->reason.rfind("bad_page: b.txt:2: ", 0) == 0);
  CHECK_FALSE(r->caught_up);
  // Pages of 4: the first (a.txt's first 4 entries) stays; the second (a.txt's last 2, then
  // b.txt up to its bad line) applied nothing.
  CHECK(one(db.url(), "SELECT count(*) FROM hashes") == "4");
  auto state = hashdb::exchange_store(c).get("drop");
  REQUIRE(state.has_value());
  CHECK(state->checkpoint == r->checkpoint);
  CHECK(state->last_error == r->reason);
  CHECK(state->consecutive_failures == 1);
  CHECK(state->lease_holder.empty());
}

TEST_CASE("sync: another node's lease makes a run a no-op, cancel stops a run") {
  hg_test::test_database db;
  hg_test::temp_dir dir;
  write_lines(dir.path / "a.txt", 0, 3);
  auto c = db.connect();
  const auto config = config_for(dir.path);
  hashdb::exchange_store store(c);
  REQUIRE(store.register_exchange(exchanges::spec_of(config)).has_value());
  auto src = exchanges::make_source(config);
  REQUIRE(src.has_value());
  REQUIRE(store.acquire_lease("drop", "other", std::chrono::seconds(30)).value());
  exchanges::sync_driver driver(c, "drop", **src, node("n1"));
  auto r = driver.run();
  REQUIRE(r.has_value());
  CHECK(r->lease_busy);
  CHECK(r->pages == 0);
  CHECK(one(db.url(), "SELECT count(*) FROM hashes") == "0");
  REQUIRE(store.release_lease("drop", "other").has_value());

  driver.cancel();
  r = driver.run();
  REQUIRE(r.has_value());
  CHECK(r->error == exchanges::errc::cancelled);
  CHECK(one(db.url(), "SELECT count(*) FROM hashes") == "0");
  CHECK(store.get("drop").value().last_error == "exchange_cancelled");

  exchanges::sync_driver unknown(c, "nope", **src, node("n1"));
  CHECK(unknown.run().error() == hashdb::errc::not_found);
}
