#include "hashguard/hashdb/report_jobs.hpp"

#include "hashguard/hashdb/cases.hpp"

#include "hashdb_test_support.hpp"
#include "hg_pg.hpp"
#include "review_fixture.hpp"

#include <chrono>
#include <thread>

using namespace hashguard;
using namespace std::chrono_literals;

namespace {

// A case with one file in its own zone, decided as `kind` (one reviewer), or left open.
std::int64_t make_case(hashdb::connection& c, const hg_test::review_lists& lists,
                       std::uint64_t content, std::optional<hashdb::decision_kind> kind) {
  hashdb::case_store cases(c, hg_test::one_reviewer());
  auto r =
      cases.record(hg_test::make_event("z" + std::to_string(content), lists.list_a, lists.entry_a1,
                                       content, 1'700'000'000'000'000, "https://x.example/a.jpg"));
  REQUIRE(r.has_value());
  REQUIRE(r->case_id.has_value());
  if (kind) hg_test::decide_final(cases, *r->case_id, *kind);
  return *r->case_id;
}

hashdb::report_receipt receipt(std::string step, int attempt = 1) {
  hashdb::report_receipt r;
  r.step = std::move(step);
  r.attempt = attempt;
  r.method = "POST";
  r.url = "http://127.0.0.1:1/ispws/" + r.step;
  r.request_body = "<report/>";
  r.http_status = 200;
  r.response_code = 0;
  r.response_body = "<reportResponse><responseCode>0</responseCode></reportResponse>";
  return r;
}

}  // namespace

TEST_CASE(
    "report jobs: only for a confirmed case, one active job, none after a production report") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto lists = hg_test::make_lists(db.url());
  hashdb::report_job_store jobs(c);

  const auto open_case = make_case(c, lists, 11, std::nullopt);
  CHECK(hg_test::error_of(jobs.create(open_case, "test", "k_comp")) == hashdb::errc::not_confirmed);
  CHECK(hg_test::error_of(jobs.create(999999, "test", "k_comp")) == hashdb::errc::not_found);

  const auto confirmed = make_case(c, lists, 12, hashdb::decision_kind::confirmed);
  CHECK(hg_test::error_of(jobs.create(confirmed, "staging", "k_comp")) ==
        hashdb::errc::invalid_argument);
  auto id = jobs.create(confirmed, "test", "k_comp");
  REQUIRE(id.has_value());
  // A second job while one is queued is refused.
  CHECK(hg_test::error_of(jobs.create(confirmed, "production", "k_comp")) ==
        hashdb::errc::job_exists);

  auto j = jobs.get(*id);
  REQUIRE(j.has_value());
  CHECK(j->state == "queued");
  CHECK(j->step == "submit");
  CHECK(j->environment == "test");
  CHECK(j->requested_by == "k_comp");
  CHECK_FALSE(j->report_id.has_value());
  CHECK(hg_test::column_of(db.url(),
                           "SELECT action FROM audit_log WHERE action = "
                           "'report.job_start'")
            .size() == 1);

  // A production report recorded elsewhere (POST /v1/cases/{id}/report) refuses any new job.
  hg_test::exec_sql(db.url(), "UPDATE report_jobs SET state = 'failed'");
  hashdb::case_store cases(c, hg_test::one_reviewer());
  hashdb::report_input rep;
  rep.case_id = confirmed;
  rep.report_id = "R-1";
  REQUIRE(cases.record_report(rep, "k_comp").has_value());
  CHECK(hg_test::error_of(jobs.create(confirmed, "test", "k_comp")) ==
        hashdb::errc::report_recorded);

  // Another harm type is never reported; a case without evidence only when allowed.
  const auto other = make_case(c, lists, 13, hashdb::decision_kind::confirmed);
  hg_test::exec_sql(db.url(),
                    "UPDATE cases SET harm_type = 'ncii' WHERE id = " + std::to_string(other));
  CHECK(hg_test::error_of(jobs.create(other, "test", "k_comp")) == hashdb::errc::harm_type_refused);
  hg_test::exec_sql(db.url(),
                    "UPDATE cases SET harm_type = 'csam' WHERE id = " + std::to_string(other));
  CHECK(hg_test::error_of(jobs.create(other, "test", "k_comp", false)) ==
        hashdb::errc::no_evidence);
  auto bare = jobs.create(other, "test", "k_comp", true);
  REQUIRE(bare.has_value());
  // The queue lists it (confirmed csam, nothing reported in test) with its job; a job of the
  // record-only route's case is refused there.
  auto q = jobs.queue("test", 10);
  REQUIRE(q.has_value());
  REQUIRE(q->size() == 1);
  CHECK(q->front().case_id == other);
  REQUIRE(q->front().job.has_value());
  CHECK(q->front().job->id == *bare);
  rep.case_id = other;
  CHECK(hg_test::error_of(cases.record_report(rep, "k_comp")) == hashdb::errc::job_exists);
}

TEST_CASE("report jobs: claim leases one runner at a time, a stale runner writes nothing") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto lists = hg_test::make_lists(db.url());
  auto c2 = db.connect();
  hashdb::report_job_store jobs(c);
  hashdb::report_job_store jobs2(c2);
  const auto case_id = make_case(c, lists, 21, hashdb::decision_kind::confirmed);
  auto id = jobs.create(case_id, "test", "k_comp");
  REQUIRE(id.has_value());

  auto first = jobs.claim("runner-a", 60s);
  REQUIRE(first.has_value());
  REQUIRE(first->has_value());
  CHECK((*first)->id == *id);
  // Leased: nobody else gets it.
  auto second = jobs2.claim("runner-b", 60s);
  REQUIRE(second.has_value());
  CHECK_FALSE(second->has_value());

  // Runner a's lease runs out (a crash): runner b takes the job, and a's late write is refused.
  hg_test::exec_sql(db.url(), "UPDATE report_jobs SET lease_until = now() - interval '1 second'");
  second = jobs2.claim("runner-b", 60s);
  REQUIRE(second.has_value());
  REQUIRE(second->has_value());
  hashdb::job_update u;
  u.step = "upload";
  u.report_id = "R-7";
  CHECK(hg_test::error_of(jobs.record_step(*id, "runner-a", 60s, receipt("submit"), u, "k_comp")) ==
        hashdb::errc::conflict);
  CHECK(hg_test::column_of(db.url(), "SELECT id FROM report_receipts").empty());
  auto stored = jobs2.record_step(*id, "runner-b", 60s, receipt("submit"), u, "k_comp");
  REQUIRE(stored.has_value());
  CHECK(stored->report_id == std::optional<std::string>("R-7"));

  // Released: claimable again at once; a retry delay keeps it back until it passes.
  REQUIRE(jobs2.release(*id, "runner-b").has_value());
  u.retry_after = 60s;
  auto again = jobs.claim("runner-a", 60s);
  REQUIRE(again.has_value());
  REQUIRE(again->has_value());
  REQUIRE(jobs.record_step(*id, "runner-a", 60s, receipt("upload"), u, "k_comp").has_value());
  REQUIRE(jobs.release(*id, "runner-a").has_value());
  auto none = jobs2.claim("runner-b", 60s);
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
}

TEST_CASE(
    "report jobs: each step stored with its receipt, the reportId at submit, finish records "
    "the report") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto lists = hg_test::make_lists(db.url());
  hashdb::report_job_store jobs(c);
  const auto case_id = make_case(c, lists, 31, hashdb::decision_kind::confirmed);
  auto id = jobs.create(case_id, "production", "k_comp");
  REQUIRE(id.has_value());
  auto claimed = jobs.claim("runner-a", 60s);
  REQUIRE(claimed.has_value());
  REQUIRE(claimed->has_value());

  hashdb::job_update u;
  u.step = "upload";
  u.file_count = 1;
  u.report_id = "R-42";
  auto after_submit = jobs.record_step(*id, "runner-a", 60s, receipt("submit"), u, "k_comp");
  REQUIRE(after_submit.has_value());
  CHECK(after_submit->report_id == std::optional<std::string>("R-42"));
  CHECK(after_submit->opened_at.has_value());
  REQUIRE(after_submit->open_deadline.has_value());
  CHECK_FALSE(after_submit->open_deadline_passed);
  // The deadline is 23 hours after the report opened.
  CHECK(hg_test::column_of(db.url(),
                           "SELECT extract(epoch FROM open_deadline - opened_at)::bigint"
                           " FROM report_jobs")
            .at(0) == "82800");

  // A failed try: the position stays, attempts and the error are kept, with the receipt.
  u.attempts = 1;
  u.last_error = "HTTP 503";
  auto r503 = receipt("upload");
  r503.http_status = 503;
  r503.response_code.reset();
  r503.file_index = 0;
  REQUIRE(jobs.record_step(*id, "runner-a", 60s, r503, u, "k_comp").has_value());

  u.attempts = 0;
  u.last_error.reset();
  u.step = "fileinfo";
  u.file_ids = {"F-1"};
  REQUIRE(jobs.record_step(*id, "runner-a", 60s, receipt("upload", 2), u, "k_comp").has_value());
  u.step = "finish";
  REQUIRE(jobs.record_step(*id, "runner-a", 60s, receipt("fileinfo"), u, "k_comp").has_value());
  u.step = "done";
  u.state = "finished";
  auto done = jobs.record_step(*id, "runner-a", 60s, receipt("finish"), u, "k_comp");
  REQUIRE(done.has_value());
  CHECK(done->state == "finished");
  CHECK(done->finished_at.has_value());
  CHECK(done->file_ids == std::vector<std::string>{"F-1"});

  // The finish recorded the production report: the case is reported, preservation started.
  hashdb::case_store cases(c, hg_test::one_reviewer());
  auto cs = cases.get(case_id);
  REQUIRE(cs.has_value());
  CHECK(cs->status == "reported");
  CHECK(cs->preserve_until.has_value());
  CHECK(hg_test::column_of(db.url(), "SELECT report_id || '/' || file_ids FROM reports") ==
        std::vector<std::string>{"R-42/F-1"});

  auto rs = jobs.receipts(*id);
  REQUIRE(rs.has_value());
  REQUIRE(rs->size() == 5);
  CHECK((*rs)[0].step == "submit");
  CHECK((*rs)[1].http_status == std::optional<int>(503));
  CHECK_FALSE((*rs)[1].response_code.has_value());
  CHECK((*rs)[2].attempt == 2);
  CHECK((*rs)[4].step == "finish");

  // Finished: nothing left to claim, and no new job for a case with a production report.
  auto none = jobs.claim("runner-b", 60s);
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
  CHECK(hg_test::error_of(jobs.create(case_id, "production", "k_comp")) ==
        hashdb::errc::report_recorded);
}
