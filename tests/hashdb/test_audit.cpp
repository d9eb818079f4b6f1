#include "hashguard/hashdb/audit.hpp"

#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <thread>

using namespace hashguard;

namespace {

// Runs SQL as a superuser that switched the append-only trigger off, as an attacker would.
void tamper(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec0("SET LOCAL session_replication_role = replica");
  tx.exec0(sql);
  tx.commit();
}

void fill(hashdb::audit_log& log, int n) {
  for (int i = 1; i <= n; ++i) {
    REQUIRE(log.append("key:7", "case.read", "case:" + std::to_string(i),
                       "{\"n\":" + std::to_string(i) + "}")
                .has_value());
  }
}

}  // namespace

TEST_CASE("audit: an intact chain verifies, including the empty one") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::audit_log log(c);
  auto empty = log.verify();
  REQUIRE(empty.has_value());
  CHECK(empty->ok);
  CHECK(empty->rows == 0);
  fill(log, 5);
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK(v->ok);
  CHECK(v->rows == 5);
  REQUIRE(v->head_id.has_value());
  auto recent = log.recent(2);
  REQUIRE(recent.has_value());
  REQUIRE(recent->size() == 2);
  CHECK((*recent)[0].id == *v->head_id);
  CHECK((*recent)[0].row_hash == v->head_hash);
  CHECK((*recent)[0].subject == "case:5");
  auto older = log.recent(10, (*recent)[1].id);
  REQUIRE(older.has_value());
  CHECK(older->size() == 3);
}

TEST_CASE("audit: the append-only trigger refuses updates and deletes") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::audit_log log(c);
  fill(log, 2);
  pqxx::connection pc(db.url());
  {
    pqxx::work tx(pc);
    CHECK_THROWS(tx.exec0("UPDATE audit_log SET actor = 'x'"));
  }
  {
    pqxx::work tx(pc);
    CHECK_THROWS(tx.exec0("DELETE FROM audit_log"));
  }
  CHECK(log.verify()->ok);
}

TEST_CASE("audit: an edited row is found") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::audit_log log(c);
  fill(log, 6);
  const auto third = (*log.recent(10))[3].id;
  tamper(db.url(),
         "UPDATE audit_log SET detail = '{\"n\":99}' WHERE id = " + std::to_string(third));
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK_FALSE(v->ok);
  CHECK(v->first_bad == third);
  CHECK(v->problem == "edited");
}

TEST_CASE("audit: a deleted row is found") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::audit_log log(c);
  fill(log, 6);
  const auto rows = *log.recent(10);  // newest first
  tamper(db.url(), "DELETE FROM audit_log WHERE id = " + std::to_string(rows[3].id));
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK_FALSE(v->ok);
  CHECK(v->first_bad == rows[2].id);  // the row after the deleted one
  CHECK(v->problem == "deleted");
}

TEST_CASE("audit: reordered rows are found") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::audit_log log(c);
  fill(log, 6);
  const auto rows = *log.recent(10);
  const auto a = rows[3].id;
  const auto b = rows[2].id;  // a < b, adjacent
  // Swap the two rows' positions: ids stay, contents (with their hashes) trade places.
  tamper(db.url(), "UPDATE audit_log SET id = -id WHERE id IN (" + std::to_string(a) + "," +
                       std::to_string(b) + ")");
  tamper(db.url(), "UPDATE audit_log SET id = CASE WHEN id = -" + std::to_string(a) + " THEN " +
                       std::to_string(b) + " ELSE " + std::to_string(a) + " END WHERE id < 0");
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK_FALSE(v->ok);
  CHECK(v->first_bad == a);
  CHECK(v->problem == "reordered");
}

TEST_CASE("audit: concurrent appenders keep one linear chain") {
  hg_test::test_database db;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      auto c = hashdb::connection::open(db.url());
      if (!c) {
        ++failures;
        return;
      }
      hashdb::audit_log log(*c);
      for (int i = 0; i < 25; ++i) {
        if (!log.append("writer:" + std::to_string(w), "test", "x", "{}")) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  CHECK(failures == 0);
  auto c = db.connect();
  hashdb::audit_log log(c);
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK(v->ok);
  CHECK(v->rows == 100);
}
