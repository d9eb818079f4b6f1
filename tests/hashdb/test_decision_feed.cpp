#include "hashguard/hashdb/decision_feed.hpp"

#include "hashguard/hashdb/cases.hpp"

#include "hg_pg.hpp"
#include "review_fixture.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <thread>

using namespace hashguard;
using namespace std::chrono_literals;

TEST_CASE("decision feed: confirmed content, then suppressed content, paged by cursor") {
  hg_test::test_database db;
  const auto lists = hg_test::make_lists(db.url());
  auto c = db.connect();
  hashdb::case_store cases(c, hg_test::one_reviewer());
  hashdb::decision_feed feed(c);

  auto empty = feed.since("", 10);
  REQUIRE(empty.has_value());
  CHECK(empty->items.empty());
  CHECK_FALSE(empty->more);
  const std::string start = empty->next;

  const auto confirmed_case = hg_test::open_case(cases, lists, "zone-a", 42);
  // A second content joins the same case (same entry).
  REQUIRE(cases
              .record(hg_test::make_event("zone-a", lists.list_a, lists.entry_a1, 43,
                                          1'780'000'000'500'000, "https://a.test/y.jpg"))
              .has_value());
  const auto dismissed_case = hg_test::open_case(cases, lists, "zone-b", 77);
  const auto kept_case = hg_test::open_case(cases, lists, "zone-c", 99);

  // Open cases and escalations feed nothing.
  REQUIRE(
      cases.decide(hg_test::make_decision(kept_case, 1, hashdb::decision_kind::escalated), "k_1"));
  auto none = feed.since(start, 10);
  REQUIRE(none.has_value());
  CHECK(none->items.empty());
  CHECK(none->next == start);

  REQUIRE(cases.decide(hg_test::make_decision(confirmed_case, 1, hashdb::decision_kind::confirmed),
                       "k_1"));
  // A dismissal without suppression keeps the content matching: nothing for the cache layer.
  REQUIRE(cases.decide(hg_test::make_decision(kept_case, 2, hashdb::decision_kind::false_positive),
                       "k_2"));
  REQUIRE(cases.decide(
      hg_test::make_decision(dismissed_case, 2, hashdb::decision_kind::false_positive, true),
      "k_2"));

  auto all = feed.since(start, 10);
  INFO(c.last_error());
  REQUIRE(all.has_value());
  REQUIRE(all->items.size() == 3);
  CHECK_FALSE(all->more);
  const auto& a = all->items[0];
  CHECK(a.decision == "confirmed");
  CHECK(a.act == core::action::block);
  CHECK(a.case_id == confirmed_case);
  CHECK(a.sha256 == hg_test::hex_n(42, 64));
  CHECK(a.md5 == hg_test::hex_n(45, 32));
  CHECK(a.sha1 == hg_test::hex_n(49, 40));
  CHECK(a.pdq == hg_test::hex_n(42 * 7, 64));
  CHECK(a.phash.empty());
  CHECK(a.decided_at.size() == 27);
  CHECK(all->items[1].sha256 == hg_test::hex_n(43, 64));
  CHECK(all->items[1].decision == "confirmed");
  const auto& d = all->items[2];
  CHECK(d.decision == "dismissed");
  CHECK(d.act == core::action::none);
  CHECK(d.case_id == dismissed_case);
  CHECK(d.sha256 == hg_test::hex_n(77, 64));

  // Paging: one at a time gives the same items in the same order, then nothing.
  std::string cursor = start;
  std::vector<std::string> paged;
  for (int i = 0; i < 5; ++i) {
    auto page = feed.since(cursor, 1);
    REQUIRE(page.has_value());
    if (page->items.empty()) break;
    CHECK(page->more == (paged.size() < 2));
    paged.push_back(page->items[0].sha256);
    cursor = page->next;
  }
  CHECK(paged ==
        std::vector<std::string>{all->items[0].sha256, all->items[1].sha256, all->items[2].sha256});
  CHECK(cursor == all->next);

  // A confirmed case is locked (a second confirmation is refused and adds nothing); a new one
  // appears after the cursor.
  CHECK(hg_test::error_of(cases.decide(
            hg_test::make_decision(confirmed_case, 3, hashdb::decision_kind::confirmed), "k_3")) ==
        hashdb::errc::case_locked);
  const auto late_case = hg_test::open_case(cases, lists, "zone-d", 500);
  REQUIRE(
      cases.decide(hg_test::make_decision(late_case, 3, hashdb::decision_kind::confirmed), "k_3"));
  auto later = feed.since(cursor, 10);
  REQUIRE(later.has_value());
  REQUIRE(later->items.size() == 1);
  CHECK(later->items[0].case_id == late_case);
  CHECK(later->items[0].sha256 == hg_test::hex_n(500, 64));
}

TEST_CASE("decision feed: the two-person rule feeds on the second confirmation only") {
  hg_test::test_database db;
  const auto lists = hg_test::make_lists(db.url());
  auto c = db.connect();
  hashdb::case_options options;
  options.required_confirmations = 2;
  hashdb::case_store cases(c, options);
  hashdb::decision_feed feed(c);
  const auto id = hg_test::open_case(cases, lists, "zone-a", 7);
  REQUIRE(cases.decide(hg_test::make_decision(id, 1, hashdb::decision_kind::confirmed), "k_1"));
  auto one = feed.since("", 10);
  REQUIRE(one.has_value());
  CHECK(one->items.empty());
  REQUIRE(cases.decide(hg_test::make_decision(id, 2, hashdb::decision_kind::confirmed), "k_2"));
  auto two = feed.since("", 10);
  REQUIRE(two.has_value());
  REQUIRE(two->items.size() == 1);
  CHECK(two->items[0].case_id == id);
}

TEST_CASE("decision feed: a decision that commits late never hides behind a reader's cursor") {
  hg_test::test_database db;
  const auto lists = hg_test::make_lists(db.url());
  auto c = db.connect();
  hashdb::case_store cases(c, hg_test::one_reviewer());
  const auto first = hg_test::open_case(cases, lists, "zone-a", 1);
  const auto second = hg_test::open_case(cases, lists, "zone-b", 2);

  // A transaction confirms the first case and stays open.
  pqxx::connection slow(db.url());
  pqxx::work slow_tx(slow);
  slow_tx.exec_params0("UPDATE cases SET status = 'confirmed' WHERE id = $1", first);

  // Meanwhile a reviewer confirms the second case: its feed row waits for the first to commit.
  std::atomic<bool> decided{false};
  std::thread reviewer([&] {
    auto rc = db.connect();
    hashdb::case_store other(rc, hg_test::one_reviewer());
    auto r =
        other.decide(hg_test::make_decision(second, 9, hashdb::decision_kind::confirmed), "k_9");
    decided = r.has_value();
  });
  std::this_thread::sleep_for(300ms);
  hashdb::decision_feed feed(c);
  auto during = feed.since("", 10);
  REQUIRE(during.has_value());
  CHECK(during->items.empty());  // nothing is visible, so the reader's cursor stays put
  CHECK_FALSE(decided.load());
  slow_tx.commit();
  reviewer.join();
  CHECK(decided.load());

  auto after = feed.since(during->next, 10);
  REQUIRE(after.has_value());
  REQUIRE(after->items.size() == 2);
  CHECK(after->items[0].case_id == first);
  CHECK(after->items[1].case_id == second);
}

TEST_CASE("decision feed: bad cursors and limits are invalid_argument") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::decision_feed feed(c);
  CHECK(hg_test::error_of(feed.since("abc", 10)) == hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(feed.since("-1", 10)) == hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(feed.since("12x", 10)) == hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(feed.since("", 0)) == hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(feed.since("", 1001)) == hashdb::errc::invalid_argument);
  auto ok = feed.since("0", 1000);
  REQUIRE(ok.has_value());
  CHECK(ok->next == "0");
}
