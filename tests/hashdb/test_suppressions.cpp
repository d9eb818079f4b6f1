#include "hashguard/hashdb/suppressions.hpp"

#include "hashguard/hashdb/cases.hpp"

#include "hg_pg.hpp"
#include "review_fixture.hpp"

#include <pqxx/pqxx>

#include <optional>
#include <random>
#include <set>

using namespace hashguard;

namespace {

hashdb::content_decision item(std::string decision, std::uint64_t content) {
  hashdb::content_decision d;
  d.decision = std::move(decision);
  d.act = d.decision == "confirmed" ? core::action::block : core::action::none;
  d.sha256 = hg_test::hex_n(content, 64);
  return d;
}

hashdb::content_key key(std::uint64_t content) {
  hashdb::content_key k{};
  for (std::size_t i = 0; i < 8; ++i) {
    k[31 - i] = static_cast<std::uint8_t>(content >> (8 * i));
  }
  return k;
}

}  // namespace

TEST_CASE("suppression set: dismissed adds, confirmed removes, the latest item wins") {
  const hashdb::suppression_set empty;
  CHECK(empty.empty());
  CHECK(empty.size() == 0);
  CHECK(empty.cursor().empty());
  CHECK_FALSE(empty.contains(key(1)));

  const std::vector<hashdb::content_decision> first{item("dismissed", 1), item("dismissed", 2),
                                                    item("confirmed", 3)};
  const auto a = empty.apply(first, "3");
  CHECK(a.size() == 2);
  CHECK(a.contains(key(1)));
  CHECK(a.contains(key(2)));
  CHECK_FALSE(a.contains(key(3)));  // confirmed content is never suppressed
  CHECK(a.cursor() == "3");
  CHECK(empty.empty());  // apply() leaves the source alone

  // Within one batch, the order of the items decides: 1 is confirmed after its dismissal,
  // 4 is dismissed after its confirmation, 5 flips twice and ends suppressed.
  const std::vector<hashdb::content_decision> second{
      item("confirmed", 1), item("confirmed", 4), item("dismissed", 4), item("dismissed", 5),
      item("confirmed", 5), item("dismissed", 5), item("dismissed", 2)};
  const auto b = a.apply(second, "10");
  CHECK_FALSE(b.contains(key(1)));
  CHECK(b.contains(key(2)));
  CHECK_FALSE(b.contains(key(3)));
  CHECK(b.contains(key(4)));
  CHECK(b.contains(key(5)));
  CHECK(b.size() == 3);
  CHECK(b.cursor() == "10");
  CHECK(a.contains(key(1)));

  // Items that cannot be keyed by SHA-256 are skipped; unknown decisions change nothing.
  auto no_sha = item("dismissed", 6);
  no_sha.sha256.clear();
  auto bad_sha = item("dismissed", 7);
  bad_sha.sha256[0] = 'z';
  auto short_sha = item("dismissed", 8);
  short_sha.sha256.pop_back();
  auto odd = item("escalated", 9);
  const std::vector<hashdb::content_decision> junk{no_sha, bad_sha, short_sha, odd};
  const auto c = b.apply(junk, "14");
  CHECK(c.size() == b.size());
  CHECK(c.cursor() == "14");
  for (std::uint64_t n : {6U, 7U, 8U, 9U}) CHECK_FALSE(c.contains(key(n)));

  // Nothing to apply: same keys, the new cursor.
  const auto d = c.apply({}, "15");
  CHECK(d.size() == c.size());
  CHECK(d.cursor() == "15");
}

TEST_CASE("suppression set: a reopened dismissal is no longer suppressed") {
  const hashdb::suppression_set empty;
  const std::vector<hashdb::content_decision> items{item("dismissed", 1), item("dismissed", 2),
                                                    item("reopened", 1)};
  const auto s = empty.apply(items, "3");
  CHECK_FALSE(s.contains(key(1)));
  CHECK(s.contains(key(2)));
}

TEST_CASE("suppression set: random batches agree with a reference set") {
  std::mt19937_64 rng(20240611);
  std::set<hashdb::content_key> reference;
  hashdb::suppression_set set;
  for (const std::size_t batch : {0U, 1U, 7U, 8U, 9U, 31U, 33U, 500U, 1000U, 3U}) {
    std::vector<hashdb::content_decision> items;
    for (std::size_t i = 0; i < batch; ++i) {
      const std::uint64_t content = rng() % 300;  // small range: plenty of repeats and flips
      const bool dismiss = (rng() & 1U) != 0;
      items.push_back(item(dismiss ? "dismissed" : "confirmed", content));
      if (dismiss) {
        reference.insert(key(content));
      } else {
        reference.erase(key(content));
      }
    }
    set = set.apply(items, std::to_string(batch));
    INFO("batch " << batch);
    REQUIRE(set.size() == reference.size());
    for (std::uint64_t n = 0; n < 300; ++n)
      CHECK(set.contains(key(n)) == reference.contains(key(n)));
  }
}

TEST_CASE("suppression holder: load() is never null, publish() swaps") {
  hashdb::suppression_holder holder;
  const auto first = holder.load();
  REQUIRE(first != nullptr);
  CHECK(first->empty());
  const std::vector<hashdb::content_decision> items{item("dismissed", 11)};
  auto next = std::make_shared<const hashdb::suppression_set>(first->apply(items, "1"));
  auto old = holder.publish(next);
  CHECK(old == first);
  CHECK(holder.load() == next);
  CHECK(holder.contains(key(11)));
  CHECK(holder.publish(nullptr) == nullptr);  // ignored
  CHECK(holder.load() == next);
  CHECK(first->empty());  // a reader holding the old set keeps it intact
}

TEST_CASE("refresh_suppressions: follows reviewers' decisions through the feed") {
  hg_test::test_database db;
  const auto lists = hg_test::make_lists(db.url());
  auto c = db.connect();
  hashdb::case_store cases(c, hg_test::one_reviewer());
  hashdb::suppression_holder holder;

  auto nothing = hashdb::refresh_suppressions(c, holder);
  REQUIRE(nothing.has_value());
  CHECK(*nothing == 0);
  CHECK(holder.load()->empty());

  // Content 77 is seen in two zones; one case is dismissed with suppression.
  const auto dismissed = hg_test::open_case(cases, lists, "zone-b", 77, 1'780'000'000'000'000);
  const auto other_zone = hg_test::open_case(cases, lists, "zone-c", 77, 1'780'000'000'100'000);
  const auto confirmed = hg_test::open_case(cases, lists, "zone-a", 42, 1'780'000'000'200'000);
  REQUIRE(
      cases.decide(hg_test::make_decision(confirmed, 1, hashdb::decision_kind::confirmed), "k_1"));
  REQUIRE(cases.decide(
      hg_test::make_decision(dismissed, 2, hashdb::decision_kind::false_positive, true), "k_2"));
  auto read = hashdb::refresh_suppressions(c, holder);
  REQUIRE(read.has_value());
  CHECK(*read == 2);  // the confirmation and the suppression
  const auto after = holder.load();
  CHECK(after->contains(key(77)));
  CHECK_FALSE(after->contains(key(42)));
  CHECK(after->size() == 1);
  CHECK_FALSE(after->cursor().empty());

  // The case store agrees: the next sighting of 77 is recorded as suppressed, with no case.
  auto seen = cases.record(hg_test::make_event("zone-d", lists.list_a, lists.entry_a1, 77,
                                               1'780'000'000'300'000, "https://d.test/x.jpg"));
  REQUIRE(seen.has_value());
  CHECK(seen->outcome == hashdb::record_outcome::suppressed);
  CHECK_FALSE(seen->case_id.has_value());

  // Caught up: nothing read, nothing published (the same set stays).
  auto again = hashdb::refresh_suppressions(c, holder);
  REQUIRE(again.has_value());
  CHECK(*again == 0);
  CHECK(holder.load() == after);

  // The other zone's case holding the same content is confirmed: the confirmation wins, in
  // the feed, in the suppression table and so in the set.
  REQUIRE(
      cases.decide(hg_test::make_decision(other_zone, 3, hashdb::decision_kind::confirmed), "k_3"));
  auto lifted = hashdb::refresh_suppressions(c, holder);
  REQUIRE(lifted.has_value());
  CHECK(*lifted == 1);
  CHECK_FALSE(holder.contains(key(77)));
  auto in_table = cases.is_suppressed(hg_test::hex_n(77, 64));
  REQUIRE(in_table.has_value());
  CHECK_FALSE(*in_table);
  auto seen_again = cases.record(hg_test::make_event(
      "zone-d", lists.list_a, lists.entry_a1, 77, 1'780'000'000'400'000, "https://d.test/y.jpg"));
  REQUIRE(seen_again.has_value());
  CHECK(seen_again->outcome == hashdb::record_outcome::recorded);
}

TEST_CASE(
    "refresh_suppressions: a dismissal never lifts a confirmed block, a confirmation lifts a "
    "suppression") {
  hg_test::test_database db;
  const auto lists = hg_test::make_lists(db.url());
  auto c = db.connect();
  hashdb::case_options two_person;
  two_person.required_confirmations = 2;
  hashdb::case_store cases(c, hg_test::one_reviewer());
  hashdb::case_store strict(c, two_person);
  // Zone a's case is confirmed (one reviewer suffices); zone b's case of the same content
  // cannot suppress it: the block stays, in the table and in the set. Dismissing zone b's case
  // without suppression is fine.
  const auto confirmed = hg_test::open_case(cases, lists, "zone-a", 5, 1'780'000'000'000'000);
  const auto dismissed = hg_test::open_case(cases, lists, "zone-b", 5, 1'780'000'000'100'000);
  REQUIRE(
      cases.decide(hg_test::make_decision(confirmed, 1, hashdb::decision_kind::confirmed), "k_1"));
  CHECK(hg_test::error_of(cases.decide(
            hg_test::make_decision(dismissed, 2, hashdb::decision_kind::false_positive, true),
            "k_2")) == hashdb::errc::suppression_refused);
  REQUIRE(cases.decide(hg_test::make_decision(dismissed, 2, hashdb::decision_kind::false_positive),
                       "k_2"));
  hashdb::suppression_holder holder;
  REQUIRE(hashdb::refresh_suppressions(c, holder).has_value());
  CHECK_FALSE(holder.contains(key(5)));
  auto in_table = cases.is_suppressed(hg_test::hex_n(5, 64));
  REQUIRE(in_table.has_value());
  CHECK_FALSE(*in_table);

  // Under the two-person rule, the first confirmation leaves the case open: still suppressed;
  // the second makes it confirmed and lifts the suppression.
  const auto pending = hg_test::open_case(strict, lists, "zone-c", 6, 1'780'000'000'200'000);
  const auto gone = hg_test::open_case(strict, lists, "zone-d", 6, 1'780'000'000'300'000);
  REQUIRE(strict.decide(
      hg_test::make_decision(gone, 1, hashdb::decision_kind::false_positive, true), "k_1"));
  REQUIRE(strict.decide(
      hg_test::make_decision(gone, 2, hashdb::decision_kind::false_positive, true), "k_2"));
  REQUIRE(
      strict.decide(hg_test::make_decision(pending, 1, hashdb::decision_kind::confirmed), "k_1"));
  REQUIRE(hashdb::refresh_suppressions(c, holder).has_value());
  CHECK(holder.contains(key(6)));
  auto still = cases.is_suppressed(hg_test::hex_n(6, 64));
  REQUIRE(still.has_value());
  CHECK(*still);
  REQUIRE(
      strict.decide(hg_test::make_decision(pending, 2, hashdb::decision_kind::confirmed), "k_2"));
  REQUIRE(hashdb::refresh_suppressions(c, holder).has_value());
  CHECK_FALSE(holder.contains(key(6)));
  auto lifted = cases.is_suppressed(hg_test::hex_n(6, 64));
  REQUIRE(lifted.has_value());
  CHECK_FALSE(*lifted);
}

TEST_CASE("refresh_suppressions: a long feed is read page by page and applied once") {
  hg_test::test_database db;
  auto c = db.connect();
  // 2,500 dismissed items written straight into the feed (three pages of at most 1000), the
  // last 500 repeating the first 500 as confirmations.
  hg_test::exec_sql(db.url(),
                    "INSERT INTO decision_feed (decision, action, content, sha256)"
                    " SELECT 'dismissed', 'none', v, v FROM (SELECT decode(lpad(to_hex(g), 64,"
                    " '0'), 'hex') AS v FROM generate_series(1, 2000) g) s;"
                    "INSERT INTO decision_feed (decision, action, content, sha256)"
                    " SELECT 'confirmed', 'block', v, v FROM (SELECT decode(lpad(to_hex(g), 64,"
                    " '0'), 'hex') AS v FROM generate_series(1, 500) g) s");
  hashdb::suppression_holder holder;
  auto read = hashdb::refresh_suppressions(c, holder);
  REQUIRE(read.has_value());
  CHECK(*read == 2500);
  const auto set = holder.load();
  CHECK(set->size() == 1500);
  CHECK_FALSE(set->contains(key(1)));
  CHECK_FALSE(set->contains(key(500)));
  CHECK(set->contains(key(501)));
  CHECK(set->contains(key(2000)));
  CHECK_FALSE(set->contains(key(2001)));
}

TEST_CASE(
    "refresh_suppressions on a kept connection: opens it, follows decisions, survives no "
    "database") {
  hg_test::test_database db;
  const auto lists = hg_test::make_lists(db.url());
  auto c = db.connect();
  hashdb::case_store cases(c, hg_test::one_reviewer());
  const auto early = hg_test::open_case(cases, lists, "zone-a", 300, 1'780'000'000'000'000);
  REQUIRE(cases.decide(
      hg_test::make_decision(early, 1, hashdb::decision_kind::false_positive, true), "k_1"));

  // The first call opens the connection and catches up.
  hashdb::suppression_holder holder;
  std::optional<hashdb::connection> kept;
  auto first = hashdb::refresh_suppressions(kept, db.url(), holder);
  REQUIRE(first.has_value());
  CHECK(*first == 1);
  REQUIRE(kept.has_value());
  CHECK(holder.contains(key(300)));

  // Later calls reuse it (the same connection object) and read only what is new.
  const auto* same = &*kept;
  const auto late = hg_test::open_case(cases, lists, "zone-b", 301, 1'780'000'000'100'000);
  REQUIRE(cases.decide(hg_test::make_decision(late, 1, hashdb::decision_kind::false_positive, true),
                       "k_1"));
  auto second = hashdb::refresh_suppressions(kept, db.url(), holder);
  REQUIRE(second.has_value());
  CHECK(*second == 1);
  CHECK(&*kept == same);
  CHECK(holder.contains(key(300)));
  CHECK(holder.contains(key(301)));

  // No server behind the URL: unavailable, no connection kept, the set unchanged (and the
  // next call tries again).
  hashdb::suppression_holder lonely;
  std::optional<hashdb::connection> none;
  const std::string nowhere = "postgresql:///hashguard?host=/nonexistent-hg-socket-dir";
  for (int i = 0; i < 2; ++i) {
    auto down = hashdb::refresh_suppressions(none, nowhere, lonely);
    REQUIRE_FALSE(down.has_value());
    CHECK(down.error() == hashdb::errc::unavailable);
    CHECK_FALSE(none.has_value());
    CHECK(lonely.load()->empty());
  }
}
