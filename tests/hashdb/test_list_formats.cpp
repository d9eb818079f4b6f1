#include "hashguard/hashdb/list_formats.hpp"

#include "hg_catch.hpp"

using namespace hashguard;
using hashdb::line_kind;
using hashdb::list_format;
using hashdb::list_parser;

namespace {

const std::string pdq_a(64, 'a');
const std::string pdq_b = std::string(63, '0') + "1";

std::string reason_code(const hashdb::line_result& r) {
  return r.reason.substr(0, r.reason.find(':'));
}

}  // namespace

TEST_CASE("format names round-trip") {
  for (auto f :
       {list_format::hex, list_format::te_local, list_format::csv, list_format::hashguard}) {
    CHECK(hashdb::parse_list_format(hashdb::to_string(f)) == f);
  }
  CHECK(hashdb::parse_list_format("te_local") == list_format::te_local);
  CHECK_FALSE(hashdb::parse_list_format("xml").has_value());
}

TEST_CASE("format detection") {
  CHECK(hashdb::detect_list_format("# hashguard-list v1\n# name: x\n") == list_format::hashguard);
  CHECK(hashdb::detect_list_format("\xEF\xBB\xBF# hashguard-list v1\n") == list_format::hashguard);
  CHECK(hashdb::detect_list_format("# comment\n\n" + pdq_a + "\n") == list_format::hex);
  CHECK(hashdb::detect_list_format(pdq_a + ",item-1\r\n") == list_format::hex);
  CHECK(hashdb::detect_list_format("pdq " + pdq_a + "\n") == list_format::te_local);
  CHECK(hashdb::detect_list_format("id,Hash,quality\n1," + pdq_a + ",90\n") == list_format::csv);
  CHECK(hashdb::detect_list_format("signal_type,signal_value\n") == list_format::csv);
  CHECK_FALSE(hashdb::detect_list_format("").has_value());
  CHECK_FALSE(hashdb::detect_list_format("# only comments\n\n").has_value());
  CHECK_FALSE(hashdb::detect_list_format(std::string("\x01\x00\x02", 3)).has_value());
  CHECK_FALSE(hashdb::detect_list_format("hello world\n").has_value());
}

TEST_CASE("normalize_hash checks digits and the signal's length") {
  std::string why;
  CHECK(hashdb::normalize_hash("ABCDEF0123456789", core::signal::phash, why) ==
        std::optional<std::string>("abcdef0123456789"));
  CHECK_FALSE(hashdb::normalize_hash("abc", core::signal::phash, why).has_value());
  CHECK(why.rfind("wrong_length", 0) == 0);
  CHECK_FALSE(hashdb::normalize_hash("zz", core::signal::md5, why).has_value());
  CHECK(why.rfind("bad_hex", 0) == 0);
  for (auto s : {core::signal::pdq, core::signal::phash, core::signal::md5, core::signal::sha1,
                 core::signal::sha256}) {
    const std::string ok(core::signal_hex_length(s), '7');
    CHECK(hashdb::normalize_hash(ok, s, why).has_value());
    CHECK_FALSE(hashdb::normalize_hash(ok + "7", s, why).has_value());
  }
}

TEST_CASE("hex lines: comments, ids, CRLF, BOM, blank, bad hex, wrong length") {
  list_parser p(list_format::hex, core::signal::pdq);
  auto first = p.parse_line("\xEF\xBB\xBF" + pdq_a + "\r");
  REQUIRE(first.kind == line_kind::entry);
  CHECK(first.entry.value == pdq_a);
  CHECK(p.parse_line("# a comment").kind == line_kind::skipped);
  CHECK(p.parse_line("").kind == line_kind::skipped);
  CHECK(p.parse_line("   \r").kind == line_kind::skipped);
  auto with_id = p.parse_line(" " + std::string(64, 'B') + " , item-7 \r");
  REQUIRE(with_id.kind == line_kind::entry);
  CHECK(with_id.entry.value == std::string(64, 'b'));
  CHECK(with_id.entry.external_id == "item-7");
  auto bad = p.parse_line(std::string(63, 'a') + "g");
  CHECK(bad.kind == line_kind::rejected);
  CHECK(reason_code(bad) == "bad_hex");
  auto short_line = p.parse_line(std::string(62, 'a'));
  CHECK(reason_code(short_line) == "wrong_length");
  CHECK(reason_code(p.parse_line(pdq_a + ",x,y")) == "bad_field");
}

TEST_CASE("a BOM is stripped on the first line only") {
  list_parser p(list_format::hex, core::signal::md5);
  CHECK(p.parse_line("\xEF\xBB\xBF" + std::string(32, 'c')).kind == line_kind::entry);
  CHECK(reason_code(p.parse_line("\xEF\xBB\xBF" + std::string(32, 'c'))) == "bad_hex");
}

TEST_CASE("te-local lines") {
  list_parser p(list_format::te_local, core::signal::pdq);
  auto ok = p.parse_line("pdq " + pdq_b + "\r");
  REQUIRE(ok.kind == line_kind::entry);
  CHECK(ok.entry.value == pdq_b);
  auto with_id = p.parse_line("pdq\t" + pdq_b + " te-123");
  REQUIRE(with_id.kind == line_kind::entry);
  CHECK(with_id.entry.external_id == "te-123");
  CHECK(reason_code(p.parse_line("video_tmk " + pdq_b)) == "unknown_signal");
  CHECK(reason_code(p.parse_line("md5 " + std::string(32, 'a'))) == "signal_mismatch");
  CHECK(reason_code(p.parse_line(pdq_b)) == "bad_field");
  CHECK(reason_code(p.parse_line("pdq " + pdq_b.substr(1))) == "wrong_length");
  list_parser md5(list_format::te_local, core::signal::md5);
  CHECK(md5.parse_line("photo_md5 " + std::string(32, 'a')).kind == line_kind::entry);
}

TEST_CASE("csv lines: header columns, quoting, quality") {
  list_parser p(list_format::csv, core::signal::pdq);
  CHECK(p.parse_line("ID,Hash,Quality,Note,extra").kind == line_kind::skipped);
  auto row = p.parse_line("17," + pdq_a + ",90,\"a, quoted \"\"note\"\"\",x");
  REQUIRE(row.kind == line_kind::entry);
  CHECK(row.entry.external_id == "17");
  CHECK(row.entry.quality == 90);
  CHECK(row.entry.note == "a, quoted \"note\"");
  CHECK(reason_code(p.parse_line("18," + pdq_a + ",101,")) == "bad_quality");
  CHECK(reason_code(p.parse_line("18," + pdq_a + ",\"open")) == "bad_field");
  CHECK(reason_code(p.parse_line("19")) == "bad_field");

  list_parser typed(list_format::csv, core::signal::pdq);
  CHECK(typed.parse_line("signal_type,signal").kind == line_kind::skipped);
  CHECK(typed.parse_line("pdq," + pdq_a).kind == line_kind::entry);
  CHECK(reason_code(typed.parse_line("sha1," + std::string(40, 'a'))) == "signal_mismatch");
  CHECK(reason_code(typed.parse_line("tmk," + pdq_a)) == "unknown_signal");

  list_parser headerless(list_format::csv, core::signal::pdq);
  CHECK(reason_code(headerless.parse_line("a,b,c")) == "no_header");
}

TEST_CASE("hashguard header: metadata, then csv rows") {
  hashdb::list_metadata meta;
  meta.name = "ncmec-pdq";
  meta.source = "NCMEC";
  meta.sig = core::signal::pdq;
  meta.threshold = 31;
  meta.act = core::action::block;
  meta.dihedral = false;
  meta.version = 42;
  meta.entries = 1;
  const std::string text =
      hashdb::hashguard_header(meta) +
      hashdb::format_entry(list_format::hashguard, core::signal::pdq, {pdq_a, "id,1", 80, "n"});
  list_parser p(list_format::hashguard, core::signal::pdq);
  std::vector<hashdb::line_result> results;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    results.push_back(p.parse_line(std::string_view(text).substr(pos, nl - pos)));
    pos = nl + 1;
  }
  REQUIRE(p.metadata().has_value());
  CHECK(p.metadata()->name == "ncmec-pdq");
  CHECK(p.metadata()->source == "NCMEC");
  CHECK(p.metadata()->threshold == 31);
  CHECK(p.metadata()->act == core::action::block);
  CHECK_FALSE(p.metadata()->dihedral);
  CHECK(p.metadata()->version == 42);
  REQUIRE(results.back().kind == line_kind::entry);
  CHECK(results.back().entry.external_id == "id,1");
  CHECK(results.back().entry.quality == 80);

  list_parser wrong(list_format::hashguard, core::signal::md5);
  CHECK(wrong.parse_line("# hashguard-list v1").kind == line_kind::skipped);
  CHECK(reason_code(wrong.parse_line("# signal: pdq")) == "signal_mismatch");
  list_parser future(list_format::hashguard, core::signal::pdq);
  CHECK(reason_code(future.parse_line("# hashguard-list v9")) == "bad_metadata");
}

TEST_CASE("every format's writer is read back by its parser") {
  const hashdb::list_entry e{pdq_b, "item 9", 77, "note, with comma"};
  for (auto f : {list_format::hex, list_format::te_local, list_format::csv}) {
    list_parser p(f, core::signal::pdq);
    hashdb::list_metadata meta;
    const std::string header = hashdb::format_header(f, meta);
    if (!header.empty())
      CHECK(p.parse_line(header.substr(0, header.size() - 1)).kind == line_kind::skipped);
    std::string line = hashdb::format_entry(f, core::signal::pdq, e);
    line.pop_back();
    auto r = p.parse_line(line);
    INFO(hashdb::to_string(f) << ": " << line);
    REQUIRE(r.kind == line_kind::entry);
    CHECK(r.entry.value == e.value);
    CHECK(r.entry.external_id == e.external_id);
    if (f == list_format::csv) {
      CHECK(r.entry.quality == 77);
      CHECK(r.entry.note == e.note);
    }
  }
}

TEST_CASE("csv export keeps ids and notes that start or end with a tab or space") {
  // Found by tests/fuzz/fuzz_lists (input in its corpus): a quoted "\tx" was written unquoted
  // and read back trimmed.
  for (const std::string text : {"\tx", "x\t", " x", "x ", "\t"}) {
    const hashdb::list_entry e{pdq_b, text, std::nullopt, text};
    list_parser p(list_format::csv, core::signal::pdq);
    REQUIRE(p.parse_line("hash,id,quality,note").kind == line_kind::skipped);
    std::string line = hashdb::format_entry(list_format::csv, core::signal::pdq, e);
    line.pop_back();
    const auto r = p.parse_line(line);
    INFO(line);
    REQUIRE(r.kind == line_kind::entry);
    CHECK(r.entry.external_id == text);
    CHECK(r.entry.note == text);
  }
}

TEST_CASE("parsers survive arbitrary bytes and only emit well-formed entries") {
  // A cheap stand-in for a fuzz run: random lines built from a hostile alphabet.
  static constexpr char hostile[] = "0123456789abcdefABCDEFxyz,\"# \t\r\n\xEF\xBB\xBF\x00\xff";
  const std::string alphabet = std::string(hostile, sizeof hostile - 1) +
                               "pdq md5 sha1 phash sha256 hash,id,quality,note signal_type";
  std::uint64_t state = 0x243F6A8885A308D3ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (auto f :
       {list_format::hex, list_format::te_local, list_format::csv, list_format::hashguard}) {
    for (auto sig : {core::signal::pdq, core::signal::phash, core::signal::md5}) {
      list_parser p(f, sig);
      if (f == list_format::csv) (void)p.parse_line("hash,id,quality,note");
      if (f == list_format::hashguard) (void)p.parse_line("# hashguard-list v1");
      for (int i = 0; i < 3000; ++i) {
        std::string line;
        const auto len = next() % 90;
        for (std::uint64_t k = 0; k < len; ++k) line.push_back(alphabet[next() % alphabet.size()]);
        if (next() % 4 == 0)
          line = std::string(core::signal_hex_length(sig), 'a') + line.substr(0, 3);
        const auto r = p.parse_line(line);
        if (r.kind == line_kind::entry) {
          REQUIRE(r.entry.value.size() == core::signal_hex_length(sig));
          REQUIRE(r.entry.value.find_first_not_of("0123456789abcdef") == std::string::npos);
        } else if (r.kind == line_kind::rejected) {
          REQUIRE_FALSE(r.reason.empty());
        }
      }
      (void)hashdb::detect_list_format(std::string(alphabet.substr(next() % 20)));
    }
  }
}
