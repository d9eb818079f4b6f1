#include "hashguard/hashdb/migrations.hpp"

#include "hashguard/core/parse.hpp"

#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

using namespace hashguard;

namespace {

std::vector<std::string> tables(const std::string& url) {
  pqxx::connection c(url);
  pqxx::read_transaction tx(c);
  std::vector<std::string> out;
  for (const auto& row :
       tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("migrations are numbered 1..N without gaps") {
  const auto all = hashdb::migrations();
  REQUIRE_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(all[i].version == static_cast<int>(i) + 1);
    CHECK_FALSE(all[i].sql.empty());
  }
}

TEST_CASE("the embedded migrations are the files of hashdb/sql, byte for byte") {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(HG_SOURCE_DIR "/hashdb/sql")) {
    if (entry.path().extension() == ".sql") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  const auto all = hashdb::migrations();
  REQUIRE(all.size() == files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::string stem = files[i].stem().string();  // NNNN_name
    INFO(files[i]);
    REQUIRE(stem.size() > 5);
    CHECK(core::parse_int<int>(stem.substr(0, 4)) == all[i].version);
    CHECK(stem.substr(5) == all[i].name);
    CHECK(read_file(files[i]) == all[i].sql);
  }
}

TEST_CASE("migrate from an empty database, then again") {
  hg_test::test_database db(false);
  auto c = db.connect();
  REQUIRE(hashdb::schema_version(c) == 0);

  auto first = hashdb::migrate(c);
  INFO(c.last_error());
  REQUIRE(first.has_value());
  const int newest = static_cast<int>(hashdb::migrations().size());
  CHECK(first->from_version == 0);
  CHECK(first->to_version == newest);
  CHECK(first->applied.size() == hashdb::migrations().size());
  CHECK(hashdb::schema_version(c) == newest);
  const auto after_first = tables(db.url());
  for (const char* t :
       {"hash_lists", "hashes", "api_keys", "audit_log", "cases", "events", "event_hits",
        "decisions", "reports", "suppressions", "schema_migrations"}) {
    CHECK(std::find(after_first.begin(), after_first.end(), t) != after_first.end());
  }

  auto second = hashdb::migrate(c);
  REQUIRE(second.has_value());
  CHECK(second->from_version == newest);
  CHECK(second->applied.empty());
  CHECK(tables(db.url()) == after_first);
}

TEST_CASE("concurrent starters apply each migration once") {
  hg_test::test_database db(false);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::atomic<std::size_t> applied{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto c = hashdb::connection::open(db.url());
      if (!c) return;
      auto r = hashdb::migrate(*c);
      if (!r) return;
      ++ok;
      applied += r->applied.size();
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 4);
  CHECK(applied == hashdb::migrations().size());
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<std::size_t>() ==
        hashdb::migrations().size());
}

TEST_CASE("a schema newer than the binary is refused") {
  hg_test::test_database db;
  {
    pqxx::connection pc(db.url());
    pqxx::work tx(pc);
    tx.exec0("INSERT INTO schema_migrations (version, name) VALUES (999, 'from_the_future')");
    tx.commit();
  }
  auto c = db.connect();
  auto r = hashdb::migrate(c);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == hashdb::errc::schema_too_new);
}

TEST_CASE("migration 6 upgrades a case store that has cases, entries and events") {
  hg_test::test_database db(false);
  const auto all = hashdb::migrations();
  REQUIRE(all.size() >= 6);
  const std::string hit =
      R"({"list_id":1,"entry_id":42,"signal":"pdq","distance":1,"threshold":31,)"
      R"("list_version":1,"action":"block","variant":"original"})";
  const auto event_json = [&](const std::string& id, const std::string& zone, char content) {
    return R"({"id":")" + id + R"(","occurred_us":1800000000000000,"zone":")" + zone +
           R"(","request_id":"","source_url":"u","node":"n","md5":"","sha1":"","sha256":")" +
           std::string(64, content) +
           R"(","pdq":"","pdq_quality":null,"phash":"","action":"block","hits":[)" + hit + "]}";
  };
  {
    // Version 5, as a node of the previous release left it, with two cases recorded.
    pqxx::connection pc(db.url());
    pqxx::work tx(pc);
    tx.exec0(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    for (std::size_t i = 0; i < 5; ++i) {
      tx.exec(std::string(all[i].sql));
      tx.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                      all[i].version, std::string(all[i].name));
    }
    for (const auto& [id, zone, content] :
         {std::tuple{"00000000-0000-4000-8000-000000000001", "za", 'a'},
          std::tuple{"00000000-0000-4000-8000-000000000002", "zb", 'b'}}) {
      tx.exec_params("SELECT * FROM hg_record_event($1::jsonb, 3600, 1)",
                     event_json(id, zone, content));
    }
    tx.commit();
  }
  auto c = db.connect();
  auto r = hashdb::migrate(c);
  INFO(c.last_error());
  REQUIRE(r.has_value());
  CHECK(r->from_version == 5);
  // 6 and every later migration, in order.
  REQUIRE_FALSE(r->applied.empty());
  CHECK(r->applied.front() == 6);
  CHECK(r->applied.size() == all.size() - 5);
  pqxx::connection pc(db.url());
  pqxx::work tx(pc);
  CHECK(tx.exec1("SELECT count(*) FROM case_entries ce JOIN cases c ON c.id = ce.case_id"
                 " WHERE ce.zone = c.zone")[0]
            .as<int>() == 2);
  // The same entry in zone "za" again joins the case recorded before the upgrade.
  const auto before = tx.exec1("SELECT id FROM cases WHERE zone = 'za'")[0].as<std::int64_t>();
  auto row = tx.exec_params1("SELECT case_id, outcome FROM hg_record_event($1::jsonb, 3600, 1)",
                             event_json("00000000-0000-4000-8000-000000000003", "za", 'c'));
  CHECK(row[0].as<std::int64_t>() == before);
  CHECK(row[1].as<std::string>() == "recorded");
  CHECK(tx.exec1("SELECT sightings FROM cases WHERE zone = 'za'")[0].as<int>() == 2);
  tx.commit();
}
