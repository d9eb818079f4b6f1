// Provenance of exchange-fed entries from the database to what a match leaves behind (issue 18):
// the snapshot (database and cache loads), event hits, case entries, the case detail, the case
// and event exports and the CyberTipline file details; the harm-type rules (classification,
// CyberTipline, evidence by default); and the feedback queue a final decision fills.
#include "hashguard/hashdb/case_queries.hpp"
#include "hashguard/hashdb/evidence.hpp"
#include "hashguard/hashdb/exchange_store.hpp"
#include "hashguard/hashdb/export.hpp"
#include "hashguard/hashdb/feedback_store.hpp"
#include "hashguard/hashdb/report_jobs.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"

#include "hashdb_test_support.hpp"
#include "review_fixture.hpp"

#include <openssl/sha.h>
#include <pqxx/pqxx>

#include <filesystem>

using namespace hashguard;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t t0 = 1'790'000'000'000'000;

// An exchange feeding one PDQ list, and entries: "12345" (a numeric id, no tags: kept inline by
// the snapshot), "hash-a,b" (text with tags, one with a comma and a quote) and an imported entry.
struct fed {
  std::int64_t list{}, numeric{}, tagged{}, imported{};
};

std::string sha256_hex(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  std::string out;
  for (unsigned char b : d) out += hg_test::hex_n(b, 2);
  return out;
}

std::string value_of(int n) {
  return hg_test::hex_n(static_cast<std::uint64_t>(n) * 977, 64);
}

fed feed(hg_test::test_database& db, hashdb::connection& c, const std::string& name,
         core::harm_type harm, bool feedback) {
  hashdb::exchange_store store(c);
  hashdb::exchange_spec s;
  s.name = name;
  s.kind = "folder";
  s.harm = harm;
  s.feedback = feedback;
  s.feeds.push_back({core::signal::pdq, name + "-pdq", 31, core::action::review});
  REQUIRE(store.register_exchange(s).has_value());
  REQUIRE(store.acquire_lease(name, "n1", 60s).value());
  hashdb::exchange_page p;
  hashdb::exchange_entry a;
  a.source_id = "12345";
  a.signal = "pdq";
  a.value = value_of(1);
  hashdb::exchange_entry b;
  b.source_id = "hash-a,b";
  b.signal = "pdq";
  b.value = value_of(2);
  b.tags = {"nudity", "say \"hi\", {x}"};
  p.entries = {a, b};
  p.checkpoint = "cp";
  REQUIRE(store.apply_page(name, "n1", "", p, 60s).has_value());
  fed f;
  f.list = std::stoll(
      hg_test::column_of(db.url(), "SELECT id FROM hash_lists WHERE name = '" + name + "-pdq'")[0]);
  const auto id = [&](const std::string& sid) {
    return std::stoll(
        hg_test::column_of(db.url(), "SELECT id FROM hashes WHERE source_id = '" + sid +
                                         "' AND list_id = " + std::to_string(f.list))[0]);
  };
  f.numeric = id("12345");
  f.tagged = id("hash-a,b");
  pqxx::connection pc(db.url());
  pqxx::work tx(pc);
  f.imported = tx.exec_params1(
                     "INSERT INTO hashes (list_id, value) VALUES ($1, decode($2, 'hex'))"
                     " RETURNING id",
                     f.list, value_of(3))[0]
                   .as<std::int64_t>();
  tx.commit();
  return f;
}

void check_sources(const matcher::snapshot& s, const fed& f, const std::string& exchange) {
  const auto n = s.source_of(f.numeric);
  REQUIRE(n.has_value());
  CHECK(n->exchange == exchange);
  CHECK(n->source_id == "12345");
  CHECK(n->tags.empty());
  const auto t = s.source_of(f.tagged);
  REQUIRE(t.has_value());
  CHECK(t->exchange == exchange);
  CHECK(t->source_id == "hash-a,b");
  CHECK(t->tags == std::vector<std::string>{"nudity", "say \"hi\", {x}"});
  CHECK_FALSE(s.source_of(f.imported).has_value());
  CHECK(s.sourced_entries() == 2);
}

hashdb::match_event hit_event(const fed& f, std::int64_t entry, std::uint64_t content) {
  auto e =
      hg_test::make_event("z", f.list, entry, content, t0, "https://u/" + std::to_string(content));
  e.id = hashdb::new_uuid();
  return e;
}

}  // namespace

TEST_CASE(
    "provenance: the snapshot carries exchange, source id and tags, from the database and "
    "from its cache file") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto f = feed(db, c, "sx", core::harm_type::csam, false);
  const hg_test::temp_dir dir;
  hashdb::snapshot_load_options o;
  o.database_url = db.url();
  o.cache_file = dir.path / "snap.bin";
  hashdb::snapshot_loader loader(o);
  hashdb::snapshot_load_report rep;
  auto from_db = loader.load(&rep);
  REQUIRE(from_db.has_value());
  CHECK(rep.source == hashdb::snapshot_source::database);
  REQUIRE(rep.cache_written);
  check_sources(**from_db, f, "sx");
  auto from_cache = loader.load(&rep);
  REQUIRE(from_cache.has_value());
  CHECK(rep.source == hashdb::snapshot_source::cache);
  check_sources(**from_cache, f, "sx");
}

TEST_CASE(
    "provenance: event hits and case entries keep it after a deletion and the case detail and "
    "exports and CyberTipline file details carry it") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto f = feed(db, c, "sx", core::harm_type::csam, false);
  hashdb::case_store cases(c, hg_test::one_reviewer());
  const auto rec = cases.record(hit_event(f, f.tagged, 7));
  REQUIRE(rec.has_value());
  REQUIRE(rec->case_id.has_value());
  const auto imported = cases.record(hit_event(f, f.imported, 8));
  REQUIRE(imported.has_value());
  // The source deletes the entry (StopNCII withdraws): what was recorded stays.
  hg_test::exec_sql(db.url(), "DELETE FROM hashes WHERE id = " + std::to_string(f.tagged));

  hashdb::review_store review(c);
  auto d = review.detail(*rec->case_id);
  REQUIRE(d.has_value());
  REQUIRE(d->entries.size() == 1);
  CHECK(d->entries[0].exchange == "sx");
  CHECK(d->entries[0].source_id == "hash-a,b");
  REQUIRE(d->events.size() == 1);
  REQUIRE(d->events[0].hits.size() == 1);
  CHECK(d->events[0].hits[0].exchange == "sx");
  CHECK(d->events[0].hits[0].source_id == "hash-a,b");
  CHECK(d->summary.harm_type == "csam");
  auto other = review.detail(*imported->case_id);
  REQUIRE(other.has_value());
  CHECK(other->events.at(0).hits.at(0).exchange.empty());

  hashdb::exporter ex(c);
  const hashdb::export_range all{0, t0 * 2};
  std::string csv;
  REQUIRE(ex.events(
                all, hashdb::export_format::csv, [&](std::string_view s) { csv += s; }, "t")
              .has_value());
  CHECK(csv.find(",exchange,source_id,") != std::string::npos);
  CHECK(csv.find(",sx,\"hash-a,b\",") != std::string::npos);
  std::string json;
  REQUIRE(ex.cases(
                all, hashdb::export_format::json, [&](std::string_view s) { json += s; }, "t")
              .has_value());
  CHECK(json.find(R"("exchange":"sx","source_id":"hash-a,b")") != std::string::npos);
  CHECK(json.find(R"("harm_type":"csam")") != std::string::npos);
  std::string cases_csv;
  REQUIRE(ex.cases(
                all, hashdb::export_format::csv, [&](std::string_view s) { cases_csv += s; }, "t")
              .has_value());
  CHECK(cases_csv.find("sx:hash-a,b") != std::string::npos);

  std::string file;
  hashdb::package_options po;
  po.person.first_name = "Ann";
  po.person.last_name = "Example";
  REQUIRE(ex.cybertipline(
                *rec->case_id, po, [&](std::string_view s) { file += s; }, "t", "fileDetails-1.xml")
              .has_value());
  CHECK(file.find("from exchange sx (source id hash-a,b)") != std::string::npos);
}

TEST_CASE(
    "harm types: an ncii case carries no classification, never reaches the CyberTipline "
    "and keeps no evidence unless configured") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto f = feed(db, c, "sn", core::harm_type::ncii, false);
  hashdb::case_store cases(c, hg_test::one_reviewer());
  const std::string bytes = "synthetic bytes, ncii case";
  auto e = hit_event(f, f.numeric, 9);
  e.sha256 = sha256_hex(bytes);
  const auto rec = cases.record(e);
  REQUIRE(rec.has_value());
  const std::int64_t id = *rec->case_id;
  CHECK(cases.get(id)->harm_type == "ncii");

  // Evidence: off for ncii by default, on when configured.
  hashdb::evidence_store ev(c, hashdb::parse_evidence_key("k1", std::string(64, '4')).value());
  CHECK(ev.preserve_event(e.id, bytes, "image/png", "node-1").value() ==
        hashdb::preserve_outcome::harm_type_off);
  CHECK(hg_test::column_of(db.url(), "SELECT count(*) FROM evidence")[0] == "0");
  hashdb::preserve_policy on;
  on.ncii = true;
  CHECK(ev.preserve_event(e.id, bytes, "image/png", "node-1", on).value() ==
        hashdb::preserve_outcome::stored);

  // A classification is refused with its own error; confirming without one is fine.
  auto classified = hg_test::make_decision(id, 1, hashdb::decision_kind::confirmed);
  CHECK(hg_test::error_of(cases.decide(classified, "k_rev1")) == hashdb::errc::harm_type_refused);
  auto plain = classified;
  plain.classification.reset();
  auto done = cases.decide(plain, "k_rev1");
  REQUIRE(done.has_value());
  CHECK(done->status == "confirmed");
  CHECK_FALSE(cases.get(id)->classification.has_value());

  // Confirmed, but never a CyberTipline report or job.
  hashdb::report_input r;
  r.case_id = id;
  r.report_id = "R1";
  r.environment = "test";
  CHECK(hg_test::error_of(cases.record_report(r, "k_comp")) == hashdb::errc::harm_type_refused);
  hashdb::report_job_store jobs(c);
  CHECK(hg_test::error_of(jobs.create(id, "test", "k_comp")) == hashdb::errc::harm_type_refused);

  // A csam case still needs its classification to be confirmed.
  const auto g = feed(db, c, "sc", core::harm_type::csam, false);
  const auto csam = cases.record(hit_event(g, g.numeric, 10));
  REQUIRE(csam.has_value());
  auto bare = hg_test::make_decision(*csam->case_id, 1, hashdb::decision_kind::confirmed);
  bare.classification.reset();
  CHECK(hg_test::error_of(cases.decide(bare, "k_rev1")) == hashdb::errc::classification_required);
}

TEST_CASE(
    "feedback queue: a final outcome queues one row per entry of a feedback exchange, "
    "claimed under a lease and recorded") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto f = feed(db, c, "fb", core::harm_type::ncii, true);
  const auto quiet = feed(db, c, "nofb", core::harm_type::ncii, false);
  hashdb::case_store cases(c, hg_test::one_reviewer());
  const auto a = cases.record(hit_event(f, f.numeric, 11));
  const auto b = cases.record(hit_event(quiet, quiet.numeric, 12));
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  hashdb::feedback_store q(c);
  CHECK(q.claim("fb", 10, 60s).value().empty());  // undecided: nothing yet

  auto confirm = hg_test::make_decision(*a->case_id, 1, hashdb::decision_kind::confirmed);
  confirm.classification.reset();
  REQUIRE(cases.decide(confirm, "k_rev1").has_value());
  auto other = hg_test::make_decision(*b->case_id, 1, hashdb::decision_kind::confirmed);
  other.classification.reset();
  REQUIRE(cases.decide(other, "k_rev1").has_value());
  // Only the exchange with feedback on queued anything.
  CHECK(hg_test::column_of(db.url(), "SELECT count(*) FROM exchange_feedback")[0] == "1");
  auto due = q.claim("fb", 10, 60s);
  REQUIRE(due.has_value());
  REQUIRE(due->size() == 1);
  const auto& item = due->front();
  CHECK(item.case_id == *a->case_id);
  CHECK(item.source_id == "12345");
  CHECK(item.signal == "pdq");
  CHECK(item.value == value_of(1));
  CHECK(item.positive);
  // Leased: a second claim (another node) gets nothing.
  CHECK(q.claim("fb", 10, 60s).value().empty());
  REQUIRE(q.failed(item.id, "unavailable: 503", 0ms, false).has_value());
  hashdb::review_store review(c);
  auto d = review.detail(*a->case_id);
  REQUIRE(d.has_value());
  REQUIRE(d->feedback.size() == 1);
  CHECK(d->feedback[0].status == "pending");
  CHECK(d->feedback[0].attempts == 1);
  CHECK(d->feedback[0].last_error == "unavailable: 503");
  auto again = q.claim("fb", 10, 60s);
  REQUIRE(again.has_value());
  REQUIRE(again->size() == 1);
  CHECK(again->front().attempts == 1);
  REQUIRE(q.sent(again->front().id).has_value());
  d = review.detail(*a->case_id);
  CHECK(d->feedback[0].status == "sent");
  CHECK(d->feedback[0].attempts == 2);
  CHECK(d->feedback[0].sent_at.has_value());
  CHECK(d->feedback[0].last_error.empty());
}
