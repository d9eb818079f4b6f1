#include "hashguard/hashdb/cases.hpp"

#include "hashguard/hashdb/audit.hpp"

#include "hg_pg.hpp"
#include "review_fixture.hpp"

#include <pqxx/pqxx>

#include <thread>

using namespace hashguard;
using hashdb::record_outcome;
using hg_test::hex_n;

namespace {

hashdb::match_event event(std::string zone, std::int64_t entry, std::uint64_t content,
                          std::string request = "") {
  hashdb::match_event e;
  e.zone = std::move(zone);
  e.source_url = "https://cdn.example/img/" + std::to_string(content) + ".jpg";
  e.request_id = std::move(request);
  e.node = "node-1";
  e.sha256 = hex_n(content, 64);
  e.md5 = hex_n(content, 32);
  e.pdq = hex_n(content * 7, 64);
  e.pdq_quality = 90;
  e.act = core::action::block;
  hashdb::event_hit h;
  h.list_id = 1;
  h.entry_id = entry;
  h.sig = core::signal::pdq;
  h.distance = 4;
  h.threshold = 31;
  h.list_version = 3;
  h.act = core::action::block;
  h.variant = core::dihedral::rot90;
  e.hits.push_back(h);
  return e;
}

void age(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec0(sql);
  tx.commit();
}

}  // namespace

TEST_CASE("events: JSON round trip and validation") {
  auto e = event("z", 5, 1, "req");
  e.id = hashdb::new_uuid();
  e.occurred_us = 1'700'000'000'123'456;
  auto back = hashdb::event_from_json(hashdb::to_json(e));
  REQUIRE(back.has_value());
  CHECK(back->id == e.id);
  CHECK(back->occurred_us == e.occurred_us);
  CHECK(back->sha256 == e.sha256);
  CHECK(back->pdq_quality == 90);
  REQUIRE(back->hits.size() == 1);
  CHECK(back->hits[0].variant == core::dihedral::rot90);
  CHECK(back->hits[0].entry_id == 5);
  CHECK(hashdb::validate(e).has_value());
  auto bad = e;
  bad.sha256 = "XYZ";
  CHECK_FALSE(hashdb::validate(bad).has_value());
  bad = e;
  bad.zone.clear();
  CHECK_FALSE(hashdb::validate(bad).has_value());
  CHECK_FALSE(hashdb::event_from_json("{not json").has_value());
  CHECK(hashdb::new_uuid() != hashdb::new_uuid());
  CHECK(hashdb::new_uuid()[14] == '4');
}

TEST_CASE("cases group by zone and entry, or zone and content") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  auto a = cases.record(event("zone-a", 10, 100));
  INFO(c.last_error());
  REQUIRE(a.has_value());
  CHECK(a->outcome == record_outcome::recorded);
  REQUIRE(a->case_id.has_value());
  // Same entry, other content: same case, a second file.
  auto b = cases.record(event("zone-a", 10, 101));
  REQUIRE(b.has_value());
  CHECK(b->case_id == a->case_id);
  // Same content, other entry: same case.
  auto d = cases.record(event("zone-a", 11, 100));
  REQUIRE(d.has_value());
  CHECK(d->case_id == a->case_id);
  // Another zone: another case.
  auto other = cases.record(event("zone-b", 10, 100));
  REQUIRE(other.has_value());
  CHECK(other->case_id != a->case_id);
  // Unrelated entry and content: another case.
  auto fresh = cases.record(event("zone-a", 12, 555));
  REQUIRE(fresh.has_value());
  CHECK(fresh->case_id != a->case_id);

  auto s = cases.get(*a->case_id);
  REQUIRE(s.has_value());
  CHECK(s->zone == "zone-a");
  CHECK(s->status == "open");
  CHECK(s->sightings == 3);
  CHECK(s->files == 2);
  auto ids = cases.event_ids(*a->case_id);
  REQUIRE(ids.has_value());
  CHECK(ids->size() == 3);
  auto open = cases.list(std::string("open"), 10);
  REQUIRE(open.has_value());
  CHECK(open->size() == 3);
}

TEST_CASE("the same event id twice is one event: the same zone and request id is one event") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  auto e = event("z", 1, 1, "req-1");
  e.id = hashdb::new_uuid();
  auto first = cases.record(e);
  REQUIRE(first.has_value());
  auto replay = cases.record(e);
  REQUIRE(replay.has_value());
  CHECK(replay->outcome == record_outcome::duplicate_id);
  CHECK(replay->event_id == e.id);

  auto retry = event("z", 1, 1, "req-1");  // the cache layer retried: new uuid
  auto r = cases.record(retry);
  REQUIRE(r.has_value());
  CHECK(r->outcome == record_outcome::duplicate_request);
  CHECK(r->event_id == e.id);
  CHECK(cases.get(*first->case_id)->sightings == 1);

  // Outside the window it is a new event.
  auto later = event("z", 1, 1, "req-1");
  later.occurred_us = hashdb::now_us() + 2LL * 3600 * 1'000'000;
  auto r2 = cases.record(later);
  REQUIRE(r2.has_value());
  CHECK(r2->outcome == record_outcome::recorded);
  // Another zone with the same request id is another event.
  auto r3 = cases.record(event("z2", 1, 1, "req-1"));
  REQUIRE(r3.has_value());
  CHECK(r3->outcome == record_outcome::recorded);

  // A batch is recorded in order in one transaction.
  std::vector<hashdb::match_event> batch{event("y", 1, 9, "a"), event("y", 1, 9, "a"),
                                         event("y", 2, 10, "b")};
  auto rb = cases.record_batch(batch);
  REQUIRE(rb.has_value());
  REQUIRE(rb->size() == 3);
  CHECK((*rb)[0].outcome == record_outcome::recorded);
  CHECK((*rb)[1].outcome == record_outcome::duplicate_request);
  CHECK((*rb)[1].event_id == (*rb)[0].event_id);
  CHECK((*rb)[2].outcome == record_outcome::recorded);
}

TEST_CASE("decisions: two-person rule, classification, false positive with suppression") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_options two;
  two.required_confirmations = 2;
  hashdb::case_store cases(c, two);
  auto rec = cases.record(event("z", 1, 1));
  REQUIRE(rec.has_value());
  const auto id = *rec->case_id;
  hashdb::decision_input d;
  d.case_id = id;
  d.reviewer_key_id = 7;
  d.kind = hashdb::decision_kind::confirmed;
  d.classification = "A1";
  auto first = cases.decide(d, "key:7");
  INFO(c.last_error());
  REQUIRE(first.has_value());
  CHECK(first->status == "open");  // one of two
  CHECK(first->confirmations == 1);
  CHECK(hg_test::error_of(cases.decide(d, "key:7")) == hashdb::errc::conflict);
  d.reviewer_key_id = 8;
  auto second = cases.decide(d, "key:8");
  REQUIRE(second.has_value());
  CHECK(second->status == "confirmed");
  CHECK(second->confirmations == 2);
  CHECK(cases.get(id)->classification == std::optional<std::string>("A1"));
  d.classification = "C3";
  CHECK(hg_test::error_of(cases.decide(d, "key:8")) == hashdb::errc::invalid_argument);
  d.case_id = 999999;
  d.classification.reset();
  CHECK(hg_test::error_of(cases.decide(d, "key:8")) == hashdb::errc::not_found);

  // False positive + suppression: the same content no longer opens cases.
  auto fp = cases.record(event("z", 50, 5000));
  REQUIRE(fp.has_value());
  hashdb::decision_input dismiss;
  dismiss.case_id = *fp->case_id;
  dismiss.reviewer_key_id = 7;
  dismiss.kind = hashdb::decision_kind::false_positive;
  dismiss.suppress = true;
  dismiss.note = "a cartoon";
  auto dr = cases.decide(dismiss, "key:7");
  REQUIRE(dr.has_value());
  CHECK(dr->status == "false_positive");
  CHECK(cases.is_suppressed(hex_n(5000, 64)) == true);
  auto again = cases.record(event("z", 51, 5000));
  REQUIRE(again.has_value());
  CHECK(again->outcome == record_outcome::suppressed);
  CHECK_FALSE(again->case_id.has_value());
  CHECK(cases.get(*fp->case_id)->sightings == 1);

  // Every decision is in the audit log, and the chain holds.
  hashdb::audit_log log(c);
  auto v = log.verify();
  REQUIRE(v.has_value());
  CHECK(v->ok);
  CHECK(v->rows == 3);
}

TEST_CASE("reports start the preservation clock: purge honours holds and deadlines") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  auto reported = cases.record(event("z", 1, 1));
  auto dismissed = cases.record(event("z", 2, 2));
  auto held = cases.record(event("z", 3, 3));
  auto open = cases.record(event("z", 4, 4));
  REQUIRE((reported && dismissed && held && open));

  hashdb::report_input rep;
  rep.case_id = *reported->case_id;
  rep.report_id = "123456";
  rep.file_ids = {"f1", "f2"};
  rep.responses = "<reportResponse><responseCode>0</responseCode></reportResponse>";
  auto rid = cases.record_report(rep, "key:9");
  INFO(c.last_error());
  REQUIRE(rid.has_value());
  auto s = cases.get(*reported->case_id);
  REQUIRE(s.has_value());
  CHECK(s->status == "reported");
  REQUIRE(s->reported_at.has_value());
  REQUIRE(s->preserve_until.has_value());
  CHECK(s->preserve_until->substr(0, 4) != s->reported_at->substr(0, 4));  // a year later
  rep.case_id = *held->case_id;
  rep.report_id = "654321";
  REQUIRE(cases.record_report(rep, "key:9").has_value());
  REQUIRE(cases.set_legal_hold(*held->case_id, true, "key:9").has_value());

  hashdb::decision_input dismiss;
  dismiss.case_id = *dismissed->case_id;
  dismiss.reviewer_key_id = 7;
  dismiss.kind = hashdb::decision_kind::false_positive;
  REQUIRE(cases.decide(dismiss, "key:7").has_value());
  rep.case_id = *dismissed->case_id;
  rep.report_id = "777";
  CHECK(hg_test::error_of(cases.record_report(rep, "key:9")) == hashdb::errc::conflict);

  // Nothing has expired yet.
  auto none = cases.purge(std::nullopt, "cli");
  REQUIRE(none.has_value());
  CHECK(none->deleted.empty());
  CHECK(none->reduced.empty());
  CHECK(hg_test::error_of(cases.purge(*reported->case_id, "cli")) == hashdb::errc::purge_refused);
  CHECK(hg_test::error_of(cases.purge(*open->case_id, "cli")) == hashdb::errc::purge_refused);
  CHECK(hg_test::error_of(cases.purge(*held->case_id, "cli")) == hashdb::errc::purge_refused);

  // A year and a month later.
  age(db.url(),
      "UPDATE cases SET preserve_until = now() - interval '1 day'"
      " WHERE preserve_until IS NOT NULL");
  age(db.url(),
      "UPDATE cases SET dismissed_at = now() - interval '31 days'"
      " WHERE dismissed_at IS NOT NULL");
  CHECK(hg_test::error_of(cases.purge(*held->case_id, "cli")) == hashdb::errc::purge_refused);
  auto dry = cases.purge(std::nullopt, "cli", true);
  REQUIRE(dry.has_value());
  CHECK(dry->deleted.size() == 1);
  CHECK(cases.get(*reported->case_id).has_value());

  auto done = cases.purge(std::nullopt, "cli");
  REQUIRE(done.has_value());
  CHECK(done->deleted == std::vector<std::int64_t>{*reported->case_id});
  CHECK(done->reduced == std::vector<std::int64_t>{*dismissed->case_id});
  CHECK(done->held_skipped == std::vector<std::int64_t>{*held->case_id});
  CHECK(hg_test::error_of(cases.get(*reported->case_id)) == hashdb::errc::not_found);
  auto reduced = cases.get(*dismissed->case_id);
  REQUIRE(reduced.has_value());
  CHECK(reduced->details_purged);
  CHECK(reduced->files == 1);                            // the hashes stay
  CHECK(cases.event_ids(*dismissed->case_id)->empty());  // the events (URLs...) go
  CHECK(cases.get(*held->case_id).has_value());
  CHECK(cases.get(*open->case_id).has_value());
  hashdb::audit_log log(c);
  CHECK(log.verify()->ok);
}

TEST_CASE("two concurrent writers on one zone open one case per item") {
  hg_test::test_database db;
  constexpr int per_writer = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      auto c = hashdb::connection::open(db.url());
      if (!c) {
        ++failures;
        return;
      }
      hashdb::case_store cases(*c, {});
      for (int i = 0; i < per_writer; ++i) {
        // Both writers see the same 10 items, each from its own content.
        auto r = cases.record(event("shared", i % 10, static_cast<std::uint64_t>(w * 1000 + i)));
        if (!r || r->outcome != record_outcome::recorded) ++failures;
      }
    });
  }
  for (auto& t : writers) t.join();
  CHECK(failures == 0);
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec1("SELECT count(*) FROM cases")[0].as<int>() == 10);
  CHECK(tx.exec1("SELECT sum(sightings) FROM cases")[0].as<int>() == 2 * per_writer);
  CHECK(tx.exec1("SELECT count(*) FROM events")[0].as<int>() == 2 * per_writer);
}
