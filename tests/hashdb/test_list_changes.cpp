#include "hashguard/hashdb/list_changes.hpp"

#include "hashguard/hashdb/exchange_store.hpp"
#include "hashguard/hashdb/keys.hpp"
#include "hashguard/hashdb/lists.hpp"

#include "hashdb_test_support.hpp"
#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>

using namespace hashguard;
using namespace std::chrono_literals;

namespace {

// Distinct PDQ values: entry i is 64 hex digits of i's pattern.
std::string pdq(int i) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(i) * 2654435761U);
  std::string out;
  for (int k = 0; k < 8; ++k) out += buf;
  return out;
}

void import_values(hashdb::list_store& store, const std::string& list, int from, int to) {
  std::ostringstream text;
  for (int i = from; i < to; ++i) text << pdq(i) << "\n";
  std::istringstream in(text.str());
  hashdb::import_options o;
  o.format = hashdb::list_format::hex;
  REQUIRE(store.import(list, in, o).has_value());
}

hashdb::list_spec pdq_list(const std::string& name) {
  hashdb::list_spec s;
  s.name = name;
  s.sig = core::signal::pdq;
  s.threshold = 31;
  return s;
}

// The feed serves a row once no transaction that could still commit before it is open,
// cluster-wide (hashdb/list_changes.hpp). Other tests' transactions on the shared test server can
// hold that horizon back for a moment: wait until it has passed everything this test wrote.
void settle(const std::string& url) {
  pqxx::connection pc(url);
  const auto mine = pqxx::nontransaction(pc)
                        .exec1("SELECT pg_current_xact_id()::text::bigint")[0]
                        .as<long long>();
  for (int i = 0; i < 1200; ++i) {
    pqxx::nontransaction tx(pc);
    const auto horizon =
        tx.exec1("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")[0].as<long long>();
    if (horizon > mine) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("the transaction horizon did not pass this test's writes within 60 s");
}

// Every change after `since`, page by page (`limit` per page), as value -> latest state
// ("live", "retired", "deleted"); `pages` counts the pages read.
std::map<std::string, std::string> drain(hashdb::connection& c, const std::string& list,
                                         hashdb::change_cursor& since, std::size_t limit,
                                         int* pages = nullptr) {
  std::map<std::string, std::string> out;
  for (int guard = 0; guard < 1000; ++guard) {
    auto page = hashdb::read_list_changes(c, list, since, limit);
    INFO(c.last_error());
    REQUIRE(page.has_value());
    REQUIRE(page->withheld_by.empty());
    if (pages != nullptr) ++*pages;
    for (const auto& ch : page->changes) {
      out[ch.value] = ch.deleted ? "deleted" : ch.retired ? "retired" : "live";
    }
    CHECK(page->changes.size() <= limit);
    since = page->next;
    if (!page->more) break;
  }
  return out;
}

}  // namespace

TEST_CASE("list changes: cursors parse and print, 0 is the start") {
  CHECK(hashdb::parse_change_cursor("0") == hashdb::change_cursor{});
  CHECK(hashdb::parse_change_cursor("123.45") == hashdb::change_cursor{123, 45});
  CHECK(hashdb::to_string(hashdb::change_cursor{123, 45}) == "123.45");
  CHECK(hashdb::to_string(hashdb::change_cursor{}) == "0");
  for (const char* bad : {"", "1", "1.", ".1", "a.1", "1.-1", "1.2.3", " 1.2"}) {
    INFO(bad);
    CHECK_FALSE(hashdb::parse_change_cursor(bad).has_value());
  }
}

TEST_CASE("list changes: pages of additions, then a retirement and a deletion, each once") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store lists(c);
  REQUIRE(lists.create(pdq_list("feed")).has_value());
  REQUIRE(lists.create(pdq_list("other")).has_value());
  import_values(lists, "feed", 0, 7);
  import_values(lists, "other", 100, 103);

  hashdb::change_cursor since;
  int pages = 0;
  settle(db.url());
  auto seen = drain(c, "feed", since, 3, &pages);
  CHECK(seen.size() == 7);  // the other list's entries are not in this feed
  CHECK(pages == 3);        // 3 + 3 + 1
  for (const auto& [value, state] : seen) CHECK(state == "live");

  // Nothing new: an empty page that keeps the cursor.
  const auto at = since;
  auto empty = hashdb::read_list_changes(c, "feed", since, 3);
  REQUIRE(empty.has_value());
  CHECK(empty->changes.empty());
  CHECK(empty->next == at);
  CHECK_FALSE(empty->more);

  // A retired entry comes again, retired; a new import adds only the new value.
  const auto entry = std::stoll(hg_test::column_of(
      db.url(), "SELECT id FROM hashes WHERE value = decode('" + pdq(2) + "', 'hex')")[0]);
  const auto feed_id = lists.get("feed").value().id;
  REQUIRE(lists.disable_entry(feed_id, entry, "wrong entry", "k_admin").has_value());
  import_values(lists, "feed", 6, 8);  // 6 is there already
  settle(db.url());
  auto next = drain(c, "feed", since, 3);
  CHECK(next == std::map<std::string, std::string>{{pdq(2), "retired"}, {pdq(7), "live"}});

  // A deleted entry (an exchange withdrew it) leaves a tombstone the feed shows.
  {
    pqxx::connection pc(db.url());
    pqxx::work tx(pc);
    tx.exec("DELETE FROM hashes WHERE value = decode('" + pdq(4) + "', 'hex')");
    tx.commit();
  }
  settle(db.url());
  auto gone = drain(c, "feed", since, 3);
  CHECK(gone == std::map<std::string, std::string>{{pdq(4), "deleted"}});

  // From the start again: every entry once, in its latest state.
  hashdb::change_cursor start;
  settle(db.url());
  auto all = drain(c, "feed", start, 100);
  CHECK(all.size() == 8);
  CHECK(all[pdq(2)] == "retired");
  CHECK(all[pdq(4)] == "deleted");
  CHECK(all[pdq(7)] == "live");

  CHECK(hg_test::error_of(hashdb::read_list_changes(c, "nope", start, 10)) ==
        hashdb::errc::not_found);
  CHECK(hg_test::error_of(hashdb::read_list_changes(c, "feed", start, 0)) ==
        hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(hashdb::read_list_changes(c, "feed", start, 10001)) ==
        hashdb::errc::invalid_argument);
}

TEST_CASE("list changes: a transaction still open holds the feed back and nothing is skipped") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store lists(c);
  REQUIRE(lists.create(pdq_list("feed")).has_value());
  const auto list_id = lists.get("feed").value().id;
  import_values(lists, "feed", 0, 2);
  hashdb::change_cursor since;
  settle(db.url());
  CHECK(drain(c, "feed", since, 10).size() == 2);

  // A writer starts first and stays open; a later one commits meanwhile. The later one's row
  // must not be served before the earlier one commits, or a cursor past it would skip the
  // earlier row for good.
  pqxx::connection slow_conn(db.url());
  pqxx::work slow(slow_conn);
  slow.exec("INSERT INTO hashes (list_id, value) VALUES (" + std::to_string(list_id) +
            ", decode('" + pdq(10) + "', 'hex'))");
  {
    pqxx::connection fast_conn(db.url());
    pqxx::work fast(fast_conn);
    fast.exec("INSERT INTO hashes (list_id, value) VALUES (" + std::to_string(list_id) +
              ", decode('" + pdq(11) + "', 'hex'))");
    fast.commit();
  }
  auto held = hashdb::read_list_changes(c, "feed", since, 10);
  REQUIRE(held.has_value());
  CHECK(held->changes.empty());
  CHECK(held->next == since);

  slow.commit();
  settle(db.url());
  auto both = drain(c, "feed", since, 10);
  CHECK(both == std::map<std::string, std::string>{{pdq(10), "live"}, {pdq(11), "live"}});
}

TEST_CASE("list changes: a list fed by an exchange is served only when its reshare is on") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::exchange_store store(c);
  auto spec_for = [](const std::string& name, bool reshare) {
    hashdb::exchange_spec s;
    s.name = name;
    s.kind = name == "nc" ? "ncmec" : "threatexchange";
    s.reshare = reshare;
    s.feeds.push_back({core::signal::pdq, name + "-pdq", 31, core::action::review});
    return s;
  };
  REQUIRE(store.register_exchange(spec_for("nc", false)).has_value());
  REQUIRE(store.register_exchange(spec_for("te", true)).has_value());
  for (const std::string x : {"nc", "te"}) {
    REQUIRE(store.acquire_lease(x, "n1", 60s).value());
    hashdb::exchange_page p;
    hashdb::exchange_entry e;
    e.source_id = "s-" + x;
    e.signal = "pdq";
    e.value = pdq(x == "nc" ? 1 : 2);
    e.tags = {"t1", "t2"};
    e.opinion = "positive";
    p.entries.push_back(e);
    p.checkpoint = "c1";
    REQUIRE(store.apply_page(x, "n1", "", p, 60s).has_value());
    REQUIRE(store.finish_batch(x, "n1", "").has_value());
  }
  settle(db.url());
  auto withheld = hashdb::read_list_changes(c, "nc-pdq", {}, 10);
  REQUIRE(withheld.has_value());
  CHECK(withheld->withheld_by == "nc");
  CHECK(withheld->changes.empty());

  auto served = hashdb::read_list_changes(c, "te-pdq", {}, 10);
  REQUIRE(served.has_value());
  CHECK(served->withheld_by.empty());
  REQUIRE(served->changes.size() == 1);
  const auto& ch = served->changes[0];
  CHECK(ch.value == pdq(2));
  CHECK(ch.exchange == "te");
  CHECK(ch.source_id == "s-te");
  CHECK(ch.tags == std::vector<std::string>{"t1", "t2"});
  CHECK(ch.opinion == "positive");
  CHECK_FALSE(ch.first_seen.empty());

  // Re-delivering the entry unchanged does not move it in the feed.
  const auto after = served->next;
  REQUIRE(store.acquire_lease("te", "n1", 60s).value());
  hashdb::exchange_page again;
  hashdb::exchange_entry same;
  same.source_id = "s-te";
  same.signal = "pdq";
  same.value = pdq(2);
  same.tags = {"t1", "t2"};
  same.opinion = "positive";
  again.entries.push_back(same);
  again.checkpoint = "c2";
  REQUIRE(store.apply_page("te", "n1", "c1", again, 60s).has_value());
  auto quiet = hashdb::read_list_changes(c, "te-pdq", after, 10);
  REQUIRE(quiet.has_value());
  CHECK(quiet->changes.empty());
}

TEST_CASE("list changes: keys of role exchange name their lists, other roles name none") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::key_store keys(c);
  auto made = keys.create("peer", core::role::exchange, {}, {"feed", "other-list"});
  INFO(c.last_error());
  REQUIRE(made.has_value());
  CHECK(made->info.role == core::role::exchange);
  CHECK(made->info.lists == std::vector<std::string>{"feed", "other-list"});
  auto live = keys.live_digests();
  REQUIRE(live.has_value());
  REQUIRE(live->size() == 1);
  CHECK(live->front().first.lists == made->info.lists);

  CHECK(hg_test::error_of(keys.create("no-lists", core::role::exchange)) ==
        hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(keys.create("admin-with-lists", core::role::admin, {}, {"feed"})) ==
        hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(keys.create("bad-name", core::role::exchange, {}, {"a,b"})) ==
        hashdb::errc::invalid_argument);
  auto admin = keys.create("admin", core::role::admin);
  REQUIRE(admin.has_value());
  CHECK(admin->info.lists.empty());
}
