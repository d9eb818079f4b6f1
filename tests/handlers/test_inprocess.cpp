// The routes called in process, on the fixture's PostgreSQL, without spawning the binary: a
// list is created and filled through the admin routes, the snapshot is rebuilt through the
// lists_changed hook, an image is scanned (match, event committed, case opened), and the case
// is read and decided through the review routes. Also the answers whose status the one
// status table decides (409 already_exists, 404 for a missing list, 503 with Retry-After).
#include "hashguard/core/hex.hpp"
#include "hashguard/handlers/routes.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"
#include "hashguard/scanner/scan.hpp"

#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "route_call.hpp"

#include <fstream>
#include <iterator>
#include <string>

using namespace hashguard;
namespace json = boost::json;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct in_process_node {
  hg_test::test_database db;
  hg_test::temp_dir dir{"hg-handlers"};
  matcher::snapshot_holder holder;
  handlers::db_pool pool{db.url(), 2};
  std::unique_ptr<hashdb::event_recorder> recorder;
  handlers::services deps;
  api::route_table table;
  int rebuilds = 0;

  in_process_node() {
    hashdb::recorder_options ro;
    ro.database_url = db.url();
    ro.spool_path = dir.path / "spool";
    auto rec = hashdb::event_recorder::start(ro);
    REQUIRE(rec);
    recorder = std::move(*rec);
    deps.snapshot = &holder;
    deps.recorder = recorder.get();
    deps.node = "node-a";
    deps.db = &pool;
    deps.spill_dir = dir.path;
    deps.retry_after_s = 2;
    deps.lists_changed = [this] {
      hashdb::snapshot_load_options lo;
      lo.database_url = db.url();
      hashdb::snapshot_loader loader(lo);
      REQUIRE(loader.refresh(holder));
      ++rebuilds;
    };
    deps.lists_changed();  // the first snapshot (no lists yet)
    REQUIRE(handlers::register_routes(table, deps));
  }

  api::response call(std::string method, std::string target, std::string body = {},
                     std::optional<std::string> content_type = std::nullopt,
                     std::string key_id = "k_0123456789ab") {
    hg_test::route_call c;
    c.method = std::move(method);
    c.target = std::move(target);
    c.body = std::move(body);
    c.content_type = std::move(content_type);
    c.key_id = std::move(key_id);
    return hg_test::call_route(table, c);
  }
};

}  // namespace

TEST_CASE("in process: list -> import -> snapshot -> scan -> event -> case -> decision") {
  in_process_node node;
  const std::string image = read_file(
      std::string(HG_TEST_DATA) + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg");
  scanner::image_scanner sc(scanner::scan_options{});
  auto scanned = sc.scan(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(image.data()), image.size()));  // NOLINT
  REQUIRE(scanned);

  auto created =
      node.call("POST", "/v1/lists", R"({"name":"known","signal":"pdq","action":"block"})");
  REQUIRE(created.status == 201);
  const auto list_id = hg_test::json_of(created).at("id").as_int64();
  CHECK(created.header("Location") == "/v1/lists/" + std::to_string(list_id));

  // The same name again: 409 already_exists, from the one status table.
  auto again = node.call("POST", "/v1/lists", R"({"name":"known","signal":"pdq"})");
  CHECK(again.status == 409);
  CHECK(hg_test::error_code_of(again) == "already_exists");
  CHECK(node.call("GET", "/v1/lists/no-such-list/export").status == 404);

  const int before = node.rebuilds;
  auto imported = node.call("POST", "/v1/lists/" + std::to_string(list_id) + "/hashes",
                            core::to_hex(scanned->pdq.hash) + "\nnot-a-hash\n");
  REQUIRE(imported.status == 200);
  const auto report = hg_test::json_of(imported);
  CHECK(report.at("accepted").as_int64() == 1);
  CHECK(report.at("rejected").as_int64() == 1);
  CHECK(node.rebuilds == before + 1);  // a list change rebuilds this node's snapshot at once

  auto scan = node.call("POST", "/v1/scan", image);
  REQUIRE(scan.status == 200);
  const auto answer = hg_test::json_of(scan);
  CHECK(answer.at("verdict").as_string() == "match");
  CHECK(answer.at("action").as_string() == "block");
  CHECK(answer.at("durability").as_string() == "committed");
  REQUIRE(answer.at("hits").as_array().size() == 1);
  const auto& hit = answer.at("hits").as_array()[0].as_object();
  CHECK(hit.at("list").as_int64() == list_id);
  CHECK(hit.at("distance").as_int64() == 0);
  CHECK_FALSE(hit.contains("detail"));  // nothing fills it yet: left out, never null

  auto hashed = node.call("POST", "/v1/hash", image);
  REQUIRE(hashed.status == 200);
  CHECK(hg_test::json_of(hashed).at("hashes").at("pdq").as_string() ==
        core::to_hex(scanned->pdq.hash));

  auto match = node.call("POST", "/v1/match",
                         R"({"pdq":")" + core::to_hex(scanned->pdq.hash) + R"(","quality":100})",
                         "application/json");
  REQUIRE(match.status == 200);
  CHECK(hg_test::json_of(match).at("verdict").as_string() == "match");

  auto queue = node.call("GET", "/v1/cases?status=open&limit=10");
  REQUIRE(queue.status == 200);
  const auto cases = hg_test::json_of(queue).at("cases").as_array();
  REQUIRE(cases.size() == 1);
  const auto case_id = cases[0].at("id").as_int64();
  CHECK(node.call("GET", "/v1/cases?limit=0").status == 400);
  CHECK(node.call("GET", "/v1/cases?from=yesterday").status == 400);

  auto detail = node.call("GET", "/v1/cases/" + std::to_string(case_id));
  REQUIRE(detail.status == 200);
  CHECK(hg_test::json_of(detail).at("events").as_array().size() == 1);
  CHECK(node.call("GET", "/v1/cases/999999").status == 404);

  auto decided =
      node.call("POST", "/v1/cases/" + std::to_string(case_id) + "/decision",
                R"({"decision":"escalated","note":"needs a second look"})", "application/json");
  CHECK(decided.status == 200);
  auto audit = node.call("GET", "/v1/audit?limit=5");
  REQUIRE(audit.status == 200);
  CHECK_FALSE(hg_test::json_of(audit).at("entries").as_array().empty());
  CHECK(node.call("GET", "/v1/audit?before=x").status == 400);
}

TEST_CASE("in process: an error answer carries only its own request's text") {
  in_process_node node;
  // A failing request that names something, then another key's failing request: the second
  // answer must not carry the first one's input (no connection-held last error).
  auto first = node.call("GET", "/v1/exports/cases/1/cybertipline?part=secret-name.xml");
  CHECK(first.status == 404);
  auto second = node.call("POST", "/v1/cases/1/decision",
                          R"({"decision":"confirmed","note":"n","classification":"Z9"})",
                          "application/json", "k_ba9876543210");
  CHECK(second.status >= 400);
  CHECK(second.body.find("secret-name") == std::string::npos);
}
