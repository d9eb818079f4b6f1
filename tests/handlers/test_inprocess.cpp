// The routes called in process, on the fixture's PostgreSQL, without spawning the binary: a
// list is created and filled through the admin routes, the snapshot is rebuilt through the
// lists_changed hook, an image is scanned (match, event committed, case opened), and the case
// is read and decided through the review routes. Also the answers whose status the one
// status table decides (409 already_exists, 404 for a missing list, 503 with Retry-After).
#include "hashguard/core/hex.hpp"
#include "hashguard/handlers/routes.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/audit_config.hpp"
#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/exchange_store.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"
#include "hashguard/scanner/digest.hpp"
#include "hashguard/scanner/scan.hpp"
#include "hashguard/scanner/video_worker.hpp"

#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "route_call.hpp"

#include <atomic>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
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
  handlers::db_pool pool{db.url(), 2, std::chrono::milliseconds(5000), hg_test::audit_keys()};
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
    deps.audit_head_file = dir.path / "audit-head.json";  // absent until a test writes it
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

TEST_CASE("in process: /v1/audit/verify checks the log against the published head") {
  in_process_node node;
  REQUIRE(node.call("POST", "/v1/lists", R"({"name":"a","signal":"pdq"})").status == 201);
  REQUIRE(node.call("POST", "/v1/lists", R"({"name":"b","signal":"pdq"})").status == 201);
  auto plain = hg_test::json_of(node.call("GET", "/v1/audit/verify"));
  CHECK(plain.at("ok").as_bool());
  CHECK(plain.at("published_head").is_null());
  auto c = node.db.connect();
  hashdb::audit_log log(c);
  const auto head = **log.head();
  const auto& file = node.deps.audit_head_file;

  REQUIRE(hashdb::write_audit_head(file, head).has_value());
  auto checked = hg_test::json_of(node.call("GET", "/v1/audit/verify"));
  CHECK(checked.at("ok").as_bool());
  CHECK(checked.at("published_head").at("id").as_int64() == head.id);
  CHECK(checked.at("legacy_rows").as_int64() == 0);

  // A head the log no longer reaches: its newest rows were cut off.
  REQUIRE(hashdb::write_audit_head(file, {head.id + 5, head.hash, head.at}).has_value());
  auto cut = hg_test::json_of(node.call("GET", "/v1/audit/verify"));
  CHECK_FALSE(cut.at("ok").as_bool());
  CHECK(cut.at("problem").as_string() == "truncated");
  CHECK(cut.at("first_bad").as_int64() == head.id + 5);

  // The row with the head's id holds another hash.
  REQUIRE(hashdb::write_audit_head(file, {head.id, std::string(64, '0'), head.at}).has_value());
  auto other = hg_test::json_of(node.call("GET", "/v1/audit/verify"));
  CHECK_FALSE(other.at("ok").as_bool());
  CHECK(other.at("problem").as_string() == "head_mismatch");

  // A head file that is not a head is an error, never a silent "no head".
  {
    std::ofstream out(file);
    out << "not json";
  }
  auto broken = node.call("GET", "/v1/audit/verify");
  CHECK(broken.status == 500);
  CHECK(broken.body.find("io_error") != std::string::npos);
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
  CHECK(message(sig) == "signal must be pdq, phash, md5, sha1, sha256 or vpdq");
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

TEST_CASE("in process: /v1/match refuses a field of the wrong JSON type, naming it") {
  in_process_node node;
  const std::string md5 = R"("md5":"d41d8cd98f00b204e9800998ecf8427e")";
  REQUIRE(node.call("POST", "/v1/match", "{" + md5 + "}", "application/json").status == 200);
  // With a good field beside it, a bad one was read as absent and the answer was 200.
  for (const std::string field : {"pdq", "phash", "md5", "sha1", "sha256", "quality"}) {
    for (const std::string value : {"5", "null", "true", "[]", "{}"}) {
      if (field == "quality" && value == "5") continue;  // a quality is a number
      const std::string other = field == "md5" ? R"("sha1":")" + std::string(40, '0') + "\"" : md5;
      const auto body = "{" + other + ",\"" + field + "\":" + value + "}";
      auto r = node.call("POST", "/v1/match", body, "application/json");
      INFO(body);
      CHECK(r.status == 400);
      CHECK(hg_test::error_code_of(r) == "malformed");
      const std::string message(hg_test::json_of(r).at("error").at("message").as_string());
      CHECK(message.rfind(field, 0) == 0);
    }
  }
  CHECK(
      node.call("POST", "/v1/match", "{" + md5 + R"(,"quality":101})", "application/json").status ==
      400);
  CHECK(node.call("POST", "/v1/match", "{" + md5 + R"(,"quality":"high"})", "application/json")
            .status == 400);
  CHECK(
      node.call("POST", "/v1/match", "{" + md5 + R"(,"quality":70})", "application/json").status ==
      200);
}

TEST_CASE("in process: a case's detail pages its events (limit, before) and counts them all") {
  in_process_node node;
  auto c = node.db.connect();
  hashdb::case_store store(c, {});
  std::int64_t case_id = 0;
  for (int i = 0; i < 5; ++i) {
    hashdb::match_event e;
    e.zone = "z.example";
    e.source_url = "https://u.example/" + std::to_string(i);
    e.occurred_us = 1'790'000'000'000'000 + std::int64_t{i} * 1'000'000;
    e.sha256 = std::string(64, 'a');
    e.act = core::action::block;
    hashdb::event_hit h;
    h.list_id = 1;
    h.entry_id = 1;
    e.hits.push_back(h);
    auto r = store.record(e);
    REQUIRE(r.has_value());
    case_id = r->case_id.value();
  }
  const std::string path = "/v1/cases/" + std::to_string(case_id);
  std::vector<std::string> ids;
  std::string target = path + "?limit=2";
  for (int page = 0; page < 3; ++page) {
    auto res = node.call("GET", target);
    REQUIRE(res.status == 200);
    const auto d = hg_test::json_of(res);
    CHECK(d.at("events_total").as_int64() == 5);
    const auto events = d.at("events").as_array();
    CHECK(events.size() == (page < 2 ? 2U : 1U));
    for (const auto& e : events) ids.emplace_back(e.at("id").as_string());
    const auto files = d.at("files").as_array();
    REQUIRE(files.size() == 1);
    CHECK(files[0].at("urls_total").as_int64() == 5);
    CHECK(files[0].at("first_url").as_string() == "https://u.example/0");
    if (page < 2) {
      target = path + "?limit=2&before=" + std::string(d.at("next_before").as_string());
    } else {
      CHECK(d.at("next_before").is_null());
    }
  }
  // Newest first, each event once.
  REQUIRE(ids.size() == 5);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 5);
  const auto newest = hg_test::json_of(node.call("GET", path));
  CHECK(newest.at("events").as_array().at(0).at("source_url").as_string() == "https://u.example/4");
  for (const std::string bad : {"?limit=0", "?limit=501", "?limit=x", "?before=nonsense",
                                "?before=00000000-0000-0000-0000-000000000000"}) {
    INFO(bad);
    auto res = node.call("GET", path + bad);
    CHECK(res.status == 400);
    CHECK(hg_test::error_code_of(res) == "malformed");
  }
}

TEST_CASE(
    "in process: final decisions, a blind second review, reopen, ruling, preview and entry "
    "disable") {
  in_process_node node(true);
  const std::string image = read_file(
      std::string(HG_TEST_DATA) + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg");
  auto hashed = hg_test::json_of(node.call("POST", "/v1/hash", image));
  const std::string pdq(hashed.at("hashes").at("pdq").as_string());
  REQUIRE(node.call("POST", "/v1/lists", R"({"name":"near","signal":"pdq"})").status == 201);
  REQUIRE(node.call("POST", "/v1/lists/near/hashes", pdq + "\n").status == 200);
  REQUIRE(hg_test::json_of(node.call("POST", "/v1/scan", image)).at("verdict").as_string() ==
          "match");
  const std::string a = "k_aaaaaaaaaaaa", b = "k_bbbbbbbbbbbb", c = "k_cccccccccccc",
                    d = "k_dddddddddddd";
  const auto queue = hg_test::json_of(node.call("GET", "/v1/cases", {}, std::nullopt, a));
  const auto id = queue.at("cases").at(0).at("id").as_int64();
  const std::string path = "/v1/cases/" + std::to_string(id);
  auto as = [&](const std::string& who, const std::string& method, const std::string& target,
                const std::string& body = {}) {
    return node.call(method, target, body, "application/json", who);
  };
  auto view = [&](const std::string& who) { return hg_test::json_of(as(who, "GET", path)); };
  const auto file = view(a).at("files").at(0);
  const std::string reveal =
      path + "/files/" + std::string(file.at("content").as_string()) + "/reveal";
  const std::string dismiss = R"({"decision":"false_positive","note":"a bridge","suppress":true})";
  const std::string confirm = R"({"decision":"confirmed","note":"known","classification":"B1"})";

  // A blurred preview is a coarse mosaic, never the bytes, and never a view.
  auto preview = as(a, "POST", reveal, R"({"view":"preview"})");
  REQUIRE(preview.status == 200);
  const auto mosaic = hg_test::json_of(preview);
  CHECK(mosaic.at("columns").as_int64() <= 12);
  CHECK(
      mosaic.at("rgb").as_array().size() ==
      static_cast<std::size_t>(3 * mosaic.at("columns").as_int64() * mosaic.at("rows").as_int64()));
  CHECK(preview.body.find(image.substr(0, 64)) == std::string::npos);
  CHECK_FALSE(view(a).at("files").at(0).at("viewed_by_esp").as_bool());
  CHECK(as(a, "POST", reveal, R"({"view":"sideways"})").status == 422);
  auto unseen = as(a, "POST", path + "/decision", dismiss);
  CHECK(unseen.status == 409);
  CHECK(hg_test::error_code_of(unseen) == "evidence_not_viewed");

  // Revealed unblurred: viewed; A's dismissal is the first of two.
  auto original = as(a, "POST", reveal, R"({"view":"original"})");
  REQUIRE(original.status == 200);
  CHECK(original.body == image);
  CHECK(view(a).at("files").at(0).at("viewed_by").as_string() == a);
  auto first = as(a, "POST", path + "/decision", dismiss);
  REQUIRE(first.status == 200);
  CHECK(hg_test::json_of(first).at("status").as_string() == "open");
  CHECK(as(a, "POST", path + "/decision", dismiss).status == 409);  // a double submit

  // B has not decided: needs review, nothing of A's decision.
  const auto blind = view(b);
  CHECK(blind.at("case").at("status").as_string() == "needs_review");
  CHECK(blind.at("decisions").as_array().empty());
  CHECK(blind.at("confirmations").as_int64() == 0);
  CHECK(blind.at("review").at("blind").as_bool());
  CHECK(blind.at("review").at("can_decide").as_bool());
  const auto blind_queue = hg_test::json_of(as(b, "GET", "/v1/cases"));
  CHECK(blind_queue.at("cases").at(0).at("status").as_string() == "needs_review");
  const auto own = view(a);
  CHECK(own.at("case").at("status").as_string() == "open");
  CHECK(own.at("decisions").as_array().size() == 1);
  CHECK(own.at("review").at("you_decided").as_bool());
  CHECK_FALSE(own.at("review").at("can_decide").as_bool());

  // B disagrees: disputed. Not reportable. An admin rules.
  auto second = as(b, "POST", path + "/decision", confirm);
  REQUIRE(second.status == 200);
  CHECK(hg_test::json_of(second).at("status").as_string() == "disputed");
  const auto disputed = hg_test::json_of(as(a, "GET", "/v1/cases?status=disputed"));
  CHECK(disputed.at("total").as_int64() == 1);
  CHECK(hg_test::json_of(as(c, "GET", "/v1/cases?status=disputed"))
            .at("cases")
            .at(0)
            .at("status")
            .as_string() == "needs_review");  // C has not decided: blind
  auto report = as("k_compliance01", "POST", path + "/report", R"({"report_id":"R-1"})");
  CHECK(report.status == 409);
  CHECK(hg_test::error_code_of(report) == "not_confirmed");
  CHECK(as("k_admin0000001", "POST", path + "/ruling", R"({"decision":"escalated","note":"x"})")
            .status == 422);
  auto ruled = as("k_admin0000001", "POST", path + "/ruling", confirm);
  REQUIRE(ruled.status == 200);
  CHECK(hg_test::json_of(ruled).at("status").as_string() == "confirmed");

  // Locked: no decision, a reopen request instead; those who decided cannot ask.
  const auto locked = view(c);
  CHECK(locked.at("case").at("status").as_string() == "confirmed");
  CHECK(locked.at("review").at("locked").as_bool());
  CHECK(locked.at("review").at("can_reopen").as_bool());
  CHECK_FALSE(locked.at("review").at("can_decide").as_bool());
  CHECK_FALSE(view(b).at("review").at("can_reopen").as_bool());  // B decided it
  auto refused = as(c, "POST", path + "/decision", dismiss);
  CHECK(refused.status == 409);
  CHECK(hg_test::error_code_of(refused) == "case_locked");
  CHECK(as(a, "POST", path + "/reopen", R"({"reason":"I was wrong"})").status == 409);
  CHECK(as(c, "POST", path + "/reopen", R"({"reason":" "})").status == 422);
  auto asked = as(c, "POST", path + "/reopen", R"({"reason":"look again"})");
  REQUIRE(asked.status == 200);
  CHECK_FALSE(hg_test::json_of(asked).at("reopened").as_bool());
  CHECK(hg_test::json_of(asked).at("needed").as_int64() == 2);
  auto reopened = as(d, "POST", path + "/reopen", R"({"reason":"agreed"})");
  REQUIRE(reopened.status == 200);
  CHECK(hg_test::json_of(reopened).at("reopened").as_bool());
  CHECK(view(a).at("case").at("status").as_string() == "needs_review");  // a new, blind round

  // An admin disables the wrong entry: the snapshot drops it, the scan no longer matches.
  const auto entry = view(a).at("events").at(0).at("hits").at(0).at("entry_id").as_int64();
  const int before = node.rebuilds;
  auto disabled =
      as("k_admin0000001", "POST", "/v1/lists/near/entries/" + std::to_string(entry) + "/disable",
         R"({"reason":"a bridge, not abuse"})");
  REQUIRE(disabled.status == 200);
  CHECK(hg_test::json_of(disabled).at("changed").as_bool());
  CHECK(node.rebuilds == before + 1);
  CHECK(as("k_admin0000001", "POST", "/v1/lists/near/entries/999999/disable", R"({"reason":"x"})")
            .status == 404);
  CHECK(hg_test::json_of(node.call("POST", "/v1/scan", image)).at("verdict").as_string() ==
        "no_match");
}

namespace {

// `h` with its lowest `bits` bits flipped: exactly that Hamming distance away (bits < 64).
core::hash256 flipped(core::hash256 h, int bits) {
  h.words[0] ^= (std::uint64_t{1} << bits) - 1;
  return h;
}

}  // namespace

TEST_CASE(
    "in process: a hit in a list's near-miss band answers review and opens a near-miss case") {
  in_process_node node;
  const std::string image = read_file(
      std::string(HG_TEST_DATA) + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg");
  scanner::image_scanner sc(scanner::scan_options{});
  auto scanned = sc.scan(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(image.data()), image.size()));  // NOLINT
  REQUIRE(scanned);
  core::capability_set details;
  details.add(core::capability::match_details);
  auto message = [](const api::response& r) {
    return std::string(hg_test::json_of(r).at("error").at("message").as_string());
  };

  // Validation names the field.
  auto flat = node.call("POST", "/v1/lists",
                        R"({"name":"flat","signal":"pdq","threshold":31,"review_threshold":31})");
  CHECK(flat.status == 400);
  CHECK(message(flat).rfind("review_threshold must be an integer above the threshold (31)", 0) ==
        0);
  auto digest =
      node.call("POST", "/v1/lists", R"({"name":"d","signal":"md5","review_threshold":4})");
  CHECK(digest.status == 400);
  CHECK(message(digest).rfind("review_threshold is for pdq and phash lists only", 0) == 0);

  auto created = node.call(
      "POST", "/v1/lists",
      R"({"name":"banded","signal":"pdq","threshold":31,"review_threshold":48,"action":"block"})");
  REQUIRE(created.status == 201);
  const auto list = hg_test::json_of(created);
  CHECK(list.at("review_threshold").as_int64() == 48);
  CHECK(list.at("auto_quarantine").as_bool() == false);
  const std::string path = "/v1/lists/" + std::to_string(list.at("id").as_int64());
  // threshold + 1: in the band.
  REQUIRE(node.call("POST", path + "/hashes", core::to_hex(flipped(scanned->pdq.hash, 32)) + "\n")
              .status == 200);

  auto scan = node.call("POST", "/v1/scan", image, std::nullopt, "k_details", details);
  REQUIRE(scan.status == 200);
  const auto answer = hg_test::json_of(scan);
  CHECK(answer.at("verdict").as_string() == "match");
  CHECK(answer.at("action").as_string() == "review");  // never block from the band
  const auto hit = answer.at("hits").as_array().at(0).as_object();
  CHECK(hit.at("action").as_string() == "review");
  CHECK(hit.at("distance").as_int64() == 32);
  CHECK(hit.at("near_miss").as_bool());
  CHECK(hit.at("review_threshold").as_int64() == 48);

  auto queue = node.call("GET", "/v1/cases?status=open&limit=10");
  REQUIRE(queue.status == 200);
  const auto cases = hg_test::json_of(queue).at("cases").as_array();
  REQUIRE(cases.size() == 1);
  CHECK(cases[0].at("near_miss").as_bool());
  CHECK(cases[0].at("near_miss_distance").as_int64() == 32);
  const auto case_path = "/v1/cases/" + std::to_string(cases[0].at("id").as_int64());
  auto detail = node.call("GET", case_path);
  REQUIRE(detail.status == 200);
  CHECK(hg_test::json_of(detail).at("case").at("near_miss").as_bool());

  // The list export's metadata carries the band.
  auto exported = node.call("GET", path + "/export");
  REQUIRE(exported.status == 200);
  CHECK(exported.body.find("# review_threshold: 48\n") != std::string::npos);

  // PATCH takes the band away: the next snapshot no longer finds the entry; put back, it does.
  const std::string query = R"({"pdq":")" + core::to_hex(scanned->pdq.hash) + R"("})";
  auto patched = node.call("PATCH", path, R"({"review_threshold":null})");
  REQUIRE(patched.status == 200);
  CHECK(hg_test::json_of(patched).at("review_threshold").is_null());
  CHECK(hg_test::json_of(node.call("POST", "/v1/match", query, "application/json"))
            .at("verdict")
            .as_string() == "no_match");
  auto low = node.call("PATCH", path, R"({"review_threshold":20})");
  CHECK(low.status == 400);
  CHECK(message(low).rfind("review_threshold must be an integer above the threshold", 0) == 0);
  REQUIRE(node.call("PATCH", path, R"({"review_threshold":40})").status == 200);
  auto again = hg_test::json_of(node.call("POST", "/v1/match", query, "application/json"));
  CHECK(again.at("verdict").as_string() == "match");
  CHECK(again.at("action").as_string() == "review");
  auto past = node.call("PATCH", path, R"({"threshold":45})");
  CHECK(past.status == 400);
  CHECK(message(past).rfind("threshold must stay below the list's review_threshold (40)", 0) == 0);

  // At the threshold itself: block as before, and the case is no longer a near-miss.
  REQUIRE(node.call("POST", path + "/hashes", core::to_hex(flipped(scanned->pdq.hash, 31)) + "\n")
              .status == 200);
  auto blocked = hg_test::json_of(node.call("POST", "/v1/scan", image));
  CHECK(blocked.at("action").as_string() == "block");
  auto after = hg_test::json_of(node.call("GET", case_path));
  CHECK_FALSE(after.at("case").at("near_miss").as_bool());
  CHECK(after.at("case").at("near_miss_distance").is_null());
}

TEST_CASE("in process: an admin quarantines and restores an entry, the floods listing answers") {
  in_process_node node;
  auto created = node.call("POST", "/v1/lists", R"({"name":"digests","signal":"md5"})");
  REQUIRE(created.status == 201);
  CHECK(hg_test::json_of(created).at("auto_quarantine").as_bool() == false);
  const std::string md5 = "d41d8cd98f00b204e9800998ecf8427e";
  REQUIRE(node.call("POST", "/v1/lists/digests/hashes", md5 + "\n").status == 200);
  const std::string query = R"({"md5":")" + md5 + R"("})";
  core::capability_set details;
  details.add(core::capability::match_details);
  auto before = hg_test::json_of(
      node.call("POST", "/v1/match", query, "application/json", "k_details", details));
  CHECK(before.at("action").as_string() == "review");  // the md5 list's default action
  REQUIRE(node.call("PATCH", "/v1/lists/digests", R"({"action":"block"})").status == 200);
  const auto blocking = hg_test::json_of(
      node.call("POST", "/v1/match", query, "application/json", "k_details", details));
  CHECK(blocking.at("action").as_string() == "block");
  const auto entry = blocking.at("hits").as_array().at(0).at("entry").as_int64();
  const std::string path = "/v1/lists/digests/entries/" + std::to_string(entry);

  CHECK(node.call("POST", path + "/quarantine", R"({"reason":" "})", "application/json").status ==
        422);
  auto q = node.call("POST", path + "/quarantine", R"({"reason":"flooded"})", "application/json");
  REQUIRE(q.status == 200);
  CHECK(hg_test::json_of(q).at("changed").as_bool());
  const auto held = hg_test::json_of(
      node.call("POST", "/v1/match", query, "application/json", "k_details", details));
  CHECK(held.at("action").as_string() == "review");  // the next snapshot has it
  CHECK(held.at("hits").as_array().at(0).at("quarantined").as_bool());
  auto r = node.call("POST", path + "/restore", R"({"reason":"real"})", "application/json");
  REQUIRE(r.status == 200);
  CHECK(hg_test::json_of(node.call("POST", "/v1/match", query, "application/json"))
            .at("action")
            .as_string() == "block");
  CHECK(node.call("POST", "/v1/lists/digests/entries/999999/quarantine", R"({"reason":"x"})",
                  "application/json")
            .status == 404);
  auto audit = node.call("GET", "/v1/audit?limit=20");
  REQUIRE(audit.status == 200);
  const auto entries = hg_test::json_of(audit).at("entries").as_array();
  int quarantined = 0;
  int restored = 0;
  for (const auto& e : entries) {
    quarantined += e.at("action").as_string() == "list.entry_quarantine" ? 1 : 0;
    restored += e.at("action").as_string() == "list.entry_restore" ? 1 : 0;
  }
  CHECK(quarantined == 1);
  CHECK(restored == 1);

  auto floods = node.call("GET", "/v1/floods?include_cleared=true");
  REQUIRE(floods.status == 200);
  CHECK(hg_test::json_of(floods).at("open").as_int64() == 0);
  CHECK(node.call("GET", "/v1/floods?limit=0").status == 400);
}

TEST_CASE("in process: a video is scanned in the sandboxed worker and a known frame is a hit") {
  in_process_node node;
  scanner::video_worker_options wo;
  wo.executable = HG_VIDEO_WORKER;
  const scanner::video_worker worker(wo);
  node.deps.video = &worker;
  const std::string video = read_file(std::string(HG_TEST_DATA) + "/video/tiny-h264.mp4");
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(video.data()),
                                            video.size());  // NOLINT
  // The frames serve hashes (one per second), hashed here in process.
  scanner::scan_budget budget;
  const auto local = scanner::hash_video(bytes, node.deps.video_hashing, {}, budget);
  REQUIRE(local);
  REQUIRE(local->frames.size() >= 2);

  // An image sent to the image routes is refused with the route to use.
  for (const char* route : {"/v1/scan", "/v1/hash"}) {
    const auto refused = node.call("POST", route, video);
    CHECK(refused.status == 415);
    CHECK(hg_test::error_code_of(refused) == "use_video_route");
  }
  // An image sent to the video route never reaches a decoder.
  const auto image =
      node.call("POST", "/v1/scan/video",
                read_file(std::string(HG_TEST_DATA) + "/pdq-vectors/images/reg-test-input/dih/"
                                                      "bridge-1-original.jpg"));
  CHECK(image.status == 415);
  CHECK(hg_test::error_code_of(image) == "unsupported_format");

  // Nothing listed yet: no match, and the answer describes the video.
  auto clean = node.call("POST", "/v1/scan/video", video);
  REQUIRE(clean.status == 200);
  const auto unknown = hg_test::json_of(clean);
  CHECK(unknown.at("media").as_string() == "video");
  CHECK(unknown.at("verdict").as_string() == "no_match");
  CHECK(unknown.at("event_id").is_null());
  CHECK(unknown.at("frames_hashed").as_int64() == static_cast<std::int64_t>(local->frames.size()));
  CHECK(unknown.at("frames_decoded").as_int64() == 12);
  CHECK(unknown.at("duration_s").as_double() == Approx(1.2));
  const auto digest = scanner::digest(bytes);
  REQUIRE(digest);
  CHECK(unknown.at("hashes").at("sha256").as_string() ==
        core::to_hex(std::span<const std::uint8_t>(digest->sha256)));
  CHECK(unknown.at("hashes").at("codec").as_string() == "h264");

  // The last hashed frame, listed as a known image: the hit names the first frame within the
  // list's threshold (maybe an earlier, similar one) by number and timestamp.
  const int threshold = 20;
  const auto& known = local->frames.back();
  auto created = node.call("POST", "/v1/lists",
                           R"({"name":"images","signal":"pdq","action":"report","threshold":)" +
                               std::to_string(threshold) + "}");
  REQUIRE(created.status == 201);
  const auto pdq_list = hg_test::json_of(created).at("id").as_int64();
  REQUIRE(node.call("POST", "/v1/lists/" + std::to_string(pdq_list) + "/hashes",
                    core::to_hex(known.hash) + "\n")
              .status == 200);
  const scanner::vpdq_frame* first = nullptr;
  for (const auto& f : local->frames) {
    if (f.quality >= core::pdq_min_quality && core::distance(f.hash, known.hash) <= threshold) {
      first = &f;
      break;
    }
  }
  REQUIRE(first != nullptr);

  core::capability_set details;
  details.add(core::capability::match_details);
  auto scanned = node.call("POST", "/v1/scan/video", video, std::nullopt, "k_details", details);
  REQUIRE(scanned.status == 200);
  const auto answer = hg_test::json_of(scanned);
  CHECK(answer.at("media").as_string() == "video");
  CHECK(answer.at("verdict").as_string() == "match");
  CHECK(answer.at("action").as_string() == "report");
  CHECK(answer.at("durability").as_string() == "committed");
  const auto hits = answer.at("hits").as_array();
  REQUIRE(hits.size() == 1);
  const auto& hit = hits[0].as_object();
  CHECK(hit.at("list").as_int64() == pdq_list);
  CHECK(hit.at("signal").as_string() == "pdq");
  CHECK(hit.at("frame").as_int64() == first->frame_number);
  CHECK(hit.at("detail").at("frame_timestamp_s").as_double() == Approx(first->timestamp));

  // The file's SHA-256 on an exact list: a hit too, with no frame timestamp.
  created =
      node.call("POST", "/v1/lists", R"({"name":"files","signal":"sha256","action":"block"})");
  REQUIRE(created.status == 201);
  const auto sha_list = hg_test::json_of(created).at("id").as_int64();
  REQUIRE(node.call("POST", "/v1/lists/" + std::to_string(sha_list) + "/hashes",
                    core::to_hex(std::span<const std::uint8_t>(digest->sha256)) + "\n")
              .status == 200);
  auto both = node.call("POST", "/v1/scan/video", video, std::nullopt, "k_details", details);
  REQUIRE(both.status == 200);
  const auto two = hg_test::json_of(both);
  CHECK(two.at("action").as_string() == "block");
  const auto two_hits = two.at("hits").as_array();
  REQUIRE(two_hits.size() == 2);
  CHECK(two_hits[0].at("signal").as_string() == "sha256");
  CHECK_FALSE(two_hits[0].as_object().contains("detail"));

  // Each match recorded an event, in one case for this content.
  auto queue = node.call("GET", "/v1/cases?status=open&limit=10");
  REQUIRE(queue.status == 200);
  const auto cases = hg_test::json_of(queue).at("cases").as_array();
  REQUIRE(cases.size() == 1);
  auto detail = node.call("GET", "/v1/cases/" + std::to_string(cases[0].at("id").as_int64()));
  REQUIRE(detail.status == 200);
  CHECK(hg_test::json_of(detail).at("events").as_array().size() == 2);

  // A worker that crashes is an answer, not a crash of serve.
  scanner::video_worker_options crashing;
  crashing.executable = "/bin/false";
  const scanner::video_worker broken(crashing);
  node.deps.video = &broken;
  const auto crashed = node.call("POST", "/v1/scan/video", video);
  CHECK(crashed.status == 422);
  CHECK(hg_test::error_code_of(crashed) == "decoder_crashed");
}

TEST_CASE("in process: a GIF that also looks like MPEG-TS is scanned as the image it is") {
  in_process_node node;
  const std::string still = read_file(std::string(HG_TEST_DATA) + "/scanner/still.gif");
  // A comment extension after the 48-byte global colour table (header 6 + screen 7 + 48 = 61)
  // whose two 255-byte blocks are all 0x47 puts MPEG-TS's sync byte at offsets 188 and 376;
  // the pixels do not change.
  REQUIRE((static_cast<unsigned char>(still[10]) & 0x87U) == 0x83U);
  std::string blocks = "\x21\xfe";
  for (int i = 0; i < 2; ++i) blocks += '\xff' + std::string(255, '\x47');
  blocks += '\0';
  const std::string gif = still.substr(0, 61) + blocks + still.substr(61);
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(gif.data()),
                                            gif.size());  // NOLINT
  REQUIRE(scanner::sniff_video(bytes));                   // the trap: it would pass for a video
  REQUIRE(scanner::sniff(bytes) == scanner::image_format::gif);

  const auto original = node.call("POST", "/v1/hash", still);
  const auto crafted = node.call("POST", "/v1/hash", gif);
  REQUIRE(original.status == 200);
  REQUIRE(crafted.status == 200);
  CHECK(hg_test::json_of(crafted).at("hashes").at("pdq") ==
        hg_test::json_of(original).at("hashes").at("pdq"));
  CHECK(node.call("POST", "/v1/scan", gif).status == 200);
}

TEST_CASE(
    "in process: a hit on an exchange-fed entry carries its provenance, for match_details "
    "keys only") {
  in_process_node node;
  {
    auto c = node.db.connect();
    hashdb::exchange_store store(c);
    hashdb::exchange_spec s;
    s.name = "ncmec";
    s.kind = "ncmec";
    s.feeds.push_back({core::signal::pdq, "ncmec-pdq", 31, core::action::review});
    REQUIRE(store.register_exchange(s).has_value());
    REQUIRE(store.acquire_lease("ncmec", "t", std::chrono::seconds(60)).value());
    hashdb::exchange_page p;
    hashdb::exchange_entry e;
    e.source_id = "1-4242";
    e.signal = "pdq";
    e.value = std::string(64, 'a');
    e.tags = {"A1", "ncmec_member:1"};
    p.entries.push_back(e);
    p.checkpoint = "cp";
    REQUIRE(store.apply_page("ncmec", "t", "", p, std::chrono::seconds(60)).has_value());
  }
  node.deps.lists_changed();
  const std::string body = R"({"pdq":")" + std::string(64, 'a') + R"("})";
  core::capability_set details;
  details.add(core::capability::match_details);
  const auto full = node.call("POST", "/v1/match", body, "application/json", "k_details", details);
  REQUIRE(full.status == 200);
  const auto answer = hg_test::json_of(full);  // kept: `hit` refers into it
  const auto& hit = answer.at("hits").as_array().at(0).as_object();
  const auto& source = hit.at("detail").at("source").as_object();
  CHECK(source.at("exchange").as_string() == "ncmec");
  CHECK(source.at("source_id").as_string() == "1-4242");
  CHECK(source.at("tags").as_array().size() == 2);
  // Without match_details: no detail at all.
  const auto plain = node.call("POST", "/v1/match", body, "application/json");
  REQUIRE(plain.status == 200);
  const auto plain_answer = hg_test::json_of(plain);
  CHECK_FALSE(plain_answer.at("hits").as_array().at(0).as_object().contains("detail"));
}

TEST_CASE("in process: a video on a vpdq list is a hit naming the list video, shares, segments") {
  in_process_node node;
  scanner::video_worker_options wo;
  wo.executable = HG_VIDEO_WORKER;
  const scanner::video_worker worker(wo);
  node.deps.video = &worker;
  const std::string video = read_file(std::string(HG_TEST_DATA) + "/video/tiny-h264.mp4");
  const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(video.data()),
                                            video.size());  // NOLINT
  // The list video: every frame (the reference's regression mode), hashed here in process.
  scanner::scan_budget budget;
  scanner::vpdq_options every = node.deps.video_hashing;
  every.seconds_per_hash = 0;
  const auto listed = scanner::hash_video(bytes, every, {}, budget);
  REQUIRE(listed);
  REQUIRE(listed->frames.size() == 12);

  // Shares only on vpdq lists; a 0 % query share is refused.
  CHECK(node.call("POST", "/v1/lists", R"({"name":"x","signal":"pdq","video_query_percent":50})")
            .status == 400);
  CHECK(node.call("POST", "/v1/lists", R"({"name":"x","signal":"vpdq","video_query_percent":0})")
            .status == 400);
  auto created =
      node.call("POST", "/v1/lists",
                R"({"name":"videos","signal":"vpdq","action":"block","video_compared_percent":1})");
  REQUIRE(created.status == 201);
  const auto list = hg_test::json_of(created);
  CHECK(list.at("threshold").as_int64() == 31);
  CHECK(list.at("video_query_percent").as_double() == 80.0);
  const auto id = list.at("id").as_int64();
  auto imported = node.call("POST", "/v1/lists/" + std::to_string(id) + "/hashes?video=tiny%20clip",
                            scanner::format_vpdq(listed->frames));
  REQUIRE(imported.status == 200);

  core::capability_set details;
  details.add(core::capability::match_details);
  auto scanned = node.call("POST", "/v1/scan/video", video, std::nullopt, "k_details", details);
  REQUIRE(scanned.status == 200);
  const auto answer = hg_test::json_of(scanned);
  CHECK(answer.at("verdict").as_string() == "match");
  CHECK(answer.at("action").as_string() == "block");
  const auto hits = answer.at("hits").as_array();
  REQUIRE(hits.size() == 1);
  const auto& hit = hits[0].as_object();
  CHECK(hit.at("signal").as_string() == "vpdq");
  CHECK(hit.at("list").as_int64() == id);
  const auto& v = hit.at("detail").at("video").as_object();
  CHECK(v.at("list_video").as_string() == "tiny clip");
  CHECK(v.at("query_match_percent").as_double() == Approx(100.0));
  CHECK(v.at("compared_match_percent").as_double() > 0.0);
  const auto segments = v.at("segments").as_array();
  REQUIRE_FALSE(segments.empty());
  CHECK(segments[0].at("start_s").as_double() <= segments[0].at("end_s").as_double());

  // The event and its case: the hit row names the list video (the entry's external id).
  CHECK_FALSE(answer.at("event_id").is_null());
  auto queue = node.call("GET", "/v1/cases?status=open&limit=10");
  REQUIRE(queue.status == 200);
  const auto cases = hg_test::json_of(queue).at("cases").as_array();
  REQUIRE(cases.size() == 1);
  auto opened = node.call("GET", "/v1/cases/" + std::to_string(cases[0].at("id").as_int64()));
  REQUIRE(opened.status == 200);
  const auto events = hg_test::json_of(opened).at("events").as_array();
  REQUIRE(events.size() == 1);
  const auto& recorded = events[0].at("hits").as_array().at(0);
  CHECK(recorded.at("signal").as_string() == "vpdq");
  CHECK(recorded.at("external_id").as_string() == "tiny clip");
  CHECK(recorded.at("action").as_string() == "block");

  // Without match_details a hit is only its list name, signal and action.
  auto plain = node.call("POST", "/v1/scan/video", video);
  REQUIRE(plain.status == 200);
  const auto plain_hits = hg_test::json_of(plain).at("hits").as_array();
  REQUIRE(plain_hits.size() == 1);
  CHECK_FALSE(plain_hits[0].as_object().contains("detail"));
}
