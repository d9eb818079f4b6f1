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

TEST_CASE("redact_url hides the password of every connection string form") {
  // URI with user:password@, URI with ?password=, key=value, quoted key=value, sslpassword.
  for (const std::string url :
       {"postgresql://hg:s3cret-pw@db.example:5432/hashguard",
        "postgresql://hg@db.example/hashguard?password=s3cret-pw&sslmode=require",
        "host=db.example user=hg password=s3cret-pw dbname=hashguard",
        "host=db.example password='s3cret-pw with spaces' dbname=hashguard",
        "postgresql://hg@db.example/hashguard?sslpassword=s3cret-pw"}) {
    const std::string shown = hashdb::redact_url(url);
    INFO(url << " -> " << shown);
    CHECK(shown.find("s3cret") == std::string::npos);
    CHECK(shown.find("***") != std::string::npos);
    CHECK(shown.find("db.example") != std::string::npos);  // still says where
  }
  // Nothing to hide: shown as given. Unparseable: not echoed.
  CHECK(hashdb::redact_url("postgresql://hg@/db?host=/run/pg") ==
        "postgresql://hg@/db?host=/run/pg");
  CHECK(hashdb::redact_url("host=x password").find("password") == std::string::npos);
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
