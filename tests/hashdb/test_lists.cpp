#include "hashguard/hashdb/lists.hpp"

#include "hashguard/hashdb/audit.hpp"

#include "review_fixture.hpp"

#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <cstdio>
#include <sstream>
#include <thread>

using namespace hashguard;
using hashdb::list_format;

namespace {

std::string pdq_hex(std::uint64_t i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx",
                static_cast<unsigned long long>(i * 0x9E3779B97F4A7C15ULL),
                static_cast<unsigned long long>(i), static_cast<unsigned long long>(~i),
                static_cast<unsigned long long>(i ^ 0x5555555555555555ULL));
  return buf;
}

hashdb::list_spec pdq_spec(std::string name) {
  hashdb::list_spec s;
  s.name = std::move(name);
  s.source = "NCMEC";
  s.sig = core::signal::pdq;
  s.threshold = 31;
  s.act = core::action::block;
  return s;
}

hashdb::import_report import_text(hashdb::list_store& store, std::string_view name,
                                  const std::string& text,
                                  std::optional<list_format> format = std::nullopt) {
  std::istringstream in(text);
  hashdb::import_options o;
  o.format = format;
  auto r = store.import(name, in, o);
  REQUIRE(r.has_value());
  return *r;
}

std::string export_text(hashdb::list_store& store, std::string_view name, list_format f) {
  std::ostringstream out;
  auto r = store.export_to(name, f, out);
  REQUIRE(r.has_value());
  return out.str();
}

}  // namespace

TEST_CASE("lists: create, get, ls, set, disable, retire: every edit changes the version") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store store(c);
  CHECK(store.catalog_version() == 0);

  auto a = store.create(pdq_spec("ncmec-pdq"));
  INFO(c.last_error());
  REQUIRE(a.has_value());
  CHECK(a->name == "ncmec-pdq");
  CHECK(a->source == "NCMEC");
  CHECK(a->threshold == 31);
  CHECK(a->act == core::action::block);
  CHECK(a->enabled);
  CHECK(a->dihedral);
  CHECK_FALSE(a->retired);
  CHECK(a->entries == 0);
  CHECK(store.catalog_version() == a->version);

  CHECK(hg_test::error_of(store.create(pdq_spec("ncmec-pdq"))) == hashdb::errc::already_exists);
  CHECK(hg_test::error_of(store.create(pdq_spec("bad name"))) == hashdb::errc::invalid_argument);
  auto digest = pdq_spec("md5-list");
  digest.sig = core::signal::md5;
  CHECK(hg_test::error_of(store.create(digest)) ==
        hashdb::errc::invalid_argument);  // digests match exactly
  digest.threshold = 0;
  REQUIRE(store.create(digest).has_value());

  hashdb::list_changes ch;
  ch.threshold = 40;
  ch.act = core::action::review;
  ch.dihedral = false;
  auto set = store.update("ncmec-pdq", ch);
  REQUIRE(set.has_value());
  CHECK(set->threshold == 40);
  CHECK(set->act == core::action::review);
  CHECK_FALSE(set->dihedral);
  CHECK(set->version > a->version);
  ch = {};
  ch.threshold = 300;
  CHECK(hg_test::error_of(store.update("ncmec-pdq", ch)) == hashdb::errc::invalid_argument);
  ch = {};
  ch.enabled = false;
  auto off = store.update("ncmec-pdq", ch);
  REQUIRE(off.has_value());
  CHECK_FALSE(off->enabled);
  CHECK(off->version > set->version);
  CHECK(hg_test::error_of(store.update("nope", ch)) == hashdb::errc::not_found);

  auto all = store.list();
  REQUIRE(all.has_value());
  CHECK(all->size() == 2);

  auto retired = store.retire("md5-list");
  REQUIRE(retired.has_value());
  CHECK(retired->retired);
  CHECK_FALSE(retired->enabled);
  CHECK(store.catalog_version() == retired->version);
  CHECK(hg_test::error_of(store.update("md5-list", ch)) == hashdb::errc::conflict);
  CHECK(store.list()->size() == 1);
  CHECK(store.list(true)->size() == 2);
  std::istringstream in(std::string(32, 'a') + "\n");
  CHECK(hg_test::error_of(store.import("md5-list", in)) == hashdb::errc::conflict);
  auto by_id = store.get(a->id);
  REQUIRE(by_id.has_value());
  CHECK(by_id->name == "ncmec-pdq");
}

TEST_CASE("import report: accepted, duplicate, rejected with line numbers and reasons") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store store(c);
  REQUIRE(store.create(pdq_spec("l")).has_value());
  const std::string text = "\xEF\xBB\xBF" + pdq_hex(1) + ",first\r\n" +  // 1 BOM + CRLF
                           "\r\n" +                                      // 2 blank
                           "# comment\n" +                               // 3
                           pdq_hex(2) + "\n" +                           // 4
                           pdq_hex(1) + ",again\n" +                     // 5 duplicate in file
                           std::string(63, 'a') + "x\n" +                // 6 bad hex
                           std::string(60, 'a') + "\n" +                 // 7 wrong length
                           "   \n" +                                     // 8 blank
                           pdq_hex(3);                                   // 9 no final newline
  auto r = import_text(store, "l", text);
  CHECK(r.format == list_format::hex);
  CHECK(r.lines == 9);
  CHECK(r.accepted == 3);
  CHECK(r.duplicates == 1);
  CHECK(r.rejected == 2);
  REQUIRE(r.rejected_lines.size() == 2);
  CHECK(r.rejected_lines[0].line == 6);
  CHECK(r.rejected_lines[0].reason.rfind("bad_hex", 0) == 0);
  CHECK(r.rejected_lines[1].line == 7);
  CHECK(r.rejected_lines[1].reason.rfind("wrong_length", 0) == 0);
  REQUIRE(r.duplicate_lines.size() == 1);
  CHECK(r.duplicate_lines[0].line == 5);
  auto after = store.get("l");
  REQUIRE(after.has_value());
  CHECK(after->entries == 3);
  CHECK(after->version == r.version);

  // The first occurrence's id was kept.
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec_params1("SELECT external_id FROM hashes WHERE value = decode($1, 'hex')",
                        pdq_hex(1))[0]
            .as<std::string>() == "first");

  // Re-importing the same file changes nothing, not even the version.
  auto again = import_text(store, "l", text);
  CHECK(again.accepted == 0);
  CHECK(again.duplicates == 4);
  CHECK(again.rejected == 2);
  CHECK(again.version == r.version);
  CHECK(store.get("l")->entries == 3);
}

TEST_CASE("import: te-local with an unknown signal, csv, named and undetectable formats") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store store(c);
  REQUIRE(store.create(pdq_spec("l")).has_value());
  auto te = import_text(store, "l",
                        "pdq " + pdq_hex(1) + "\nvideo_tmk abc\npdq " + pdq_hex(2) + " x-2\n");
  CHECK(te.format == list_format::te_local);
  CHECK(te.accepted == 2);
  REQUIRE(te.rejected_lines.size() == 1);
  CHECK(te.rejected_lines[0].line == 2);
  CHECK(te.rejected_lines[0].reason.rfind("unknown_signal", 0) == 0);

  auto csv = import_text(store, "l",
                         "id,hash,quality,note\r\n7," + pdq_hex(3) + ",95,\"seen, twice\"\r\n8," +
                             pdq_hex(4) + ",abc,\r\n");
  CHECK(csv.format == list_format::csv);
  CHECK(csv.accepted == 1);
  REQUIRE(csv.rejected_lines.size() == 1);
  CHECK(csv.rejected_lines[0].line == 3);
  CHECK(csv.rejected_lines[0].reason.rfind("bad_quality", 0) == 0);

  // Named format wins over detection: a te-local file read as hex is all rejected.
  auto forced = import_text(store, "l", "pdq " + pdq_hex(5) + "\n", list_format::hex);
  CHECK(forced.rejected == 1);
  CHECK(forced.accepted == 0);

  std::istringstream junk(
      std::string("\x7f"
                  "ELF\x01\x02",
                  6));
  CHECK(hg_test::error_of(store.import("l", junk)) == hashdb::errc::unknown_format);
  std::istringstream missing(pdq_hex(1));
  CHECK(hg_test::error_of(store.import("nope", missing)) == hashdb::errc::not_found);
}

TEST_CASE("export then import round-trips in every format") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store store(c);
  REQUIRE(store.create(pdq_spec("src")).has_value());
  std::string csv = "hash,id,quality,note\n";
  for (int i = 0; i < 50; ++i) {
    csv += pdq_hex(static_cast<std::uint64_t>(i)) + ",item-" + std::to_string(i) + "," +
           std::to_string(50 + i % 50) + "," + (i % 3 == 0 ? "\"a, b\"" : "") + "\n";
  }
  REQUIRE(import_text(store, "src", csv).accepted == 50);
  const std::string own = export_text(store, "src", list_format::hashguard);
  CHECK(own.rfind("# hashguard-list v1\n# name: src\n# source: NCMEC\n# signal: pdq\n", 0) == 0);

  // The hashguard form carries the metadata: importing it creates the list.
  auto copy = import_text(store, "copy", own);
  CHECK(copy.format == list_format::hashguard);
  CHECK(copy.accepted == 50);
  auto made = store.get("copy");
  REQUIRE(made.has_value());
  CHECK(made->threshold == 31);
  CHECK(made->act == core::action::block);
  CHECK(made->source == "NCMEC");
  std::string copied = export_text(store, "copy", list_format::hashguard);
  auto body = [](const std::string& s) { return s.substr(s.find("hash,id,quality,note")); };
  CHECK(body(copied) == body(own));

  for (auto f : {list_format::hex, list_format::te_local, list_format::csv}) {
    const std::string name = "rt-" + std::string(hashdb::to_string(f));
    REQUIRE(store.create(pdq_spec(name)).has_value());
    const std::string text = export_text(store, "src", f);
    auto r = import_text(store, name, text);
    INFO(text.substr(0, 300));
    INFO((r.rejected_lines.empty() ? std::string() : r.rejected_lines[0].reason));
    CHECK(r.format == f);
    CHECK(r.accepted == 50);
    CHECK(r.rejected == 0);
    // Same entries in the same order (the hex form's first line names the list).
    auto entries = [f](const std::string& s) {
      return f == list_format::hex ? s.substr(s.find('\n')) : s;
    };
    CHECK(entries(export_text(store, name, f)) == entries(text));
  }
}

TEST_CASE("import of one million lines, then again") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::list_store store(c);
  REQUIRE(store.create(pdq_spec("big")).has_value());
  constexpr std::uint64_t n = 1'000'000;
  std::string text;
  text.reserve(n * 66);
  for (std::uint64_t i = 0; i < n; ++i) {
    text += pdq_hex(i);
    text += '\n';
  }
  std::istringstream in(text);
  std::uint64_t progress_calls = 0;
  std::uint64_t last_lines = 0;
  hashdb::import_options o;
  o.progress = [&](std::uint64_t lines, std::uint64_t) {
    ++progress_calls;
    last_lines = lines;
  };
  auto r = store.import("big", in, o);
  INFO(c.last_error());
  REQUIRE(r.has_value());
  CHECK(r->lines == n);
  CHECK(r->accepted == n);
  CHECK(r->duplicates == 0);
  CHECK(r->rejected == 0);
  CHECK(progress_calls >= 10);
  CHECK(last_lines == n);
  CHECK(store.get("big")->entries == static_cast<std::int64_t>(n));

  std::istringstream again(text);
  auto r2 = store.import("big", again);
  REQUIRE(r2.has_value());
  CHECK(r2->accepted == 0);
  CHECK(r2->duplicates == n);
  CHECK(r2->duplicate_lines.size() == 1000);
  CHECK(r2->version == r->version);
}

TEST_CASE("two concurrent imports into one list: the union, each hash once") {
  hg_test::test_database db;
  {
    auto c = db.connect();
    hashdb::list_store store(c);
    REQUIRE(store.create(pdq_spec("shared")).has_value());
  }
  // Overlapping halves: 0..5999 and 3000..8999.
  auto file = [](std::uint64_t from, std::uint64_t to) {
    std::string text;
    for (std::uint64_t i = from; i < to; ++i) text += pdq_hex(i) + "\n";
    return text;
  };
  const std::string a = file(0, 6000);
  const std::string b = file(3000, 9000);
  std::uint64_t accepted[2] = {0, 0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      auto c = hashdb::connection::open(db.url());
      if (!c) {
        ++failures;
        return;
      }
      hashdb::list_store store(*c);
      std::istringstream in(w == 0 ? a : b);
      auto r = store.import("shared", in);
      if (!r) {
        ++failures;
        return;
      }
      accepted[w] = r->accepted;
    });
  }
  for (auto& t : writers) t.join();
  CHECK(failures == 0);
  CHECK(accepted[0] + accepted[1] == 9000);
  auto c = db.connect();
  hashdb::list_store store(c);
  CHECK(store.get("shared")->entries == 9000);
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec1("SELECT count(DISTINCT value) FROM hashes")[0].as<int>() == 9000);
}

TEST_CASE("lists: one entry disabled for good, audited with its reason") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::list_store lists(c);
  const auto before = lists.get(l.list_b);
  REQUIRE(before.has_value());
  CHECK(hg_test::error_of(lists.disable_entry(l.list_b, l.entry_b1, " ", "k_admin")) ==
        hashdb::errc::invalid_argument);
  CHECK(hg_test::error_of(lists.disable_entry(l.list_b, l.entry_a1, "wrong list", "k_admin")) ==
        hashdb::errc::not_found);
  CHECK(hg_test::error_of(lists.disable_entry(l.list_b + 100, l.entry_b1, "no list", "k_admin")) ==
        hashdb::errc::not_found);

  auto off = lists.disable_entry(l.list_b, l.entry_b1, "matched an innocent file", "k_admin");
  REQUIRE(off.has_value());
  CHECK(off->changed);
  CHECK(off->value == hg_test::hex_n(2001, 64));
  CHECK(off->external_id == "IN-1");
  CHECK(off->version > before->version);  // nodes reload their snapshot
  CHECK(lists.get(l.list_b)->version == off->version);
  hashdb::audit_log audit(c);
  auto rows = audit.recent(1);
  REQUIRE(rows.has_value());
  REQUIRE(rows->size() == 1);
  CHECK(rows->front().action == "list.entry_disable");
  CHECK(rows->front().actor == "k_admin");
  CHECK(rows->front().detail.find("matched an innocent file") != std::string::npos);
  CHECK(audit.verify()->ok);

  // Idempotent, and the entry is no longer exported (nor loaded into a snapshot).
  auto again = lists.disable_entry(l.list_b, l.entry_b1, "again", "k_admin");
  REQUIRE(again.has_value());
  CHECK_FALSE(again->changed);
  CHECK(again->version == off->version);
  std::ostringstream out;
  CHECK(lists.export_to("internal-md5", hashdb::list_format::hashguard, out).value() == 0);
}
