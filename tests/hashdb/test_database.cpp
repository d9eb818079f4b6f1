#include "hashguard/hashdb/database.hpp"

#include "hg_pg.hpp"

#include <pqxx/pqxx>

using namespace hashguard;

TEST_CASE("url_with_database replaces only the database name") {
  CHECK(hashdb::url_with_database("postgresql://u@/postgres?host=/tmp/x", "hg") ==
        "postgresql://u@/hg?host=/tmp/x");
  CHECK(hashdb::url_with_database("postgresql://u:p@h:5432/a", "b") == "postgresql://u:p@h:5432/b");
  CHECK(hashdb::url_with_database("postgresql://h", "b") == "postgresql://h/b");
}

TEST_CASE("an unreachable server is errc::unavailable with a message") {
  std::string why;
  auto c = hashdb::connection::open("postgresql://postgres@/x?host=/nonexistent-hg-dir", &why);
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error() == hashdb::errc::unavailable);
  CHECK(core::error_name(c.error()) == "database_unavailable");
  CHECK_FALSE(why.empty());
}

TEST_CASE("a test database is created, reachable, and dropped") {
  std::string name;
  {
    hg_test::test_database db(false);
    name = db.name();
    auto c = db.connect();
    CHECK(c.ping().has_value());
    CHECK(c.reconnect().has_value());
    CHECK(c.ping().has_value());
  }
  pqxx::connection admin(hg_test::server_url());
  pqxx::nontransaction tx(admin);
  CHECK(tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", name).empty());
}

TEST_CASE("database names are restricted") {
  const std::string url = hg_test::server_url();
  CHECK(hashdb::create_database(url, "bad name; DROP") == hashdb::errc::invalid_argument);
  CHECK(hashdb::create_database(url, "") == hashdb::errc::invalid_argument);
  CHECK(hashdb::drop_database(url, "UPPER") == hashdb::errc::invalid_argument);
}
