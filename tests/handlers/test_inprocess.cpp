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

#include <atomic>
#include <cctype>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

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

  hashdb::evidence_key key{"k1", {}};
  std::optional<hashdb::connection> evidence_conn;

  explicit in_process_node(bool preserve = false) {
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
    if (preserve) {
      // Evidence preserved at once, on the request's thread (serve's keeper does it later).
      key.bytes.fill(7);
      deps.evidence = key;
      evidence_conn.emplace(db.connect());
      deps.preserve = [this](std::string event_id, std::string bytes, std::string media_type) {
        hashdb::evidence_store store(*evidence_conn, key);
        return store.preserve_event(event_id, bytes, media_type, "test").has_value();
      };
    }
    REQUIRE(handlers::register_routes(table, deps));
  }

  api::response call(std::string method, std::string target, std::string body = {},
                     std::optional<std::string> content_type = std::nullopt,
                     std::string key_id = "k_0123456789ab", core::capability_set caps = {}) {
    hg_test::route_call c;
    c.method = std::move(method);
    c.target = std::move(target);
    c.body = std::move(body);
    c.content_type = std::move(content_type);
    c.key_id = std::move(key_id);
    c.capabilities = caps;
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
  CHECK(again.body.find("duplicate key") == std::string::npos);  // never PostgreSQL's text
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
  // An ingest key without match_details sees what the cache layer acts on, nothing more.
  const auto& hit = answer.at("hits").as_array()[0].as_object();
  CHECK(hit.size() == 3);
  CHECK(hit.at("list_name").as_string() == "known");
  CHECK(hit.at("signal").as_string() == "pdq");
  CHECK(hit.at("action").as_string() == "block");
  for (const char* hidden : {"list", "entry", "distance", "variant", "frame", "detail"}) {
    CHECK_FALSE(hit.contains(hidden));
  }

  auto hashed = node.call("POST", "/v1/hash", image);
  REQUIRE(hashed.status == 200);
  CHECK(hg_test::json_of(hashed).at("hashes").at("pdq").as_string() ==
        core::to_hex(scanned->pdq.hash));

  auto match = node.call("POST", "/v1/match",
                         R"({"pdq":")" + core::to_hex(scanned->pdq.hash) + R"(","quality":100})",
                         "application/json");
  REQUIRE(match.status == 200);
  CHECK(hg_test::json_of(match).at("verdict").as_string() == "match");
  CHECK_FALSE(hg_test::json_of(match).at("hits").as_array()[0].as_object().contains("distance"));
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

  // A key an admin granted match_details sees the whole hit, on both ingest routes.
  core::capability_set details;
  details.add(core::capability::match_details);
  for (const auto& full :
       {node.call("POST", "/v1/scan", image, std::nullopt, "k_details", details),
        node.call("POST", "/v1/match", R"({"pdq":")" + core::to_hex(scanned->pdq.hash) + R"("})",
                  "application/json", "k_details", details)}) {
    REQUIRE(full.status == 200);
    const auto shown = hg_test::json_of(full);
    const auto& h = shown.at("hits").as_array()[0].as_object();
    CHECK(h.at("list").as_int64() == list_id);
    CHECK(h.at("distance").as_int64() == 0);
    CHECK(h.at("variant").as_string() == "original");
    CHECK(h.contains("entry"));
    CHECK_FALSE(h.contains("detail"));  // nothing fills it yet: left out, never null
  }
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

TEST_CASE("in process: a list gets its signal's default threshold, a bad field is named") {
  in_process_node node;
  auto pdq = node.call("POST", "/v1/lists", R"({"name":"p","signal":"pdq"})");
  REQUIRE(pdq.status == 201);
  CHECK(hg_test::json_of(pdq).at("threshold").as_int64() == 31);
  auto phash = node.call("POST", "/v1/lists", R"({"name":"h","signal":"phash"})");
  REQUIRE(phash.status == 201);
  CHECK(hg_test::json_of(phash).at("threshold").as_int64() == 10);
  auto md5 = node.call("POST", "/v1/lists", R"({"name":"m","signal":"md5"})");
  REQUIRE(md5.status == 201);
  CHECK(hg_test::json_of(md5).at("threshold").as_int64() == 0);
  auto exact = node.call("POST", "/v1/lists", R"({"name":"e","signal":"pdq","threshold":0})");
  REQUIRE(exact.status == 201);
  CHECK(hg_test::json_of(exact).at("threshold").as_int64() == 0);

  auto message = [](const api::response& r) {
    return std::string(hg_test::json_of(r).at("error").at("message").as_string());
  };
  auto over = node.call("POST", "/v1/lists", R"({"name":"x","signal":"phash","threshold":65})");
  CHECK(over.status == 400);
  CHECK(message(over) == "threshold must be 0..64 for a phash list");
  auto sig = node.call("POST", "/v1/lists", R"({"name":"x","signal":"tmk"})");
  CHECK(sig.status == 400);
  CHECK(message(sig) == "signal must be pdq, phash, md5, sha1 or sha256");
  auto flag = node.call("PATCH", "/v1/lists/p", R"({"enabled":"yes"})");
  CHECK(flag.status == 400);
  CHECK(message(flag) == "enabled must be true or false");
  auto patch = node.call("PATCH", "/v1/lists/p", R"({"threshold":257})");
  CHECK(patch.status == 400);
  CHECK(message(patch) == "threshold must be 0..256 for a pdq list");
  auto action = node.call("PATCH", "/v1/lists/p", R"({"action":"delete"})");
  CHECK(message(action) == "action must be block, report, review or none");
}

TEST_CASE("in process: an image decoded only in part is marked damaged, a whole one is not") {
  in_process_node node;
  const std::string image = read_file(
      std::string(HG_TEST_DATA) + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg");
  for (const char* route : {"/v1/hash", "/v1/scan"}) {
    INFO(route);
    auto whole = node.call("POST", route, image);
    REQUIRE(whole.status == 200);
    CHECK_FALSE(hg_test::json_of(whole).as_object().contains("damaged"));
    auto cut = node.call("POST", route, image.substr(0, image.size() * 2 / 3));
    REQUIRE(cut.status == 200);
    CHECK(hg_test::json_of(cut).at("damaged").as_bool());
  }
}

TEST_CASE("in process: evidence is revealed only under its canonical name") {
  in_process_node node(true);
  const std::string image = read_file(
      std::string(HG_TEST_DATA) + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg");
  auto created = node.call("POST", "/v1/lists", R"({"name":"ev","signal":"sha256"})");
  REQUIRE(created.status == 201);
  auto scanned = node.call("POST", "/v1/hash", image);
  const std::string sha(hg_test::json_of(scanned).at("hashes").at("sha256").as_string());
  REQUIRE(node.call("POST", "/v1/lists/ev/hashes", sha + "\n").status == 200);
  auto scan = node.call("POST", "/v1/scan", image);
  REQUIRE(hg_test::json_of(scan).at("verdict").as_string() == "match");
  auto queue = node.call("GET", "/v1/cases");
  const auto case_id = hg_test::json_of(queue).at("cases").as_array().at(0).at("id").as_int64();
  const std::string files = "/v1/cases/" + std::to_string(case_id) + "/files/";

  std::string upper = sha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& name : {upper, sha.substr(1), sha + "0", std::string(64, 'g')}) {
    INFO(name);
    auto r = node.call("POST", files + name + "/reveal");
    CHECK(r.status == 404);
  }
  auto revealed = node.call("POST", files + sha + "/reveal");
  REQUIRE(revealed.status == 200);
  CHECK(revealed.body == image);
  // Nothing was taken for tampering: no failed reveal in the audit trail.
  const auto audit = hg_test::json_of(node.call("GET", "/v1/audit?limit=100"));
  for (const auto& e : audit.at("entries").as_array()) {
    CHECK(e.at("action").as_string() != "evidence.reveal_failed");
  }
}

TEST_CASE("in process: concurrent failing requests of two roles each hear only their own error") {
  in_process_node node;
  std::atomic<int> leaks{0};
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&node, &leaks, &answered, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string mine = "secret-" + std::to_string(t) + "-" + std::to_string(i);
        api::response r;
        if (t % 2 == 0) {  // compliance: a part that does not exist, named by this request
          r = node.call("GET", "/v1/exports/cases/1/cybertipline?part=" + mine + ".xml", {}, {},
                        "k_00000000000" + std::to_string(t));
        } else {  // reviewer: a bad decision on a case that does not exist
          r = node.call(
              "POST", "/v1/cases/1/decision",
              R"({"decision":"confirmed","note":")" + mine + R"(","classification":"Z9"})",
              "application/json", "k_00000000000" + std::to_string(t));
        }
        ++answered;
        CHECK(r.status >= 400);
        // Any "secret-" text in the answer must be this request's own.
        for (std::size_t at = r.body.find("secret-"); at != std::string::npos;
             at = r.body.find("secret-", at + 1)) {
          if (r.body.compare(at, mine.size(), mine) != 0) ++leaks;
        }
        // PostgreSQL's own words never reach an answer.
        CHECK(r.body.find("DETAIL") == std::string::npos);
        CHECK(r.body.find("constraint") == std::string::npos);
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(answered == 100);
  CHECK(leaks == 0);
}

TEST_CASE("in process: header bytes that are not UTF-8 never lose a match event") {
  in_process_node node;
  const std::string image = read_file(
      std::string(HG_TEST_DATA) + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg");
  auto hashed = node.call("POST", "/v1/hash", image);
  const std::string sha(hg_test::json_of(hashed).at("hashes").at("sha256").as_string());
  REQUIRE(node.call("POST", "/v1/lists", R"({"name":"u","signal":"sha256"})").status == 201);
  REQUIRE(node.call("POST", "/v1/lists/u/hashes", sha + "\n").status == 200);

  auto scan_with = [&](std::vector<api::header_field> headers) {
    api::request req;
    req.method = "POST";
    req.target = req.path = "/v1/scan";
    req.body = image;
    req.headers = std::move(headers);
    const auto m = node.table.match("POST", "/v1/scan");
    api::response out;
    m.matched->handler(req, {"k_0123456789ab", core::role::ingest},
                       api::responder([&](api::response r) { out = std::move(r); }));
    return out;
  };
  // A zone that PostgreSQL could not store is refused before any work.
  for (const char* zone : {"shop\xff", "a\nb", "\xc0\xaf"}) {
    auto r = scan_with({{"X-Zone", zone}});
    CHECK(r.status == 400);
    CHECK(hg_test::error_code_of(r) == "malformed");
  }
  // A URL with such bytes is kept, escaped, and its event committed (not spooled, not lost).
  auto r =
      scan_with({{"X-Zone", "shop.example"}, {"X-Source-Url", "https://s.example/\xff\xfe.jpg"}});
  REQUIRE(r.status == 200);
  CHECK(hg_test::json_of(r).at("durability").as_string() == "committed");
  const auto queue = hg_test::json_of(node.call("GET", "/v1/cases"));
  const auto id = queue.at("cases").as_array().at(0).at("id").as_int64();
  const auto detail = hg_test::json_of(node.call("GET", "/v1/cases/" + std::to_string(id)));
  CHECK(detail.at("events").as_array().at(0).at("source_url").as_string() ==
        "https://s.example/%FF%FE.jpg");
  CHECK(detail.at("events").as_array().at(0).at("zone").as_string() == "shop.example");
}
