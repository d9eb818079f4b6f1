#include "hashguard/hashdb/snapshot_loader.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/hashdb/lists.hpp"

#include "hashguard/core/checksum.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/core/periodic_task.hpp"

#include "hashdb_test_support.hpp"
#include "hg_pg.hpp"

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace hashguard;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using temp_dir = hg_test::temp_dir;
using hg_test::pdq_query;

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
  const auto ids =
      hg_test::column_of(url, "SELECT id FROM hashes WHERE value = decode('" + hex + "', 'hex')");
  REQUIRE(ids.size() == 1);
  return hashguard::core::parse_int<std::int64_t>(ids[0]).value();
}

void flip_byte(const fs::path& file, std::uintmax_t at) {
  std::fstream io(file, std::ios::in | std::ios::out | std::ios::binary);
  io.seekg(static_cast<std::streamoff>(at));
  const char old = static_cast<char>(io.get());
  io.seekp(static_cast<std::streamoff>(at));
  io.put(static_cast<char>(old ^ 0x40));
}

// The cache file in memory, with its layout (hashdb/snapshot_loader.hpp) and a way to write it
// back with every checksum recomputed, so that a test can reach the checks behind them.
struct cache_bytes {
  std::vector<std::byte> b;
  explicit cache_bytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    b.resize(fs::file_size(file));
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
  template <class T>
  T get(std::size_t at) const {
    T v;
    std::memcpy(&v, b.data() + at, sizeof v);
    return v;
  }
  template <class T>
  void set(std::size_t at, T v) {
    std::memcpy(b.data() + at, &v, sizeof v);
  }
  [[nodiscard]] std::uint32_t sections() const { return get<std::uint32_t>(12); }
  [[nodiscard]] std::uint64_t offset(std::size_t i) const {
    return get<std::uint64_t>(56 + 24 * i);
  }
  [[nodiscard]] std::uint64_t length(std::size_t i) const {
    return get<std::uint64_t>(56 + 24 * i + 8);
  }
  // Recomputes the section checksums, the table's and the header's (sections as the table
  // places them; a table made inconsistent on purpose is sealed as it is).
  void reseal() {
    const std::uint32_t n = sections();
    for (std::uint32_t i = 0; i < n && 56 + 24 * (i + 1) <= b.size(); ++i) {
      if (offset(i) + length(i) <= b.size()) {
        set<std::uint64_t>(56 + 24 * i + 16, core::checksum64(std::span<const std::byte>(b).subspan(
                                                 offset(i), length(i))));
      }
    }
    const std::size_t table_end = std::min<std::size_t>(b.size(), 56 + 24 * std::size_t{n});
    set<std::uint64_t>(40,
                       core::checksum64(std::span<const std::byte>(b).subspan(56, table_end - 56)));
    set<std::uint64_t>(48, core::checksum64(std::span<const std::byte>(b).subspan(0, 48)));
  }
  void write(const fs::path& file) const {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  }
};

std::string random_pdq_hex(std::mt19937_64& rng) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s(64, '0');
  for (auto& c : s) c = d[rng() & 15];
  return s;
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
    flip_byte(o.cache_file, at);
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

  // One refresh is one poll: a periodic task (serve's, app/serve_tasks.cpp) polls with it and
  // a poke (serve's, after a list change) makes it poll now.
  std::atomic<int> swaps{0};
  core::periodic_task::options every_hour;
  every_hour.name = "snapshot";
  every_hour.interval = std::chrono::hours(1);
  core::periodic_task poller(every_hour, [&]() -> core::result<void> {
    auto swapped = loader.refresh(holder);
    if (!swapped) return swapped.error();
    if (*swapped) ++swaps;
    return {};
  });
  REQUIRE(poller.start().has_value());
  std::istringstream more(pdq_b + "\n");
  REQUIRE(store.import("l", more).has_value());
  poller.poke();
  CHECK(hg_test::eventually([&] { return poller.status().runs >= 1; }, 120s));
  poller.stop();
  CHECK(holder.load()->size(core::signal::pdq) == 2);
  CHECK(swaps == 1);
  CHECK(poller.status().failures == 0);
}

TEST_CASE("snapshot cache: the snapshot read back answers as the one built from PostgreSQL") {
  hg_test::test_database db;
  temp_dir dir("hg-snap");
  auto c = db.connect();
  hashdb::list_store store(c);
  std::mt19937_64 rng(99);
  std::vector<std::string> pdq;
  std::string lines;
  for (int i = 0; i < 4000; ++i) {
    pdq.push_back(random_pdq_hex(rng));
    lines += pdq.back() + "\n";
  }
  make_list(store, "big", core::signal::pdq, 31, lines);
  make_list(store, "strict", core::signal::pdq, 8, pdq_a + "\n" + pdq_b + "\n");
  make_list(store, "ph", core::signal::phash, 8, phash_a + "\n");
  make_list(store, "sha", core::signal::sha256, 0, sha_a + "\n");
  hashdb::snapshot_load_options o;
  o.database_url = db.url();
  o.cache_file = dir.path / "snapshot.bin";
  hashdb::snapshot_loader loader(o);
  hashdb::snapshot_load_report rep;
  auto fresh = loader.load(&rep);
  REQUIRE(fresh.has_value());
  REQUIRE(rep.source == hashdb::snapshot_source::database);
  REQUIRE(rep.cache_written);
  auto cached = loader.load(&rep);
  REQUIRE(cached.has_value());
  REQUIRE(rep.source == hashdb::snapshot_source::cache);
  CHECK(rep.entries == 4004);
  CHECK(rep.lists == 4);
  CHECK((*cached)->version() == (*fresh)->version());
  std::size_t hits = 0;
  for (int i = 0; i < 200; ++i) {
    matcher::scan_query q;
    matcher::pdq_query p;
    p.variants[0] = *core::parse_hash256(pdq[rng() % pdq.size()]);
    for (int flips = static_cast<int>(rng() % 36); flips > 0; --flips) {
      const auto bit = rng() % 256;
      p.variants[0].words[bit / 64] ^= std::uint64_t{1} << (bit % 64);
    }
    q.pdq = p;
    q.phash = *core::parse_hash64(phash_a);
    const auto a = (*fresh)->match(q);
    const auto b = (*cached)->match(q);
    hits += a.size();
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size(); ++k) {
      CHECK(a[k].list_id == b[k].list_id);
      CHECK(a[k].entry_id == b[k].entry_id);
      CHECK(a[k].distance == b[k].distance);
    }
  }
  CHECK(hits >= 200);  // every query reaches at least the pHash entry
}

TEST_CASE("snapshot cache: every corruption is detected and rebuilt from PostgreSQL") {
  hg_test::test_database db;
  temp_dir dir("hg-snap");
  auto c = db.connect();
  hashdb::list_store store(c);
  std::mt19937_64 rng(7);
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += random_pdq_hex(rng) + "\n";
  make_list(store, "p", core::signal::pdq, 31, lines);
  make_list(store, "ph", core::signal::phash, 8, phash_a + "\n");
  make_list(store, "sha", core::signal::sha256, 0, sha_a + "\n");
  hashdb::snapshot_load_options o;
  o.database_url = db.url();
  o.cache_file = dir.path / "snapshot.bin";
  hashdb::snapshot_loader loader(o);
  hashdb::snapshot_load_report rep;
  REQUIRE(loader.load(&rep).has_value());
  REQUIRE(rep.cache_written);
  const cache_bytes good(o.cache_file);

  // Loads once and expects a rebuild for `why` (a substring of the reported problem), after
  // which the cache is whole again and used.
  const auto expect_rebuilt = [&](const std::string& what, const std::string& why) {
    INFO(what);
    hashdb::snapshot_load_report r;
    auto snap = loader.load(&r);
    REQUIRE(snap.has_value());
    CHECK(r.source == hashdb::snapshot_source::database);
    INFO("problem: " << r.cache_problem);
    CHECK(r.cache_problem.find(why) != std::string::npos);
    CHECK(r.cache_written);
    CHECK(r.entries == 502);
    hashdb::snapshot_load_report again;
    REQUIRE(loader.load(&again).has_value());
    CHECK(again.source == hashdb::snapshot_source::cache);
  };

  // A flipped byte in every section (the descriptor, the hashes, the ids, each MIH table...).
  const std::uint32_t sections = good.sections();
  REQUIRE(sections > 20);
  for (std::uint32_t i = 0; i < sections; ++i) {
    if (good.length(i) == 0) continue;
    for (std::uint64_t at : {good.offset(i), good.offset(i) + good.length(i) / 2,
                             good.offset(i) + good.length(i) - 1}) {
      flip_byte(o.cache_file, at);
      expect_rebuilt("section " + std::to_string(i) + " byte " + std::to_string(at),
                     "section " + std::to_string(i) + " checksum mismatch");
    }
  }
  // Header and section table bytes.
  for (std::uint64_t at : std::vector<std::uint64_t>{0, 8, 12, 16, 24, 32, 40, 48, 55}) {
    flip_byte(o.cache_file, at);
    expect_rebuilt("header byte " + std::to_string(at), at < 8 ? "bad magic" : "header checksum");
  }
  flip_byte(o.cache_file, 56 + 24 * 3 + 5);
  expect_rebuilt("section table", "section table checksum mismatch");
  // Alignment padding (covered by no checksum, so it must be zero).
  flip_byte(o.cache_file, good.offset(0) - 1);
  expect_rebuilt("padding after the table", "padding before section 0");
  flip_byte(o.cache_file, good.offset(2) - 1);
  expect_rebuilt("padding between sections", "padding before section 2");

  // Truncations: into the last section, into the table, into the header, an empty file.
  for (std::uint64_t keep : {good.b.size() - 1, good.offset(1) + 3, std::uint64_t{100},
                             std::uint64_t{30}, std::uint64_t{0}}) {
    fs::resize_file(o.cache_file, keep);
    expect_rebuilt("cut to " + std::to_string(keep), keep < 56 ? "truncated header" : "file size");
  }
  // Fields changed with every checksum recomputed, so the checks behind the checksums speak.
  const auto resealed = [&](const std::string& what, const std::string& why, auto&& edit) {
    cache_bytes f = good;
    edit(f);
    f.reseal();
    f.write(o.cache_file);
    expect_rebuilt(what, why);
  };
  resealed("format version", "format version 3",
           [](cache_bytes& f) { f.set<std::uint32_t>(8, 3); });
  resealed("reserved field", "reserved", [](cache_bytes& f) { f.set<std::uint64_t>(32, 1); });
  resealed("negative catalog version", "negative catalog",
           [](cache_bytes& f) { f.set<std::int64_t>(16, -5); });
  resealed("file size field", "file size",
           [](cache_bytes& f) { f.set<std::uint64_t>(24, f.b.size() + 4096); });
  resealed("section count minus one", "",
           [](cache_bytes& f) { f.set<std::uint32_t>(12, f.sections() - 1); });
  resealed("section count zero", "section count",
           [](cache_bytes& f) { f.set<std::uint32_t>(12, 0); });
  resealed("section count huge", "section count",
           [](cache_bytes& f) { f.set<std::uint32_t>(12, 1U << 30); });
  resealed("misaligned section", "out of place",
           [](cache_bytes& f) { f.set<std::uint64_t>(56 + 24 * 2, f.offset(2) + 8); });
  resealed("overlapping sections", "out of place",
           [](cache_bytes& f) { f.set<std::uint64_t>(56 + 24 * 2, f.offset(1)); });
  resealed("section length past the end", "out of place", [](cache_bytes& f) {
    const std::uint32_t last = f.sections() - 1;
    f.set<std::uint64_t>(56 + 24 * last + 8, f.length(last) + 4096);
  });
  resealed("trailing bytes", "trailing bytes", [](cache_bytes& f) {
    f.b.resize(f.b.size() + 4096);
    f.set<std::uint64_t>(24, f.b.size());
  });
  // The descriptor's entry count (matcher::snapshot_from_image's checks).
  resealed("PDQ entry count", "rejected by the matcher: bad_image", [](cache_bytes& f) {
    const std::uint64_t d = f.offset(0);
    f.set<std::uint64_t>(d + 24, f.get<std::uint64_t>(d + 24) + 1);
  });
  resealed("MIH table structure", "rejected by the matcher: bad_image", [](cache_bytes& f) {
    // The first slot's offsets table (section 4 of the file: descriptor, hashes, list
    // positions, entry ids, then the MIH tables) no longer starts at 0.
    f.set<std::uint32_t>(f.offset(4), 1);
  });
  resealed("snapshot version differs from the header's", "snapshot version",
           [](cache_bytes& f) { f.set<std::uint64_t>(f.offset(0) + 16, 1); });
  // Stale: a catalog version the database does not have (resealed: only the staleness speaks).
  resealed("stale", "stale",
           [](cache_bytes& f) { f.set<std::int64_t>(16, f.get<std::int64_t>(16) + 1000); });
}
