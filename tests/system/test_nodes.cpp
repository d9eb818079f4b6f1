// Several nodes (issue 8; DESIGN.md section 7): two `hashguard serve` processes on loopback
// sharing one PostgreSQL. A list imported through node A matches on node B within the poll
// interval (measured; asserted within 3 intervals), events from both nodes for the same
// content and zone land in one case whose sighting count adds up, the same request id sent to
// both nodes is one event, and a key created by an operator works on both nodes after
// auth.refresh_ms (and stops working on both once revoked).
#include "hg_pg.hpp"
#include "system_support.hpp"

#include <pqxx/pqxx>

#include <set>

using namespace hg_sys;

namespace {

constexpr int poll_ms = 1000;
constexpr int refresh_ms = 1000;

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("nodes: two serve processes on one PostgreSQL share lists, cases and keys") {
  hg_test::test_database db;
  sys_dir dir("nodes");
  const std::string ingest = "system-ingest-key-nodes-0123456789ab";
  const std::string admin = "system-admin-key-nodes-0123456789abc";
  auto args = [&](const std::string& name) {
    return std::vector<std::string>{
        "--database-url=" + db.url(), "--data-dir=" + (dir.path / name).string(),
        "--node-name=" + name, "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin,
        "--snapshot-poll-ms=" + std::to_string(poll_ms),
        "--auth-refresh-ms=" + std::to_string(refresh_ms),
        // Long enough that a loaded machine still commits in time: the cross-node request-id
        // check below needs the first event committed, not spooled.
        "--database-commit-deadline-ms=5000", "--http-log-requests=false"};
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
  // Both nodes have loaded their first snapshot and wait one poll interval at most.
  REQUIRE(wait_pdq_entries(a.port(), admin, 0));
  REQUIRE(wait_pdq_entries(b.port(), admin, 0));
  CHECK_FALSE(matches_on(b.port()));

  // The list goes in through node A; node B finds it by polling the catalog version.
  const auto t0 = std::chrono::steady_clock::now();
  make_list(a.port(), admin, "nodes", {pdq});
  const auto imported = std::chrono::steady_clock::now();
  const bool on_b = eventually([&] { return matches_on(b.port()); }, 60s, 10ms);
  const double b_ms = ms_since(imported);
  REQUIRE(on_b);
  CHECK(matches_on(a.port()));
  WARN("list imported through node A (" << ms_since(t0) - b_ms << " ms) matched on node B " << b_ms
                                        << " ms later (poll interval " << poll_ms << " ms)");
  CHECK(b_ms < 3.0 * poll_ms);

  // The same content in the same zone from both nodes, concurrently: one case.
  constexpr int per_node = 12;
  std::vector<std::string> event_ids(2 * per_node);
  std::vector<int> statuses(2 * per_node);
  auto scan_from = [&](int which) {
    const std::uint16_t port = which == 0 ? a.port() : b.port();
    for (int i = 0; i < per_node; ++i) {
      const int n = which * per_node + i;
      auto r = call(port, "POST", "/v1/scan", ingest, image,
                    {{"X-Zone", "shared-zone"}, {"X-Request-Id", "nodes-" + std::to_string(n)}});
      if (!r) continue;
      statuses[static_cast<std::size_t>(n)] = r->status;
      if (r->status == 200 && parse(*r).at("event_id").is_string()) {
        event_ids[static_cast<std::size_t>(n)] = parse(*r).at("event_id").as_string();
      }
    }
  };
  std::thread from_a(scan_from, 0);
  std::thread from_b(scan_from, 1);
  from_a.join();
  from_b.join();
  for (std::size_t n = 0; n < event_ids.size(); ++n) {
    INFO("scan " << n);
    CHECK(statuses[n] == 200);
    CHECK(event_ids[n].size() == 36);
  }

  // The same request id (the cache layer retrying on the other node) is one event.
  auto first = call(a.port(), "POST", "/v1/scan", ingest, image,
                    {{"X-Zone", "shared-zone"}, {"X-Request-Id", "nodes-retry"}});
  REQUIRE(first);
  REQUIRE(first->status == 200);
  auto again = call(b.port(), "POST", "/v1/scan", ingest, image,
                    {{"X-Zone", "shared-zone"}, {"X-Request-Id", "nodes-retry"}});
  REQUIRE(again);
  REQUIRE(again->status == 200);
  CHECK(parse(*again).at("event_id") == parse(*first).at("event_id"));

  REQUIRE(wait_spool_drained(a.port()));
  REQUIRE(wait_spool_drained(b.port()));
  {
    pqxx::connection pc(db.url());
    pqxx::read_transaction tx(pc);
    std::set<std::int64_t> cases;
    std::set<std::string> nodes;
    std::size_t rows = 0;
    for (const auto& row :
         tx.exec("SELECT case_id, node FROM events WHERE request_id LIKE 'nodes-%'")) {
      REQUIRE_FALSE(row[0].is_null());
      cases.insert(row[0].as<std::int64_t>());
      nodes.insert(row[1].as<std::string>());
      ++rows;
    }
    CHECK(rows == 2 * per_node + 1);
    CHECK(cases.size() == 1);
    CHECK(nodes == std::set<std::string>{"node-a", "node-b"});
    REQUIRE(!cases.empty());
    const auto sightings =
        tx.exec_params1("SELECT sightings FROM cases WHERE id = $1", *cases.begin())[0]
            .as<std::int64_t>();
    CHECK(sightings == static_cast<std::int64_t>(rows));
    CHECK(tx.exec1("SELECT count(*) FROM cases WHERE zone = 'shared-zone'")[0].as<int>() == 1);
    tx.commit();
  }

  // A key made by an operator (`hashguard keys create`, as on node A's host) works on both
  // nodes after one refresh interval, and stops on both once revoked.
  auto [rc, secret] =
      run_cli({"keys", "create", "edge-nodes", "--role", "ingest", "--database-url=" + db.url(),
               "--data-dir=" + (dir.path / "node-a").string()});  // node A's audit key
  REQUIRE(rc == 0);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  REQUIRE_FALSE(secret.empty());
  auto status_with = [&](std::uint16_t port, const std::string& key) {
    auto r =
        call(port, "POST", "/v1/match", key, match_body, {{"Content-Type", "application/json"}});
    return r ? r->status : 0;
  };
  const auto created = std::chrono::steady_clock::now();
  const bool works = eventually(
      [&] { return status_with(a.port(), secret) == 200 && status_with(b.port(), secret) == 200; },
      60s, 20ms);
  const double works_ms = ms_since(created);
  REQUIRE(works);
  WARN("a new key worked on both nodes after " << works_ms << " ms (auth.refresh_ms " << refresh_ms
                                               << ")");
  CHECK(works_ms < 3.0 * refresh_ms);
  {
    pqxx::connection pc(db.url());
    pqxx::read_transaction tx(pc);
    const auto id = tx.exec1("SELECT id FROM api_keys WHERE name = 'edge-nodes'")[0].as<long>();
    tx.commit();
    auto [revoke_rc, out] =
        run_cli({"keys", "revoke", std::to_string(id), "--database-url=" + db.url(),
                 "--data-dir=" + (dir.path / "node-a").string()});
    INFO(out);
    REQUIRE(revoke_rc == 0);
  }
  CHECK(eventually(
      [&] { return status_with(a.port(), secret) == 401 && status_with(b.port(), secret) == 401; },
      60s, 20ms));

  CHECK(a.stop(SIGTERM).code == 0);
  CHECK(b.stop(SIGTERM).code == 0);
}
