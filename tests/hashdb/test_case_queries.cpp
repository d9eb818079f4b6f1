#include "hashguard/hashdb/case_queries.hpp"

#include "hg_pg.hpp"
#include "review_fixture.hpp"

#include <set>

using namespace hashguard;
using hg_test::hex_n;

namespace {
constexpr std::int64_t t0 = 1'790'000'000'000'000;
constexpr std::int64_t day = 86'400'000'000;
}  // namespace

TEST_CASE("review queue: filters, paging and counts") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, {});
  // Five cases: zones a (3 cases, list A), b (2 cases, list B), one day apart.
  std::vector<std::int64_t> ids;
  for (std::uint64_t i = 0; i < 5; ++i) {
    const bool in_a = i < 3;
    auto r = store.record(hg_test::make_event(
        in_a ? "a.example" : "b.example", in_a ? l.list_a : l.list_b,
        100 + static_cast<std::int64_t>(i), i + 1, t0 + static_cast<std::int64_t>(i) * day,
        "https://x/" + std::to_string(i)));
    REQUIRE(r.has_value());
    ids.push_back(*r->case_id);
  }
  hashdb::decision_input d;
  d.case_id = ids[0];
  d.reviewer_key_id = 1;
  d.kind = hashdb::decision_kind::escalated;
  d.note = "look again";
  REQUIRE(store.decide(d, "k").has_value());

  hashdb::review_store review(c);
  hashdb::queue_filter f;
  auto all = review.queue(f);
  REQUIRE(all.has_value());
  CHECK(all->total == 5);
  REQUIRE(all->cases.size() == 5);
  CHECK(all->cases.front().id == ids[4]);  // newest first
  CHECK(all->by_status.at("open") == 4);
  CHECK(all->by_status.at("escalated") == 1);

  f.status = "open";
  f.zone = "a.example";
  auto open_a = review.queue(f);
  REQUIRE(open_a.has_value());
  CHECK(open_a->total == 2);
  CHECK(open_a->by_status.at("escalated") == 1);  // counts ignore the status filter

  hashdb::queue_filter by_list;
  by_list.list_id = l.list_b;
  auto b = review.queue(by_list);
  REQUIRE(b.has_value());
  CHECK(b->total == 2);

  hashdb::queue_filter dates;
  dates.from_us = t0 + day;
  dates.to_us = t0 + 3 * day;
  auto mid = review.queue(dates);
  REQUIRE(mid.has_value());
  CHECK(mid->total == 2);

  hashdb::queue_filter page;
  page.limit = 2;
  page.offset = 2;
  auto p2 = review.queue(page);
  REQUIRE(p2.has_value());
  CHECK(p2->total == 5);
  REQUIRE(p2->cases.size() == 2);
  CHECK(p2->cases[0].id == ids[2]);

  hashdb::queue_filter bad;
  bad.status = "nonsense";
  CHECK(hg_test::error_of(review.queue(bad)) == hashdb::errc::invalid_argument);
  bad = {};
  bad.limit = 0;
  CHECK(hg_test::error_of(review.queue(bad)) == hashdb::errc::invalid_argument);
}

TEST_CASE("review detail: files, URLs, hits with provenance, decisions, reports") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, hg_test::one_reviewer());
  auto r1 = store.record(hg_test::make_event("z", l.list_a, l.entry_a2, 1, t0, "https://u/1"));
  auto r2 = store.record(hg_test::make_event("z", l.list_a, l.entry_a2, 1, t0 + 5, "https://u/2"));
  auto r3 = store.record(hg_test::make_event("z", l.list_a, l.entry_a2, 2, t0 + 9, "https://u/1"));
  REQUIRE((r1 && r2 && r3));
  const auto id = *r1->case_id;
  hashdb::decision_input d;
  d.case_id = id;
  d.reviewer_key_id = 3;
  d.classification = "A2";
  d.note = "first";
  REQUIRE(store.decide(d, "k").has_value());

  hashdb::review_store review(c);
  auto det = review.detail(id);
  INFO(c.last_error());
  REQUIRE(det.has_value());
  CHECK(det->summary.sightings == 3);
  REQUIRE(det->files.size() == 2);
  CHECK(det->files[0].sha256 == hex_n(1, 64));
  // The most recently seen first; the first sighting's URL apart.
  CHECK(det->files[0].urls == std::vector<std::string>{"https://u/2", "https://u/1"});
  CHECK(det->files[0].urls_total == 2);
  CHECK(det->files[0].first_url == "https://u/1");
  CHECK(det->files[0].sightings == 2);
  CHECK_FALSE(det->files[0].viewed_by_esp);
  CHECK_FALSE(det->files[0].evidence_preserved);
  CHECK(det->files[1].urls == std::vector<std::string>{"https://u/1"});
  CHECK(det->urls_total == 2);
  REQUIRE(det->entries.size() == 1);
  CHECK(det->entries[0].list_name == "ncmec-test");
  CHECK(det->entries[0].entry_id == l.entry_a2);
  CHECK(det->entries[0].external_id == "NC-2");
  REQUIRE(det->events.size() == 3);
  CHECK(det->events_total == 3);
  CHECK(det->next_before.empty());
  CHECK(det->events[0].id == r3->event_id);  // newest first
  REQUIRE(det->events[0].hits.size() == 1);
  const auto& h = det->events[0].hits[0];
  CHECK(h.list_name == "ncmec-test");
  CHECK(h.external_id == "NC-2");
  CHECK(h.entry_id == l.entry_a2);
  CHECK(h.distance == 4);
  CHECK(h.threshold == 31);
  CHECK(h.list_version == 3);
  REQUIRE(det->decisions.size() == 1);
  CHECK(det->decisions[0].note == "first");
  CHECK(det->decisions[0].classification == std::optional<std::string>("A2"));
  CHECK(det->confirmations == 1);
  CHECK(det->reports.empty());

  hashdb::report_input rep;
  rep.case_id = id;
  rep.report_id = "42";
  rep.file_ids = {"a", "b"};
  rep.environment = "test";
  REQUIRE(store.record_report(rep, "k").has_value());
  det = review.detail(id);
  REQUIRE(det.has_value());
  REQUIRE(det->reports.size() == 1);
  CHECK(det->reports[0].file_ids == std::vector<std::string>{"a", "b"});
  CHECK(det->reports[0].environment == "test");

  CHECK(hg_test::error_of(review.detail(id + 1000)) == hashdb::errc::not_found);
}

TEST_CASE("review detail of a hot case: a bounded page of events, the total, capped URLs") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, {});
  // 3,001 events: content 2 on every third, 50 URLs. Another case's events share the table.
  constexpr int n = 3000;
  const auto hot = hg_test::open_hot_case(store, db.url(), l, t0, n, 50);
  const auto id = hot.id;
  auto other = store.record(hg_test::make_event("y", l.list_b, l.entry_b1, 9, t0, "https://o/"));
  REQUIRE(other.has_value());

  hashdb::review_store review(c);
  auto det = review.detail(id);
  INFO(c.last_error());
  REQUIRE(det.has_value());
  CHECK(det->summary.sightings == n + 1);
  CHECK(det->events_total == n + 1);
  REQUIRE(det->events.size() == 100);                                       // the default page
  CHECK(det->events.front().occurred_at == "2026-09-21T15:03:20.000000Z");  // t0 + 3,000 s
  for (std::size_t i = 1; i < det->events.size(); ++i) {
    CHECK(det->events[i].occurred_at < det->events[i - 1].occurred_at);
  }
  CHECK(det->events.front().hits.size() == 1);
  CHECK(det->next_before == det->events.back().id);

  // The files: counters and URL aggregates over every event, the URLs capped.
  REQUIRE(det->files.size() == 2);
  const auto& a = det->files[0];
  const auto& b = det->files[1];
  CHECK(a.sha256 == hex_n(1, 64));
  CHECK(a.sightings == 1 + n - n / 3);
  CHECK(b.sightings == n / 3);
  CHECK(a.urls.size() == hashdb::urls_per_file);
  CHECK(a.urls_total == 51);                // https://u/0..49 and https://u/first
  CHECK(a.urls.front() == "https://u/49");  // event 2,999, the newest of content 1
  CHECK(a.first_url == "https://u/first");
  CHECK(b.urls_total == 50);
  CHECK(b.urls.front() == "https://u/0");  // event 3,000
  CHECK(b.first_url == "https://u/3");     // event 3
  CHECK(det->urls_total == 51);
  CHECK(a.matches.empty());  // the package's, not the detail's

  // Paging to the end: every event once, oldest last, then no next page.
  std::set<std::string> seen;
  hashdb::event_page page;
  page.limit = hashdb::max_event_page;
  std::string last_at = "9";
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 10);
    auto p = review.detail(id, page);
    REQUIRE(p.has_value());
    REQUIRE_FALSE(p->events.empty());
    CHECK(p->events_total == n + 1);
    CHECK(p->events.front().occurred_at < last_at);
    last_at = p->events.back().occurred_at;
    for (const auto& e : p->events) seen.insert(e.id);
    if (p->next_before.empty()) {
      CHECK(p->events.back().id == hot.first_event);
      break;
    }
    CHECK(p->events.size() == hashdb::max_event_page);
    page.before = p->next_before;
  }
  CHECK(seen.size() == static_cast<std::size_t>(n + 1));

  // Only a count.
  auto none = review.detail(id, {0, {}});
  REQUIRE(none.has_value());
  CHECK(none->events.empty());
  CHECK(none->events_total == n + 1);

  // A page bound over the maximum, and cursors that are not events of this case.
  CHECK(hg_test::error_of(review.detail(id, {hashdb::max_event_page + 1, {}})) ==
        hashdb::errc::invalid_argument);
  for (const std::string& bad : {std::string("nonsense"), other->event_id,
                                 std::string("00000000-0000-0000-0000-000000000000"),
                                 std::string("ZZZZZZZZ-0000-0000-0000-000000000000")}) {
    INFO(bad);
    CHECK(hg_test::error_of(review.detail(id, {10, bad})) == hashdb::errc::invalid_argument);
  }
}
