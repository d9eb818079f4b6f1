#include "hashguard/hashdb/snapshot_loader.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/lists.hpp"

#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace hashguard;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = "/tmp/hg-snap-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const std::string pdq_a = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const std::string pdq_b = std::string(63, '0') + "1";
const std::string phash_a = "c4a6b2f1d9e08a37";
const std::string sha_a = std::string(64, 'e');

void make_list(hashdb::list_store& store, const std::string& name, core::signal sig, int threshold,
               const std::string& lines) {
  hashdb::list_spec spec;
  spec.name = name;
  spec.sig = sig;
  spec.threshold = threshold;
  spec.act = core::action::block;
  REQUIRE(store.create(spec).has_value());
  std::istringstream in(lines);
  auto r = store.import(name, in);
  REQUIRE(r.has_value());
  REQUIRE(r->rejected == 0);
}

std::int64_t entry_id(const std::string& url, const std::string& hex) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec_params1("SELECT id FROM hashes WHERE value = decode($1, 'hex')", hex)[0]
      .as<std::int64_t>();
}

matcher::scan_query pdq_query(const std::string& hex) {
  matcher::scan_query q;
  matcher::pdq_query p;
  p.variants[0] = *core::parse_hash256(hex);
  q.pdq = p;
  return q;
}

}  // namespace

TEST_CASE("snapshot: enabled lists from PostgreSQL, entries matched by their entry ids") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store store(c);
  make_list(store, "pdq-list", core::signal::pdq, 31, pdq_a + "\n" + pdq_b + "\n");
  make_list(store, "phash-list", core::signal::phash, 8, phash_a + "\n");
  make_list(store, "sha-list", core::signal::sha256, 0, sha_a + "\n");
  make_list(store, "off", core::signal::pdq, 31, std::string(64, '7') + "\n");
  hashdb::list_changes off;
  off.enabled = false;
  REQUIRE(store.update("off", off).has_value());
  make_list(store, "gone", core::signal::pdq, 31, std::string(64, '8') + "\n");
  REQUIRE(store.retire("gone").has_value());

  hashdb::snapshot_load_options o;
  o.database_url = db.url();
  hashdb::snapshot_loader loader(o);
  hashdb::snapshot_load_report rep;
  auto snap = loader.load(&rep);
  INFO(c.last_error());
  REQUIRE(snap.has_value());
  CHECK(rep.source == hashdb::snapshot_source::database);
  CHECK(rep.lists == 3);
  CHECK(rep.entries == 4);
  CHECK((*snap)->version() == static_cast<std::uint64_t>(*store.catalog_version()));
  CHECK((*snap)->size(core::signal::pdq) == 2);
  CHECK((*snap)->lists().size() == 3);

  // PDQ: the bytes of the hex text become the same hash256 the scanner's hex parses to.
  auto hits = (*snap)->match(pdq_query(pdq_a));
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].entry_id == entry_id(db.url(), pdq_a));
  CHECK(hits[0].distance == 0);
  CHECK(hits[0].list_id == store.get("pdq-list")->id);
  // The disabled and retired lists are not in the snapshot.
  CHECK((*snap)->match(pdq_query(std::string(64, '7'))).empty());
  CHECK((*snap)->match(pdq_query(std::string(64, '8'))).empty());

  matcher::scan_query ph;
  ph.phash = *core::parse_hash64(phash_a);
  auto phits = (*snap)->match(ph);
  REQUIRE(phits.size() == 1);
  CHECK(phits[0].entry_id == entry_id(db.url(), phash_a));

  matcher::scan_query dq;
  std::array<std::uint8_t, 32> sha{};
  sha.fill(0xee);
  dq.sha256 = sha;
  auto dhits = (*snap)->match(dq);
  REQUIRE(dhits.size() == 1);
  CHECK(dhits[0].sig == core::signal::sha256);
}

TEST_CASE("snapshot cache: used when current, rebuilt when stale or corrupt, offline fallback") {
  hg_test::test_database db;
  temp_dir dir;
  auto c = db.connect();
  hashdb::list_store store(c);
  make_list(store, "l", core::signal::pdq, 31, pdq_a + "\n");
  hashdb::snapshot_load_options o;
  o.database_url = db.url();
  o.cache_file = dir.path / "cache" / "snapshot.bin";
  hashdb::snapshot_loader loader(o);

  hashdb::snapshot_load_report rep;
  REQUIRE(loader.load(&rep).has_value());
  CHECK(rep.source == hashdb::snapshot_source::database);
  CHECK(rep.cache_problem == "missing");
  CHECK(rep.cache_written);
  REQUIRE(fs::exists(o.cache_file));

  auto cached = loader.load(&rep);
  REQUIRE(cached.has_value());
  CHECK(rep.source == hashdb::snapshot_source::cache);
  CHECK(rep.entries == 1);
  CHECK((*cached)->match(pdq_query(pdq_a)).size() == 1);

  // A list edit makes the cache stale.
  std::istringstream more(pdq_b + "\n");
  REQUIRE(store.import("l", more).has_value());
  auto fresh = loader.load(&rep);
  REQUIRE(fresh.has_value());
  CHECK(rep.source == hashdb::snapshot_source::database);
  CHECK(rep.cache_problem == "stale");
  CHECK(rep.entries == 2);
  REQUIRE(loader.load(&rep).has_value());
  CHECK(rep.source == hashdb::snapshot_source::cache);

  // Corruptions: one flipped byte anywhere, a cut file, a wrong magic: rebuilt, never trusted.
  const auto size = fs::file_size(o.cache_file);
  for (std::uintmax_t at : {std::uintmax_t{0}, std::uintmax_t{9}, size / 2, size - 1}) {
    {
      std::fstream io(o.cache_file, std::ios::in | std::ios::out | std::ios::binary);
      io.seekg(static_cast<std::streamoff>(at));
      const char old = static_cast<char>(io.get());
      io.seekp(static_cast<std::streamoff>(at));
      io.put(static_cast<char>(old ^ 0x40));
    }
    auto r = loader.load(&rep);
    INFO("flipped byte " << at);
    REQUIRE(r.has_value());
    CHECK(rep.source == hashdb::snapshot_source::database);
    CHECK_FALSE(rep.cache_problem.empty());
    CHECK(rep.cache_problem != "stale");
    CHECK(rep.cache_written);
  }
  fs::resize_file(o.cache_file, size - 20);
  REQUIRE(loader.load(&rep).has_value());
  CHECK(rep.source == hashdb::snapshot_source::database);
  CHECK_FALSE(rep.cache_problem.empty());
  CHECK(fs::file_size(o.cache_file) == size);

  // The database unreachable: the valid cache keeps the node serving.
  hashdb::snapshot_load_options offline = o;
  offline.database_url = "postgresql://postgres@/x?host=/nonexistent-hg";
  hashdb::snapshot_loader off(offline);
  auto served = off.load(&rep);
  REQUIRE(served.has_value());
  CHECK(rep.source == hashdb::snapshot_source::cache_offline);
  CHECK((*served)->match(pdq_query(pdq_b)).size() == 1);
  offline.cache_file = dir.path / "none.bin";
  hashdb::snapshot_loader nothing(offline);
  auto none = nothing.load();
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error() == hashdb::errc::unavailable);
}

TEST_CASE("snapshot refresh: poll the catalog version, swap on change") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store store(c);
  make_list(store, "l", core::signal::pdq, 31, pdq_a + "\n");
  hashdb::snapshot_load_options o;
  o.database_url = db.url();
  hashdb::snapshot_loader loader(o);
  matcher::snapshot_holder holder;
  CHECK(loader.refresh(holder) == true);
  const auto first = holder.load();
  REQUIRE(first != nullptr);
  CHECK(loader.refresh(holder) == false);
  CHECK(holder.load() == first);

  hashdb::list_changes ch;
  ch.threshold = 10;
  REQUIRE(store.update("l", ch).has_value());
  CHECK(loader.refresh(holder) == true);
  CHECK(holder.load()->version() > first->version());
  CHECK(holder.load()->lists()[0].threshold == 10);
  // The old snapshot is still whole for whoever holds it.
  CHECK(first->lists()[0].threshold == 31);

  // The refresher thread does the same on its own.
  hashdb::snapshot_refresher refresher(o, holder, 50ms);
  std::istringstream more(pdq_b + "\n");
  REQUIRE(store.import("l", more).has_value());
  refresher.poke();
  for (int i = 0; i < 200 && holder.load()->size(core::signal::pdq) != 2; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  CHECK(holder.load()->size(core::signal::pdq) == 2);
  CHECK(refresher.swaps() >= 1);
  CHECK_FALSE(refresher.last_error());
}
