// reporting::job_runner: durable filing jobs (hashdb::report_job_store on the fixture's
// PostgreSQL) driven against the fake ISPWS over real sockets: a full run, a crash after every
// step, 5102, 4100, 1000/503 retries, max_attempts, the open-report deadline.
#include "hashguard/reporting/job_runner.hpp"

#include "fake_ispws.hpp"
#include "hg_catch.hpp"
#include "hg_pg.hpp"

#include <pqxx/pqxx>

namespace rp = hashguard::reporting;
namespace ob = hashguard::outbound;
namespace hdb = hashguard::hashdb;
using namespace std::chrono_literals;
using hg_test::fake_ispws;

namespace {

void exec_sql(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec0(sql);
  tx.commit();
}

std::int64_t count_of(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

// A confirmed case, its job store, the fake service and a client for it.
struct filing {
  hg_test::test_database db;
  hdb::connection conn = db.connect();
  hdb::report_job_store jobs{conn};
  fake_ispws fake{"esp-user", "s3cret"};
  ob::http_client http{[] {
    ob::client_options o;
    o.connect_timeout = 2s;
    o.request_timeout = 1s;
    return o;
  }()};
  rp::ispws_client client{http, fake.base_url(), {"esp-user", "s3cret"}};
  std::int64_t case_id{};
  std::int64_t job_id{};
  std::size_t files;

  explicit filing(std::size_t file_count = 2, std::string environment = "test")
      : files(file_count) {
    pqxx::connection pc(db.url());
    pqxx::work tx(pc);
    case_id = tx.exec1(
                    "INSERT INTO cases (zone, status, first_seen, last_seen)"
                    " VALUES ('z', 'confirmed', now(), now()) RETURNING id")[0]
                  .as<std::int64_t>();
    tx.commit();
    auto id = jobs.create(case_id, environment, "k_comp");
    REQUIRE(id.has_value());
    job_id = *id;
  }

  rp::content_source content() const {
    const std::size_t n = files;
    return [n](const hdb::report_job&) -> hashguard::core::result<rp::report_content> {
      rp::report_content c;
      c.report_xml = hg_test::minimal_report_xml();
      for (std::size_t i = 0; i < n; ++i) {
        c.files.push_back(
            {"evidence-" + std::to_string(i) + ".jpg", std::string(1000 + i, 'x'), {}});
      }
      c.file_details = [](std::size_t, const std::string& report_id, const std::string& file_id) {
        return "<fileDetails><reportId>" + report_id + "</reportId><fileId>" + file_id +
               "</fileId><fileViewedByEsp>false</fileViewedByEsp></fileDetails>";
      };
      return c;
    };
  }

  rp::job_runner runner(std::string owner, rp::runner_options o = {}) {
    o.owner = std::move(owner);
    o.lease = 0ms;  // a stopped ("crashed") runner's job is claimable at once
    o.retry_delay = 0ms;
    return rp::job_runner(jobs, client, content(), o);
  }

  // A runner on `node-a` that stops ("crashes") after n stored steps.
  void stop_after(int n) {
    rp::runner_options o;
    o.stop_after_steps = n;
    auto a = runner("node-a", o);
    auto stopped = a.run_one();
    REQUIRE(stopped.has_value());
    REQUIRE(stopped->has_value());
    CHECK((*stopped)->state == "queued");
  }

  // A new runner on `owner` drives the job to its end; returns it as stored.
  hdb::report_job run_to_end(std::string owner, rp::runner_options o = {}) {
    auto r = runner(std::move(owner), o);
    auto run = r.run_one();
    REQUIRE(run.has_value());
    REQUIRE(run->has_value());
    return **run;
  }

  std::vector<std::string> receipt_steps() {
    auto rs = jobs.receipts(job_id);
    REQUIRE(rs.has_value());
    std::vector<std::string> out;
    for (const auto& r : *rs) out.push_back(r.step);
    return out;
  }
};

const std::vector<std::string> two_file_steps = {"submit", "upload",   "fileinfo",
                                                 "upload", "fileinfo", "finish"};

}  // namespace

TEST_CASE("job_runner: a full filing, the reportId stored, every receipt kept") {
  filing f;
  auto r = f.runner("node-a");
  auto run = r.run_one();
  REQUIRE(run.has_value());
  REQUIRE(run->has_value());
  const auto& j = **run;
  CHECK(j.state == "finished");
  CHECK(j.step == "done");
  REQUIRE(j.report_id.has_value());
  CHECK(j.file_ids.size() == 2);
  CHECK(f.receipt_steps() == two_file_steps);
  CHECK(f.fake.finished_reports() == 1);
  CHECK(f.fake.open_reports() == 0);
  CHECK(f.fake.validation_errors().empty());
  CHECK(f.fake.reports().at(*j.report_id).file_ids == j.file_ids);
  // The report is recorded for the case (test environment: no preservation clock).
  CHECK(count_of(f.db.url(),
                 "SELECT count(*) FROM reports WHERE environment = 'test'"
                 " AND report_id = '" +
                     *j.report_id + "'") == 1);
  // Receipts: no credentials, no file bytes.
  CHECK(count_of(f.db.url(),
                 "SELECT count(*) FROM report_receipts WHERE request_body LIKE "
                 "'%s3cret%' OR request_body LIKE '%xxxxxxxxxx%'") == 0);
  // Nothing left to run.
  auto again = r.run_one();
  REQUIRE(again.has_value());
  CHECK_FALSE(again->has_value());
}

TEST_CASE("job_runner: a crash after any step resumes from the last completed step") {
  for (int n = 1; n < static_cast<int>(two_file_steps.size()); ++n) {
    DYNAMIC_SECTION("stopped after step " << n) {
      filing f;
      rp::runner_options first;
      first.stop_after_steps = n;
      auto a = f.runner("node-a", first);
      auto stopped = a.run_one();
      REQUIRE(stopped.has_value());
      REQUIRE(stopped->has_value());
      CHECK((*stopped)->state == "queued");
      // The reportId is stored from the first step on.
      CHECK((*stopped)->report_id.has_value());
      auto b = f.runner("node-b");
      auto resumed = b.run_one();
      REQUIRE(resumed.has_value());
      REQUIRE(resumed->has_value());
      CHECK((*resumed)->state == "finished");
      CHECK(f.receipt_steps() == two_file_steps);  // no step done twice
      CHECK(f.fake.finished_reports() == 1);
      CHECK(f.fake.reports().size() == 1);
      CHECK(f.fake.open_reports() == 0);
    }
  }
}

TEST_CASE("job_runner: a finish whose answer was lost is done when the retry answers 5102") {
  filing f(1);
  f.fake.lose_answer(fake_ispws::step::finish);
  const hdb::report_job j = f.run_to_end("node-a");
  CHECK(j.state == "finished");
  auto rs = f.jobs.receipts(f.job_id);
  REQUIRE(rs.has_value());
  REQUIRE(rs->size() == 5);
  CHECK((*rs)[3].error.has_value());  // the lost answer
  CHECK((*rs)[4].response_code == std::optional<int>(rp::response_codes::already_finished));
  CHECK(f.fake.finished_reports() == 1);
  CHECK(count_of(f.db.url(), "SELECT count(*) FROM reports") == 1);
}

TEST_CASE("job_runner: 4100 fails the job without a retry") {
  filing f;
  f.fake.reject_next_submit();
  const hdb::report_job j = f.run_to_end("node-a");
  CHECK(j.state == "failed");
  REQUIRE(j.last_error.has_value());
  CHECK(j.last_error->find("4100") != std::string::npos);
  CHECK(f.receipt_steps() == std::vector<std::string>{"submit"});
  CHECK(f.fake.reports().empty());
  CHECK(count_of(f.db.url(), "SELECT count(*) FROM reports") == 0);
}

TEST_CASE("job_runner: 1000 and 503 are retried, then the job finishes") {
  filing f;
  f.fake.fail_with_1000(fake_ispws::step::upload);
  f.fake.fail_with_503(fake_ispws::step::fileinfo, 2);
  const hdb::report_job j = f.run_to_end("node-a");
  CHECK(j.state == "finished");
  CHECK(f.receipt_steps() == std::vector<std::string>{"submit", "upload", "upload", "fileinfo",
                                                      "fileinfo", "fileinfo", "upload", "fileinfo",
                                                      "finish"});
  CHECK(f.fake.finished_reports() == 1);
  CHECK(f.fake.open_reports() == 0);
}

TEST_CASE("job_runner: after max_attempts a job fails and its open report is retracted") {
  SECTION("submit never succeeds: failed, no report opened") {
    filing f;
    f.fake.fail_with_1000(fake_ispws::step::submit, 3);
    const hdb::report_job j = f.run_to_end("node-a");
    CHECK(j.state == "failed");
    CHECK(j.attempts == 3);
    CHECK(f.receipt_steps() == std::vector<std::string>{"submit", "submit", "submit"});
    CHECK(f.fake.reports().empty());
  }
  SECTION("finish never succeeds: retracted, then failed") {
    filing f(1);
    rp::runner_options o;
    o.max_attempts = 2;
    f.fake.fail_with_1000(fake_ispws::step::finish, 2);
    const hdb::report_job j = f.run_to_end("node-a", o);
    CHECK(j.state == "failed");
    CHECK_FALSE(j.report_id.has_value());
    CHECK(f.receipt_steps() ==
          std::vector<std::string>{"submit", "upload", "fileinfo", "finish", "finish", "retract"});
    CHECK(f.fake.open_reports() == 0);
    CHECK(f.fake.finished_reports() == 0);
    // A failed job no longer blocks a new one.
    CHECK(f.jobs.create(f.case_id, "test", "k_comp").has_value());
  }
}

TEST_CASE("job_runner: an open report past its deadline or gone at NCMEC is filed again") {
  SECTION("past the deadline: retracted, then submitted again") {
    filing f(1);
    f.stop_after(2);
    exec_sql(f.db.url(), "UPDATE report_jobs SET open_deadline = now() - interval '1 minute'");
    const hdb::report_job done = f.run_to_end("node-b");
    CHECK(done.state == "finished");
    CHECK(done.restarts == 1);
    CHECK(f.receipt_steps() == std::vector<std::string>{"submit", "upload", "retract", "submit",
                                                        "upload", "fileinfo", "finish"});
    CHECK(f.fake.finished_reports() == 1);
    CHECK(f.fake.open_reports() == 0);
  }
  SECTION("expired at NCMEC: submitted again") {
    filing f(1);
    f.stop_after(2);
    f.fake.expire_open_reports();
    const hdb::report_job done = f.run_to_end("node-b");
    CHECK(done.state == "finished");
    CHECK(done.restarts == 1);
    CHECK(f.receipt_steps() == std::vector<std::string>{"submit", "upload", "fileinfo", "submit",
                                                        "upload", "fileinfo", "finish"});
    CHECK(f.fake.finished_reports() == 1);
  }
}
