#include "hashguard/hashdb/embedded_postgres.hpp"

#include "hashguard/hashdb/migrations.hpp"

#include "hg_catch.hpp"
#include "hg_util.hpp"

#include <pqxx/pqxx>

#include <cstdlib>
#include <filesystem>

using namespace hashguard;
namespace fs = std::filesystem;

TEST_CASE("embedded server: fresh data directory, then the existing one") {
  hg_test::temp_dir dir("hg-embedded");
  hashdb::server_options options;
  options.data_dir = dir.path;  // mkdtemp makes it 0700: start() lets the server user in
  {
    std::string why;
    auto server = hashdb::embedded_server::start(options, &why);
    INFO(why);
    REQUIRE(server.has_value());
    CHECK(server->initialized());
    CHECK(server->owns());
    CHECK(hashdb::embedded_server_running(options));
    CHECK(fs::exists(options.data_dir / "postgres" / "data" / "PG_VERSION"));
    // Unix socket only: the URL names the socket directory and no TCP port is open.
    CHECK(server->url().find("host=" + (options.data_dir / "postgres" / "run").string()) !=
          std::string::npos);
    auto c = hashdb::connection::open(server->url());
    REQUIRE(c.has_value());
    REQUIRE(hashdb::migrate(*c).has_value());
    pqxx::connection pc(server->url());
    pqxx::work tx(pc);
    CHECK(tx.exec1("SHOW listen_addresses")[0].as<std::string>().empty());
    tx.exec0(
        "INSERT INTO hash_lists (name, source, signal, threshold, action)"
        " VALUES ('kept', 'internal', 'pdq', 31, 'block')");
    tx.commit();
  }
  // The object stopped the server it started.
  CHECK_FALSE(hashdb::embedded_server_running(options));

  std::string why;
  auto again = hashdb::embedded_server::start(options, &why);
  INFO(why);
  REQUIRE(again.has_value());
  CHECK_FALSE(again->initialized());
  CHECK(again->owns());
  {
    // A second starter attaches to the running server without owning it.
    auto attached = hashdb::embedded_server::start(options);
    REQUIRE(attached.has_value());
    CHECK_FALSE(attached->owns());
    CHECK(attached->url() == again->url());
  }
  CHECK(hashdb::embedded_server_running(options));
  auto c = hashdb::connection::open(again->url());
  REQUIRE(c.has_value());
  auto m = hashdb::migrate(*c);
  REQUIRE(m.has_value());
  CHECK(m->applied.empty());
  pqxx::connection pc(again->url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec1("SELECT count(*) FROM hash_lists WHERE name = 'kept'")[0].as<int>() == 1);
  CHECK(again->stop().has_value());
  CHECK_FALSE(hashdb::embedded_server_running(options));
}

TEST_CASE("embedded server: its owner stops it only when nobody else is attached") {
  hg_test::temp_dir dir("hg-embedded-own");
  hashdb::server_options options;
  options.data_dir = dir.path;
  std::string why;
  auto owner = hashdb::embedded_server::start(options, &why);
  INFO(why);
  REQUIRE(owner.has_value());
  REQUIRE(owner->owns());
  auto cli = hashdb::embedded_server::start(options);  // a command attaches
  REQUIRE(cli.has_value());
  CHECK_FALSE(cli->owns());
  bool left_running = false;
  REQUIRE(owner->stop(&left_running).has_value());
  CHECK(left_running);  // the command is still attached: left running, ownership given up
  CHECK(hashdb::embedded_postmaster(options) > 0);
  REQUIRE(cli->stop(&left_running).has_value());  // the last one out stops it
  CHECK_FALSE(left_running);
  CHECK(hashdb::embedded_postmaster(options) == 0);

  // With adopt (serve), a server whose owner ended while it was attached becomes its own.
  auto first = hashdb::embedded_server::start(options, &why);
  REQUIRE(first.has_value());
  hashdb::server_options adopting = options;
  adopting.adopt = true;
  auto serve = hashdb::embedded_server::start(adopting, &why);
  REQUIRE(serve.has_value());
  CHECK_FALSE(serve->owns());  // owned by `first`
  CHECK(serve->keep_running().value() == hashdb::embedded_server::upkeep::nothing);
  REQUIRE(first->stop(&left_running).has_value());
  CHECK(left_running);
  CHECK(serve->keep_running().value() == hashdb::embedded_server::upkeep::adopted);
  CHECK(serve->owns());
  {
    auto attached = hashdb::embedded_server::start(options);  // ends while serve owns it
    REQUIRE(attached.has_value());
  }
  CHECK(hashdb::embedded_postmaster(options) > 0);
  REQUIRE(serve->stop(&left_running).has_value());
  CHECK_FALSE(left_running);
  CHECK(hashdb::embedded_postmaster(options) == 0);
}
