// `hashguard serve` files CyberTipline reports (issue 19) over real sockets, against the fake
// ISPWS (tests/reporting/support) and the fixture's PostgreSQL:
//  - the flow: a scanned, preserved, two-person-confirmed case in the queue; its preview; POST
//    /v1/cases/{id}/cybertipline queues the job, serve's report task files it (submit, upload of
//    the preserved bytes, fileinfo, finish); the receipt; the evidence.report_upload audit; the
//    record-only route and a second job refused (job_exists); /metrics; the admin check;
//  - the refusals: not_confirmed, harm_type_refused, report_recorded, no_evidence;
//  - the crash test: serve SIGKILLed at every step boundary of one job (submit, upload,
//    fileinfo, finish), restarted each time: exactly one finished report at the fake, none open.
#include "fake_ispws.hpp"
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"

#include <openssl/sha.h>
#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <signal.h>

#include <memory>

using namespace hg_test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

const std::string data_dir = HG_TEST_DATA;
const std::string match_image =
    data_dir + "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg";

const std::string ingest = "ingest-key-for-filing-test-0123456789";
const std::string reviewer = "reviewer-key-for-filing-test-01234567";
const std::string reviewer2 = "second-reviewer-key-for-filing-test01";
const std::string compliance = "compliance-key-for-filing-test-012345";
const std::string admin = "admin-key-for-filing-test-0123456789ab";
const std::string json_type = "application/json";

std::string sha256_hex(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : d) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::int64_t count(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

std::int64_t exec_id(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  const auto id = tx.exec1(sql)[0].as<std::int64_t>();
  tx.commit();
  return id;
}

struct filing_env {
  test_database db;
  temp_dir tmp{"hg-serve-filing"};
  fake_ispws fake{"esp-test-user", "esp-test-pass"};
  std::unique_ptr<serve_process> srv;

  std::vector<std::string> args() const {
    return {HG_HASHGUARD_BIN,
            "serve",
            "--http.port=0",
            "--http.address=127.0.0.1",
            "--database.url=" + db.url(),
            "--data.dir=" + (tmp.path / "data").string(),
            "--auth.keys=ingest:" + ingest + ",reviewer:" + reviewer + ",reviewer:" + reviewer2 +
                ",compliance:" + compliance,
            "--auth.bootstrap_key=" + admin,
            "--snapshot.poll_ms=50",
            "--evidence.enabled=true",
            "--evidence.key=" + std::string(64, 'a'),
            "--evidence.retry_ms=50",
            "--http.log_requests=false",
            "--reporting.base_url=" + fake.base_url(),
            "--reporting.lease_s=1",
            "--reporting.retry_delay_s=1",
            "--reporting.interval_ms=100",
            "--report.person.email=safety@example.com"};
  }
  void start() {
    srv = std::make_unique<serve_process>(
        args(), std::vector<std::string>{"HG_REPORTING_TEST_USERNAME=esp-test-user",
                                         "HG_REPORTING_TEST_PASSWORD=esp-test-pass"});
  }
  std::uint16_t port() const { return srv->port(); }

  std::optional<http_response> call(std::string_view method, const std::string& target,
                                    const std::string& key,
                                    std::optional<std::string_view> body = std::nullopt) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (body) headers.emplace_back("Content-Type", json_type);
    return exchange(port(), method, target, key, body, headers, 30000ms);
  }

  // A case of the match image, scanned (so preserved) and confirmed by two reviewers.
  std::int64_t confirmed_case() {
    const std::string image = file_bytes(match_image);
    hg_test::make_list(port(), admin, "filing-test", {pdq_of(port(), ingest, image)});
    REQUIRE(wait_pdq_entries(port(), admin, 1));
    auto scan = exchange(port(), "POST", "/v1/scan", ingest, image,
                         {{"X-Zone", "shop.example"},
                          {"X-Request-Id", "filing-1"},
                          {"X-Source-Url", "https://shop.example/img.jpg"}},
                         30000ms);
    REQUIRE(scan);
    REQUIRE(scan->status == 200);
    const std::string event(json::parse(scan->body).at("event_id").as_string());
    std::int64_t id = 0;
    REQUIRE(eventually(
        [&] {
          id = count(db.url(),
                     "SELECT coalesce(max(case_id), 0) FROM events WHERE id = '" + event + "'");
          return id > 0 && count(db.url(), "SELECT count(*) FROM evidence WHERE case_id = " +
                                               std::to_string(id)) == 1;
        },
        120s));
    const std::string path = "/v1/cases/" + std::to_string(id);
    // Not confirmed yet: refused.
    auto early = call("POST", path + "/cybertipline", compliance);
    REQUIRE(early);
    CHECK(early->status == 409);
    CHECK(early->body.find("not_confirmed") != std::string::npos);
    for (const auto* key : {&reviewer, &reviewer2}) {
      auto d = call("POST", path + "/decision", *key,
                    R"({"decision":"confirmed","note":"known image","classification":"A1"})");
      REQUIRE(d);
      INFO(d->body);
      REQUIRE(d->status == 200);
    }
    return id;
  }

  json::value job(std::int64_t case_id) {
    auto r = call("GET", "/v1/cases/" + std::to_string(case_id) + "/cybertipline", compliance);
    REQUIRE(r);
    INFO(r->body);
    REQUIRE(r->status == 200);
    return json::parse(r->body);
  }

  bool wait_state(std::int64_t case_id, const std::string& state) {
    return eventually([&] { return job(case_id).at("state").as_string() == state; }, 120s);
  }
};

}  // namespace

TEST_CASE("serve files a confirmed case's report to the CyberTipline from its preserved evidence") {
  filing_env env;
  env.start();
  const std::int64_t id = env.confirmed_case();
  const std::string path = "/v1/cases/" + std::to_string(id);

  // The queue: the case, waiting, no job yet.
  auto queue = env.call("GET", "/v1/cybertipline/queue?limit=10", compliance);
  REQUIRE(queue);
  REQUIRE(queue->status == 200);
  const auto q = json::parse(queue->body);
  CHECK(q.at("environment").as_string() == "test");
  REQUIRE(q.at("cases").as_array().size() == 1);
  CHECK(q.at("cases").at(0).at("case_id").as_int64() == id);
  CHECK(q.at("cases").at(0).at("evidence_files").as_int64() == 1);
  CHECK(q.at("cases").at(0).at("job").is_null());
  CHECK(q.at("next").is_null());

  // The preview is the report a filing sends (audited).
  auto preview = env.call("GET", path + "/cybertipline/preview", compliance);
  REQUIRE(preview);
  REQUIRE(preview->status == 200);
  CHECK(preview->header("content-type").starts_with("application/xml"));
  CHECK(preview->body.find("<report") != std::string::npos);
  CHECK(preview->body.find("https://shop.example/img.jpg") != std::string::npos);
  CHECK(preview->body.find("safety@example.com") != std::string::npos);
  auto details = env.call("GET", path + "/cybertipline/preview?part=fileDetails-1.xml", compliance);
  REQUIRE(details);
  CHECK(details->status == 200);
  CHECK(details->body.find("<fileDetails>") != std::string::npos);
  CHECK(details->body.find("industryClassification") == std::string::npos);  // not a signatory

  // File it.
  auto queued = env.call("POST", path + "/cybertipline", compliance);
  REQUIRE(queued);
  INFO(queued->body);
  REQUIRE(queued->status == 202);
  CHECK(json::parse(queued->body).at("environment").as_string() == "test");
  REQUIRE(env.wait_state(id, "finished"));
  const auto j = env.job(id);
  const std::string report_id(j.at("report_id").as_string());
  std::vector<std::string> steps;
  for (const auto& s : j.at("steps").as_array()) steps.emplace_back(s.at("step").as_string());
  CHECK(steps == std::vector<std::string>{"submit", "upload", "fileinfo", "finish"});
  for (const auto& s : j.at("steps").as_array()) {
    CHECK(s.at("response_code").as_int64() == 0);
    CHECK(s.at("request").as_string().find("esp-test-pass") == json::string::npos);
  }

  // At the fake: one finished report, the preserved bytes as scanned, their SHA-256 declared.
  CHECK(env.fake.finished_reports() == 1);
  CHECK(env.fake.open_reports() == 0);
  CHECK(env.fake.validation_errors().empty());
  const auto reports = env.fake.reports();
  REQUIRE(reports.contains(report_id));
  const auto& rep = reports.at(report_id);
  const std::string image = file_bytes(match_image);
  REQUIRE(rep.file_sizes.size() == 1);
  CHECK(rep.file_sizes[0] == image.size());
  REQUIRE(rep.file_details.size() == 1);
  CHECK(rep.file_details[0].find(sha256_hex(image)) != std::string::npos);
  CHECK(rep.file_details[0].find("<fileViewedByEsp>false</fileViewedByEsp>") != std::string::npos);

  // Audited: the upload's decryption, and the report recorded by the job.
  CHECK(count(env.db.url(),
              "SELECT count(*) FROM audit_log WHERE action = 'evidence.report_upload'"
              " AND subject = 'case:" +
                  std::to_string(id) + "'") == 1);
  CHECK(count(env.db.url(), "SELECT count(*) FROM reports WHERE case_id = " + std::to_string(id) +
                                " AND environment = 'test' AND finished_at IS NOT NULL") == 1);

  // A second job and the record-only route are refused; the queue no longer lists the case.
  auto again = env.call("POST", path + "/cybertipline", compliance);
  REQUIRE(again);
  CHECK(again->status == 409);
  CHECK(again->body.find("job_exists") != std::string::npos);
  auto record = env.call("POST", path + "/report", compliance,
                         R"({"report_id":"R-9","submitted_at":"2026-01-02T03:04:05Z",)"
                         R"("environment":"test"})");
  REQUIRE(record);
  CHECK(record->status == 409);
  CHECK(record->body.find("job_exists") != std::string::npos);
  auto after = env.call("GET", "/v1/cybertipline/queue", compliance);
  REQUIRE(after);
  CHECK(json::parse(after->body).at("cases").as_array().empty());

  // /metrics and the admin's check.
  auto metrics = exchange(env.port(), "GET", "/metrics", {}, std::nullopt, {}, 10000ms);
  REQUIRE(metrics);
  CHECK(metric_value(metrics->body, R"(hg_report_jobs{state="finished"})") == 1.0);
  CHECK(metric_value(metrics->body, "hg_reporting_status_ok") == 1.0);
  auto check = env.call("POST", "/v1/reporting/check", admin);
  REQUIRE(check);
  REQUIRE(check->status == 200);
  const auto c = json::parse(check->body);
  CHECK(c.at("ok").as_bool());
  CHECK(c.at("environment").as_string() == "test");
  CHECK(check->body.find("esp-test-pass") == std::string::npos);
  // The start-up check is logged without the credentials.
  CHECK(env.srv->err_text().find("reporting test at " + env.fake.base_url() + ": status ok") !=
        std::string::npos);
  CHECK(env.srv->err_text().find("esp-test-pass") == std::string::npos);
}

TEST_CASE("serve refuses a filing: not reportable, report recorded, no evidence") {
  filing_env env;
  env.start();
  const std::string url = env.db.url();
  auto post = [&](std::int64_t id) {
    auto r = env.call("POST", "/v1/cases/" + std::to_string(id) + "/cybertipline", compliance);
    REQUIRE(r);
    return *r;
  };
  const auto ncii = exec_id(url,
                            "INSERT INTO cases (zone, status, first_seen, last_seen, harm_type)"
                            " VALUES ('z', 'confirmed', now(), now(), 'ncii') RETURNING id");
  auto r = post(ncii);
  CHECK(r.status == 409);
  CHECK(r.body.find("harm_type_refused") != std::string::npos);

  const auto bare = exec_id(url,
                            "INSERT INTO cases (zone, status, first_seen, last_seen)"
                            " VALUES ('z', 'confirmed', now(), now()) RETURNING id");
  r = post(bare);
  CHECK(r.status == 422);
  CHECK(r.body.find("no_evidence") != std::string::npos);

  auto recorded = env.call("POST", "/v1/cases/" + std::to_string(bare) + "/report", compliance,
                           R"({"report_id":"P-1","submitted_at":"2026-01-02T03:04:05Z",)"
                           R"("environment":"production"})");
  REQUIRE(recorded);
  REQUIRE(recorded->status == 201);
  r = post(bare);
  CHECK(r.status == 409);
  CHECK(r.body.find("report_recorded") != std::string::npos);
  r = post(999999);
  CHECK(r.status == 404);
  auto none = env.call("GET", "/v1/cases/" + std::to_string(bare) + "/cybertipline", compliance);
  REQUIRE(none);
  CHECK(none->status == 404);
}

TEST_CASE("serve killed at every step boundary of a filing: one finished report, none open") {
  filing_env env;
  env.start();
  const std::int64_t id = env.confirmed_case();
  using step = fake_ispws::step;
  env.fake.hold(step::submit);
  auto queued = env.call("POST", "/v1/cases/" + std::to_string(id) + "/cybertipline", compliance);
  REQUIRE(queued);
  REQUIRE(queued->status == 202);
  // The job stopped by a kill just as it sent each step (the one before is stored), in turn.
  for (const step at : {step::submit, step::upload, step::fileinfo, step::finish}) {
    INFO("killed as it sent step " << static_cast<int>(at));
    if (at != step::submit) {  // the first hold is met by the serve already running
      env.fake.hold(at);
      env.start();
    }
    REQUIRE(eventually([&] { return env.fake.held(); }, 120s));
    env.srv->signal(SIGKILL);
    (void)env.srv->wait();
    env.fake.release();
  }
  env.start();
  REQUIRE(env.wait_state(id, "finished"));
  CHECK(env.fake.finished_reports() == 1);
  CHECK(env.fake.open_reports() == 0);
  CHECK(env.fake.validation_errors().empty());
  const auto j = env.job(id);
  CHECK(env.fake.reports().contains(std::string(j.at("report_id").as_string())));
  CHECK(count(env.db.url(), "SELECT count(*) FROM reports WHERE case_id = " + std::to_string(id)) ==
        1);
}
