// `hashguard serve` wired to a real PostgreSQL (the hg_pg fixture) over real sockets: the
// snapshot is polled from the lists, /v1/scan matches and records its event (same request id:
// same event), /v1/hash, /v1/match, /v1/index, /readyz, and the scanner's errors on the wire.
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "http_client.hpp"
#include "openapi_check.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"

#include "../scanner/png_builder.hpp"
#include "hashguard/hashdb/keys.hpp"
#include "hashguard/scanner/decode.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <thread>

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::optional<http_response> post(std::uint16_t port, std::string_view target, std::string_view key,
                                  std::string_view body,
                                  std::vector<std::pair<std::string, std::string>> headers = {}) {
  return exchange(port, "POST", target, key, body, headers);
}

std::string error_code_of(const http_response& r) {
  auto v = json::parse(r.body);
  return std::string(v.at("error").at("code").as_string());
}

const std::string data_dir = HG_TEST_DATA;
const std::string match_image =
    data_dir + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg";
const std::string other_image =
    data_dir + "/pdq-vectors/images/reg-test-input/labelme-subset/q0122.jpg";

}  // namespace

TEST_CASE("serve: a list made from an image's PDQ matches that image and records the event") {
  test_database db;
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-serve-ingest-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ingest = "ingest-key-for-serve-test-0123456789";
  const std::string admin = "admin-key-for-serve-test-0123456789a";
  serve_process srv({HG_HASHGUARD_BIN, "serve", "--http-port=0", "--database-url=" + db.url(),
                     "--data-dir=" + dir.string(), "--auth-keys=ingest:" + ingest,
                     "--auth-bootstrap-key=" + admin, "--snapshot-poll-ms=50",
                     "--auth-refresh-ms=50", "--http-scan-threads=2"});

  // An empty catalog is a valid snapshot: the node is ready.
  auto ready = fetch(srv.port(), "GET", "/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);

  const std::string image = file_bytes(match_image);
  auto hashed = post(srv.port(), "/v1/hash", ingest, image);
  REQUIRE(hashed);
  INFO(hashed->body);
  REQUIRE(hashed->status == 200);
  const auto hv = json::parse(hashed->body);
  require_schema("HashResult", hv);
  const std::string pdq(hv.at("hashes").at("pdq").as_string());
  CHECK(pdq.size() == 64);
  CHECK(hv.at("hashes").at("quality").as_int64() >= 50);
  CHECK(hv.at("hashes").at("dihedral").as_object().size() == 7);
  CHECK(hv.at("hashes").at("sha256").as_string().size() == 64);

  // Before any list: no match.
  auto before = post(srv.port(), "/v1/scan", ingest, image);
  REQUIRE(before);
  REQUIRE(before->status == 200);
  CHECK(json::parse(before->body).at("verdict").as_string() == "no_match");
  require_schema("ScanResult", json::parse(before->body));

  // A list holding that hash, through the admin routes; the import report names the bad line.
  auto created = post(srv.port(), "/v1/lists", admin,
                      R"({"name":"serve-test","signal":"pdq","threshold":31,"action":"block"})",
                      {{"Content-Type", "application/json"}});
  REQUIRE(created);
  INFO(created->body);
  REQUIRE(created->status == 201);
  const std::int64_t list_id = json::parse(created->body).at("id").as_int64();
  auto dup = post(srv.port(), "/v1/lists", admin, R"({"name":"serve-test"})");
  REQUIRE(dup);
  CHECK(dup->status == 409);
  auto imported = post(srv.port(), "/v1/lists/" + std::to_string(list_id) + "/hashes?format=hex",
                       admin, pdq + "\nnot-a-hash\n" + pdq + "\n");
  REQUIRE(imported);
  INFO(imported->body);
  REQUIRE(imported->status == 200);
  const auto report = json::parse(imported->body);
  CHECK(report.at("accepted").to_number<std::uint64_t>() == 1);
  CHECK(report.at("rejected").to_number<std::uint64_t>() == 1);
  CHECK(report.at("duplicates").to_number<std::uint64_t>() == 1);
  CHECK(report.at("rejected_lines").as_array()[0].at("line").to_number<std::uint64_t>() == 2);
  auto listed = fetch(srv.port(), "GET", "/v1/lists", admin);
  REQUIRE(listed);
  REQUIRE(listed->status == 200);
  CHECK(json::parse(listed->body).at("lists").as_array().size() == 1);
  const auto all_lists = json::parse(listed->body);
  for (const auto& l : all_lists.at("lists").as_array()) require_schema("HashList", l);
  auto exported = fetch(srv.port(), "GET", "/v1/lists/serve-test/export?format=hex", admin);
  REQUIRE(exported);
  CHECK(exported->status == 200);
  CHECK(exported->body.find(pdq) != std::string::npos);
  auto missing = fetch(srv.port(), "GET", "/v1/lists/999999/export", admin);
  REQUIRE(missing);
  CHECK(missing->status == 404);

  // The refresher polls every 50 ms; wait for the swap.
  std::int64_t version = 0;
  for (int i = 0; i < 200 && version == 0; ++i) {
    auto idx = fetch(srv.port(), "GET", "/v1/index", admin);
    REQUIRE(idx);
    REQUIRE(idx->status == 200);
    const auto iv = json::parse(idx->body);
    require_schema("IndexInfo", iv);
    if (iv.at("sizes").at("pdq").to_number<std::uint64_t>() == 1)
      version = iv.at("version").as_int64();
    if (version == 0) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(version > 0);

  const std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Zone", "zone-a"}, {"X-Request-Id", "req-1"}, {"X-Source-Url", "https://a.test/x.jpg"}};
  auto scanned = post(srv.port(), "/v1/scan", ingest, image, headers);
  REQUIRE(scanned);
  INFO(scanned->body);
  REQUIRE(scanned->status == 200);
  const auto sv = json::parse(scanned->body);
  require_schema("ScanResult", sv);
  CHECK(sv.at("verdict").as_string() == "match");
  CHECK(sv.at("action").as_string() == "block");
  REQUIRE(sv.at("hits").as_array().size() == 1);
  // An ingest key without match_details: list name, signal and action, nothing to probe with
  // (tests/system/test_serve_keys.cpp shows a key with it).
  const auto& hit = sv.at("hits").as_array()[0].as_object();
  CHECK(hit.size() == 3);
  CHECK(hit.at("signal").as_string() == "pdq");
  CHECK(hit.at("action").as_string() == "block");
  CHECK_FALSE(hit.contains("list"));
  CHECK_FALSE(hit.contains("distance"));
  const std::string event_id(sv.at("event_id").as_string());
  CHECK(event_id.size() == 36);

  // The event is in the database (committed, or spooled and replayed by the recorder soon
  // after: wait for it).
  int stored = 0;
  for (int i = 0; i < 100 && stored == 0; ++i) {
    pqxx::connection pc(db.url());
    pqxx::work tx(pc);
    stored = tx.exec_params1("SELECT count(*) FROM events WHERE id = $1::uuid AND zone = $2",
                             event_id, "zone-a")[0]
                 .as<int>();
    if (stored == 0) std::this_thread::sleep_for(50ms);
  }
  CHECK(stored == 1);

  // The same (zone, request id) again: the first event's id.
  auto again = post(srv.port(), "/v1/scan", ingest, image, headers);
  REQUIRE(again);
  REQUIRE(again->status == 200);
  CHECK(json::parse(again->body).at("event_id").as_string() == event_id);

  // A different image does not match.
  auto other = post(srv.port(), "/v1/scan", ingest, file_bytes(other_image));
  REQUIRE(other);
  REQUIRE(other->status == 200);
  CHECK(json::parse(other->body).at("verdict").as_string() == "no_match");
  CHECK(json::parse(other->body).at("event_id").is_null());

  // Clients that hash on their side.
  auto matched = post(srv.port(), "/v1/match", ingest, R"({"pdq":")" + pdq + R"("})",
                      {{"Content-Type", "application/json"}});
  REQUIRE(matched);
  INFO(matched->body);
  REQUIRE(matched->status == 200);
  CHECK(json::parse(matched->body).at("hits").as_array().size() == 1);
  require_schema("MatchResult", json::parse(matched->body));
  auto bad_hex = post(srv.port(), "/v1/match", ingest, R"({"pdq":"zz"})");
  REQUIRE(bad_hex);
  CHECK(bad_hex->status == 400);

  // The scanner's errors, on the wire.
  auto empty = post(srv.port(), "/v1/scan", ingest, "");
  REQUIRE(empty);
  CHECK(empty->status == 415);
  CHECK(error_code_of(*empty) == "empty");
  // A JPEG cut inside its header: the format is known (magic bytes), the image undecodable.
  auto truncated = post(srv.port(), "/v1/scan", ingest, image.substr(0, 20));
  REQUIRE(truncated);
  CHECK(truncated->status == 422);
  CHECK(error_code_of(*truncated) == "truncated");
  auto unsupported = post(srv.port(), "/v1/scan", ingest, "this is not an image at all");
  REQUIRE(unsupported);
  CHECK(unsupported->status == 415);
  CHECK(error_code_of(*unsupported) == "unsupported_format");

  // Roles: the admin key may not scan.
  auto wrong_role = post(srv.port(), "/v1/scan", admin, image);
  REQUIRE(wrong_role);
  CHECK(wrong_role->status == 403);

  // Disabling the list rebuilds the snapshot on this node: the image no longer matches.
  {
    client c(srv.port());
    REQUIRE(c.send(
        make_request("PATCH", "/v1/lists/" + std::to_string(list_id),
                     {{"Authorization", "Bearer " + admin}, {"Content-Type", "application/json"}},
                     std::string_view(R"({"enabled":false})"))));
    auto patched = c.read_response(10000ms);
    REQUIRE(patched);
    INFO(patched->body);
    CHECK(patched->status == 200);
    CHECK(json::parse(patched->body).at("enabled").as_bool() == false);
  }
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    auto idx = fetch(srv.port(), "GET", "/v1/index", admin);
    REQUIRE(idx);
    gone = json::parse(idx->body).at("sizes").at("pdq").to_number<std::uint64_t>() == 0;
    if (!gone) std::this_thread::sleep_for(50ms);
  }
  CHECK(gone);
  {
    client c(srv.port());
    REQUIRE(c.send(
        make_request("DELETE", "/v1/lists/serve-test", {{"Authorization", "Bearer " + admin}})));
    auto retired = c.read_response(10000ms);
    REQUIRE(retired);
    CHECK(retired->status == 200);
    CHECK(json::parse(retired->body).at("retired").as_bool() == true);
  }

  // A key created with the key store (as `hashguard keys create` does) works after the next
  // reload, and stops working once revoked.
  {
    auto conn = db.connect();
    hashguard::hashdb::key_store store(conn);
    auto made = store.create("edge", hashguard::core::role::ingest);
    REQUIRE(made);
    int status = 0;
    for (int i = 0; i < 200 && status != 200; ++i) {
      auto r = post(srv.port(), "/v1/hash", made->secret, image);
      REQUIRE(r);
      status = r->status;
      if (status != 200) std::this_thread::sleep_for(50ms);
    }
    CHECK(status == 200);
    REQUIRE(store.revoke(made->info.id));
    for (int i = 0; i < 200 && status != 401; ++i) {
      auto r = post(srv.port(), "/v1/hash", made->secret, image);
      REQUIRE(r);
      status = r->status;
      if (status != 401) std::this_thread::sleep_for(50ms);
    }
    CHECK(status == 401);
  }

  auto metrics = fetch(srv.port(), "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find(R"(hg_snapshot_entries{signal="pdq"} 0)") != std::string::npos);
  CHECK(metrics->body.find("hg_stage_duration_seconds") != std::string::npos);

  const auto exit = srv.stop(SIGTERM);
  INFO(srv.err_text());
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  std::filesystem::remove_all(dir);
}

namespace {

// GET with a key on a fresh connection; the answer parsed (null when not JSON).
struct got {
  int status{0};
  json::value body;
};
got get_json(std::uint16_t port, const std::string& target, const std::string& key) {
  auto r = exchange(port, "GET", target, key);
  REQUIRE(r);
  got g;
  g.status = r->status;
  boost::system::error_code ec;
  g.body = json::parse(r->body, ec);
  return g;
}

got send_json(std::uint16_t port, std::string_view method, const std::string& target,
              const std::string& key, const std::string& body) {
  auto r = exchange(port, method, target, key, body, {{"Content-Type", "application/json"}});
  REQUIRE(r);
  INFO(method << " " << target << " -> " << r->status << " " << r->body);
  got g;
  g.status = r->status;
  boost::system::error_code ec;
  g.body = json::parse(r->body, ec);
  return g;
}

/// Waits until /v1/index reports `pdq_entries` PDQ entries.
void wait_for_pdq_entries(std::uint16_t port, const std::string& admin, std::uint64_t n) {
  bool done = false;
  for (int i = 0; i < 400 && !done; ++i) {
    auto idx = get_json(port, "/v1/index", admin);
    REQUIRE(idx.status == 200);
    done = idx.body.at("sizes").at("pdq").to_number<std::uint64_t>() == n;
    if (!done) std::this_thread::sleep_for(25ms);
  }
  REQUIRE(done);
}

/// The case the event `event_id` joined, through the reviewer's queue and case pages.
std::int64_t case_of_event(std::uint16_t port, const std::string& reviewer,
                           const std::string& event_id) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto queue = get_json(port, "/v1/cases?limit=50", reviewer);
    REQUIRE(queue.status == 200);
    for (const auto& c : queue.body.at("cases").as_array()) {
      const auto id = c.at("id").as_int64();
      auto detail = get_json(port, "/v1/cases/" + std::to_string(id), reviewer);
      REQUIRE(detail.status == 200);
      for (const auto& e : detail.body.at("events").as_array()) {
        if (e.at("id").as_string() == event_id) return id;
      }
    }
    std::this_thread::sleep_for(50ms);  // a spooled event reaches the database a little later
  }
  FAIL("no case holds event " << event_id);
  return 0;
}

}  // namespace

TEST_CASE("serve: GET /v1/decisions follows reviewers, and list edits over HTTP are audited") {
  test_database db;
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-serve-decisions-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ingest = "ingest-key-for-decisions-0123456789a";
  const std::string reviewer = "reviewer-key-for-decisions-012345678";
  const std::string compliance = "compliance-key-for-decisions-0123456";
  const std::string admin = "admin-key-for-decisions-0123456789ab";
  serve_process srv(
      {HG_HASHGUARD_BIN, "serve", "--http-port=0", "--database-url=" + db.url(),
       "--data-dir=" + dir.string(),
       "--auth-keys=ingest:" + ingest + ",reviewer:" + reviewer + ",compliance:" + compliance,
       "--auth-bootstrap-key=" + admin, "--snapshot-poll-ms=50",
       // One reviewer decides alone here: the feed is under test, not the two-person rule.
       "--cases-required-confirmations=1"});
  const auto port = srv.port();

  // Nothing decided yet: an empty page and a cursor to poll with.
  auto first = get_json(port, "/v1/decisions", ingest);
  REQUIRE(first.status == 200);
  require_schema("DecisionFeed", first.body);
  CHECK(first.body.at("items").as_array().empty());
  CHECK(first.body.at("more").as_bool() == false);
  const std::string start(first.body.at("next").as_string());

  // Roles, cursors and limits.
  CHECK(get_json(port, "/v1/decisions", reviewer).status == 403);
  CHECK(get_json(port, "/v1/decisions", admin).status == 403);
  CHECK(get_json(port, "/v1/decisions", "").status == 401);
  for (const std::string bad : {"?since=abc", "?since=-4", "?limit=0", "?limit=1001", "?limit=x"}) {
    auto r = get_json(port, "/v1/decisions" + bad, ingest);
    INFO(bad);
    CHECK(r.status == 400);
    CHECK(r.body.at("error").at("code").as_string() == "malformed");
  }

  // Two images on one list, through the admin routes (each edit audited).
  const std::string image = file_bytes(match_image);
  const std::string image2 = file_bytes(other_image);
  auto pdq_of = [&](const std::string& bytes) {
    auto h = post(port, "/v1/hash", ingest, bytes);
    REQUIRE(h);
    REQUIRE(h->status == 200);
    return json::parse(h->body).at("hashes");
  };
  const auto hashes1 = pdq_of(image);
  const auto hashes2 = pdq_of(image2);
  auto created = send_json(port, "POST", "/v1/lists", admin,
                           R"({"name":"decided","signal":"pdq","threshold":16,"action":"report"})");
  REQUIRE(created.status == 201);
  require_schema("HashList", created.body);
  auto imported = exchange(port, "POST", "/v1/lists/decided/hashes?format=hex", admin,
                           std::string(hashes1.at("pdq").as_string()) + "\n" +
                               std::string(hashes2.at("pdq").as_string()) + "\n");
  REQUIRE(imported);
  REQUIRE(imported->status == 200);
  require_schema("ImportReport", json::parse(imported->body));
  auto patched = send_json(port, "PATCH", "/v1/lists/decided", admin, R"({"threshold":31})");
  REQUIRE(patched.status == 200);
  require_schema("HashList", patched.body);
  CHECK(patched.body.at("threshold").as_int64() == 31);
  wait_for_pdq_entries(port, admin, 2);

  // Each image seen in its own zone: two cases.
  auto scan = [&](const std::string& bytes, const std::string& zone) {
    auto r = post(port, "/v1/scan", ingest, bytes, {{"X-Zone", zone}});
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    const auto v = json::parse(r->body);
    require_schema("ScanResult", v);
    CHECK(v.at("verdict").as_string() == "match");
    CHECK(v.at("action").as_string() == "report");
    return std::string(v.at("event_id").as_string());
  };
  const auto case1 = case_of_event(port, reviewer, scan(image, "zone-1"));
  const auto case2 = case_of_event(port, reviewer, scan(image2, "zone-2"));
  REQUIRE(case1 != case2);

  // A reviewer confirms the first: the cache layer hears "block" for its content.
  auto confirmed =
      send_json(port, "POST", "/v1/cases/" + std::to_string(case1) + "/decision", reviewer,
                R"({"decision":"confirmed","classification":"A1","note":"checked"})");
  REQUIRE(confirmed.status == 200);
  CHECK(confirmed.body.at("status").as_string() == "confirmed");
  auto after = get_json(port, "/v1/decisions?since=" + start, ingest);
  REQUIRE(after.status == 200);
  require_schema("DecisionFeed", after.body);
  REQUIRE(after.body.at("items").as_array().size() == 1);
  const auto& item = after.body.at("items").as_array()[0];
  CHECK(item.at("decision").as_string() == "confirmed");
  CHECK(item.at("verdict").as_string() == "match");
  CHECK(item.at("action").as_string() == "block");
  CHECK(item.at("case_id").as_int64() == case1);
  CHECK(item.at("sha256") == hashes1.at("sha256"));
  CHECK(item.at("md5") == hashes1.at("md5"));
  CHECK(item.at("pdq") == hashes1.at("pdq"));
  const std::string cursor(after.body.at("next").as_string());
  CHECK(cursor != start);

  // Polling again with the cursor: nothing new, the same cursor.
  auto idle = get_json(port, "/v1/decisions?since=" + cursor, ingest);
  REQUIRE(idle.status == 200);
  CHECK(idle.body.at("items").as_array().empty());
  CHECK(idle.body.at("next").as_string() == cursor);

  // The second is dismissed and suppressed: the cache layer hears "no_match" for it.
  auto dismissed =
      send_json(port, "POST", "/v1/cases/" + std::to_string(case2) + "/decision", reviewer,
                R"({"decision":"false_positive","note":"a bridge, not a match","suppress":true})");
  REQUIRE(dismissed.status == 200);
  auto later = get_json(port, "/v1/decisions?since=" + cursor + "&limit=10", ingest);
  REQUIRE(later.status == 200);
  require_schema("DecisionFeed", later.body);
  REQUIRE(later.body.at("items").as_array().size() == 1);
  const auto& gone = later.body.at("items").as_array()[0];
  CHECK(gone.at("decision").as_string() == "dismissed");
  CHECK(gone.at("verdict").as_string() == "no_match");
  CHECK(gone.at("action").as_string() == "none");
  CHECK(gone.at("case_id").as_int64() == case2);
  CHECK(gone.at("sha256") == hashes2.at("sha256"));

  // Paging from the start, one item at a time, gives both in decision order.
  auto page1 = get_json(port, "/v1/decisions?limit=1", ingest);
  REQUIRE(page1.status == 200);
  CHECK(page1.body.at("more").as_bool());
  CHECK(page1.body.at("items").as_array()[0].at("case_id").as_int64() == case1);
  auto page2 = get_json(
      port, "/v1/decisions?limit=1&since=" + std::string(page1.body.at("next").as_string()),
      ingest);
  REQUIRE(page2.status == 200);
  CHECK_FALSE(page2.body.at("more").as_bool());
  CHECK(page2.body.at("items").as_array()[0].at("case_id").as_int64() == case2);

  // Retire the list, then read the audit trail as compliance: every list edit is there, with
  // the admin key's id as the actor, and the chain still verifies.
  {
    auto retired = exchange(port, "DELETE", "/v1/lists/decided", admin);
    REQUIRE(retired);
    CHECK(retired->status == 200);
  }
  auto trail = get_json(port, "/v1/audit?limit=100", compliance);
  REQUIRE(trail.status == 200);
  require_schema("AuditPage", trail.body);
  std::map<std::string, int> list_edits;
  for (const auto& e : trail.body.at("entries").as_array()) {
    const std::string action(e.at("action").as_string());
    if (!action.starts_with("list.")) continue;
    CHECK(e.at("actor").as_string() == "bootstrap");
    CHECK(e.at("subject").as_string() == "list:decided");
    ++list_edits[action];
  }
  CHECK(list_edits ==
        std::map<std::string, int>{
            {"list.create", 1}, {"list.import", 1}, {"list.update", 1}, {"list.retire", 1}});
  auto verify = get_json(port, "/v1/audit/verify", compliance);
  REQUIRE(verify.status == 200);
  require_schema("AuditVerify", verify.body);
  CHECK(verify.body.at("ok").as_bool());

  const auto exit = srv.stop(SIGTERM);
  INFO(srv.err_text());
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("serve: empty, truncated, oversized and malformed bodies get their documented status") {
  test_database db;
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-serve-bodies-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ingest = "ingest-key-for-bodies-0123456789abcd";
  const std::string reviewer = "reviewer-key-for-bodies-0123456789ab";
  const std::string admin = "admin-key-for-bodies-0123456789abcde";
  serve_process srv({HG_HASHGUARD_BIN, "serve", "--http-port=0", "--database-url=" + db.url(),
                     "--data-dir=" + dir.string(),
                     "--auth-keys=ingest:" + ingest + ",reviewer:" + reviewer,
                     "--auth-bootstrap-key=" + admin, "--http-body-limit-image-bytes=100000",
                     "--http-body-limit-json-bytes=2000", "--http-body-limit-import-bytes=5000"});
  const auto port = srv.port();
  REQUIRE(send_json(port, "POST", "/v1/lists", admin, R"({"name":"bodies"})").status == 201);

  const std::string big_jpeg = file_bytes(match_image);  // 361 KB: over the 100 KB image limit
  REQUIRE(big_jpeg.size() > 100000);
  const std::string small_jpeg = file_bytes(other_image);
  const std::string json_ct = "application/json";
  struct probe {
    std::string method, pattern, target, key, body, content_type;
    int status;
    std::string code;
  };
  const std::vector<probe> probes{
      // Images: no bytes, a JPEG cut in its header (known format, undecodable), not an image,
      // over the limit. Content-Type is ignored for images (the format is sniffed).
      {"POST", "/v1/scan", "/v1/scan", ingest, "", "", 415, "empty"},
      {"POST", "/v1/hash", "/v1/hash", ingest, "", "", 415, "empty"},
      {"POST", "/v1/scan", "/v1/scan", ingest, small_jpeg.substr(0, 20), "", 422, "truncated"},
      {"POST", "/v1/scan", "/v1/scan", ingest, big_jpeg.substr(0, 400), "image/jpeg", 422,
       "truncated"},
      {"POST", "/v1/hash", "/v1/hash", ingest, small_jpeg.substr(0, 100), "", 422, "truncated"},
      {"POST", "/v1/scan", "/v1/scan", ingest, "GIF89a but not really", "", 422, "corrupt"},
      {"POST", "/v1/scan", "/v1/scan", ingest, "plain text, not an image", "image/png", 415,
       "unsupported_format"},
      {"POST", "/v1/scan", "/v1/scan", ingest, big_jpeg, "", 413, "payload_too_large"},
      // JSON routes: empty, malformed, not an object, wrong Content-Type, wrong types, over the
      // limit.
      {"POST", "/v1/match", "/v1/match", ingest, "", json_ct, 400, "malformed"},
      {"POST", "/v1/match", "/v1/match", ingest, "{\"pdq\":", json_ct, 400, "malformed"},
      {"POST", "/v1/match", "/v1/match", ingest, "[1,2]", json_ct, 400, "malformed"},
      {"POST", "/v1/match", "/v1/match", ingest, "{}", json_ct, 400, "malformed"},
      {"POST", "/v1/match", "/v1/match", ingest, R"({"md5":"xyz"})", json_ct, 400, "malformed"},
      {"POST", "/v1/match", "/v1/match", ingest, R"({"md5":"00"})", "text/plain", 415,
       "unsupported_media_type"},
      {"POST", "/v1/match", "/v1/match", ingest, R"({"pdq":")" + std::string(3000, 'a') + R"("})",
       json_ct, 413, "payload_too_large"},
      {"POST", "/v1/lists", "/v1/lists", admin, "", json_ct, 400, "malformed"},
      {"POST", "/v1/lists", "/v1/lists", admin, "{name", json_ct, 400, "malformed"},
      {"POST", "/v1/lists", "/v1/lists", admin, R"({"name":5})", json_ct, 400, "malformed"},
      {"POST", "/v1/lists", "/v1/lists", admin, R"({"name":"x","signal":"sha512"})", json_ct, 400,
       "malformed"},
      {"POST", "/v1/lists", "/v1/lists", admin, R"({"name":"bodies"})", json_ct, 409,
       "already_exists"},
      {"PATCH", "/v1/lists/{id}", "/v1/lists/bodies", admin, "", json_ct, 400, "malformed"},
      {"PATCH", "/v1/lists/{id}", "/v1/lists/bodies", admin, R"({"threshold":"high"})", json_ct,
       400, "malformed"},
      {"PATCH", "/v1/lists/{id}", "/v1/lists/nope", admin, R"({"enabled":true})", json_ct, 404,
       "not_found"},
      {"POST", "/v1/lists/{id}/hashes", "/v1/lists/bodies/hashes?format=xml", admin, "00\n", "",
       400, "malformed"},
      {"POST", "/v1/lists/{id}/hashes", "/v1/lists/bodies/hashes?format=hex", admin,
       std::string(6000, '0'), "", 413, "payload_too_large"},
      {"GET", "/v1/lists/{id}/export", "/v1/lists/bodies/export?format=xml", admin, "", "", 400,
       "malformed"},
      {"POST", "/v1/cases/{id}/decision", "/v1/cases/1/decision", reviewer, "{oops", json_ct, 400,
       "malformed"},
  };
  for (const auto& p : probes) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!p.content_type.empty()) headers.emplace_back("Content-Type", p.content_type);
    std::optional<std::string_view> body;
    if (p.method != "GET") body = p.body;
    if (p.status == 413) {
      // The answer comes on the header alone (Content-Length over the limit), and the server
      // closes without reading the body: sending it would race that close (a reset can discard
      // the answer before we read it). So send the header only, as a careful client would.
      headers.emplace_back("Content-Length", std::to_string(p.body.size()));
      body.reset();
    }
    auto r = exchange(port, p.method, p.target, p.key, body, headers);
    INFO(p.method << " " << p.target << " (" << p.body.size() << " bytes)");
    REQUIRE(r);
    INFO(r->status << " " << r->body);
    CHECK(r->status == p.status);
    CHECK(error_code_of(*r) == p.code);
    CHECK(openapi_lists_status(p.method, p.pattern, p.status));
  }
  // Nothing above reached the case store or the audit log as a change.
  auto lists = get_json(port, "/v1/lists", admin);
  REQUIRE(lists.status == 200);
  CHECK(lists.body.at("lists").as_array().size() == 1);
  const auto exit = srv.stop(SIGTERM);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("serve: match.orientations exact, dihedral and off, and the old match.dihedral key") {
  test_database db;
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-serve-dihedral-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string ingest = "ingest-key-for-dihedral-test-0123456";
  const std::string admin = "admin-key-for-dihedral-test-01234567";
  const std::string dih = data_dir + "/pdq-vectors/images/reg-test-input/dih/";
  const std::string original = file_bytes(dih + "bridge-1-original.jpg");
  const std::string rotated = file_bytes(dih + "bridge-2-rotate-90.jpg");
  const std::string mirrored = file_bytes(dih + "bridge-6-flipy.jpg");
  auto start = [&](const std::string& orientation_flag) {
    std::vector<std::string> args{HG_HASHGUARD_BIN,
                                  "serve",
                                  "--http-port=0",
                                  "--database-url=" + db.url(),
                                  "--data-dir=" + dir.string(),
                                  "--auth-keys=ingest:" + ingest,
                                  "--auth-bootstrap-key=" + admin,
                                  "--snapshot-poll-ms=50",
                                  "--http-scan-threads=1"};
    if (!orientation_flag.empty()) args.push_back(orientation_flag);
    return std::make_unique<serve_process>(args);
  };
  auto stop = [](serve_process& p) {
    const auto exit = p.stop(SIGTERM);
    CHECK(exit.exited);
  };
  auto wait_for_entries = [&](std::uint16_t port) {
    for (int i = 0; i < 200; ++i) {
      auto idx = fetch(port, "GET", "/v1/index", admin);
      REQUIRE(idx);
      REQUIRE(idx->status == 200);
      if (json::parse(idx->body).at("sizes").at("pdq").to_number<std::uint64_t>() == 1) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("the snapshot never held the listed hash");
  };
  auto scan_as = [&](std::uint16_t port, const std::string& key, const std::string& image) {
    auto r = post(port, "/v1/scan", key, image);
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    return json::parse(r->body);
  };
  auto scan = [&](std::uint16_t port, const std::string& image) {
    return scan_as(port, ingest, image);
  };

  // The old key, false: upright only.
  auto off = start("--match-dihedral=false");
  auto hashed = post(off->port(), "/v1/hash", ingest, original);
  REQUIRE(hashed);
  REQUIRE(hashed->status == 200);
  const std::string pdq(json::parse(hashed->body).at("hashes").at("pdq").as_string());
  auto created = post(off->port(), "/v1/lists", admin,
                      R"({"name":"dihedral-test","signal":"pdq","threshold":31,"dihedral":true})",
                      {{"Content-Type", "application/json"}});
  REQUIRE(created);
  REQUIRE(created->status == 201);
  auto imported = post(off->port(), "/v1/lists/dihedral-test/hashes?format=hex", admin, pdq + "\n");
  REQUIRE(imported);
  REQUIRE(imported->status == 200);
  auto made = post(off->port(), "/v1/keys", admin,
                   R"({"name":"investigator","role":"ingest","capabilities":["match_details"]})",
                   {{"Content-Type", "application/json"}});
  REQUIRE(made);
  INFO(made->body);
  REQUIRE(made->status == 201);
  const std::string details_key(json::parse(made->body).at("secret").as_string());
  wait_for_entries(off->port());
  CHECK(scan(off->port(), original).at("verdict").as_string() == "match");
  // The list allows rotations and mirrors, but this node searches the original orientation only.
  CHECK(scan(off->port(), rotated).at("verdict").as_string() == "no_match");
  stop(*off);

  // A matched rotation or mirror: its distance, and the orientation named in the detail.
  struct seen {
    int distance;
    std::string orientation;
  };
  auto hit_of = [&](std::uint16_t port, const std::string& image) -> std::optional<seen> {
    const auto v = scan_as(port, details_key, image);
    if (v.at("verdict").as_string() != "match") return std::nullopt;
    const auto hits = v.at("hits").as_array();
    REQUIRE(hits.size() == 1);
    const auto& h = hits.front().as_object();
    std::string orientation;
    if (const auto* d = h.if_contains("detail")) {
      orientation = std::string(d->at("orientation").as_string());
    }
    return seen{static_cast<int>(h.at("distance").to_number<std::int64_t>()), orientation};
  };

  // The reference's dihedral variants (the new key, and the old key's true).
  auto dihedral = start("--match-orientations=dihedral");
  wait_for_entries(dihedral->port());
  const auto by_dihedral = hit_of(dihedral->port(), rotated);
  REQUIRE(by_dihedral);
  // Named by the dihedral variant that matched (the same transform, through the DCT shortcut).
  CHECK((by_dihedral->orientation == "rot90" || by_dihedral->orientation == "rot270"));
  stop(*dihedral);

  // The default, exact: the hashes of the rotated and mirrored pixels; closer than the
  // dihedral shortcut, and the hit says which orientation matched.
  auto exact = start("");
  wait_for_entries(exact->port());
  const auto by_exact = hit_of(exact->port(), rotated);
  REQUIRE(by_exact);
  CHECK(by_exact->distance <= by_dihedral->distance);
  CHECK((by_exact->orientation == "rot90" || by_exact->orientation == "rot270"));
  const auto flipped = hit_of(exact->port(), mirrored);
  REQUIRE(flipped);
  CHECK(flipped->orientation == "flipy");
  const auto upright = hit_of(exact->port(), original);
  REQUIRE(upright);
  CHECK(upright->distance == 0);
  CHECK(upright->orientation.empty());
  // Letterboxed to 16:9 and mirrored: the content inside the bars matches, the hit says what
  // was trimmed and how the content was turned.
  {
    const auto bytes =
        std::span(reinterpret_cast<const std::uint8_t*>(original.data()), original.size());
    const auto decoded = hashguard::scanner::decode(bytes);
    REQUIRE(decoded);
    const auto& picture = decoded->frames.front();
    const std::uint32_t w = picture.width;
    const std::uint32_t h = picture.height;
    const std::uint32_t frame_h = w * 9 / 16 > h ? w * 9 / 16 : h + h / 5;
    const std::uint32_t top = (frame_h - h) / 2;
    std::vector<unsigned> samples(std::size_t{w} * frame_h * 3, 0);
    for (std::uint32_t y = 0; y < h; ++y) {
      for (std::uint32_t x = 0; x < w; ++x) {
        for (std::uint32_t c = 0; c < 3; ++c) {
          samples[(std::size_t{top + y} * w + (w - 1 - x)) * 3 + c] =
              picture.data[(std::size_t{y} * w + x) * 3 + c];
        }
      }
    }
    const auto png = hg_test::png_builder::build(w, frame_h, 8, 2, samples);
    const auto v = scan_as(exact->port(), details_key, std::string(png.begin(), png.end()));
    INFO(json::serialize(v));
    REQUIRE(v.at("verdict").as_string() == "match");
    const auto& detail = v.at("hits").as_array().front().at("detail").as_object();
    CHECK(detail.at("orientation").as_string() == "flipy");
    CHECK(detail.at("trim").at("top").to_number<std::int64_t>() == std::int64_t{top});
    CHECK(detail.at("trim").at("left").to_number<std::int64_t>() == 0);
  }
  // A list with dihedral=false matches upright only, in exact mode too.
  auto patched = exchange(exact->port(), "PATCH", "/v1/lists/dihedral-test", admin,
                          R"({"dihedral":false})", {{"Content-Type", "application/json"}});
  REQUIRE(patched);
  INFO(patched->body);
  REQUIRE(patched->status == 200);
  bool upright_only = false;
  for (int i = 0; i < 200 && !upright_only; ++i) {
    upright_only = scan(exact->port(), rotated).at("verdict").as_string() == "no_match";
    if (!upright_only) std::this_thread::sleep_for(50ms);
  }
  CHECK(upright_only);
  CHECK(scan(exact->port(), original).at("verdict").as_string() == "match");
  stop(*exact);
  std::filesystem::remove_all(dir);
}

TEST_CASE("serve: a source URL over 8 KiB is stored cut and marked, the cache layer's mark too") {
  test_database db;
  const temp_dir dir("hg-serve-url");
  const std::string ingest = "ingest-key-for-url-0123456789abcdef";
  const std::string reviewer = "reviewer-key-for-url-0123456789abcd";
  const std::string admin = "admin-key-for-url-0123456789abcdefg";
  serve_process srv(serve_command({"--database-url=" + db.url(), "--data-dir=" + dir.path.string(),
                                   "--auth-keys=ingest:" + ingest + ",reviewer:" + reviewer,
                                   "--auth-bootstrap-key=" + admin, "--snapshot-poll-ms=50",
                                   "--database-commit-deadline-ms=10000"}));
  const auto port = srv.port();
  const std::string image = file_bytes(match_image);
  make_list(port, admin, "urls", {pdq_of(port, ingest, image)});
  REQUIRE(wait_pdq_entries(port, admin, 1));

  // Answers the event id of a match; stored source_url and its flag read back from PostgreSQL.
  auto scan = [&](std::vector<std::pair<std::string, std::string>> headers) {
    auto r = post(port, "/v1/scan", ingest, image, std::move(headers));
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    const auto v = json::parse(r->body);
    CHECK(v.at("verdict").as_string() == "match");
    return std::string(v.at("event_id").as_string());
  };
  auto stored = [&](const std::string& id) {
    pqxx::connection c(db.url());
    pqxx::read_transaction tx(c);
    auto row = tx.exec_params1(
        "SELECT source_url, source_url_truncated FROM events WHERE id = $1::uuid", id);
    return std::make_pair(row[0].as<std::string>(), row[1].as<bool>());
  };

  // 8,190 ASCII bytes, then a 4-byte character across the 8 KiB line, then more: the stored
  // URL ends before that character and is marked.
  const std::string head = "https://shop.example/" + std::string(8190 - 21, 'a');
  const std::string long_url = head + "\xf0\x9f\x98\x80" + std::string(500, 'b');
  REQUIRE(long_url.size() > 8192);
  const auto cut = stored(scan({{"X-Source-Url", long_url}, {"X-Request-Id", "u1"}}));
  CHECK(cut.first == head);
  CHECK(cut.second);
  // An escape across the line is cut before its '%'.
  const std::string escaped_head = "https://shop.example/" + std::string(8191 - 21, 'c');
  const auto escaped = stored(scan({{"X-Source-Url", escaped_head + "%20tail"}}));
  CHECK(escaped.first == escaped_head);
  CHECK(escaped.second);
  // Exactly 8 KiB is whole.
  const std::string whole = "https://shop.example/" + std::string(8192 - 21, 'd');
  CHECK(stored(scan({{"X-Source-Url", whole}})) == std::make_pair(whole, false));
  // The cache layer's own mark is stored; 0 or no header is not truncated.
  CHECK(
      stored(scan({{"X-Source-Url", "https://shop.example/x"}, {"X-Source-Url-Truncated", "1"}})) ==
      std::make_pair(std::string("https://shop.example/x"), true));
  CHECK(
      stored(scan({{"X-Source-Url", "https://shop.example/y"}, {"X-Source-Url-Truncated", "0"}})) ==
      std::make_pair(std::string("https://shop.example/y"), false));
  // Anything else is refused before any work.
  for (const char* bad : {"yes", "2", "true", "01"}) {
    auto r = post(port, "/v1/scan", ingest, image, {{"X-Source-Url-Truncated", bad}});
    REQUIRE(r);
    INFO(bad << ": " << r->body);
    CHECK(r->status == 400);
    CHECK(error_code_of(*r) == "malformed");
  }
  // A header block over http.header_limit_bytes (16 KiB) stays 431.
  auto huge = post(port, "/v1/scan", ingest, image,
                   {{"X-Source-Url", "https://shop.example/" + std::string(17000, 'z')}});
  REQUIRE(huge);
  CHECK(huge->status == 431);

  // The flag is shown with the event in the case detail.
  const auto case_id = case_of_event(port, reviewer, scan({{"X-Source-Url-Truncated", "1"}}));
  const auto detail = get_json(port, "/v1/cases/" + std::to_string(case_id), reviewer);
  REQUIRE(detail.status == 200);
  require_schema("CaseDetail", detail.body);
  const auto events = detail.body.at("events").as_array();
  int marked = 0;
  for (const auto& e : events) marked += e.at("source_url_truncated").as_bool() ? 1 : 0;
  CHECK(marked == 4);
}

TEST_CASE("serve: a reused request id with other content is its own event") {
  test_database db;
  const temp_dir dir("hg-serve-reuse");
  const std::string ingest = "ingest-key-for-reuse-0123456789abcd";
  const std::string admin = "admin-key-for-reuse-0123456789abcde";
  serve_process srv(serve_command({"--database-url=" + db.url(), "--data-dir=" + dir.path.string(),
                                   "--auth-keys=ingest:" + ingest, "--auth-bootstrap-key=" + admin,
                                   "--snapshot-poll-ms=50", "--http-scan-threads=4",
                                   "--database-commit-deadline-ms=10000"}));
  const auto port = srv.port();
  const std::string image = file_bytes(match_image);
  const std::string image2 = file_bytes(other_image);
  make_list(port, admin, "reuse", {pdq_of(port, ingest, image), pdq_of(port, ingest, image2)});
  REQUIRE(wait_pdq_entries(port, admin, 2));
  auto scan = [&](const std::string& bytes, const std::string& request) {
    auto r = post(port, "/v1/scan", ingest, bytes, {{"X-Zone", "z"}, {"X-Request-Id", request}});
    if (!r || r->status != 200) return std::string("failed: ") + (r ? r->body : "no answer");
    return std::string(json::parse(r->body).at("event_id").as_string());
  };
  auto count = [&](const std::string& sql) {
    pqxx::connection c(db.url());
    pqxx::read_transaction tx(c);
    return tx.exec1(sql)[0].as<int>();
  };
  const auto first = scan(image, "reused");
  const auto other = scan(image2, "reused");
  CHECK(other != first);
  CHECK(scan(image, "reused") == first);  // a retry is still the first event
  CHECK(scan(image2, "reused") == other);
  CHECK(count("SELECT count(*) FROM events WHERE request_id = 'reused'") == 2);

  // Concurrent identical requests: one answer, and that event exists.
  constexpr int callers = 6;
  std::vector<std::string> answers(callers);
  std::vector<std::thread> pool;
  for (int i = 0; i < callers; ++i) {
    pool.emplace_back([&, i] { answers[static_cast<std::size_t>(i)] = scan(image, "raced"); });
  }
  for (auto& t : pool) t.join();
  for (const auto& a : answers) CHECK(a == answers[0]);
  CHECK(count("SELECT count(*) FROM events WHERE request_id = 'raced' AND id = '" + answers[0] +
              "'") == 1);
  CHECK(count("SELECT count(*) FROM events WHERE request_id = 'raced'") == 1);
}
