// Issue 19's compliance side of `hashguard serve`, over real sockets on the fixture's
// PostgreSQL:
//  - the uploader headers (X-Uploader-Account / -Ip / -Time): refused with a clear 400 when
//    malformed, stored with the event, shown to compliance (never to reviewers), written into
//    report.xml's personOrUserReported, never in the request log, gone with a dismissed case's
//    events when the purge reduces it;
//  - holds: a finished production report puts the case on a year's hold (reporting.hold_days,
//    never fewer than 365), shown in the case JSON and exports; a legal hold is set and lifted
//    with a reason (audited) and lifting never ends the report hold; a purge refuses a held
//    case and says why; a law-enforcement destruction needs a compliance request and an admin
//    approval (another key), overrides the holds and is audited with its reference;
//  - the audit filters (actor, action, case, dates) and the audit export (CSV, JSON, custody).
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"
#include "system_support.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <string>

#include <signal.h>

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string data_dir = HG_TEST_DATA;
const std::string match_image =
    data_dir + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg";

const std::string ingest = "ingest-key-for-holds-test-0123456789";
const std::string reviewer = "reviewer-key-for-holds-test-01234567";
const std::string compliance = "compliance-key-for-holds-test-012345";
const std::string admin = "admin-key-for-holds-test-012345678901";
const std::string evidence_key(64, 'b');

using header_list = std::vector<std::pair<std::string, std::string>>;

http_response call(std::uint16_t port, std::string_view method, const std::string& target,
                   std::string_view key, std::optional<std::string_view> body = std::nullopt,
                   header_list headers = {}) {
  if (body && method != "GET") headers.emplace_back("Content-Type", "application/json");
  auto r = exchange(port, method, target, key, body, headers, 20000ms);
  REQUIRE(r);
  return *r;
}

json::value json_of(const http_response& r) {
  INFO(r.status << " " << r.body);
  return json::parse(r.body);
}

std::int64_t count(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

void exec(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec0(sql);
  tx.commit();
}

std::vector<std::string> serve_args(const std::string& db_url, const std::filesystem::path& dir,
                                    bool evidence, bool log_requests) {
  std::vector<std::string> a{
      HG_HASHGUARD_BIN,
      "serve",
      "--http.port=0",
      "--http.address=127.0.0.1",
      "--database.url=" + db_url,
      "--data.dir=" + (dir / "data").string(),
      "--auth.keys=ingest:" + ingest + ",reviewer:" + reviewer + ",compliance:" + compliance,
      "--auth.bootstrap_key=" + admin,
      "--snapshot.poll_ms=50",
      "--cases.required_confirmations=1",
      "--reporting.hold_days=400",
      "--retention.purge_interval_s=0",
      std::string("--http.log_requests=") + (log_requests ? "true" : "false")};
  if (evidence) {
    a.push_back("--evidence.enabled=true");
    a.push_back("--evidence.key=" + evidence_key);
    a.push_back("--evidence.retry_ms=50");
  }
  return a;
}

std::string image_bytes() {
  return file_bytes(match_image);
}

// Scans the match image from `zone` with extra headers; returns the answer.
http_response scan(std::uint16_t port, const std::string& zone, const std::string& request_id,
                   header_list extra = {}) {
  extra.emplace_back("X-Zone", zone);
  extra.emplace_back("X-Request-Id", request_id);
  extra.emplace_back("X-Source-Url", "https://" + zone + "/img.jpg");
  return call(port, "POST", "/v1/scan", ingest, image_bytes(), extra);
}

std::int64_t case_of(const std::string& url, const std::string& event_id) {
  std::int64_t id = 0;
  REQUIRE(eventually(
      [&] {
        pqxx::connection pc(url);
        pqxx::read_transaction tx(pc);
        auto r = tx.exec_params("SELECT case_id FROM events WHERE id = $1::uuid", event_id);
        if (r.empty() || r[0][0].is_null()) return false;
        id = r[0][0].as<std::int64_t>();
        return true;
      },
      30s));
  return id;
}

void make_match_list(std::uint16_t port) {
  hg_test::make_list(port, admin, "holds-test", {pdq_of(port, ingest, image_bytes())});
  REQUIRE(wait_pdq_entries(port, admin, 1));
}

std::string iso_in_days(int days) {
  const std::time_t t = std::time(nullptr) + static_cast<std::time_t>(days) * 86400;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool has_audit(std::uint16_t port, const std::string& query, const std::string& action,
               const std::string& needle = {}) {
  const auto page = json_of(call(port, "GET", "/v1/audit?limit=1000&" + query, compliance));
  for (const auto& e : page.at("entries").as_array()) {
    if (e.at("action").as_string() != action) continue;
    if (needle.empty() || std::string(e.at("detail").as_string()).find(needle) != std::string::npos)
      return true;
  }
  return false;
}

}  // namespace

TEST_CASE("serve: uploader headers are validated, stored, reported, never logged, purged") {
  test_database db;
  temp_dir tmp("hg-serve-uploader");
  serve_process srv(serve_args(db.url(), tmp.path, false, true));
  const auto port = srv.port();
  make_match_list(port);

  // Malformed values: a clear 400 naming the header, never echoing the value.
  const std::string secret_ip = "198.51.100.77";
  const std::string future = iso_in_days(1);
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"X-Uploader-Ip", secret_ip + ":8080"},
           {"X-Uploader-Ip", "[2001:db8::1]"},
           {"X-Uploader-Ip", "not-an-address"},
           {"X-Uploader-Time", "2026-11-30 10:00:00"},
           {"X-Uploader-Time", "2026-11-30T10:00:00"},
           {"X-Uploader-Time", future},
           {"X-Uploader-Account", std::string(257, 'a')},
           {"X-Uploader-Account", "bad\taccount"}}) {
    INFO(name << ": " << value);
    const auto r = scan(port, "bad.example", "bad-" + name, {{name, value}});
    CHECK(r.status == 400);
    CHECK(r.body.find(name) != std::string::npos);
    CHECK(r.body.find("malformed") != std::string::npos);
    CHECK((value.size() < 8 || r.body.find(value) == std::string::npos));
  }

  // A good one: the IP is stored canonical, the time in UTC.
  const auto ok = scan(port, "uploads.example", "up-1",
                       {{"X-Uploader-Account", "user-42@uploads"},
                        {"X-Uploader-Ip", "2001:DB8:0:0::7"},
                        {"X-Uploader-Time", "2026-12-07T11:00:00+01:00"}});
  REQUIRE(ok.status == 200);
  const auto event_id = std::string(json_of(ok).at("event_id").as_string());
  const auto ok2 = scan(port, "uploads.example", "up-2",
                        {{"X-Uploader-Account", "user-42@uploads"},
                         {"X-Uploader-Ip", secret_ip},
                         {"X-Uploader-Time", "2026-12-07T09:30:00Z"}});
  REQUIRE(ok2.status == 200);
  const std::int64_t case_id = case_of(db.url(), event_id);
  const std::string id = std::to_string(case_id);
  CHECK(count(db.url(),
              "SELECT count(*) FROM events WHERE uploader_ip = '2001:db8::7'"
              " AND uploader_at = '2026-12-07T10:00:00Z'"
              " AND uploader_account = 'user-42@uploads'") == 1);

  // Compliance sees the reported person; a reviewer's case view has no uploader at all.
  const auto view = json_of(call(port, "GET", "/v1/cases/" + id + "/compliance", compliance));
  const auto& uploaders = view.at("uploaders").as_array();
  REQUIRE(uploaders.size() == 1);
  CHECK(uploaders[0].at("account").as_string() == "user-42@uploads");
  const auto& evs = uploaders[0].at("upload_events").as_array();
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].at("ip").as_string() == "2001:db8::7");
  CHECK(evs[0].at("at").as_string() == "2026-12-07T10:00:00.000000Z");
  CHECK(evs[1].at("ip").as_string() == secret_ip);
  CHECK(call(port, "GET", "/v1/cases/" + id + "/compliance", reviewer).status == 403);
  const auto reviewer_view = call(port, "GET", "/v1/cases/" + id, reviewer);
  REQUIRE(reviewer_view.status == 200);
  CHECK(reviewer_view.body.find("user-42") == std::string::npos);
  CHECK(reviewer_view.body.find(secret_ip) == std::string::npos);

  // report.xml: personOrUserReported after reporter, before additionalInfo, in XSD order.
  const auto xml =
      call(port, "GET", "/v1/exports/cases/" + id + "/cybertipline?part=report.xml", compliance);
  REQUIRE(xml.status == 200);
  const auto& x = xml.body;
  const auto person = x.find("<personOrUserReported>");
  REQUIRE(person != std::string::npos);
  CHECK(x.find("</reporter>") < person);
  CHECK(person < x.rfind("<additionalInfo>"));
  CHECK(x.find("<espIdentifier>user-42@uploads</espIdentifier>") != std::string::npos);
  CHECK(x.find("<ipCaptureEvent>\n      <ipAddress>2001:db8::7</ipAddress>\n      "
               "<eventName>Upload</eventName>\n      <dateTime>2026-12-07T10:00:00.000000Z"
               "</dateTime>") != std::string::npos);
  CHECK(x.find("<ipAddress>" + secret_ip + "</ipAddress>") != std::string::npos);
  // The events export carries them too (compliance's record of the sighting).
  const auto events =
      call(port, "GET", "/v1/exports/events?format=json&from=2000-01-01&to=2100-01-01", compliance);
  REQUIRE(events.status == 200);
  CHECK(events.body.find("\"uploader_ip\":\"2001:db8::7\"") != std::string::npos);

  // A dismissed case: its uploader data goes with its events when the purge reduces it.
  const auto fp = scan(port, "innocent.example", "fp-1",
                       {{"X-Uploader-Account", "innocent-1"}, {"X-Uploader-Ip", "192.0.2.9"}});
  REQUIRE(fp.status == 200);
  const std::int64_t fp_case =
      case_of(db.url(), std::string(json_of(fp).at("event_id").as_string()));
  const auto decided = call(port, "POST", "/v1/cases/" + std::to_string(fp_case) + "/decision",
                            reviewer, R"({"decision":"false_positive","note":"not the item"})");
  INFO(decided.body);
  REQUIRE(decided.status == 200);
  exec(db.url(), "UPDATE cases SET dismissed_at = now() - interval '400 days' WHERE id = " +
                     std::to_string(fp_case));
  const auto out_file = tmp.path / "purge.out";
  const std::string cmd = std::string(HG_HASHGUARD_BIN) + " cases purge --database.url='" +
                          db.url() + "' > " + out_file.string() + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);  // NOLINT: test-only shell
  CHECK(count(db.url(),
              "SELECT count(*) FROM events WHERE uploader_account = 'innocent-1'"
              " OR uploader_ip = '192.0.2.9'") == 0);
  CHECK(count(db.url(), "SELECT count(*) FROM events WHERE uploader_account = 'user-42@uploads'") ==
        2);

  // Never logged: neither the request log nor anything else serve wrote holds them.
  CHECK(srv.stop(SIGTERM).code == 0);
  const std::string log = srv.out_text() + srv.err_text();
  CHECK(log.find("\"route\":\"/v1/scan\"") != std::string::npos);  // the log is on
  CHECK(log.find(secret_ip) == std::string::npos);
  CHECK(log.find("2001:db8::7") == std::string::npos);
  CHECK(log.find("user-42") == std::string::npos);
  CHECK(log.find("innocent-1") == std::string::npos);
}

TEST_CASE("serve: report hold, legal hold, purge refusal and law-enforcement destruction") {
  test_database db;
  temp_dir tmp("hg-serve-holds");
  serve_process srv(serve_args(db.url(), tmp.path, true, false));
  const auto port = srv.port();
  make_match_list(port);
  const auto hit = scan(port, "held.example", "h-1");
  REQUIRE(hit.status == 200);
  const std::int64_t case_id =
      case_of(db.url(), std::string(json_of(hit).at("event_id").as_string()));
  const std::string id = std::to_string(case_id);
  const std::string base = "/v1/cases/" + id;
  REQUIRE(eventually(
      [&] { return count(db.url(), "SELECT count(*) FROM evidence WHERE case_id = " + id) == 1; },
      60s));
  REQUIRE(call(port, "POST", base + "/decision", reviewer,
               R"({"decision":"confirmed","note":"known","classification":"A1"})")
              .status == 200);

  // A test report starts no hold; a finished production report holds the case for
  // reporting.hold_days (400 here) from its finish.
  REQUIRE(call(port, "POST", base + "/report", compliance,
               R"({"report_id":"T-1","environment":"test","finished_at":"2026-12-01T00:00:00Z"})")
              .status == 201);
  auto view = json_of(call(port, "GET", base + "/compliance", compliance));
  CHECK(!view.at("holds").at("held").as_bool());
  CHECK(view.at("holds").at("report_hold_until").is_null());
  const std::string finished = iso_in_days(-1);
  REQUIRE(call(port, "POST", base + "/report", compliance,
               R"({"report_id":"P-1","environment":"production","submitted_at":")" + finished +
                   R"(","finished_at":")" + finished + R"("})")
              .status == 201);
  view = json_of(call(port, "GET", base + "/compliance", compliance));
  const auto& holds = view.at("holds");
  CHECK(holds.at("held").as_bool());
  const std::string until = std::string(holds.at("report_hold_until").as_string());
  CHECK(until.substr(0, 10) == iso_in_days(399).substr(0, 10));
  CHECK(std::string(holds.at("held_because").as_string()).find("finished CyberTipline report") !=
        std::string::npos);
  CHECK(view.at("case").at("report_hold_until") == holds.at("report_hold_until"));
  // The reviewer's case JSON and the cases export show the end date too.
  CHECK(json_of(call(port, "GET", base, reviewer)).at("case").at("report_hold_until") ==
        holds.at("report_hold_until"));
  const auto cases_csv =
      call(port, "GET", "/v1/exports/cases?from=2000-01-01&to=2100-01-01", compliance);
  CHECK(cases_csv.body.find("report_hold_until") != std::string::npos);
  CHECK(cases_csv.body.find(until) != std::string::npos);
  CHECK(has_audit(port, "case=" + id, "case.report_hold", "\"days\":400"));

  // Legal hold: a reason is required; set, shown, audited.
  CHECK(call(port, "POST", base + "/hold", compliance, R"({"reason":"  "})").status == 422);
  CHECK(call(port, "POST", base + "/hold", compliance,
             R"({"reason":"x","until":"2001-01-01T00:00:00Z"})")
            .status == 422);
  CHECK(call(port, "POST", base + "/hold", reviewer, R"({"reason":"x"})").status == 403);
  const auto set = json_of(
      call(port, "POST", base + "/hold", compliance,
           R"({"reason":"preservation letter PL-9","until":")" + iso_in_days(900) + R"("})"));
  CHECK(set.at("holds").at("legal_hold").at("reason").as_string() == "preservation letter PL-9");
  CHECK(!set.at("holds").at("legal_hold").at("set_by").is_null());
  CHECK(has_audit(port, "case=" + id + "&action=case.legal_hold", "case.legal_hold", "PL-9"));
  // Lifting needs a reason and leaves the report hold in place.
  CHECK(call(port, "POST", base + "/hold/lift", compliance, "{}").status == 422);
  const auto lifted = json_of(
      call(port, "POST", base + "/hold/lift", compliance, R"({"reason":"letter withdrawn"})"));
  CHECK(lifted.at("holds").at("legal_hold").is_null());
  CHECK(lifted.at("holds").at("held").as_bool());
  CHECK(lifted.at("holds").at("report_hold_until") == holds.at("report_hold_until"));
  CHECK(call(port, "POST", base + "/hold/lift", compliance, R"({"reason":"again"})").status == 409);
  CHECK(has_audit(port, "case=" + id, "case.legal_hold_lift", "letter withdrawn"));

  // A purge of the case, its preservation deadline moved into the past, is refused while the
  // report hold runs, and says why; its evidence stays.
  exec(db.url(), "UPDATE cases SET preserve_until = now() - interval '1 day' WHERE id = " + id);
  const auto out_file = tmp.path / "purge.out";
  const std::string cmd = std::string(HG_HASHGUARD_BIN) + " cases purge --case " + id +
                          " --database.url='" + db.url() + "' > " + out_file.string() + " 2>&1";
  CHECK(std::system(cmd.c_str()) != 0);  // NOLINT: test-only shell
  const std::string printed = file_bytes(out_file.string());
  INFO(printed);
  CHECK(printed.find("preservation hold of a finished CyberTipline report") != std::string::npos);
  CHECK(count(db.url(), "SELECT count(*) FROM evidence WHERE case_id = " + id) == 1);

  // Destruction on a law-enforcement request: compliance asks with the reference, an admin
  // approves; compliance cannot approve, and nothing is destroyed before the approval.
  CHECK(call(port, "POST", base + "/destruction", compliance, R"({"reference":" "})").status ==
        422);
  CHECK(call(port, "POST", base + "/destruction/approve", admin, "{}").status == 404);
  const auto asked = json_of(
      call(port, "POST", base + "/destruction", compliance, R"({"reference":"LE-2026-0042"})"));
  CHECK(asked.at("state").as_string() == "pending");
  CHECK(call(port, "POST", base + "/destruction", compliance, R"({"reference":"again"})").status ==
        409);
  CHECK(call(port, "POST", base + "/destruction/approve", compliance, "{}").status == 403);
  CHECK(count(db.url(), "SELECT count(*) FROM evidence WHERE case_id = " + id) == 1);
  const auto done = json_of(call(port, "POST", base + "/destruction/approve", admin, "{}"));
  CHECK(done.at("state").as_string() == "destroyed");
  CHECK(done.at("destroyed").as_int64() == 1);
  CHECK(done.at("reference").as_string() == "LE-2026-0042");
  CHECK(count(db.url(), "SELECT count(*) FROM evidence WHERE case_id = " + id) == 0);
  CHECK(has_audit(port, "case=" + id, "evidence.destruction_request", "LE-2026-0042"));
  CHECK(has_audit(port, "case=" + id, "evidence.destroy", "LE-2026-0042"));
  view = json_of(call(port, "GET", base + "/compliance", compliance));
  CHECK(!view.at("holds").at("evidence_destroyed_at").is_null());
  CHECK(view.at("holds").at("destruction_requests").as_array().size() == 1);
  CHECK(srv.stop(SIGTERM).code == 0);
}

TEST_CASE("serve: the audit trail filtered by actor, action, case and dates, and exported") {
  test_database db;
  temp_dir tmp("hg-serve-audit");
  serve_process srv(serve_args(db.url(), tmp.path, false, false));
  const auto port = srv.port();
  make_match_list(port);
  std::vector<std::int64_t> cases;
  for (const std::string zone : {"a.example", "b.example"}) {
    const auto r = scan(port, zone, "req-" + zone);
    REQUIRE(r.status == 200);
    cases.push_back(case_of(db.url(), std::string(json_of(r).at("event_id").as_string())));
  }
  for (auto c : cases) {
    REQUIRE(call(port, "GET", "/v1/cases/" + std::to_string(c), reviewer).status == 200);
  }
  REQUIRE(call(port, "POST", "/v1/cases/" + std::to_string(cases[0]) + "/hold", compliance,
               R"({"reason":"filter test"})")
              .status == 200);

  auto entries = [&](const std::string& q) {
    const auto r = call(port, "GET", "/v1/audit?limit=1000&" + q, compliance);
    INFO(q << " " << r.body);
    REQUIRE(r.status == 200);
    return json::parse(r.body).at("entries").as_array();
  };
  const std::string a = "case:" + std::to_string(cases[0]);
  const auto by_case = entries("case=" + std::to_string(cases[0]));
  REQUIRE(by_case.size() == 2);  // the view and the hold
  for (const auto& e : by_case) CHECK(e.at("subject").as_string() == a);
  const auto views = entries("action=case.view");
  CHECK(views.size() == 2);
  for (const auto& e : views) CHECK(e.at("action").as_string() == "case.view");
  const auto prefixed = entries("action=case.*");
  CHECK(prefixed.size() == 3);
  // '_' and '%' in a prefix are themselves: nothing starts with "case_".
  CHECK(entries("action=case_*").empty());
  const auto mine = entries("actor=" + std::string(views[0].at("actor").as_string()));
  for (const auto& e : mine) CHECK(e.at("actor") == views[0].at("actor"));
  CHECK(mine.size() >= 2);
  CHECK(entries("from=2000-01-01&to=2000-01-02").empty());
  CHECK(entries("from=2000-01-01&to=2100-01-01").size() >= 3);
  CHECK(call(port, "GET", "/v1/audit?case=x", compliance).status == 400);
  CHECK(call(port, "GET", "/v1/audit?from=2026-13-01", compliance).status == 400);
  CHECK(call(port, "GET", "/v1/audit?from=2026-02-01&to=2026-01-01", compliance).status == 400);
  // Paging carries the filter: a page of one, then the next older one of the same filter.
  const auto first = json_of(call(port, "GET", "/v1/audit?limit=1&action=case.view", compliance));
  REQUIRE(!first.at("next_before").is_null());
  const auto second = json_of(call(port, "GET",
                                   "/v1/audit?limit=1&action=case.view&before=" +
                                       std::to_string(first.at("next_before").as_int64()),
                                   compliance));
  REQUIRE(second.at("entries").as_array().size() == 1);
  CHECK(second.at("entries").at(0).at("action").as_string() == "case.view");

  // The export: the same rows oldest first, with a custody record of its own.
  const auto csv = call(port, "GET", "/v1/exports/audit?action=case.*", compliance);
  REQUIRE(csv.status == 200);
  CHECK(csv.body.rfind("id,at,actor,action,subject,detail,row_hash\r\n", 0) == 0);
  std::size_t lines = 0;
  for (char ch : csv.body) lines += ch == '\n';
  CHECK(lines == 4);  // header + 3 rows (the details hold no line breaks)
  const auto js = call(
      port, "GET", "/v1/exports/audit?format=json&case=" + std::to_string(cases[1]), compliance);
  REQUIRE(js.status == 200);
  const auto rows = json::parse(js.body).as_array();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].at("subject").as_string() == "case:" + std::to_string(cases[1]));
  const auto custody = entries("action=export");
  REQUIRE(custody.size() == 2);
  CHECK(custody[0].at("subject").as_string() == "export:audit");
  CHECK(std::string(custody[0].at("detail").as_string())
            .find("\"case\":" + std::to_string(cases[1])) != std::string::npos);
  CHECK(call(port, "GET", "/v1/exports/audit?format=xml", compliance).status == 400);
  CHECK(call(port, "GET", "/v1/exports/audit", reviewer).status == 403);
  CHECK(srv.stop(SIGTERM).code == 0);
}
