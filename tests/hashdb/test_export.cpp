#include "hashguard/hashdb/export.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/cases.hpp"

#include "hg_pg.hpp"
#include "review_fixture.hpp"

#include <openssl/evp.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

using namespace hashguard;
using hg_test::hex_n;

namespace {

constexpr std::int64_t t0 = 1'790'000'000'000'000;  // 2026-09-21T14:13:20Z
constexpr std::int64_t hour = 3'600'000'000;

std::string sha256_hex(std::string_view data) {
  unsigned char d[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d, &len, EVP_sha256(), nullptr);
  return [&] {
    std::string out;
    static constexpr char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len; ++i) {
      out += digits[d[i] >> 4];
      out += digits[d[i] & 15];
    }
    return out;
  }();
}

// RFC 4180 reader: rows of fields (quoted fields may hold commas, quotes and line breaks).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      ++i;
    } else {
      field += ch;
    }
  }
  REQUIRE(field.empty());
  REQUIRE(row.empty());
  return rows;
}

std::map<std::string, std::string> as_map(const std::vector<std::string>& header,
                                          const std::vector<std::string>& row) {
  REQUIRE(header.size() == row.size());
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < header.size(); ++i) out[header[i]] = row[i];
  return out;
}

struct collected {
  std::string bytes;
  hashdb::export_sink sink() {
    return [this](std::string_view c) { bytes.append(c); };
  }
};

// ---- the element order, read from the copy of cybertipline.md (tests/data/review) ----

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Backticked identifiers of `text` in order, skipping parenthesised remarks.
std::vector<std::string> backticked_names(const std::string& text) {
  std::string flat;
  int depth = 0;
  for (char ch : text) {
    if (ch == '(') ++depth;
    if (depth == 0) flat += ch;
    if (ch == ')' && depth > 0) --depth;
  }
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = flat.find('`', pos)) != std::string::npos) {
    const auto end = flat.find('`', pos + 1);
    if (end == std::string::npos) break;
    const std::string name = flat.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0;
        })) {
      out.push_back(name);
    }
  }
  return out;
}

struct cybertipline_order {
  std::vector<std::string> report;            // <report>'s children
  std::vector<std::string> incident_summary;  // incidentSummary's children
  std::vector<std::string> file_details;      // <fileDetails>'s children
  std::string doc;
};

cybertipline_order read_order() {
  cybertipline_order o;
  o.doc = read_file(std::string(HG_TEST_DATA) + "/review/cybertipline.md");
  std::istringstream lines(o.doc);
  std::string line;
  bool in_report = false;
  std::string file_paragraph;
  bool in_file = false;
  while (std::getline(lines, line)) {
    if (line.starts_with("## Report structure"))
      in_report = true;
    else if (line.starts_with("## "))
      in_report = false;
    if (in_report && line.starts_with("| `")) {
      const auto name_end = line.find('`', 3);
      const std::string name = line.substr(3, name_end - 3);
      o.report.push_back(name);
      if (name == "incidentSummary") {
        // The last column lists the children in order.
        o.incident_summary = backticked_names(line.substr(line.rfind('|', line.size() - 2)));
      }
    }
    if (line.starts_with("`<fileDetails>`")) in_file = true;
    if (in_file) {
      if (line.empty())
        in_file = false;
      else
        file_paragraph += line + "\n";
    }
  }
  o.file_details = backticked_names(file_paragraph);
  return o;
}

// The names of the root element's direct children, in document order (a small XML reader for
// the exporter's output: no comments, CDATA or processing instructions past the declaration).
std::string root_name(const std::string& xml) {
  auto p = xml.find('<', xml.find("?>") + 2);
  auto e = xml.find_first_of(" >", p);
  return xml.substr(p + 1, e - p - 1);
}

std::vector<std::string> children(const std::string& xml, const std::string& parent) {
  std::vector<std::string> out;
  const auto start = xml.find("<" + parent);
  REQUIRE(start != std::string::npos);
  std::size_t pos = xml.find('>', start) + 1;
  int depth = 0;
  for (;;) {
    pos = xml.find('<', pos);
    REQUIRE(pos != std::string::npos);
    const auto end = xml.find('>', pos);
    const std::string tag = xml.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    if (tag.starts_with('/')) {
      if (depth == 0) {
        CHECK(tag.substr(1) == parent);
        return out;
      }
      --depth;
      continue;
    }
    const std::string name = tag.substr(0, tag.find(' '));
    if (depth == 0) out.push_back(name);
    // A leaf closes on the same line: <name>text</name>
    const auto close = xml.find("</" + name + ">", pos);
    const auto next_open = xml.find('<', pos);
    if (close != std::string::npos && close == next_open) {
      pos = close + name.size() + 3;
    } else {
      ++depth;
    }
  }
}

// Every name is in `order`, and the names never go backwards in it (repeats allowed).
void check_in_order(const std::vector<std::string>& names, const std::vector<std::string>& order) {
  std::size_t last = 0;
  for (const auto& n : names) {
    const auto it = std::find(order.begin(), order.end(), n);
    INFO("element " << n);
    REQUIRE(it != order.end());
    const auto idx = static_cast<std::size_t>(it - order.begin());
    CHECK(idx >= last);
    last = idx;
  }
}

std::string text_of(const std::string& xml, const std::string& name) {
  const auto a = xml.find("<" + name + ">");
  REQUIRE(a != std::string::npos);
  const auto b = xml.find("</" + name + ">", a);
  return xml.substr(a + name.size() + 2, b - a - name.size() - 2);
}

struct seeded {
  hg_test::review_lists lists;
  std::vector<hashdb::record_result> recorded;
  std::int64_t case_shop{}, case_blog{};
};

seeded seed(hashdb::connection& c, const std::string& url) {
  seeded s;
  s.lists = hg_test::make_lists(url);
  hashdb::case_store store(c, hg_test::one_reviewer());
  const std::vector<hashdb::match_event> events{
      hg_test::make_event("shop.example", s.lists.list_a, s.lists.entry_a1, 1, t0,
                          "https://cdn.example/a.jpg?x=1,2"),
      hg_test::make_event("shop.example", s.lists.list_a, s.lists.entry_a1, 2, t0 + 1'000'000,
                          "=HYPERLINK(\"http://evil\")"),
      hg_test::make_event("blog.example", s.lists.list_b, s.lists.entry_b1, 3, t0 + 2'000'000,
                          "https://blog.example/<script>alert(1)</script>&x"),
      // Outside the export range.
      hg_test::make_event("old.example", s.lists.list_b, s.lists.entry_b1, 4, t0 - 240 * hour,
                          "https://old.example/old.jpg"),
  };
  for (const auto& e : events) {
    auto r = store.record(e);
    REQUIRE(r.has_value());
    s.recorded.push_back(*r);
  }
  s.case_shop = *s.recorded[0].case_id;
  s.case_blog = *s.recorded[2].case_id;
  REQUIRE(*s.recorded[1].case_id == s.case_shop);
  REQUIRE(s.case_blog != s.case_shop);
  return s;
}

void check_custody(hashdb::connection& c, const hashdb::export_receipt& receipt,
                   const std::string& bytes, const std::string& what, const std::string& actor) {
  CHECK(receipt.sha256 == sha256_hex(bytes));
  CHECK(receipt.bytes == bytes.size());
  hashdb::audit_log audit(c);
  auto rows = audit.recent(1);
  REQUIRE(rows.has_value());
  REQUIRE(rows->size() == 1);
  const auto& row = rows->front();
  CHECK(row.id == receipt.audit_id);
  CHECK(row.action == "export");
  CHECK(row.actor == actor);
  const auto detail = boost::json::parse(row.detail).as_object();
  CHECK(detail.at("what").as_string() == what);
  CHECK(detail.at("sha256").as_string() == sha256_hex(bytes));
  CHECK(detail.at("bytes").to_number<std::uint64_t>() == bytes.size());
}

}  // namespace

TEST_CASE("export_csv_field quotes per RFC 4180 and defuses formulas") {
  CHECK(hashdb::export_csv_field("plain") == "plain");
  CHECK(hashdb::export_csv_field("") == "");
  CHECK(hashdb::export_csv_field("a,b") == "\"a,b\"");
  CHECK(hashdb::export_csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(hashdb::export_csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(hashdb::export_csv_field("=1+1") == "'=1+1");
  CHECK(hashdb::export_csv_field("+1") == "'+1");
  CHECK(hashdb::export_csv_field("-1") == "'-1");
  CHECK(hashdb::export_csv_field("@SUM(A1)") == "'@SUM(A1)");
  CHECK(hashdb::export_csv_field("=HYPERLINK(\"x\",1)") == "\"'=HYPERLINK(\"\"x\"\",1)\"");
  CHECK(hashdb::export_csv_field("a=b") == "a=b");
}

TEST_CASE("xml_escape escapes markup and drops characters XML forbids") {
  CHECK(hashdb::xml_escape("<script>alert('x')&\"</script>") ==
        "&lt;script&gt;alert(&apos;x&apos;)&amp;&quot;&lt;/script&gt;");
  CHECK(hashdb::xml_escape(std::string("a\x01"
                                       "b\tc\n",
                                       6)) == "ab\tc\n");
  CHECK(hashdb::parse_export_format("csv") == hashdb::export_format::csv);
  CHECK(hashdb::parse_export_format("json") == hashdb::export_format::json);
  CHECK_FALSE(hashdb::parse_export_format("xml").has_value());
}

TEST_CASE("events export: CSV and JSON carry the recorded events, custody is audited") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto s = seed(c, db.url());
  hashdb::exporter ex(c);
  const hashdb::export_range range{t0 - hour, t0 + hour};

  collected csv;
  auto receipt = ex.events(range, hashdb::export_format::csv, csv.sink(), "k_compliance");
  INFO(c.last_error());
  REQUIRE(receipt.has_value());
  CHECK(receipt->items == 3);
  check_custody(c, *receipt, csv.bytes, "events", "k_compliance");
  const auto rows = parse_csv(csv.bytes);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == hashdb::events_csv_columns());
  for (std::size_t i = 0; i < 3; ++i) {
    const auto row = as_map(rows[0], rows[i + 1]);
    CHECK(row.at("event_id") == s.recorded[i].event_id);
    CHECK(row.at("case_id") == std::to_string(*s.recorded[i].case_id));
    CHECK(row.at("sha256") == hex_n(i + 1, 64));
    CHECK(row.at("md5") == hex_n(i + 4, 32));
    CHECK(row.at("distance") == "4");
    CHECK(row.at("threshold") == "31");
    CHECK(row.at("list_version") == "3");
    CHECK(row.at("variant") == "rot90");
    CHECK(row.at("signal") == "pdq");
  }
  CHECK(as_map(rows[0], rows[1]).at("source_url") == "https://cdn.example/a.jpg?x=1,2");
  // The formula is defused: a leading quote, the rest verbatim.
  CHECK(as_map(rows[0], rows[2]).at("source_url") == "'=HYPERLINK(\"http://evil\")");
  CHECK(as_map(rows[0], rows[1]).at("list_name") == "ncmec-test");
  CHECK(as_map(rows[0], rows[1]).at("external_id") == "NC-1");
  CHECK(as_map(rows[0], rows[3]).at("list_name") == "internal-md5");
  CHECK(as_map(rows[0], rows[3]).at("zone") == "blog.example");

  collected js;
  auto jr = ex.events(range, hashdb::export_format::json, js.sink(), "k_compliance");
  REQUIRE(jr.has_value());
  check_custody(c, *jr, js.bytes, "events", "k_compliance");
  const auto arr = boost::json::parse(js.bytes).as_array();
  REQUIRE(arr.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& o = arr[i].as_object();
    CHECK(o.at("event_id").as_string() == s.recorded[i].event_id);
    CHECK(o.at("sha256").as_string() == hex_n(i + 1, 64));
    CHECK(o.at("pdq_quality").as_int64() == 90);
    CHECK(o.at("source_url_truncated").as_bool() == false);
    const auto& hits = o.at("hits").as_array();
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].at("distance").as_int64() == 4);
    CHECK(hits[0].at("list_version").as_int64() == 3);
  }
  CHECK(arr[2].at("source_url").as_string() == "https://blog.example/<script>alert(1)</script>&x");

  // An empty range still gives a well-formed document, and is audited too.
  collected empty;
  auto er = ex.events({t0 + 10 * hour, t0 + 11 * hour}, hashdb::export_format::json, empty.sink(),
                      "k_compliance");
  REQUIRE(er.has_value());
  CHECK(boost::json::parse(empty.bytes).as_array().empty());
  CHECK(er->items == 0);
}

TEST_CASE("events export pages through more events than one page") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto lists = hg_test::make_lists(db.url());
  hashdb::case_store store(c, hg_test::one_reviewer());
  std::vector<hashdb::match_event> batch;
  for (std::uint64_t i = 0; i < 450; ++i) {
    // Several events share a time, so the keyset must break ties by id.
    batch.push_back(hg_test::make_event("z", lists.list_a, lists.entry_a1, 10 + i,
                                        t0 + static_cast<std::int64_t>(i / 3), "u"));
  }
  REQUIRE(store.record_batch(batch).has_value());
  hashdb::exporter ex(c);
  collected out;
  auto r = ex.events({t0, t0 + hour}, hashdb::export_format::json, out.sink(), "k");
  REQUIRE(r.has_value());
  const auto arr = boost::json::parse(out.bytes).as_array();
  CHECK(arr.size() == 450);
  std::set<std::string> ids;
  for (const auto& v : arr) ids.insert(std::string(v.at("event_id").as_string()));
  CHECK(ids.size() == 450);
}

TEST_CASE("cases and aggregate exports follow decisions and reports") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto s = seed(c, db.url());
  hashdb::case_store store(c, hg_test::one_reviewer());
  hashdb::decision_input d;
  d.case_id = s.case_shop;
  d.reviewer_key_id = 7;
  d.kind = hashdb::decision_kind::confirmed;
  d.classification = "A1";
  d.note = "matches known item";
  REQUIRE(store.decide(d, "k_rev").has_value());
  hashdb::report_input rep;
  rep.case_id = s.case_shop;
  rep.report_id = "123456";
  rep.file_ids = {"f-1", "f-2"};
  rep.submitted_us = t0 + 3'000'000;
  rep.responses = "<reportResponse><responseCode>0</responseCode></reportResponse>";
  REQUIRE(store.record_report(rep, "k_comp").has_value());
  hashdb::decision_input fp;
  fp.case_id = s.case_blog;
  fp.reviewer_key_id = 7;
  fp.kind = hashdb::decision_kind::false_positive;
  fp.note = "not a match";
  REQUIRE(store.decide(fp, "k_rev").has_value());

  hashdb::exporter ex(c);
  collected csv;
  auto r = ex.cases({t0 - hour, t0 + hour}, hashdb::export_format::csv, csv.sink(), "k_comp");
  REQUIRE(r.has_value());
  check_custody(c, *r, csv.bytes, "cases", "k_comp");
  const auto rows = parse_csv(csv.bytes);
  REQUIRE(rows.size() == 3);  // header + the two cases in range (not old.example)
  CHECK(rows[0] == hashdb::cases_csv_columns());
  const auto shop = as_map(rows[0], rows[1]);
  CHECK(shop.at("case_id") == std::to_string(s.case_shop));
  CHECK(shop.at("status") == "reported");
  CHECK(shop.at("classification") == "A1");
  CHECK(shop.at("sightings") == "2");
  CHECK(shop.at("files") == "2");
  CHECK(shop.at("report_ids") == "production:123456");
  CHECK(shop.at("list_entries") ==
        std::to_string(s.lists.list_a) + ":" + std::to_string(s.lists.entry_a1));
  CHECK_FALSE(shop.at("preserve_until").empty());
  CHECK(as_map(rows[0], rows[2]).at("status") == "false_positive");

  collected js;
  auto jr = ex.cases({t0 - hour, t0 + hour}, hashdb::export_format::json, js.sink(), "k_comp");
  REQUIRE(jr.has_value());
  const auto arr = boost::json::parse(js.bytes).as_array();
  REQUIRE(arr.size() == 2);
  CHECK(arr[0].at("decisions").as_array().size() == 1);
  CHECK(arr[0].at("decisions").as_array()[0].at("note").as_string() == "matches known item");
  CHECK(arr[0].at("reports").as_array()[0].at("file_ids").as_array().size() == 2);
  CHECK(arr[0].at("files").as_array().size() == 2);

  // Decisions are timed by the database clock (now): the range runs to tomorrow.
  collected agg;
  auto ar = ex.aggregate({t0 - 300 * hour, hashdb::now_us() + 24 * hour}, "month",
                         hashdb::export_format::csv, agg.sink(), "k_comp");
  INFO(c.last_error());
  REQUIRE(ar.has_value());
  check_custody(c, *ar, agg.bytes, "aggregate", "k_comp");
  const auto arows = parse_csv(agg.bytes);
  REQUIRE(arows.size() >= 3);
  CHECK(arows[0] == std::vector<std::string>{"period", "list_id", "list_name", "matches", "reports",
                                             "false_positives"});
  // Totals per list over the periods; the events and the report fall in September.
  std::map<std::string, std::array<long, 3>> totals;
  for (std::size_t i = 1; i < arows.size(); ++i) {
    const auto row = as_map(arows[0], arows[i]);
    auto& t = totals[row.at("list_name")];
    t[0] += std::stol(row.at("matches"));
    t[1] += std::stol(row.at("reports"));
    t[2] += std::stol(row.at("false_positives"));
    if (row.at("matches") != "0") CHECK(row.at("period") == "2026-09-01");
  }
  CHECK(totals["ncmec-test"] == std::array<long, 3>{2, 1, 0});
  // old.example's event (t0 - 10 days) counts too; blog.example was dismissed.
  CHECK(totals["internal-md5"] == std::array<long, 3>{2, 0, 1});

  collected week;
  auto wr = ex.aggregate({t0 - hour, t0 + hour}, "week", hashdb::export_format::json, week.sink(),
                         "k_comp");
  REQUIRE(wr.has_value());
  const auto warr = boost::json::parse(week.bytes).as_array();
  REQUIRE(warr.size() == 2);
  CHECK(warr[0].at("period").as_string() == "2026-09-21");  // a Monday
  CHECK(warr[0].at("matches").as_int64() == 2);

  collected bad;
  CHECK_FALSE(ex.aggregate({t0, t0 + hour}, "year", hashdb::export_format::csv, bad.sink(), "k")
                  .has_value());
}

TEST_CASE("CyberTipline package: element order and names from cybertipline.md") {
  const auto order = read_order();
  // The parse itself: what the document says, so a broken parse cannot pass vacuously.
  REQUIRE(order.report.size() >= 8);
  CHECK(order.report.front() == "batchedReport");
  REQUIRE(order.incident_summary.size() >= 4);
  CHECK(order.incident_summary.front() == "incidentType");
  REQUIRE(order.file_details.size() >= 15);
  CHECK(order.file_details[0] == "reportId");
  CHECK(order.file_details[1] == "fileId");
  // The hash attribute and its values as the document spells them.
  CHECK(order.doc.find("attr `hashType`") != std::string::npos);
  CHECK(order.doc.find("MD5 / SHA1 / PDQ") != std::string::npos);

  hg_test::test_database db;
  auto c = db.connect();
  const auto s = seed(c, db.url());
  hashdb::case_store store(c, hg_test::one_reviewer());
  hashdb::decision_input d;
  d.case_id = s.case_shop;
  d.reviewer_key_id = 1;
  d.classification = "B2";
  d.note = "ok";
  REQUIRE(store.decide(d, "k_rev").has_value());
  hashdb::package_options po;
  po.person = {"Ada", "Lovelace & Co", "safety@example.com", "+1 555 0100"};
  po.hash_sharing_signatory = true;
  hashdb::exporter ex(c);

  SECTION("before a submission: no reportId or fileId") {
    collected xml;
    auto r = ex.cybertipline(s.case_blog, po, xml.sink(), "k_comp", "fileDetails-1.xml");
    REQUIRE(r.has_value());
    check_custody(c, *r, xml.bytes, "cybertipline", "k_comp");
    const auto kids = children(xml.bytes, "fileDetails");
    CHECK(std::find(kids.begin(), kids.end(), "reportId") == kids.end());
    CHECK(std::find(kids.begin(), kids.end(), "fileId") == kids.end());
    CHECK(std::find(kids.begin(), kids.end(), "industryClassification") == kids.end());
    check_in_order(kids, order.file_details);
    CHECK(text_of(xml.bytes, "locationOfFile") ==
          "https://blog.example/&lt;script&gt;alert(1)&lt;/script&gt;&amp;x");
  }

  SECTION("after a submission") {
    hashdb::report_input rep;
    rep.case_id = s.case_shop;
    rep.report_id = "987654";
    rep.file_ids = {"file-a", "file-b"};
    rep.submitted_us = t0 + 5'000'000;
    REQUIRE(store.record_report(rep, "k_comp").has_value());

    collected report;
    REQUIRE(ex.cybertipline(s.case_shop, po, report.sink(), "k_comp", "report.xml").has_value());
    CHECK(root_name(report.bytes) == "report");
    const auto top = children(report.bytes, "report");
    CHECK(top == std::vector<std::string>{"incidentSummary", "internetDetails", "reporter",
                                          "additionalInfo"});
    check_in_order(top, order.report);
    const auto summary = children(report.bytes, "incidentSummary");
    CHECK(summary == std::vector<std::string>{"incidentType", "incidentDateTime"});
    check_in_order(summary, order.incident_summary);
    CHECK(text_of(report.bytes, "incidentType") ==
          "Child Pornography (possession, manufacture, and distribution)");
    CHECK(text_of(report.bytes, "incidentDateTime") == "2026-09-21T14:13:20.000000Z");
    CHECK(children(report.bytes, "webPageIncident") ==
          std::vector<std::string>{"url", "url", "additionalInfo"});
    CHECK(report.bytes.find("<url>https://cdn.example/a.jpg?x=1,2</url>") != std::string::npos);
    CHECK(report.bytes.find("<url>=HYPERLINK(&quot;http://evil&quot;)</url>") != std::string::npos);
    CHECK(children(report.bytes, "reportingPerson") ==
          std::vector<std::string>{"firstName", "lastName", "phone", "email"});
    CHECK(text_of(report.bytes, "lastName") == "Lovelace &amp; Co");

    for (int n = 1; n <= 2; ++n) {
      collected file;
      const std::string name = "fileDetails-" + std::to_string(n) + ".xml";
      REQUIRE(ex.cybertipline(s.case_shop, po, file.sink(), "k_comp", name).has_value());
      CHECK(root_name(file.bytes) == "fileDetails");
      const auto kids = children(file.bytes, "fileDetails");
      INFO(file.bytes);
      check_in_order(kids, order.file_details);
      CHECK(kids.front() == "reportId");
      CHECK(kids[1] == "fileId");
      CHECK(text_of(file.bytes, "reportId") == "987654");
      CHECK(text_of(file.bytes, "fileId") == (n == 1 ? "file-a" : "file-b"));
      CHECK(text_of(file.bytes, "fileViewedByEsp") == "false");
      CHECK(text_of(file.bytes, "publiclyAvailable") == "true");
      CHECK(text_of(file.bytes, "industryClassification") == "B2");
      // Not an MOU signatory: the element is left out whatever the case's classification.
      auto not_signatory = po;
      not_signatory.hash_sharing_signatory = false;
      collected plain;
      REQUIRE(
          ex.cybertipline(s.case_shop, not_signatory, plain.sink(), "k_comp", name).has_value());
      CHECK(plain.bytes.find("industryClassification") == std::string::npos);
      const auto content = static_cast<std::uint64_t>(n);
      CHECK(file.bytes.find("<originalFileHash hashType=\"MD5\">" + hex_n(content + 3, 32) +
                            "</originalFileHash>") != std::string::npos);
      CHECK(file.bytes.find("<originalFileHash hashType=\"SHA1\">" + hex_n(content + 7, 40) +
                            "</originalFileHash>") != std::string::npos);
      CHECK(file.bytes.find("<originalFileHash hashType=\"SHA256\">" + hex_n(content, 64) +
                            "</originalFileHash>") != std::string::npos);
      CHECK(text_of(file.bytes, "additionalInfo").find("matched list ncmec-test") !=
            std::string::npos);
      CHECK(text_of(file.bytes, "additionalInfo").find("distance 4 (threshold 31") !=
            std::string::npos);
    }

    // The whole package: a tar with report.xml, the files and a manifest of their digests.
    collected tar;
    auto r = ex.cybertipline(s.case_shop, po, tar.sink(), "k_comp");
    REQUIRE(r.has_value());
    check_custody(c, *r, tar.bytes, "cybertipline", "k_comp");
    REQUIRE(tar.bytes.size() % 512 == 0);
    std::map<std::string, std::string> entries;
    std::size_t pos = 0;
    while (pos + 512 <= tar.bytes.size() && tar.bytes[pos] != '\0') {
      const std::string hdr = tar.bytes.substr(pos, 512);
      CHECK(hdr.substr(257, 5) == "ustar");
      unsigned sum = 0;
      for (std::size_t i = 0; i < 512; ++i) {
        sum += (i >= 148 && i < 156) ? 32U : static_cast<unsigned char>(hdr[i]);
      }
      CHECK(std::stoul(hdr.substr(148, 6), nullptr, 8) == sum);
      const std::string name = hdr.substr(0, hdr.find('\0'));
      const auto size = std::stoull(hdr.substr(124, 11), nullptr, 8);
      entries[name] = tar.bytes.substr(pos + 512, size);
      pos += 512 + (size + 511) / 512 * 512;
    }
    REQUIRE(entries.size() == 4);
    const auto manifest = boost::json::parse(entries.at("manifest.json")).as_object();
    const auto& files = manifest.at("files").as_array();
    REQUIRE(files.size() == 3);
    for (const auto& f : files) {
      const std::string name(f.at("name").as_string());
      CHECK(f.at("sha256").as_string() == sha256_hex(entries.at(name)));
    }
    CHECK(entries.at("report.xml") == report.bytes);

    collected none;
    CHECK(hg_test::error_of(ex.cybertipline(s.case_shop, po, none.sink(), "k", "nope.xml")) ==
          hashdb::errc::not_found);
    CHECK(hg_test::error_of(ex.cybertipline(99999, po, none.sink(), "k")) ==
          hashdb::errc::not_found);
  }
}

TEST_CASE("hot case exports: URLs capped and counted, provenance aggregated, no event loaded") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, {});
  // 2,001 events: content 1 at the 40 URLs https://u/<r> with r % 3 != 0 and https://u/first,
  // content 2 at the 20 others, so file 1 has 41 distinct URLs (capped) and file 2 has 20.
  constexpr int n = 2000;
  const auto id = hg_test::open_hot_case(store, db.url(), l, t0, n, 60).id;
  hashdb::exporter ex(c);
  hashdb::package_options po;

  collected report;
  REQUIRE(ex.cybertipline(id, po, report.sink(), "k", "report.xml").has_value());
  const auto kids = children(report.bytes, "webPageIncident");
  CHECK(std::count(kids.begin(), kids.end(), "url") == 40);
  CHECK(report.bytes.find("<url>https://u/first</url>") == std::string::npos);  // the oldest
  CHECK(text_of(report.bytes, "additionalInfo") ==
        "zone: z; 40 of 61 distinct URLs listed (the 20 most recently seen of each file)");

  collected file1;
  REQUIRE(ex.cybertipline(id, po, file1.sink(), "k", "fileDetails-1.xml").has_value());
  CHECK(text_of(file1.bytes, "locationOfFile") == "https://u/first");
  const auto info = text_of(file1.bytes, "additionalInfo");
  INFO(info);
  // Every event of the file carries the same hit: one line for all of them.
  CHECK(info.find("distance 4 (threshold 31, variant rot90) in " + std::to_string(1 + n - n / 3) +
                  " sightings") != std::string::npos);
  CHECK(info.find("at 41 distinct URLs (report.xml lists the 20 most recently seen)") !=
        std::string::npos);
  collected file2;
  REQUIRE(ex.cybertipline(id, po, file2.sink(), "k", "fileDetails-2.xml").has_value());
  CHECK(text_of(file2.bytes, "additionalInfo").find("at 20 distinct URLs\n") == std::string::npos);
  CHECK(text_of(file2.bytes, "additionalInfo").ends_with("at 20 distinct URLs"));

  collected js;
  REQUIRE(
      ex.cases({t0 - hour, t0 + hour}, hashdb::export_format::json, js.sink(), "k").has_value());
  const auto arr = boost::json::parse(js.bytes).as_array();
  REQUIRE(arr.size() == 1);
  const auto& files = arr[0].at("files").as_array();
  REQUIRE(files.size() == 2);
  CHECK(files[0].at("urls").as_array().size() == hashdb::urls_per_file);
  CHECK(files[0].at("urls_total").as_int64() == 41);
  CHECK(files[0].at("first_url").as_string() == "https://u/first");
  CHECK(files[1].at("urls_total").as_int64() == 20);
  const auto& entries = arr[0].at("list_entries").as_array();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].at("list_name").as_string() == "ncmec-test");
  CHECK(entries[0].at("external_id").as_string() == "NC-1");

  // 25 of file 1's sightings matched at other distances: 26 distinct matches, the 20 most
  // frequent listed (the one at distance 4 first) and the count stated.
  hg_test::exec_sql(db.url(),
                    "UPDATE event_hits h SET distance = 4 + s.k FROM (SELECT e.id, row_number()"
                    " OVER (ORDER BY e.occurred_at) AS k FROM events e WHERE e.sha256 = decode('" +
                        hex_n(1, 64) + "', 'hex') LIMIT 25) s WHERE h.event_id = s.id");
  collected capped;
  REQUIRE(ex.cybertipline(id, po, capped.sink(), "k", "fileDetails-1.xml").has_value());
  const auto lines = text_of(capped.bytes, "additionalInfo");
  INFO(lines);
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 21);  // 20 matches, the cap, the sightings
  const auto first_line = lines.substr(0, lines.find('\n'));
  CHECK(first_line.starts_with("matched list ncmec-test"));
  CHECK(first_line.ends_with("distance 4 (threshold 31, variant rot90) in " +
                             std::to_string(1 + n - n / 3 - 25) + " sightings"));
  CHECK(lines.find("the 20 most frequent of 26 distinct matches are listed") != std::string::npos);
}
