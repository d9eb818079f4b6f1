#include "hashguard/hashdb/floods.hpp"

#include "hashguard/hashdb/event.hpp"

#include "hashdb_test_support.hpp"
#include "review_fixture.hpp"

#include "hg_pg.hpp"

#include <string>

using namespace hashguard;

namespace {

constexpr std::int64_t hour_us = 3'600'000'000;

// `n` events of distinct contents (numbered from `first`) hitting (list, entry) at `at_us`.
void sightings(hashdb::case_store& cases, std::int64_t list, std::int64_t entry,
               std::uint64_t first, int n, std::int64_t at_us) {
  for (int i = 0; i < n; ++i) {
    auto r = cases.record(
        hg_test::make_event("zone-f", list, entry, first + static_cast<std::uint64_t>(i), at_us + i,
                            "https://f.test/" + std::to_string(first) + "/" + std::to_string(i)));
    REQUIRE(r.has_value());
  }
}

std::string one(const std::string& url, const std::string& sql) {
  const auto v = hg_test::column_of(url, sql);
  REQUIRE(v.size() == 1);
  return v[0];
}

std::int64_t extra_entry(const std::string& url, std::int64_t list, int n) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  const auto id = tx.exec_params1(
                        "INSERT INTO hashes (list_id, value) VALUES ($1, decode($2,"
                        " 'hex')) RETURNING id",
                        list, hg_test::hex_n(static_cast<std::uint64_t>(n), 64))[0]
                      .as<std::int64_t>();
  tx.commit();
  return id;
}

}  // namespace

TEST_CASE(
    "floods: more than N distinct contents in the window flag an entry, exact digests never drop") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hg_test::exec_sql(db.url(), "UPDATE hash_lists SET auto_quarantine = true");
  hashdb::case_store cases(c, hg_test::one_reviewer());
  const auto now = hashdb::now_us();
  sightings(cases, l.list_a, l.entry_a1, 100, 6, now - 60'000'000);   // pdq: 6 > 5
  sightings(cases, l.list_b, l.entry_b1, 200, 6, now - 60'000'000);   // md5: 6 > 5
  sightings(cases, l.list_a, l.entry_a2, 300, 5, now - 60'000'000);   // 5: not more than 5
  sightings(cases, l.list_a, l.entry_a2, 400, 9, now - 3 * hour_us);  // outside the window
  const auto version_before = std::stoll(
      one(db.url(), "SELECT version FROM hash_lists WHERE id = " + std::to_string(l.list_a)));

  hashdb::flood_store floods(c);
  hashdb::flood_options o;
  o.max_distinct = 5;
  o.min_distinct = 100;  // the baseline rule out of the way
  auto flagged = floods.evaluate(o);
  REQUIRE(flagged.has_value());
  REQUIRE(flagged->size() == 2);
  const auto& a1 = (*flagged)[0];
  CHECK(a1.entry_id == l.entry_a1);
  CHECK(a1.list_name == "ncmec-test");
  CHECK(a1.distinct_contents == 6);
  CHECK(a1.reason == "over_limit");
  CHECK(a1.auto_quarantined);  // perceptual, auto_quarantine list, never confirmed
  CHECK(a1.quarantined);
  const auto& b1 = (*flagged)[1];
  CHECK(b1.entry_id == l.entry_b1);
  CHECK_FALSE(b1.auto_quarantined);  // an exact digest never drops by itself
  CHECK_FALSE(b1.quarantined);
  CHECK(one(db.url(), "SELECT count(*) FROM hashes WHERE quarantined_at IS NOT NULL") == "1");
  CHECK(std::stoll(one(db.url(), "SELECT version FROM hash_lists WHERE id = " +
                                     std::to_string(l.list_a))) > version_before);
  CHECK(one(db.url(), "SELECT count(*) FROM audit_log WHERE action = 'list.entry_flood'") == "2");
  CHECK(one(db.url(), "SELECT count(*) FROM audit_log WHERE action = 'list.entry_quarantine'") ==
        "1");

  // An open flag is not raised again; the listing and the gauge see both.
  auto again = floods.evaluate(o);
  REQUIRE(again.has_value());
  CHECK(again->empty());
  CHECK(floods.open_count().value() == 2);
  auto listed = floods.list(false);
  REQUIRE(listed.has_value());
  CHECK(listed->size() == 2);

  // Bad options are refused.
  o.window = std::chrono::seconds(0);
  CHECK(hg_test::error_of(floods.evaluate(o)) == hashdb::errc::invalid_argument);
}

TEST_CASE(
    "floods: a spike over k times the baseline flags, a confirmed entry is never quarantined, an "
    "admin restores") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hg_test::exec_sql(db.url(), "UPDATE hash_lists SET auto_quarantine = true");
  const auto quiet = extra_entry(db.url(), l.list_a, 5001);
  hashdb::case_store cases(c, hg_test::one_reviewer());
  const auto now = hashdb::now_us();
  // entry_a1: 2 contents in each of the 2 windows before (baseline 2), 5 now: 5 > 2 x 2.
  sightings(cases, l.list_a, l.entry_a1, 100, 2, now - hour_us - 600'000'000);
  sightings(cases, l.list_a, l.entry_a1, 110, 2, now - 2 * hour_us - 600'000'000);
  sightings(cases, l.list_a, l.entry_a1, 120, 5, now - 60'000'000);
  // quiet: 3 per window before (baseline 3), 5 now: 5 < 2 x 3, not flagged.
  sightings(cases, l.list_a, quiet, 200, 3, now - hour_us - 600'000'000);
  sightings(cases, l.list_a, quiet, 210, 3, now - 2 * hour_us - 600'000'000);
  sightings(cases, l.list_a, quiet, 220, 5, now - 60'000'000);
  // entry_a2: its case was confirmed, then it spikes from nothing.
  auto opened = cases.record(hg_test::make_event("zone-c", l.list_a, l.entry_a2, 900,
                                                 now - 5 * hour_us, "https://c.test/x.jpg"));
  REQUIRE(opened.has_value());
  REQUIRE(opened->case_id.has_value());
  const auto confirmed = *opened->case_id;
  hg_test::decide_final(cases, confirmed, hashdb::decision_kind::confirmed);
  sightings(cases, l.list_a, l.entry_a2, 300, 4, now - 60'000'000);

  hashdb::flood_store floods(c);
  hashdb::flood_options o;
  o.max_distinct = 100;
  o.min_distinct = 3;
  o.baseline_factor = 2.0;
  o.baseline_windows = 2;
  auto flagged = floods.evaluate(o);
  REQUIRE(flagged.has_value());
  REQUIRE(flagged->size() == 2);
  CHECK((*flagged)[0].entry_id == l.entry_a1);
  CHECK((*flagged)[0].reason == "over_baseline");
  CHECK((*flagged)[0].baseline == Approx(2.0));
  CHECK((*flagged)[0].auto_quarantined);
  CHECK((*flagged)[1].entry_id == l.entry_a2);
  CHECK_FALSE((*flagged)[1].auto_quarantined);  // confirmed here: never drops by itself

  // By hand: any entry, digests included; audited; the version moves; restore clears the flag.
  auto q = floods.set_quarantine(l.list_b, l.entry_b1, true, "flooded by copies", "k_admin");
  REQUIRE(q.has_value());
  CHECK(q->changed);
  CHECK(q->quarantined);
  auto same = floods.set_quarantine(l.list_b, l.entry_b1, true, "again", "k_admin");
  REQUIRE(same.has_value());
  CHECK_FALSE(same->changed);
  CHECK(same->version == q->version);
  auto restored =
      floods.set_quarantine(l.list_a, l.entry_a1, false, "a real entry after all", "k_admin");
  REQUIRE(restored.has_value());
  CHECK(restored->changed);
  CHECK(floods.open_count().value() == 1);
  CHECK(floods.list(true)->size() == 2);
  CHECK(one(db.url(), "SELECT count(*) FROM audit_log WHERE action = 'list.entry_restore'") == "1");
  CHECK(hg_test::error_of(floods.set_quarantine(l.list_a, l.entry_b1, true, "x", "k")) ==
        hashdb::errc::not_found);
  CHECK(hg_test::error_of(floods.set_quarantine(l.list_a, l.entry_a1, true, " ", "k")) ==
        hashdb::errc::invalid_argument);
}
