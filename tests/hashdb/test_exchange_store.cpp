#include "hashguard/hashdb/exchange_store.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/lists.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"

#include "hashdb_test_support.hpp"
#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

using namespace hashguard;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using hg_test::pdq_query;

constexpr auto ttl = 60s;

hashdb::exchange_spec spec_of(const std::string& name) {
  hashdb::exchange_spec s;
  s.name = name;
  s.kind = "folder";
  s.harm = core::harm_type::ncii;
  s.feeds.push_back({core::signal::pdq, name + "-pdq", 31, core::action::review});
  s.feeds.push_back({core::signal::md5, name + "-md5", 0, core::action::block});
  return s;
}

// A PDQ value for entry number i: pseudo-random (splitmix64), so any two are far apart.
std::string pdq_of(int i) {
  std::uint64_t x = static_cast<std::uint64_t>(i) * 4 + 1;
  std::string out;
  for (int w = 0; w < 4; ++w) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(z));
    out += buf;
  }
  return out;
}

hashdb::exchange_entry add(const std::string& id, const std::string& value,
                           const std::string& signal = "pdq") {
  hashdb::exchange_entry e;
  e.source_id = id;
  e.signal = signal;
  e.value = value;
  e.tags = {"tag-" + id};
  e.opinion = "positive";
  return e;
}

hashdb::exchange_entry del(const std::string& id, const std::string& signal = "pdq") {
  hashdb::exchange_entry e;
  e.source_id = id;
  e.signal = signal;
  e.deleted = true;
  return e;
}

hashdb::exchange_page page_of(std::vector<hashdb::exchange_entry> entries, std::string checkpoint,
                              bool more = false) {
  hashdb::exchange_page p;
  p.entries = std::move(entries);
  p.checkpoint = std::move(checkpoint);
  p.more = more;
  return p;
}

std::string one(const std::string& url, const std::string& sql) {
  const auto col = hg_test::column_of(url, sql);
  REQUIRE(col.size() == 1);
  return col[0];
}

std::int64_t list_version(const std::string& url, const std::string& list) {
  return std::stoll(one(url, "SELECT version FROM hash_lists WHERE name = '" + list + "'"));
}

// Whether the file holds the PDQ hash as the matcher keeps it in memory (core::hash256's words).
bool file_holds(const fs::path& file, const std::string& hex) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto h = core::parse_hash256(hex).value();
  std::string needle(sizeof h.words, '\0');
  std::memcpy(needle.data(), h.words.data(), sizeof h.words);
  return bytes.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("exchange store: registering creates the fed lists with the exchange's harm type") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::exchange_store store(c);
  auto x = store.register_exchange(spec_of("sx"));
  INFO(c.last_error());
  REQUIRE(x.has_value());
  CHECK(x->kind == "folder");
  CHECK(x->harm == core::harm_type::ncii);
  REQUIRE(x->lists.size() == 2);
  CHECK(one(db.url(),
            "SELECT harm_type || ' ' || threshold || ' ' || action || ' ' || source"
            " FROM hash_lists WHERE name = 'sx-pdq'") == "ncii 31 review sx");
  CHECK(one(db.url(), "SELECT harm_type FROM hash_lists WHERE name = 'sx-md5'") == "ncii");

  // Registering again with another threshold updates the list; another kind resets the
  // checkpoint (another protocol's checkpoint means nothing to the new one).
  REQUIRE(store.acquire_lease("sx", "n1", ttl).value());
  REQUIRE(store.apply_page("sx", "n1", "", page_of({}, "cp1"), ttl).has_value());
  auto again = spec_of("sx");
  again.feeds[0].threshold = 20;
  REQUIRE(store.register_exchange(again).value().checkpoint == "cp1");
  CHECK(one(db.url(), "SELECT threshold FROM hash_lists WHERE name = 'sx-pdq'") == "20");
  again.kind = "hashguard";
  CHECK(store.register_exchange(again).value().checkpoint.empty());

  // A fed list of another signal, a bad name or threshold are refused.
  auto wrong = spec_of("sy");
  wrong.feeds[0].list = "sx-md5";
  CHECK(store.register_exchange(wrong).error() == hashdb::errc::conflict);
  auto bad = spec_of("bad name");
  CHECK(store.register_exchange(bad).error() == hashdb::errc::invalid_argument);
  auto loose = spec_of("sz");
  loose.feeds[1].threshold = 3;
  CHECK(store.register_exchange(loose).error() == hashdb::errc::invalid_argument);
}

TEST_CASE("exchange store: pages add, update and delete entries with their provenance") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::exchange_store store(c);
  REQUIRE(store.register_exchange(spec_of("sx")).has_value());
  REQUIRE(store.acquire_lease("sx", "n1", ttl).value());
  const auto v0 = list_version(db.url(), "sx-pdq");

  auto tmk = add("t1", "some tmk text", "tmk");
  auto sha1 = add("s1", std::string(40, 'b'), "sha1");  // a signal the exchange feeds no list
  auto r = store.apply_page(
      "sx", "n1", "",
      page_of({add("a", pdq_of(1)), add("b", pdq_of(2)), tmk, sha1, del("zz")}, "p1", true), ttl);
  INFO(c.last_error());
  REQUIRE(r.has_value());
  CHECK(r->added == 4);
  CHECK(r->unmatched == 2);
  CHECK(r->deleted == 0);
  CHECK(one(db.url(), "SELECT count(*) FROM hashes WHERE exchange_id IS NOT NULL") == "2");
  CHECK(one(db.url(),
            "SELECT source_id || ' ' || array_to_string(tags, ',') || ' ' || opinion ||"
            " ' ' || (first_seen IS NOT NULL) FROM hashes WHERE value = decode('" +
                pdq_of(1) + "', 'hex')") == "a tag-a positive true");
  CHECK(one(db.url(), "SELECT value FROM exchange_unmatched WHERE signal = 'tmk'") ==
        "some tmk text");
  CHECK(one(db.url(), "SELECT entries FROM hash_lists WHERE name = 'sx-pdq'") == "2");
  // Pages do not move the list's version: the batch does, once.
  CHECK(list_version(db.url(), "sx-pdq") == v0);

  // The stored checkpoint is where the next page must come from.
  CHECK(store.apply_page("sx", "n1", "", page_of({}, "p2"), ttl).error() == hashdb::errc::conflict);

  // An update with a new value replaces the row; a deletion removes it; the last statement of
  // an entry within one page wins.
  r = store.apply_page(
      "sx", "n1", "p1",
      page_of({add("a", pdq_of(3)), del("b"), add("c", pdq_of(4)), del("c"), del("t1", "tmk")},
              "p2"),
      ttl);
  INFO(c.last_error());
  REQUIRE(r.has_value());
  CHECK(r->added == 1);
  CHECK(r->deleted == 3);
  CHECK(hg_test::column_of(db.url(),
                           "SELECT source_id || '=' || encode(value, 'hex') FROM hashes"
                           " WHERE exchange_id IS NOT NULL ORDER BY source_id") ==
        std::vector<std::string>{"a=" + pdq_of(3)});
  CHECK(one(db.url(), "SELECT count(*) FROM exchange_unmatched") == "1");
  CHECK(one(db.url(), "SELECT entries FROM hash_lists WHERE name = 'sx-pdq'") == "1");

  auto done = store.finish_batch("sx", "n1", "");
  REQUIRE(done.has_value());
  CHECK(done->checkpoint == "p2");
  CHECK(done->entries == 2);  // a's PDQ and the unmatched sha1
  CHECK_FALSE(done->last_success_at.empty());
  CHECK_FALSE(done->dirty);
  const auto v1 = list_version(db.url(), "sx-pdq");
  CHECK(v1 > v0);
  // A batch that changed nothing moves no version.
  REQUIRE(store.apply_page("sx", "n1", "p2", page_of({}, "p3"), ttl).has_value());
  REQUIRE(store.finish_batch("sx", "n1", "").has_value());
  CHECK(list_version(db.url(), "sx-pdq") == v1);
  // A failure is recorded with its reason; the next success clears it.
  auto failed = store.finish_batch("sx", "n1", "bad_page: the answer does not parse");
  REQUIRE(failed.has_value());
  CHECK(failed->last_error == "bad_page: the answer does not parse");
  CHECK(failed->consecutive_failures == 1);
  CHECK(store.finish_batch("sx", "n1", "").value().consecutive_failures == 0);
}

TEST_CASE("exchange store: a bad page applies nothing and keeps the checkpoint") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::exchange_store store(c);
  REQUIRE(store.register_exchange(spec_of("sx")).has_value());
  REQUIRE(store.acquire_lease("sx", "n1", ttl).value());
  REQUIRE(store.apply_page("sx", "n1", "", page_of({add("a", pdq_of(1))}, "p1"), ttl));
  for (const auto& bad : {add("b", "xyz"), add("", pdq_of(2)), add("c", pdq_of(3), "Bad Signal"),
                          add("d", pdq_of(4).substr(2))}) {
    auto r = store.apply_page("sx", "n1", "p1", page_of({add("e", pdq_of(5)), bad}, "p2"), ttl);
    CHECK(r.error() == hashdb::errc::invalid_argument);
  }
  CHECK(store.get("sx").value().checkpoint == "p1");
  CHECK(one(db.url(), "SELECT count(*) FROM hashes") == "1");
}

TEST_CASE(
    "exchange store: a sync killed between and inside pages resumes, nothing lost or doubled") {
  hg_test::test_database db;
  {
    auto c = db.connect();
    REQUIRE(hashdb::exchange_store(c).register_exchange(spec_of("sx")).has_value());
  }
  // The source: 50 entries in pages of 7; entry i at position i; a checkpoint is a position.
  static constexpr int total = 50;
  static constexpr int per_page = 7;
  const auto fetch = [](int from) {
    hashdb::exchange_page p;
    const int end = std::min(total, from + per_page);
    for (int i = from; i < end; ++i) p.entries.push_back(add("e" + std::to_string(i), pdq_of(i)));
    p.checkpoint = std::to_string(end);
    p.more = end < total;
    return p;
  };
  int crashes = 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto c = db.connect();
    hashdb::exchange_store store(c);
    // The previous node's lease is still held: a new one waits for its expiry (1 s here).
    const std::string node = "node" + std::to_string(attempt);
    while (!store.acquire_lease("sx", node, 1s).value()) std::this_thread::sleep_for(100ms);
    const std::string from = store.get("sx").value().checkpoint;
    int at = from.empty() ? 0 : std::stoi(from);
    bool more = true;
    int applied = 0;
    while (more) {
      auto p = fetch(at);
      if (applied == 2) {
        // The node dies while applying its third page: the server ends the session mid-way.
        pqxx::connection admin(db.url());
        pqxx::work tx(admin);
        tx.exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
            " current_database() AND pid <> pg_backend_pid()");
        tx.commit();
        CHECK_FALSE(store.apply_page("sx", node, std::to_string(at), p, 1s).has_value());
        ++crashes;
        break;
      }
      auto r = store.apply_page("sx", node, at == 0 ? "" : std::to_string(at), p, 1s);
      INFO(c.last_error());
      REQUIRE(r.has_value());
      ++applied;
      at = std::stoi(p.checkpoint);
      more = p.more;
    }
    if (!more) {
      REQUIRE(store.finish_batch("sx", node, "").has_value());
      break;
    }
  }
  CHECK(crashes >= 2);
  std::vector<std::string> expected;
  for (int i = 0; i < total; ++i) expected.push_back("e" + std::to_string(i) + "=" + pdq_of(i));
  std::sort(expected.begin(), expected.end());
  CHECK(hg_test::column_of(db.url(),
                           "SELECT v FROM (SELECT source_id || '=' || encode(value, 'hex') AS v"
                           " FROM hashes) s ORDER BY v COLLATE \"C\"") == expected);
  CHECK(one(db.url(), "SELECT entries FROM hash_lists WHERE name = 'sx-pdq'") ==
        std::to_string(total));
}

TEST_CASE("exchange store: one lease holder at a time, and a lost lease applies nothing") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::exchange_store store(c);
  REQUIRE(store.register_exchange(spec_of("sx")).has_value());
  CHECK(store.acquire_lease("nope", "n1", ttl).error() == hashdb::errc::not_found);
  REQUIRE(store.acquire_lease("sx", "n1", 1s).value());
  CHECK_FALSE(store.acquire_lease("sx", "n2", 1s).value());
  CHECK(store.get("sx").value().lease_holder == "n1");
  CHECK(store.apply_page("sx", "n2", "", page_of({add("a", pdq_of(1))}, "p1"), 1s).error() ==
        hashdb::errc::conflict);
  std::this_thread::sleep_for(1100ms);
  REQUIRE(store.acquire_lease("sx", "n2", ttl).value());
  CHECK(store.apply_page("sx", "n1", "", page_of({add("a", pdq_of(1))}, "p1"), 1s).error() ==
        hashdb::errc::conflict);
  CHECK(store.finish_batch("sx", "n1", "").error() == hashdb::errc::conflict);
  REQUIRE(store.release_lease("sx", "n2").has_value());
  CHECK(store.get("sx").value().lease_holder.empty());
  CHECK(one(db.url(), "SELECT count(*) FROM hashes") == "0");
}

TEST_CASE("exchange store: a restart deletes what the re-fetch did not deliver again") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::exchange_store store(c);
  REQUIRE(store.register_exchange(spec_of("sx")).has_value());
  REQUIRE(store.acquire_lease("sx", "n1", ttl).value());
  REQUIRE(store.apply_page(
      "sx", "n1", "",
      page_of({add("a", pdq_of(1)), add("b", pdq_of(2)), add("c", pdq_of(3)), add("t", "x", "tmk")},
              "p1"),
      ttl));
  auto first = page_of({add("a", pdq_of(1))}, "r1", true);
  first.restart = true;
  REQUIRE(store.apply_page("sx", "n1", "p1", first, ttl));
  CHECK(store.get("sx").value().refetching);
  // Until the re-fetch ends, nothing is deleted.
  CHECK(one(db.url(), "SELECT count(*) FROM hashes") == "3");
  auto r = store.apply_page("sx", "n1", "r1", page_of({add("c", pdq_of(3))}, "r2"), ttl);
  REQUIRE(r.has_value());
  CHECK(r->deleted == 2);  // b and the tmk entry
  CHECK(hg_test::column_of(db.url(), "SELECT source_id FROM hashes ORDER BY source_id") ==
        std::vector<std::string>{"a", "c"});
  CHECK(one(db.url(), "SELECT count(*) FROM exchange_unmatched") == "0");
  CHECK(one(db.url(), "SELECT entries FROM hash_lists WHERE name = 'sx-pdq'") == "2");
  CHECK_FALSE(store.get("sx").value().refetching);
}

TEST_CASE("exchange store: a deleted entry leaves no row, no snapshot entry, no cache bytes") {
  hg_test::test_database db;
  hg_test::temp_dir dir;
  auto c = db.connect();
  hashdb::exchange_store store(c);
  REQUIRE(store.register_exchange(spec_of("sx")).has_value());
  REQUIRE(store.acquire_lease("sx", "n1", ttl).value());
  REQUIRE(store.apply_page("sx", "n1", "",
                           page_of({add("a", pdq_of(1)), add("b", pdq_of(2))}, "p1"), ttl));
  REQUIRE(store.finish_batch("sx", "n1", ""));
  hashdb::snapshot_load_options o;
  o.database_url = db.url();
  o.cache_file = dir.path / "snapshot.bin";
  hashdb::snapshot_loader loader(o);
  auto snap = loader.load();
  REQUIRE(snap.has_value());
  CHECK((*snap)->match(pdq_query(pdq_of(1))).size() == 1);
  REQUIRE(file_holds(o.cache_file, pdq_of(1)));

  REQUIRE(store.apply_page("sx", "n1", "p1", page_of({del("a")}, "p2"), ttl));
  REQUIRE(store.finish_batch("sx", "n1", ""));
  CHECK(one(db.url(),
            "SELECT count(*) FROM hashes WHERE value = decode('" + pdq_of(1) + "', 'hex')") == "0");
  hashdb::snapshot_load_report rep;
  snap = loader.load(&rep);
  REQUIRE(snap.has_value());
  CHECK(rep.cache_problem == "stale");
  CHECK((*snap)->match(pdq_query(pdq_of(1))).empty());
  CHECK((*snap)->match(pdq_query(pdq_of(2))).size() == 1);
  CHECK_FALSE(file_holds(o.cache_file, pdq_of(1)));
  CHECK(file_holds(o.cache_file, pdq_of(2)));
}

TEST_CASE("exchange store: a case takes its harm type from its entries' lists, csam first") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::exchange_store store(c);
  REQUIRE(store.register_exchange(spec_of("sx")).has_value());
  const auto ncii = one(db.url(), "SELECT id FROM hash_lists WHERE name = 'sx-pdq'");
  hashdb::list_store lists(c);
  hashdb::list_spec csam;
  csam.name = "internal";
  const auto internal = std::to_string(lists.create(csam).value().id);
  pqxx::connection pc(db.url());
  const auto record = [&](const std::string& id, const std::string& list_id, char content) {
    pqxx::work tx(pc);
    const std::string e =
        R"({"id":")" + id +
        R"(","occurred_us":1800000000000000,"zone":"z","request_id":"",)"
        R"("source_url":"u","node":"n","md5":"","sha1":"","sha256":")" +
        std::string(64, content) +
        R"(","pdq":"","pdq_quality":null,"phash":"","action":"review","hits":[{"list_id":)" +
        list_id +
        R"(,"entry_id":1,"signal":"pdq","distance":1,"threshold":31,"list_version":1,)"
        R"("action":"review","variant":"original"}]})";
    const auto row = tx.exec_params1("SELECT case_id FROM hg_record_event($1::jsonb, 3600, 1)", e);
    tx.commit();
    return row[0].as<std::string>();
  };
  const auto case_id = record("00000000-0000-4000-8000-000000000001", ncii, 'a');
  CHECK(one(db.url(), "SELECT harm_type FROM cases WHERE id = " + case_id) == "ncii");
  // The same content hit again through a csam list: the case becomes csam.
  CHECK(record("00000000-0000-4000-8000-000000000002", internal, 'a') == case_id);
  CHECK(one(db.url(), "SELECT harm_type FROM cases WHERE id = " + case_id) == "csam");
}
