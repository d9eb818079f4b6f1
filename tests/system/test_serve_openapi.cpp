// handlers/openapi.json against a real `hashguard serve` (real PostgreSQL, real sockets): every
// route of the design table is called at least once (with a success answer, and some with errors),
// every request body sent is checked against the documented request schema, and every answer
// against the documented response of its status and media type. A route the document lacks,
// a status or media type it does not list, or a body that does not fit fails the test.
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "openapi_check.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"

#include <filesystem>
#include <fstream>

#include "hashguard/handlers/routes.hpp"

#include <boost/json.hpp>

#include <set>
#include <utility>

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string ingest = "ingest-key-for-openapi-test-01234567";
const std::string reviewer = "reviewer-key-for-openapi-test-012345";
const std::string reviewer2 = "second-reviewer-key-for-openapi-test";
const std::string reviewer3 = "third-reviewer-key-for-openapi-test0";
const std::string compliance = "compliance-key-for-openapi-test-0123";
const std::string admin = "admin-key-for-openapi-test-012345678";

std::string lines_of(const std::vector<std::string>& problems) {
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  return all;
}

// Calls routes of one serve and checks each exchange against the document; remembers which
// (method, pattern) answered with a 2xx.
class route_caller {
 public:
  explicit route_caller(std::uint16_t port) : port_(port) {}

  /// Sends `target` (a concrete path of `pattern`), REQUIREs `expected` status, checks the
  /// request body (when given and `expected` is a success) and the answer against the
  /// document; returns the answer.
  http_response call(std::string_view method, std::string_view pattern, const std::string& target,
                     std::string_view key, int expected,
                     std::optional<std::string_view> body = std::nullopt,
                     std::string_view content_type = {}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!content_type.empty()) headers.emplace_back("Content-Type", std::string(content_type));
    INFO(method << " " << target);
    // A request meant to be refused need not fit; one meant to succeed must. Query parameters
    // must be documented either way (a refused one still has to exist).
    {
      const auto problems = openapi_query_violations(method, pattern, target, expected < 300);
      INFO(lines_of(problems));
      std::size_t undocumented = 0;
      for (const auto& p : problems) undocumented += p.find("not documented") != std::string::npos;
      CHECK((expected < 300 ? problems.size() : undocumented) == 0);
    }
    if (body && expected < 300) {
      const auto problems = openapi_request_violations(method, pattern, content_type, *body);
      INFO(lines_of(problems));
      CHECK(problems.empty());
    }
    auto r = exchange(port_, method, target, key, body, headers, 60000ms);
    REQUIRE(r);
    INFO(r->body.substr(0, 2000));
    REQUIRE(r->status == expected);
    const auto problems =
        openapi_answer_violations(method, pattern, r->status, r->header("content-type"), r->body);
    INFO(lines_of(problems));
    CHECK(problems.empty());
    if (r->status >= 200 && r->status < 300)
      succeeded_.insert({std::string(method), std::string(pattern)});
    return *r;
  }

  [[nodiscard]] bool succeeded(const std::string& method, const std::string& pattern) const {
    return succeeded_.contains({method, pattern});
  }

 private:
  std::uint16_t port_;
  std::set<std::pair<std::string, std::string>> succeeded_;
};

}  // namespace

TEST_CASE("every design route has an operation in the OpenAPI document with its answers") {
  for (const auto& s : hashguard::handlers::design_routes()) {
    if (s.pattern.starts_with("/ui")) continue;  // the UI's static files are not the JSON API
    INFO(s.method << " " << s.pattern);
    const int success =
        s.method == "POST" && s.pattern == "/v1/cases/{id}/cybertipline" ? 202
        : s.method == "POST" && (s.pattern == "/v1/lists" || s.pattern == "/v1/keys" ||
                                 s.pattern == "/v1/cases/{id}/report")
            ? 201
        : s.pattern == "/v1/exchanges/{name}/sync" || s.pattern == "/v1/cases/{id}/destruction"
            ? 202
            : 200;
    CHECK(openapi_lists_status(s.method, s.pattern, success));
    // Errors share one shape; every route can be refused by a full server.
    CHECK(openapi_lists_status(s.method, s.pattern, 503));
  }
}

TEST_CASE("serve: every route's real answers fit handlers/openapi.json") {
  test_database db;
  temp_dir tmp("hg-serve-openapi");
  // One folder exchange, so the exchange routes have one to show and sync.
  std::filesystem::create_directories(tmp.path / "feed");
  {
    std::ofstream conf(tmp.path / "exchanges.conf");
    conf << "[exchange drop]\nkind = folder\nurl = " << (tmp.path / "feed").string()
         << "\ninterval_s = 3600\nfeed.pdq = drop-pdq threshold=31 action=review\n";
  }
  serve_process srv(
      {HG_HASHGUARD_BIN, "serve", "--http.port=0", "--http.address=127.0.0.1",
       "--database.url=" + db.url(), "--data.dir=" + (tmp.path / "data").string(),
       "--auth.keys=ingest:" + ingest + ",reviewer:" + reviewer + ",reviewer:" + reviewer2 +
           ",reviewer:" + reviewer3 + ",compliance:" + compliance,
       "--auth.bootstrap_key=" + admin, "--snapshot.poll_ms=50", "--evidence.enabled=true",
       "--evidence.key=" + std::string(64, 'a'), "--evidence.retry_ms=50",
       "--http.log_requests=false", "--reporting.allow_no_files=true",
       "--exchanges.file=" + (tmp.path / "exchanges.conf").string()});
  route_caller api(srv.port());
  const auto json_type = std::string_view("application/json");

  // Public routes.
  api.call("GET", "/healthz", "/healthz", {}, 200);
  api.call("GET", "/readyz", "/readyz", {}, 200);
  api.call("GET", "/metrics", "/metrics", {}, 200);
  api.call("GET", "/v1/openapi.json", "/v1/openapi.json", {}, 200);
  api.call("GET", "/v1/index", "/v1/index", {}, 401);

  // Lists: create, import, list, patch, export; the snapshot then holds the image's PDQ.
  const std::string image = file_bytes(
      std::string(HG_TEST_DATA) + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg");
  const auto hashed = json::parse(
      api.call("POST", "/v1/hash", "/v1/hash", ingest, 200, image, "application/octet-stream")
          .body);
  const std::string pdq(hashed.at("hashes").at("pdq").as_string());
  const auto created = json::parse(
      api.call("POST", "/v1/lists", "/v1/lists", admin, 201,
               R"({"name":"openapi-test","signal":"pdq","threshold":31,"action":"review"})",
               json_type)
          .body);
  const std::string list = std::to_string(created.at("id").as_int64());
  api.call("POST", "/v1/lists", "/v1/lists", admin, 409, R"({"name":"openapi-test"})", json_type);
  api.call("POST", "/v1/lists/{id}/hashes", "/v1/lists/" + list + "/hashes?format=hex", admin, 200,
           pdq + "\nnot-a-hash\n", "text/plain");
  api.call("GET", "/v1/lists", "/v1/lists?include_retired=true", admin, 200);
  api.call("PATCH", "/v1/lists/{id}", "/v1/lists/" + list, admin, 200,
           R"({"threshold":31,"action":"block","dihedral":true,"enabled":true})", json_type);
  api.call("GET", "/v1/lists/{id}/export", "/v1/lists/" + list + "/export?format=hex", admin, 200);
  api.call("GET", "/v1/lists/{id}/export", "/v1/lists/999999/export", admin, 404);
  REQUIRE(wait_pdq_entries(srv.port(), admin, 1));
  api.call("GET", "/v1/index", "/v1/index", admin, 200);

  // Keys: made with a capability, listed, revoked; a bad capability is 400.
  const auto made = json::parse(api.call("POST", "/v1/keys", "/v1/keys", admin, 201,
                                         R"({"name":"openapi","role":"ingest",)"
                                         R"("capabilities":["match_details"]})",
                                         json_type)
                                    .body);
  api.call("POST", "/v1/keys", "/v1/keys", admin, 400,
           R"({"name":"openapi","role":"ingest","capabilities":["root"]})", json_type);
  api.call("GET", "/v1/keys", "/v1/keys", admin, 200);
  const std::string key_id = std::to_string(made.at("id").as_int64());
  api.call("DELETE", "/v1/keys/{id}", "/v1/keys/" + key_id, admin, 200);
  api.call("DELETE", "/v1/keys/{id}", "/v1/keys/999999", admin, 404);

  // A key of role exchange reads the list's change feed; other lists are not there for it.
  const auto peer = json::parse(api.call("POST", "/v1/keys", "/v1/keys", admin, 201,
                                         R"({"name":"peer","role":"exchange",)"
                                         R"("lists":["openapi-test"]})",
                                         json_type)
                                    .body);
  const std::string peer_key(peer.at("secret").as_string());
  const std::string changes = "/v1/lists/{id}/changes";
  // A new key works once the node has reloaded its keys (at once, but off this request), and
  // the feed serves the entry once no older transaction on the server can still commit (other
  // tests' transactions on the shared test server can hold that back for a moment).
  REQUIRE(eventually(
      [&] {
        auto r = exchange(srv.port(), "GET", "/v1/lists/" + list + "/changes", peer_key,
                          std::nullopt, {}, 60000ms);
        return r && r->status == 200 && json::parse(r->body).at("changes").as_array().size() == 1;
      },
      30000ms));
  const auto feed = json::parse(
      api.call("GET", changes, "/v1/lists/" + list + "/changes?since=0&limit=10", peer_key, 200)
          .body);
  CHECK(feed.at("changes").as_array().size() == 1);
  api.call("GET", changes, "/v1/lists/drop-pdq/changes", peer_key, 404);
  api.call("GET", changes, "/v1/lists/" + list + "/changes?limit=0", peer_key, 400);
  api.call("GET", changes, "/v1/lists/" + list + "/changes", admin, 403);

  // Exchanges: listed, one shown, a sync started now.
  api.call("GET", "/v1/exchanges", "/v1/exchanges", admin, 200);
  api.call("GET", "/v1/exchanges/{name}", "/v1/exchanges/drop", admin, 200);
  api.call("GET", "/v1/exchanges/{name}", "/v1/exchanges/nope", admin, 404);
  api.call("POST", "/v1/exchanges/{name}/sync", "/v1/exchanges/drop/sync", admin, 202);
  api.call("POST", "/v1/exchanges/{name}/sync", "/v1/exchanges/nope/sync", admin, 404);

  // Matching: hashes as hex strings (arrays are not the documented form, and answer 400).
  api.call("POST", "/v1/match", "/v1/match", ingest, 200, R"({"pdq":")" + pdq + R"("})", json_type);
  const std::string array_body = R"({"pdq":[")" + pdq + R"("]})";
  CHECK_FALSE(openapi_request_violations("POST", "/v1/match", json_type, array_body).empty());
  CHECK(exchange(srv.port(), "POST", "/v1/match", ingest, array_body,
                 {{"Content-Type", "application/json"}})
            ->status == 400);

  // A video: refused by the image route with the route to use; scanned by its own route in
  // the decoder serve runs from beside its binary (no frame is the listed image: no match).
  const std::string video = file_bytes(std::string(HG_TEST_DATA) + "/video/tiny-h264.mp4");
  api.call("POST", "/v1/scan", "/v1/scan", ingest, 415, video, "application/octet-stream");
  const auto video_scan = json::parse(api.call("POST", "/v1/scan/video", "/v1/scan/video", ingest,
                                               200, video, "application/octet-stream")
                                          .body);
  CHECK(video_scan.at("media").as_string() == "video");
  CHECK(video_scan.at("verdict").as_string() == "no_match");
  CHECK(video_scan.at("frames_decoded").as_int64() == 12);

  // A scan that matches opens a case; its evidence is preserved off the request path.
  const auto scanned = json::parse(
      api.call("POST", "/v1/scan", "/v1/scan", ingest, 200, image, "application/octet-stream")
          .body);
  REQUIRE(scanned.at("verdict").as_string() == "match");
  const auto queue =
      json::parse(api.call("GET", "/v1/cases", "/v1/cases?limit=10&offset=0", reviewer, 200).body);
  REQUIRE(queue.at("cases").as_array().size() == 1);
  const std::string case_id = std::to_string(queue.at("cases").at(0).at("id").as_int64());
  api.call("GET", "/v1/cases", "/v1/cases?limit=0", reviewer, 400);
  std::string content;
  REQUIRE(eventually(
      [&] {
        const auto detail = json::parse(
            api.call("GET", "/v1/cases/{id}", "/v1/cases/" + case_id, reviewer, 200).body);
        const auto& file = detail.at("files").at(0);
        content = std::string(file.at("content").as_string());
        return file.at("evidence_preserved").as_bool();
      },
      30s, 100ms));
  api.call("GET", "/v1/cases/{id}", "/v1/cases/999999", reviewer, 404);
  const std::string reveal = "/v1/cases/" + case_id + "/files/" + content + "/reveal";
  const std::string reveal_pattern = "/v1/cases/{id}/files/{content}/reveal";
  api.call("POST", reveal_pattern, reveal, reviewer, 200, R"({"view":"preview"})", json_type);
  api.call("POST", reveal_pattern, reveal, reviewer, 200, R"({"purpose":"openapi test"})",
           json_type);
  api.call("POST", reveal_pattern, reveal, reviewer2, 200, R"({"view":"original"})", json_type);
  const std::string decide = "/v1/cases/" + case_id + "/decision";
  const std::string decision_pattern = "/v1/cases/{id}/decision";
  api.call("POST", decision_pattern, decide, reviewer, 422,
           R"({"decision":"confirmed","note":" "})", json_type);
  api.call("POST", decision_pattern, decide, reviewer, 200,
           R"({"decision":"confirmed","note":"known image","classification":"A1"})", json_type);
  // Two reviewers disagree (disputed: not reportable), an admin rules, the case is locked.
  api.call("POST", decision_pattern, decide, reviewer2, 200,
           R"({"decision":"false_positive","note":"looks innocent"})", json_type);
  api.call("POST", "/v1/cases/{id}/report", "/v1/cases/" + case_id + "/report", compliance, 409,
           R"({"report_id":"R-0"})", json_type);
  api.call("POST", "/v1/cases/{id}/ruling", "/v1/cases/" + case_id + "/ruling", admin, 200,
           R"({"decision":"confirmed","note":"known image","classification":"A1"})", json_type);
  api.call("POST", decision_pattern, decide, reviewer3, 409,
           R"({"decision":"escalated","note":"late"})", json_type);
  api.call("POST", "/v1/cases/{id}/reopen", "/v1/cases/" + case_id + "/reopen", reviewer3, 200,
           R"({"reason":"a second look"})", json_type);
  api.call("POST", "/v1/cases/{id}/reopen", "/v1/cases/" + case_id + "/reopen", reviewer, 409,
           R"({"reason":"I decided it"})", json_type);
  api.call("POST", "/v1/cases/{id}/report", "/v1/cases/" + case_id + "/report", compliance, 201,
           R"({"report_id":"R-1","file_ids":["F-1"],"submitted_at":"2026-01-02T03:04:05Z",)"
           R"("environment":"test","responses":{"ok":true}})",
           json_type);
  api.call("POST", "/v1/cases/{id}/report", "/v1/cases/" + case_id + "/report", compliance, 422,
           R"({"file_ids":["F-1"]})", json_type);
  // CyberTipline filing: no credentials configured here, so the job stays queued (nothing is
  // sent anywhere) and the check answers ok false without a call.
  const std::string filing = "/v1/cases/" + case_id + "/cybertipline";
  api.call("POST", "/v1/cases/{id}/cybertipline", filing, compliance, 202);
  api.call("POST", "/v1/cases/{id}/cybertipline", filing, compliance, 409);
  api.call("GET", "/v1/cases/{id}/cybertipline", filing, compliance, 200);
  api.call("GET", "/v1/cases/{id}/cybertipline", "/v1/cases/999999/cybertipline", compliance, 404);
  api.call("GET", "/v1/cases/{id}/cybertipline/preview", filing + "/preview", compliance, 200);
  api.call("GET", "/v1/cases/{id}/cybertipline/preview", filing + "/preview?part=fileDetails-9.xml",
           compliance, 404);
  api.call("GET", "/v1/cybertipline/queue", "/v1/cybertipline/queue?limit=5", compliance, 200);
  api.call("GET", "/v1/cybertipline/queue", "/v1/cybertipline/queue?limit=0", compliance, 400);
  api.call("POST", "/v1/reporting/check", "/v1/reporting/check", admin, 200);
  api.call("GET", "/v1/decisions", "/v1/decisions?limit=10", ingest, 200);
  api.call("GET", "/v1/decisions", "/v1/decisions?limit=0", ingest, 400);

  // Compliance: exports in both formats, the package, the audit trail paged with before.
  const std::string range = "from=2000-01-01&to=2100-01-01";
  for (const std::string what : {"cases", "events", "aggregate"}) {
    const std::string pattern = "/v1/exports/" + what;
    api.call("GET", pattern, pattern + "?" + range, compliance, 200);
    const auto as_json =
        api.call("GET", pattern, pattern + "?format=json&" + range, compliance, 200);
    CHECK_FALSE(json::parse(as_json.body).as_array().empty());
    api.call("GET", pattern, pattern, compliance, 400);
  }
  api.call("GET", "/v1/exports/cases/{id}/cybertipline",
           "/v1/exports/cases/" + case_id + "/cybertipline", compliance, 200);
  api.call("GET", "/v1/exports/cases/{id}/cybertipline",
           "/v1/exports/cases/" + case_id + "/cybertipline?part=report.xml", compliance, 200);
  const auto page =
      json::parse(api.call("GET", "/v1/audit", "/v1/audit?limit=2", compliance, 200).body);
  REQUIRE(page.at("entries").as_array().size() == 2);
  const auto last = page.at("entries").at(1).at("id").as_int64();
  const auto older =
      json::parse(api.call("GET", "/v1/audit", "/v1/audit?limit=2&before=" + std::to_string(last),
                           compliance, 200)
                      .body);
  for (const auto& e : older.at("entries").as_array()) CHECK(e.at("id").as_int64() < last);
  api.call("GET", "/v1/audit", "/v1/audit?before=x", compliance, 400);
  api.call("GET", "/v1/audit/verify", "/v1/audit/verify", compliance, 200);

  // Issue 19's compliance routes: the read-only case, holds, destruction, audit filters/export.
  const std::string cbase = "/v1/cases/" + case_id;
  api.call("GET", "/v1/cases/{id}/compliance", cbase + "/compliance?limit=5", compliance, 200);
  api.call("GET", "/v1/cases/{id}/compliance", "/v1/cases/999999/compliance", compliance, 404);
  api.call("POST", "/v1/cases/{id}/hold", cbase + "/hold", compliance, 422, R"({"reason":" "})",
           json_type);
  api.call("POST", "/v1/cases/{id}/hold", cbase + "/hold", compliance, 200,
           R"({"reason":"openapi test","until":"2099-01-01"})", json_type);
  api.call("POST", "/v1/cases/{id}/hold/lift", cbase + "/hold/lift", compliance, 200,
           R"({"reason":"openapi test"})", json_type);
  api.call("POST", "/v1/cases/{id}/hold/lift", cbase + "/hold/lift", compliance, 409,
           R"({"reason":"openapi test"})", json_type);
  api.call("POST", "/v1/cases/{id}/destruction/approve", cbase + "/destruction/approve", admin, 404,
           "{}", json_type);
  api.call("POST", "/v1/cases/{id}/destruction", cbase + "/destruction", compliance, 202,
           R"({"reference":"LE-openapi-1"})", json_type);
  api.call("POST", "/v1/cases/{id}/destruction", cbase + "/destruction", compliance, 409,
           R"({"reference":"LE-openapi-2"})", json_type);
  api.call("POST", "/v1/cases/{id}/destruction/approve", cbase + "/destruction/approve", admin, 200,
           "{}", json_type);
  api.call("GET", "/v1/audit", "/v1/audit?limit=5&action=case.*&case=" + case_id + "&" + range,
           compliance, 200);
  api.call("GET", "/v1/audit", "/v1/audit?actor=nobody", compliance, 200);
  api.call("GET", "/v1/audit", "/v1/audit?case=x", compliance, 400);
  api.call("GET", "/v1/exports/audit", "/v1/exports/audit?case=" + case_id, compliance, 200);
  api.call("GET", "/v1/exports/audit", "/v1/exports/audit?format=json&action=case.*&" + range,
           compliance, 200);
  api.call("GET", "/v1/exports/audit", "/v1/exports/audit?format=xml", compliance, 400);

  // Errors keep their shape too: wrong role, and retiring the list last (after disabling the
  // entry that matched).
  api.call("GET", "/v1/audit", "/v1/audit", reviewer, 403);
  const auto detail =
      json::parse(api.call("GET", "/v1/cases/{id}", "/v1/cases/" + case_id, reviewer, 200).body);
  const auto entry = detail.at("events").at(0).at("hits").at(0).at("entry_id").as_int64();
  const std::string entry_path = "/v1/lists/" + list + "/entries/" + std::to_string(entry);
  for (const std::string verb : {"quarantine", "restore"}) {
    const std::string pattern = "/v1/lists/{id}/entries/{entry}/" + verb;
    api.call("POST", pattern, entry_path + "/" + verb, admin, 200, R"({"reason":"openapi test"})",
             json_type);
    api.call("POST", pattern, "/v1/lists/" + list + "/entries/999999/" + verb, admin, 404,
             R"({"reason":"openapi test"})", json_type);
  }
  api.call("GET", "/v1/floods", "/v1/floods?include_cleared=true", admin, 200);
  api.call("GET", "/v1/floods", "/v1/floods?limit=0", admin, 400);
  const std::string disable_pattern = "/v1/lists/{id}/entries/{entry}/disable";
  api.call("POST", disable_pattern,
           "/v1/lists/" + list + "/entries/" + std::to_string(entry) + "/disable", admin, 200,
           R"({"reason":"openapi test"})", json_type);
  api.call("POST", disable_pattern, "/v1/lists/" + list + "/entries/999999/disable", admin, 404,
           R"({"reason":"openapi test"})", json_type);
  api.call("DELETE", "/v1/lists/{id}", "/v1/lists/" + list, admin, 200);
  api.call("DELETE", "/v1/lists/{id}", "/v1/lists/999999", admin, 404);

  for (const auto& s : hashguard::handlers::design_routes()) {
    if (s.pattern.starts_with("/ui")) continue;
    INFO("no success answer checked for " << s.method << " " << s.pattern);
    CHECK(api.succeeded(s.method, s.pattern));
  }
}
