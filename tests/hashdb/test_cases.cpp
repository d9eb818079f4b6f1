#include "hashguard/hashdb/cases.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/decision_feed.hpp"

#include "hg_pg.hpp"
#include "review_fixture.hpp"

#include <pqxx/pqxx>

#include <map>
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
  CHECK_FALSE(back->source_url_truncated);
  CHECK_FALSE(back->answered);
  e.source_url_truncated = true;
  e.answered = true;
  back = hashdb::event_from_json(hashdb::to_json(e));
  REQUIRE(back.has_value());
  CHECK(back->source_url_truncated);
  CHECK(back->answered);
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
  REQUIRE(cases.decide(dismiss, "key:7").has_value());
  dismiss.reviewer_key_id = 8;  // a dismissal needs as many reviewers as a confirmation
  auto dr = cases.decide(dismiss, "key:8");
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
  CHECK(v->rows == 4);
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

  // A report needs a confirmed case.
  hg_test::decide_final(cases, *reported->case_id, hashdb::decision_kind::confirmed);
  hg_test::decide_final(cases, *held->case_id, hashdb::decision_kind::confirmed);
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

  hg_test::decide_final(cases, *dismissed->case_id, hashdb::decision_kind::false_positive);
  rep.case_id = *dismissed->case_id;
  rep.report_id = "777";
  CHECK(hg_test::error_of(cases.record_report(rep, "key:9")) == hashdb::errc::not_confirmed);

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

TEST_CASE("a reused request id with other content is an event of its own") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  auto first = cases.record(event("z", 1, 1, "req-1"));
  REQUIRE(first.has_value());
  // The same zone and request id, other bytes (another matching image): its own event.
  auto other = cases.record(event("z", 2, 2, "req-1"));
  REQUIRE(other.has_value());
  CHECK(other->outcome == record_outcome::recorded);
  CHECK(other->event_id != first->event_id);
  // A retry of either is still one event.
  auto retry = cases.record(event("z", 2, 2, "req-1"));
  REQUIRE(retry.has_value());
  CHECK(retry->outcome == record_outcome::duplicate_request);
  CHECK(retry->event_id == other->event_id);
  // The same in one batch.
  std::vector<hashdb::match_event> batch{event("y", 1, 1, "r"), event("y", 2, 2, "r"),
                                         event("y", 1, 1, "r")};
  auto rb = cases.record_batch(batch);
  REQUIRE(rb.has_value());
  CHECK((*rb)[0].outcome == record_outcome::recorded);
  CHECK((*rb)[1].outcome == record_outcome::recorded);
  CHECK((*rb)[2].outcome == record_outcome::duplicate_request);
  CHECK((*rb)[2].event_id == (*rb)[0].event_id);
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec1("SELECT count(*) FROM events")[0].as<int>() == 4);
}

TEST_CASE("an event its caller already holds is stored even when it repeats a request") {
  // A spooled event was answered under its own id before the database saw it; meanwhile
  // another node recorded the same request. Replayed, it must exist under that id.
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  auto elsewhere = cases.record(event("z", 1, 1, "req-1"));
  REQUIRE(elsewhere.has_value());
  auto spooled = event("z", 1, 1, "req-1");
  spooled.id = hashdb::new_uuid();
  spooled.answered = true;
  auto r = cases.record(spooled);
  REQUIRE(r.has_value());
  CHECK(r->outcome == record_outcome::recorded);
  CHECK(r->event_id == spooled.id);
  CHECK(r->case_id == elsewhere->case_id);
  // Replayed again (idempotent by id).
  auto again = cases.record(spooled);
  REQUIRE(again.has_value());
  CHECK(again->outcome == record_outcome::duplicate_id);
}

TEST_CASE("a batch: two events of one new case, a repeated request, a replayed id") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  auto committed = event("b", 9, 900, "done");
  committed.id = hashdb::new_uuid();
  REQUIRE(cases.record(committed).has_value());

  auto first = event("b", 1, 100, "r1");
  first.id = hashdb::new_uuid();
  auto same_item = event("b", 1, 101, "r2");  // same entry, other content: the same new case
  auto same_content = event("b", 2, 101);     // other entry, content of the one before
  auto repeated = event("b", 1, 100, "r1");   // `first` retried (new id): one event
  auto replayed = first;                      // `first` again, in the same batch
  auto replay_old = committed;                // an id committed by an earlier batch
  auto late = event("b", 4, 103, "r1");       // the same request outside the window: new
  late.occurred_us = hashdb::now_us() + 2LL * 3600 * 1'000'000;
  auto elsewhere = event("b2", 1, 100);  // the same item in another zone: another case
  std::vector<hashdb::match_event> batch{first,    same_item,  same_content, repeated,
                                         replayed, replay_old, late,         elsewhere};
  auto r = cases.record_batch(batch);
  INFO(c.last_error());
  REQUIRE(r.has_value());
  REQUIRE(r->size() == batch.size());
  const auto& out = *r;
  CHECK(out[0].outcome == record_outcome::recorded);
  CHECK(out[0].event_id == first.id);
  REQUIRE(out[0].case_id.has_value());
  const auto case_1 = *out[0].case_id;
  CHECK(out[1].outcome == record_outcome::recorded);
  CHECK(out[1].case_id == case_1);
  CHECK(out[2].outcome == record_outcome::recorded);
  CHECK(out[2].case_id == case_1);
  CHECK(out[3].outcome == record_outcome::duplicate_request);
  CHECK(out[3].event_id == first.id);
  CHECK(out[3].case_id == case_1);
  CHECK(out[4].outcome == record_outcome::duplicate_id);
  CHECK(out[4].event_id == first.id);
  CHECK(out[4].case_id == case_1);
  CHECK(out[5].outcome == record_outcome::duplicate_id);
  CHECK(out[5].event_id == committed.id);
  CHECK(out[6].outcome == record_outcome::recorded);
  CHECK(out[6].case_id != case_1);
  CHECK(out[7].outcome == record_outcome::recorded);
  CHECK(out[7].case_id != case_1);

  auto s = cases.get(case_1);
  REQUIRE(s.has_value());
  CHECK(s->sightings == 3);  // first, same_item, same_content
  CHECK(s->files == 2);      // contents 100 and 101
  CHECK(cases.event_ids(case_1)->size() == 3);
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec1("SELECT count(*) FROM events")[0].as<int>() == 6);
  CHECK(tx.exec1("SELECT count(*) FROM event_hits")[0].as<int>() == 6);
  CHECK(tx.exec_params1("SELECT count(*) FROM case_entries WHERE case_id = $1", case_1)[0]
            .as<int>() == 2);
  CHECK(tx.exec_params1("SELECT sightings FROM case_files WHERE case_id = $1"
                        " AND content = decode($2, 'hex')",
                        case_1, hex_n(101, 64))[0]
            .as<int>() == 2);
  CHECK(tx.exec1("SELECT count(*) FROM cases")[0].as<int>() == 4);
}

TEST_CASE("a batch records exactly what one event after another records") {
  // The same sequence, with the same pattern of repeated entries, contents, requests and ids,
  // recorded one by one in zone "one" and as one batch in zone "all".
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  struct step {
    std::int64_t entry;
    std::uint64_t content;
    int request;     // 0: none
    int same_id_as;  // -1: a fresh id, else the position whose id it repeats
  };
  std::vector<step> steps;
  for (int i = 0; i < 60; ++i) {
    const auto u = static_cast<std::uint64_t>(i);
    steps.push_back({static_cast<std::int64_t>((u * 7) % 5), (u * 11) % 9 + 1,
                     i % 4 == 0 ? 0 : static_cast<int>((u * 5) % 7) + 1,
                     i % 13 == 12 ? i - 5 : -1});
  }
  const auto build = [&](const std::string& zone, std::uint64_t content_base) {
    std::vector<hashdb::match_event> out;
    for (const step& st : steps) {
      auto e = event(zone, st.entry, content_base + st.content,
                     st.request == 0 ? "" : "req-" + std::to_string(st.request));
      e.id =
          st.same_id_as >= 0 ? out[static_cast<std::size_t>(st.same_id_as)].id : hashdb::new_uuid();
      e.occurred_us = 1'800'000'000'000'000 + static_cast<std::int64_t>(out.size()) * 1'000;
      out.push_back(std::move(e));
    }
    return out;
  };
  const auto one_by_one = build("one", 1000);
  const auto all = build("all", 2000);
  std::vector<hashdb::record_result> seq;
  for (const auto& e : one_by_one) {
    auto r = cases.record(e);
    REQUIRE(r.has_value());
    seq.push_back(*r);
  }
  auto batch = cases.record_batch(all);
  INFO(c.last_error());
  REQUIRE(batch.has_value());
  REQUIRE(batch->size() == seq.size());
  // Case ids differ; their pattern (which positions share a case) must not.
  std::map<std::int64_t, std::size_t> first_seq;
  std::map<std::int64_t, std::size_t> first_all;
  for (std::size_t i = 0; i < seq.size(); ++i) {
    INFO("position " << i);
    const auto& a = seq[i];
    const auto& b = (*batch)[i];
    CHECK(a.outcome == b.outcome);
    REQUIRE(a.case_id.has_value() == b.case_id.has_value());
    if (a.case_id) {
      first_seq.emplace(*a.case_id, i);
      first_all.emplace(*b.case_id, i);
      CHECK(first_seq[*a.case_id] == first_all[*b.case_id]);
      const auto ca = cases.get(*a.case_id);
      const auto cb = cases.get(*b.case_id);
      REQUIRE(ca.has_value());
      REQUIRE(cb.has_value());
      CHECK(ca->sightings == cb->sightings);
      CHECK(ca->files == cb->files);
    }
    // The id answered is the same position's id in both runs.
    const auto pos = [](const std::vector<hashdb::match_event>& es, const std::string& id) {
      for (std::size_t k = 0; k < es.size(); ++k) {
        if (es[k].id == id) return k;
      }
      return es.size();
    };
    CHECK(pos(one_by_one, a.event_id) == pos(all, b.event_id));
  }
  CHECK(first_seq.size() > 3);  // the sequence opens several cases and joins them
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  const auto count = [&](const std::string& sql) {
    return std::make_pair(tx.exec_params1(sql, "one")[0].as<std::int64_t>(),
                          tx.exec_params1(sql, "all")[0].as<std::int64_t>());
  };
  const auto events = count("SELECT count(*) FROM events WHERE zone = $1");
  CHECK(events.first == events.second);
  const auto hits = count(
      "SELECT count(*) FROM event_hits h JOIN events e ON e.id = h.event_id WHERE e.zone = $1");
  CHECK(hits.first == hits.second);
  const auto entries = count(
      "SELECT count(*) FROM case_entries ce JOIN cases c ON c.id = ce.case_id WHERE c.zone = $1");
  CHECK(entries.first == entries.second);
  const auto files = count(
      "SELECT sum(f.sightings) FROM case_files f JOIN cases c ON c.id = f.case_id"
      " WHERE c.zone = $1");
  CHECK(files.first == files.second);
}

TEST_CASE("a batch: suppressed content is stored without a case, the rest as usual") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  {
    pqxx::connection pc(db.url());
    pqxx::work tx(pc);
    tx.exec_params0("INSERT INTO suppressions (content) VALUES (decode($1, 'hex'))", hex_n(77, 64));
    tx.commit();
  }
  std::vector<hashdb::match_event> batch{event("s", 1, 77), event("s", 1, 78), event("s", 2, 77)};
  auto r = cases.record_batch(batch);
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].outcome == record_outcome::suppressed);
  CHECK_FALSE((*r)[0].case_id.has_value());
  CHECK((*r)[1].outcome == record_outcome::recorded);
  REQUIRE((*r)[1].case_id.has_value());
  CHECK((*r)[2].outcome == record_outcome::suppressed);
  CHECK(cases.get(*(*r)[1].case_id)->sightings == 1);
  CHECK(cases.get(*(*r)[1].case_id)->files == 1);
  auto empty = cases.record_batch({});
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
}

TEST_CASE("deleting a case deletes its events, hits, files and entries, never leaving an orphan") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  auto a = cases.record(event("d", 1, 1));
  auto b = cases.record(event("d", 1, 2));
  auto other = cases.record(event("d", 2, 3));
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  REQUIRE(other.has_value());
  REQUIRE(a->case_id == b->case_id);
  const auto gone = *a->case_id;
  const auto count = [&](const std::string& sql) {
    pqxx::connection pc(db.url());
    pqxx::read_transaction tx(pc);
    return tx.exec1(sql)[0].as<int>();
  };
  hg_test::exec_sql(db.url(), "DELETE FROM cases WHERE id = " + std::to_string(gone));
  CHECK(count("SELECT count(*) FROM events") == 1);
  CHECK(count("SELECT count(*) FROM event_hits") == 1);
  CHECK(count("SELECT count(*) FROM case_files") == 1);
  CHECK(count("SELECT count(*) FROM case_entries") == 1);
  hg_test::exec_sql(db.url(), "DELETE FROM events");
  CHECK(count("SELECT count(*) FROM event_hits") == 0);
  CHECK(count("SELECT count(*) FROM cases") == 1);
  CHECK_THROWS(hg_test::exec_sql(db.url(), "TRUNCATE events"));
  CHECK_THROWS(hg_test::exec_sql(db.url(), "TRUNCATE cases CASCADE"));

  // A case deleted (by a purge) after a batch found it but before the batch wrote into it:
  // the batch is refused, not recorded against a case that no longer exists.
  auto victim = cases.record(event("d", 7, 70));
  REQUIRE(victim.has_value());
  pqxx::connection purger(db.url());
  pqxx::work purge(purger);
  purge.exec0("DELETE FROM cases WHERE id = " + std::to_string(*victim->case_id));
  std::optional<core::result<hashdb::record_result>> late;
  std::thread writer([&] {
    auto wc = hashdb::connection::open(db.url());
    if (!wc) return;
    hashdb::case_store w(*wc, {});
    late = w.record(event("d", 7, 71));  // finds the case, then waits for its row lock
  });
  // Commit the purge once the writer waits for the case's row lock.
  for (int i = 0; i < 600 && count("SELECT count(*) FROM pg_stat_activity WHERE datname ="
                                   " current_database() AND wait_event_type = 'Lock'") == 0;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  purge.commit();
  writer.join();
  REQUIRE(late.has_value());
  CHECK(hg_test::error_of(*late) == hashdb::errc::query_failed);
  auto retried = cases.record(event("d", 7, 71));  // as the recorder retries it alone
  REQUIRE(retried.has_value());
  CHECK(retried->outcome == record_outcome::recorded);
  CHECK(retried->case_id != victim->case_id);
  CHECK(count("SELECT count(*) FROM events e WHERE NOT EXISTS"
              " (SELECT 1 FROM cases c WHERE c.id = e.case_id)") == 0);
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

namespace {

using hashdb::decision_kind;
using hg_test::make_decision;

std::string actor_of(std::int64_t reviewer) {
  return "k_rev" + std::to_string(reviewer);
}

core::result<hashdb::decision_result> decide(hashdb::case_store& cases, std::int64_t id,
                                             std::int64_t reviewer, decision_kind kind,
                                             bool suppress = false) {
  return cases.decide(make_decision(id, reviewer, kind, suppress), actor_of(reviewer));
}

core::result<hashdb::reopen_result> reopen(hashdb::case_store& cases, std::int64_t id,
                                           std::int64_t reviewer, std::string reason = "wrong") {
  hashdb::reopen_input r;
  r.case_id = id;
  r.reviewer_key_id = reviewer;
  r.reason = std::move(reason);
  return cases.request_reopen(r, actor_of(reviewer));
}

}  // namespace

TEST_CASE(
    "decisions: a dismissal needs as many reviewers as a confirmation, disagreement is disputed") {
  hg_test::test_database db;
  auto c = db.connect();
  CHECK(hashdb::case_options{}.required_confirmations == 2);
  hashdb::case_store cases(c, {});
  const auto id = *cases.record(event("z", 1, 1))->case_id;
  CHECK(cases.get(id)->required_confirmations == 2);

  auto first = decide(cases, id, 1, decision_kind::confirmed);
  REQUIRE(first.has_value());
  CHECK(first->status == "open");
  CHECK(first->confirmations == 1);
  CHECK_FALSE(cases.get(id)->classification.has_value());  // nothing pending shows on the case
  // A dismissal never overrides a pending confirmation: the case is disputed.
  auto second = decide(cases, id, 2, decision_kind::false_positive);
  REQUIRE(second.has_value());
  CHECK(second->status == "disputed");
  CHECK(second->dismissals == 1);
  CHECK_FALSE(cases.get(id)->dismissed_at.has_value());
  // One more reviewer decides it.
  auto third = decide(cases, id, 3, decision_kind::confirmed);
  REQUIRE(third.has_value());
  CHECK(third->status == "confirmed");
  CHECK(cases.get(id)->classification == std::optional<std::string>("A1"));

  // One dismissal alone is not final; the second makes it a false positive.
  const auto fp = *cases.record(event("z", 2, 2))->case_id;
  CHECK(decide(cases, fp, 1, decision_kind::false_positive)->status == "open");
  CHECK_FALSE(cases.get(fp)->dismissed_at.has_value());
  CHECK(decide(cases, fp, 2, decision_kind::false_positive)->status == "false_positive");
  CHECK(cases.get(fp)->dismissed_at.has_value());

  // The most severe classification of the confirming reviewers is the case's.
  const auto two = *cases.record(event("z", 3, 3))->case_id;
  auto b2 = make_decision(two, 1, decision_kind::confirmed);
  b2.classification = "B2";
  REQUIRE(cases.decide(b2, actor_of(1)).has_value());
  auto a2 = make_decision(two, 2, decision_kind::confirmed);
  a2.classification = "A2";
  REQUIRE(cases.decide(a2, actor_of(2)).has_value());
  CHECK(cases.get(two)->classification == std::optional<std::string>("A2"));

  // With one required, one reviewer decides alone, either way.
  hashdb::case_options one;
  one.required_confirmations = 1;
  hashdb::case_store single(c, one);
  const auto alone = *single.record(event("y", 4, 4))->case_id;
  CHECK(decide(single, alone, 1, decision_kind::false_positive)->status == "false_positive");
}

TEST_CASE("decisions: one per reviewer and round, even when sent twice at once") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  const auto id = *cases.record(event("z", 1, 1))->case_id;
  hashdb::case_options one;
  one.required_confirmations = 1;
  hashdb::case_store single(c, one);
  const auto solo = *single.record(event("y", 2, 2))->case_id;

  // The same reviewer twice at once (a double-clicked submit), then two reviewers at once on a
  // one-person case: each time exactly one request decides.
  auto race = [&](std::int64_t case_id, hashdb::case_options opts, std::int64_t r1,
                  decision_kind k1, std::int64_t r2, decision_kind k2) {
    std::vector<core::error_code> errors(2);
    std::vector<bool> ok(2);
    {
      std::jthread a([&] {
        auto conn = db.connect();
        hashdb::case_store s(conn, opts);
        auto r = decide(s, case_id, r1, k1);
        ok[0] = r.has_value();
        if (!r) errors[0] = r.error();
      });
      std::jthread b([&] {
        auto conn = db.connect();
        hashdb::case_store s(conn, opts);
        auto r = decide(s, case_id, r2, k2);
        ok[1] = r.has_value();
        if (!r) errors[1] = r.error();
      });
    }
    CHECK(ok[0] != ok[1]);
    return ok[0] ? errors[1] : errors[0];
  };
  CHECK(race(id, {}, 5, decision_kind::confirmed, 5, decision_kind::confirmed) ==
        hashdb::errc::conflict);
  CHECK(race(solo, one, 6, decision_kind::confirmed, 7, decision_kind::false_positive) ==
        hashdb::errc::case_locked);
  pqxx::connection pc(db.url());
  pqxx::read_transaction tx(pc);
  CHECK(tx.exec1("SELECT count(*) FROM decisions")[0].as<int>() == 2);
}

TEST_CASE(
    "decisions: a decided case is locked and reopens for max(2, R) reviewers who did not decide") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  const auto id = *cases.record(event("z", 1, 1))->case_id;
  REQUIRE(decide(cases, id, 1, decision_kind::confirmed).has_value());
  REQUIRE(decide(cases, id, 2, decision_kind::confirmed).has_value());
  CHECK(hg_test::error_of(decide(cases, id, 3, decision_kind::false_positive, true)) ==
        hashdb::errc::case_locked);
  CHECK(hg_test::error_of(decide(cases, id, 1, decision_kind::confirmed)) ==
        hashdb::errc::case_locked);
  CHECK(cases.get(id)->status == "confirmed");

  CHECK(hg_test::error_of(reopen(cases, id, 1)) == hashdb::errc::conflict);  // a decider
  CHECK(hg_test::error_of(reopen(cases, id, 3, " ")) == hashdb::errc::invalid_argument);
  auto first = reopen(cases, id, 3);
  REQUIRE(first.has_value());
  CHECK(first->requests == 1);
  CHECK(first->needed == 2);
  CHECK_FALSE(first->reopened);
  CHECK(first->status == "confirmed");
  CHECK(hg_test::error_of(reopen(cases, id, 3)) == hashdb::errc::conflict);  // asked already
  auto second = reopen(cases, id, 4);
  REQUIRE(second.has_value());
  CHECK(second->reopened);
  CHECK(second->status == "open");
  CHECK(second->round == 2);
  auto s = cases.get(id);
  CHECK(s->status == "open");
  CHECK(s->round == 2);
  CHECK_FALSE(s->classification.has_value());
  CHECK(hg_test::error_of(reopen(cases, id, 5)) == hashdb::errc::conflict);  // not decided
  // The new round counts afresh: an earlier decider may decide again.
  auto again = decide(cases, id, 1, decision_kind::false_positive);
  REQUIRE(again.has_value());
  CHECK(again->status == "open");
  CHECK(again->confirmations == 0);

  // One required to decide, still two to reopen.
  hashdb::case_options one;
  one.required_confirmations = 1;
  hashdb::case_store single(c, one);
  const auto solo = *single.record(event("y", 2, 2))->case_id;
  REQUIRE(decide(single, solo, 1, decision_kind::false_positive).has_value());
  CHECK_FALSE(reopen(single, solo, 2)->reopened);
  CHECK(reopen(single, solo, 3)->reopened);

  // A reported case never reopens.
  const auto rep = *single.record(event("x", 3, 3))->case_id;
  REQUIRE(decide(single, rep, 1, decision_kind::confirmed).has_value());
  hashdb::report_input r;
  r.case_id = rep;
  r.report_id = "9";
  REQUIRE(single.record_report(r, "k_comp").has_value());
  CHECK(hg_test::error_of(reopen(single, rep, 2)) == hashdb::errc::case_locked);

  hashdb::audit_log log(c);
  CHECK(log.verify()->ok);
  auto recent = log.recent(50);
  REQUIRE(recent.has_value());
  std::map<std::string, int> actions;
  for (const auto& row : *recent) ++actions[row.action];
  CHECK(actions["case.reopen_request"] == 4);
  CHECK(actions["case.reopen"] == 2);
}

TEST_CASE("decisions: an admin rules on a disputed case, and only there") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  const auto id = *cases.record(event("z", 1, 1))->case_id;
  REQUIRE(decide(cases, id, 1, decision_kind::confirmed).has_value());
  auto ruling = make_decision(id, 77, decision_kind::false_positive);
  CHECK(hg_test::error_of(cases.rule(ruling, "k_admin")) == hashdb::errc::conflict);  // open
  REQUIRE(decide(cases, id, 2, decision_kind::false_positive)->status == "disputed");
  auto escalate = make_decision(id, 77, decision_kind::escalated);
  CHECK(hg_test::error_of(cases.rule(escalate, "k_admin")) == hashdb::errc::invalid_argument);
  auto unclassified = make_decision(id, 77, decision_kind::confirmed);
  unclassified.classification.reset();
  CHECK(hg_test::error_of(cases.rule(unclassified, "k_admin")) ==
        hashdb::errc::classification_required);
  auto ruled = cases.rule(ruling, "k_admin");
  REQUIRE(ruled.has_value());
  CHECK(ruled->status == "false_positive");
  CHECK(hg_test::error_of(decide(cases, id, 3, decision_kind::confirmed)) ==
        hashdb::errc::case_locked);
  CHECK(hg_test::error_of(cases.rule(ruling, "k_admin")) == hashdb::errc::conflict);
}

TEST_CASE("suppression: refused for exact-digest hits and content another case confirmed") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store cases(c, {});
  constexpr std::int64_t t = 1'780'000'000'000'000;

  // An exact MD5 entry matched: suppression is refused (an admin disables the entry instead).
  auto exact = hg_test::make_event("z", l.list_b, l.entry_b1, 10, t, "https://a.test/10.jpg");
  exact.hits[0].sig = core::signal::md5;
  exact.hits[0].distance = 0;
  exact.hits[0].threshold = 0;
  const auto exact_case = *cases.record(exact)->case_id;
  CHECK(hg_test::error_of(decide(cases, exact_case, 1, decision_kind::false_positive, true)) ==
        hashdb::errc::suppression_refused);
  CHECK(decide(cases, exact_case, 1, decision_kind::false_positive).has_value());

  // Content confirmed in zone a: its dismissal in zone b never lifts that block.
  const auto a = hg_test::open_case(cases, l, "a", 20);
  hg_test::decide_final(cases, a, decision_kind::confirmed);
  const auto b = hg_test::open_case(cases, l, "b", 20);
  CHECK(hg_test::error_of(decide(cases, b, 1, decision_kind::false_positive, true)) ==
        hashdb::errc::suppression_refused);
  CHECK_FALSE(cases.is_suppressed(hex_n(20, 64)).value());

  // Suppressed only when every dismissing reviewer asked for it.
  const auto half = hg_test::open_case(cases, l, "d", 40);
  REQUIRE(decide(cases, half, 1, decision_kind::false_positive, true).has_value());
  REQUIRE(decide(cases, half, 2, decision_kind::false_positive, false).has_value());
  CHECK(cases.get(half)->status == "false_positive");
  CHECK_FALSE(cases.is_suppressed(hex_n(40, 64)).value());

  // Suppressed, then reopened: the suppression ends and the feed says so.
  const auto sup = hg_test::open_case(cases, l, "c", 30);
  hg_test::decide_final(cases, sup, decision_kind::false_positive, 901, true);
  CHECK(cases.is_suppressed(hex_n(30, 64)).value());
  REQUIRE(reopen(cases, sup, 1).has_value());
  REQUIRE(reopen(cases, sup, 2)->reopened);
  CHECK_FALSE(cases.is_suppressed(hex_n(30, 64)).value());
  hashdb::decision_feed feed(c);
  auto page = feed.since("", 1000);
  REQUIRE(page.has_value());
  REQUIRE_FALSE(page->items.empty());
  CHECK(page->items.back().decision == "reopened");
  CHECK(page->items.back().act == core::action::review);
  CHECK(page->items.back().sha256 == hex_n(30, 64));
}

TEST_CASE("reports: only a confirmed case can be reported") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  hashdb::report_input rep;
  rep.report_id = "1";
  auto report = [&](std::int64_t id) {
    rep.case_id = id;
    rep.report_id += "1";
    return cases.record_report(rep, "k_comp");
  };
  const auto id = *cases.record(event("z", 1, 1))->case_id;
  CHECK(hg_test::error_of(report(id)) == hashdb::errc::not_confirmed);  // open, unreviewed
  REQUIRE(decide(cases, id, 1, decision_kind::confirmed).has_value());
  CHECK(hg_test::error_of(report(id)) == hashdb::errc::not_confirmed);  // one of two
  REQUIRE(decide(cases, id, 2, decision_kind::false_positive).has_value());
  CHECK(hg_test::error_of(report(id)) == hashdb::errc::not_confirmed);  // disputed
  REQUIRE(decide(cases, id, 3, decision_kind::confirmed).has_value());
  REQUIRE(report(id).has_value());
  CHECK(cases.get(id)->status == "reported");
  CHECK(report(id).has_value());  // a second submission of a reported case
  const auto fp = *cases.record(event("z", 2, 2))->case_id;
  hg_test::decide_final(cases, fp, decision_kind::false_positive);
  CHECK(hg_test::error_of(report(fp)) == hashdb::errc::not_confirmed);
}

TEST_CASE("blind review: who decided this round, and what an undecided reviewer sees") {
  hg_test::test_database db;
  auto c = db.connect();
  hashdb::case_store cases(c, {});
  const auto pending = *cases.record(event("z", 1, 1))->case_id;
  const auto done = *cases.record(event("z", 2, 2))->case_id;
  REQUIRE(decide(cases, pending, 1, decision_kind::confirmed).has_value());
  hg_test::decide_final(cases, done, decision_kind::confirmed, 1);
  const std::vector<std::int64_t> ids{pending, done};
  CHECK(cases.decided_in_round(1, ids).value() == ids);
  CHECK(cases.decided_in_round(3, ids).value().empty());

  const auto s = cases.get(pending).value();
  CHECK(hashdb::blind_to_undecided(s));
  const auto blind = hashdb::blind_summary(s);
  CHECK(blind.status == "needs_review");
  CHECK_FALSE(blind.classification.has_value());
  CHECK_FALSE(hashdb::blind_to_undecided(cases.get(done).value()));  // final: shown as it is

  // After a reopen, nobody has decided the new round.
  REQUIRE(reopen(cases, done, 5).has_value());
  REQUIRE(reopen(cases, done, 6)->reopened);
  CHECK(cases.decided_in_round(1, ids).value() == std::vector<std::int64_t>{pending});
}
