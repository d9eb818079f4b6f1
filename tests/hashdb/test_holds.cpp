// Holds (holds.hpp) and the uploader an event stores (event.hpp), on the real case store.
#include "hashguard/hashdb/holds.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/case_queries.hpp"
#include "hashguard/hashdb/event.hpp"
#include "hashguard/hashdb/export.hpp"

#include "hg_pg.hpp"
#include "review_fixture.hpp"

using namespace hashguard;

namespace {

constexpr std::int64_t day_us = 86'400'000'000;
constexpr std::int64_t finish = 1'790'000'000'000'000;  // 2026-09-21T14:13:20Z

}  // namespace

TEST_CASE("report hold: a year at least, from the finish, never shortened") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, hg_test::one_reviewer());
  const auto id = hg_test::open_case(store, l, "hold.example", 1);
  CHECK(hg_test::error_of(hashdb::start_report_hold(c, id, finish, 364, "k_job")) ==
        hashdb::errc::invalid_argument);
  auto until = hashdb::start_report_hold(c, id, finish, 365, "k_job");
  REQUIRE(until.has_value());
  CHECK(*until == "2027-09-21T14:13:20.000000Z");
  // An earlier finish, or a replay, never brings the end forward; a longer one extends it.
  auto again = hashdb::start_report_hold(c, id, finish - 30 * day_us, 365, "k_job");
  REQUIRE(again.has_value());
  CHECK(*again == *until);
  auto longer = hashdb::start_report_hold(c, id, finish, 400, "k_job");
  REQUIRE(longer.has_value());
  CHECK(*longer == "2027-10-26T14:13:20.000000Z");
  auto s = store.get(id);
  REQUIRE(s.has_value());
  CHECK(s->report_hold_until == *longer);
  CHECK(s->preserve_until == *longer);  // the preservation deadline follows
  CHECK(hg_test::error_of(hashdb::start_report_hold(c, 999999, finish, 365, "k_job")) ==
        hashdb::errc::not_found);
  hashdb::audit_log audit(c);
  auto rows = audit.query({std::nullopt, std::string("case.report_hold"), id, {}, {}}, 10);
  REQUIRE(rows.has_value());
  CHECK(rows->size() == 3);
}

TEST_CASE("a recorded finished production report starts the hold, a test one does not") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  auto options = hg_test::one_reviewer();
  options.hold_days = 500;
  hashdb::case_store store(c, options);
  const auto id = hg_test::open_case(store, l, "report.example", 2);
  hg_test::decide_final(store, id, hashdb::decision_kind::confirmed);
  hashdb::report_input r;
  r.case_id = id;
  r.report_id = "T-1";
  r.environment = "test";
  r.finished_us = finish;
  REQUIRE(store.record_report(r, "k_comp").has_value());
  CHECK_FALSE(store.get(id)->report_hold_until.has_value());
  r.report_id = "P-1";
  r.environment = "production";
  r.finished_us.reset();  // submitted, not finished: no hold yet
  REQUIRE(store.record_report(r, "k_comp").has_value());
  CHECK_FALSE(store.get(id)->report_hold_until.has_value());
  r.report_id = "P-2";
  r.finished_us = finish;
  REQUIRE(store.record_report(r, "k_comp").has_value());
  CHECK(store.get(id)->report_hold_until == "2028-02-03T14:13:20.000000Z");
}

TEST_CASE("legal hold and destruction: reasons, the second person, the purge's word") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, hg_test::one_reviewer());
  const auto id = hg_test::open_case(store, l, "legal.example", 3);
  CHECK(hg_test::error_of(hashdb::set_legal_hold(c, {id, " ", std::nullopt}, "k_comp")) ==
        hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(hashdb::set_legal_hold(c, {id, "x", hashdb::now_us() - 1}, "k_comp")) ==
        hashdb::errc::invalid_argument);
  auto held = hashdb::set_legal_hold(c, {id, "subpoena 7", std::nullopt}, "k_comp");
  REQUIRE(held.has_value());
  CHECK(held->legal_hold);
  CHECK(held->legal_hold_reason == "subpoena 7");
  CHECK(held->held_because == "on legal hold: subpoena 7");
  // A held case is refused by a named purge, with why.
  hg_test::decide_final(store, id, hashdb::decision_kind::false_positive);
  hg_test::exec_sql(db.url(), "UPDATE cases SET dismissed_at = now() - interval '400 days'");
  CHECK(hg_test::error_of(store.purge(id, "k_admin")) == hashdb::errc::purge_refused);
  CHECK(c.last_error().find("on legal hold: subpoena 7") != std::string::npos);
  auto lifted = hashdb::lift_legal_hold(c, id, "closed", "k_comp");
  REQUIRE(lifted.has_value());
  CHECK_FALSE(lifted->held_because.has_value());
  CHECK(hg_test::error_of(hashdb::lift_legal_hold(c, id, "again", "k_comp")) ==
        hashdb::errc::conflict);
  // Destruction: one pending request, never approved by its requester.
  CHECK(hg_test::error_of(hashdb::request_destruction(c, id, "", "k_comp")) ==
        hashdb::errc::invalid_argument);
  auto asked = hashdb::request_destruction(c, id, "LE-1", "k_comp");
  REQUIRE(asked.has_value());
  CHECK(hg_test::error_of(hashdb::request_destruction(c, id, "LE-2", "k_comp")) ==
        hashdb::errc::already_exists);
  CHECK(hg_test::error_of(hashdb::approve_destruction(c, id, "k_comp")) == hashdb::errc::conflict);
  auto done = hashdb::approve_destruction(c, id, "k_admin");
  REQUIRE(done.has_value());
  CHECK(done->approved_by == "k_admin");
  CHECK(done->destroyed == 0);
  CHECK(hg_test::error_of(hashdb::approve_destruction(c, id, "k_admin")) ==
        hashdb::errc::not_found);
  CHECK(store.get(id)->evidence_destroyed_at.has_value());
}

TEST_CASE("an event's uploader: validated, stored once, in the package's reported person") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, hg_test::one_reviewer());
  auto e = hg_test::make_event("up.example", l.list_a, l.entry_a1, 4, finish, "https://u/x.jpg");
  e.id = hashdb::new_uuid();
  e.uploader = {"acct-1", "2001:DB8::1", finish - 1000};
  CHECK_FALSE(hashdb::validate(e).has_value());  // not canonical
  e.uploader.ip = "2001:db8::1";
  e.uploader.account = "bad\naccount";
  CHECK_FALSE(hashdb::validate(e).has_value());
  e.uploader.account = std::string(257, 'a');
  CHECK_FALSE(hashdb::validate(e).has_value());
  e.uploader.account = "acct-1";
  REQUIRE(hashdb::validate(e).has_value());
  auto back = hashdb::event_from_json(hashdb::to_json(e));
  REQUIRE(back.has_value());
  CHECK(back->uploader == e.uploader);
  auto r = store.record(e);
  REQUIRE(r.has_value());
  // The same id again (a spool replay) does not change what is stored.
  auto replay = e;
  replay.uploader.account = "someone-else";
  REQUIRE(store.record(replay).has_value());
  // An event without an uploader stores none.
  REQUIRE(store
              .record(hg_test::make_event("up.example", l.list_a, l.entry_a1, 4, finish + 1,
                                          "https://u/y.jpg"))
              .has_value());
  hashdb::review_store review(c);
  auto d = review.compliance_detail(*r->case_id);
  REQUIRE(d.has_value());
  REQUIRE(d->uploaders.size() == 1);
  CHECK(d->uploaders[0].account == "acct-1");
  REQUIRE(d->uploaders[0].events.size() == 1);
  CHECK(d->uploaders[0].events[0].ip == "2001:db8::1");
  CHECK(d->uploaders_total == 1);
  CHECK(review.detail(*r->case_id)->uploaders.empty());  // never in the reviewers' view
  auto docs = hashdb::cybertipline_documents(*d, {});
  const std::string& xml = docs.at(0).content;
  CHECK(xml.find("  <personOrUserReported>\n    <espIdentifier>acct-1</espIdentifier>\n"
                 "    <ipCaptureEvent>\n      <ipAddress>2001:db8::1</ipAddress>\n"
                 "      <eventName>Upload</eventName>\n      <dateTime>") != std::string::npos);
  CHECK(xml.find("</reporter>") < xml.find("<personOrUserReported>"));
}
