// A database outage answers 503 database_unavailable with Retry-After on every route that
// needs PostgreSQL: a private PostgreSQL is started, every database route is called through
// the registered table (200-class answers or the route's own client errors while it is up),
// the server is stopped, and every route is called again.
#include "hashguard/handlers/routes.hpp"
#include "hashguard/hashdb/embedded_postgres.hpp"
#include "hashguard/hashdb/migrations.hpp"

#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "route_call.hpp"

#include <string>

using namespace hashguard;

namespace {

/// A request that reaches the database on `row` (valid parameters and bodies, so that no route
/// answers a client error before it asks PostgreSQL).
hg_test::route_call request_for(const api::route_spec& row) {
  hg_test::route_call c;
  c.method = row.method;
  std::string path = row.pattern;
  auto bind = [&path](std::string_view name, std::string_view value) {
    const auto at = path.find(name);
    if (at != std::string::npos) path.replace(at, name.size(), value);
  };
  bind("{id}", "1");
  bind("{content}", std::string(64, 'a'));
  bind("{entry}", "1");
  c.target = path;
  if (row.pattern.starts_with("/v1/exports/") && !row.pattern.ends_with("cybertipline")) {
    c.target += "?from=2026-01-01&to=2026-02-01";
  }
  if (row.pattern == "/v1/lists" && row.method == "POST") {
    c.body = R"({"name":"outage","signal":"pdq","action":"block"})";
  } else if (row.pattern == "/v1/keys" && row.method == "POST") {
    c.body = R"({"name":"outage","role":"ingest"})";
  } else if (row.pattern.ends_with("/decision")) {
    c.body = R"({"decision":"escalated","note":"checking"})";
  } else if (row.pattern.ends_with("/ruling")) {
    c.body = R"({"decision":"confirmed","note":"checked","classification":"A1"})";
  } else if (row.pattern.ends_with("/reopen") || row.pattern.ends_with("/disable") ||
             row.pattern.ends_with("/quarantine") || row.pattern.ends_with("/restore") ||
             row.pattern.ends_with("/hold") || row.pattern.ends_with("/lift")) {
    c.body = R"({"reason":"checking"})";
  } else if (row.pattern.ends_with("/destruction")) {
    c.body = R"({"reference":"LE-outage-1"})";
  } else if (row.pattern.ends_with("/report")) {
    c.body = R"({"report_id":"R-1"})";
  } else if (row.method == "PATCH") {
    c.body = R"({"enabled":false})";
  } else if (row.pattern.ends_with("/hashes")) {
    c.body = std::string(64, 'f') + "\n";
  } else if (row.pattern.ends_with("/reveal")) {
    c.body = R"({"purpose":"review"})";
  }
  if (!c.body.empty() && !row.pattern.ends_with("/hashes")) c.content_type = "application/json";
  return c;
}

}  // namespace

TEST_CASE(
    "a database outage answers 503 database_unavailable with Retry-After on every database route") {
  hg_test::temp_dir dir("hg-outage");
  hashdb::server_options options;
  options.data_dir = dir.path;
  std::string why;
  auto server = hashdb::embedded_server::start(options, &why);
  INFO(why);
  REQUIRE(server.has_value());
  {
    auto c = hashdb::connection::open(server->url());
    REQUIRE(c.has_value());
    REQUIRE(hashdb::migrate(*c).has_value());
  }

  matcher::snapshot_holder holder;
  handlers::db_pool pool(server->url(), 2, std::chrono::milliseconds(5000), hg_test::audit_keys());
  handlers::services deps;
  deps.snapshot = &holder;
  deps.db = &pool;
  deps.retry_after_s = 3;
  deps.evidence = hashdb::evidence_key{};  // reveal reaches the database too
  deps.spill_dir = dir.path;
  // As serve wires it with no reporting credentials: the check answers why and sends nothing
  // (its audit row is what reaches the database).
  deps.filing.check = [] {
    return handlers::filing_check{"test", "", false, "no ISPWS credentials in this test", ""};
  };
  api::route_table table;
  REQUIRE(handlers::register_routes(table, deps));

  std::size_t db_routes = 0;
  for (const auto& row : handlers::design_routes()) {
    if (row.where != api::run_on::db) continue;
    ++db_routes;
    INFO("up: " << row.method << " " << row.pattern);
    const auto r = hg_test::call_route(table, request_for(row));
    INFO(r.body);
    CHECK(r.status != 503);
    CHECK(r.status != 500);
  }
  CHECK(db_routes >= 17);
  CHECK(pool.open_connections() >= 1);  // idle connections that will find the server gone

  REQUIRE(server->stop());
  for (int round = 0; round < 2; ++round) {  // pooled (broken) connections, then fresh opens
    for (const auto& row : handlers::design_routes()) {
      if (row.where != api::run_on::db) continue;
      INFO("down, round " << round << ": " << row.method << " " << row.pattern);
      const auto r = hg_test::call_route(table, request_for(row));
      INFO(r.body);
      CHECK(r.status == 503);
      CHECK(hg_test::error_code_of(r) == "database_unavailable");
      CHECK(r.header("Retry-After") == "3");
    }
  }
}
