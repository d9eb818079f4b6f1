// Exchanges in serve (issue 18): two `hashguard serve` nodes on one PostgreSQL follow the same
// folder exchange. An entry dropped into the folder matches on both nodes, /metrics counts it
// per exchange, and once its file is removed it stops matching on both within a few intervals.
#include "hg_pg.hpp"
#include "system_support.hpp"

#include <pqxx/pqxx>

#include <fstream>

using namespace hg_sys;

TEST_CASE("exchanges: two nodes follow one folder exchange, additions and deletions reach both") {
  hg_test::test_database db;
  sys_dir dir("exchanges");
  const std::string ingest = "system-ingest-key-exchg-0123456789ab";
  const std::string admin = "system-admin-key-exchg-0123456789abc";
  fs::create_directories(dir.path / "feed");
  {
    std::ofstream conf(dir.path / "exchanges.conf");
    conf << "[exchange drop]\nkind = folder\nurl = " << (dir.path / "feed").string()
         << "\ninterval_s = 1\nfeed.pdq = drop-pdq threshold=31 action=review\n";
  }
  auto args = [&](const std::string& name) {
    return std::vector<std::string>{"--database-url=" + db.url(),
                                    "--data-dir=" + (dir.path / name).string(),
                                    "--node-name=" + name,
                                    "--auth-keys=ingest:" + ingest,
                                    "--auth-bootstrap-key=" + admin,
                                    "--snapshot-poll-ms=500",
                                    "--http-log-requests=false",
                                    "--exchanges-file=" + (dir.path / "exchanges.conf").string()};
  };
  serve_process a(serve_command(args("node-a")));
  serve_process b(serve_command(args("node-b")));

  const std::string image =
      file_bytes(test_data + "/pdq-vectors/images/reg-test-input/labelme-subset/q1050.jpg");
  const std::string pdq = pdq_of(a.port(), ingest, image);
  const std::string match_body = R"({"pdq":")" + pdq + R"("})";
  auto matches_on = [&](std::uint16_t port) {
    auto r =
        call(port, "POST", "/v1/match", ingest, match_body, {{"Content-Type", "application/json"}});
    return r && r->status == 200 && !parse(*r).at("hits").as_array().empty();
  };
  CHECK_FALSE(matches_on(a.port()));

  {
    std::ofstream feed(dir.path / "feed" / "one.txt");
    feed << pdq << "\n";
  }
  CHECK(eventually([&] { return matches_on(a.port()) && matches_on(b.port()); }, 60s, 100ms));
  CHECK(eventually(
      [&] {
        auto r = call(a.port(), "GET", "/metrics", {});
        return r &&
               hg_test::metric_value(r->body, R"(hg_exchange_entries{exchange="drop"})") == 1.0;
      },
      30s, 100ms));

  fs::remove(dir.path / "feed" / "one.txt");
  CHECK(eventually([&] { return !matches_on(a.port()) && !matches_on(b.port()); }, 60s, 100ms));
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec1("SELECT count(*) FROM hashes")[0].as<int>() == 0);
  CHECK(tx.exec1("SELECT last_error FROM exchanges WHERE name = 'drop'")[0]
            .as<std::string>()
            .empty());
}
