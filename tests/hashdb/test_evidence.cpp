#include "hashguard/hashdb/evidence.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/case_queries.hpp"

#include "hg_pg.hpp"
#include "review_fixture.hpp"

#include <openssl/sha.h>

#include <tuple>

using namespace hashguard;

namespace {

constexpr std::int64_t t0 = 1'790'000'000'000'000;

hashdb::evidence_key key(const char* id, char fill) {
  auto k = hashdb::parse_evidence_key(id, std::string(64, fill));
  REQUIRE(k.has_value());
  return *k;
}

std::string last_action(hashdb::connection& c) {
  hashdb::audit_log audit(c);
  auto rows = audit.recent(1);
  REQUIRE(rows.has_value());
  REQUIRE_FALSE(rows->empty());
  return rows->front().action;
}

std::string sha256_hex(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  std::string out;
  for (unsigned char b : d) out += hg_test::hex_n(b, 2);
  return out;
}

std::int64_t evidence_rows(const std::string& url) {
  pqxx::connection pc(url);
  pqxx::read_transaction tx(pc);
  return tx.exec1("SELECT count(*) FROM evidence")[0].as<std::int64_t>();
}

}  // namespace

TEST_CASE("evidence keys parse from 64 hex characters") {
  CHECK(hashdb::parse_evidence_key("k1", std::string(64, 'a')).has_value());
  CHECK_FALSE(hashdb::parse_evidence_key("k1", std::string(63, 'a')).has_value());
  CHECK_FALSE(hashdb::parse_evidence_key("k1", std::string(64, 'g')).has_value());
  CHECK_FALSE(hashdb::parse_evidence_key("", std::string(64, 'a')).has_value());
  core::config cfg;
  hashdb::declare_evidence_config(cfg);
  auto off = hashdb::read_evidence_config(cfg);
  REQUIRE(off.has_value());
  CHECK_FALSE(off->has_value());  // off by default
  REQUIRE(cfg.set("evidence.enabled", "true", core::config_source::flag).has_value());
  CHECK_FALSE(hashdb::read_evidence_config(cfg).has_value());  // on without a key
  REQUIRE(cfg.set("evidence.key", std::string(64, '1'), core::config_source::flag).has_value());
  auto on = hashdb::read_evidence_config(cfg);
  REQUIRE(on.has_value());
  REQUIRE(on->has_value());
  CHECK((*on)->id == "k1");
  CHECK((*on)->bytes[0] == 0x11);
}

TEST_CASE("AES-256-GCM: round trip, fresh nonces, tampering and wrong keys refused") {
  const auto k = key("k1", '7');
  const std::string plain = "synthetic bytes \x00\x01\x02 of a test image";
  auto a = hashdb::seal(k, plain, "aad");
  auto b = hashdb::seal(k, plain, "aad");
  REQUIRE((a && b));
  CHECK(a->nonce != b->nonce);
  CHECK(a->ciphertext != b->ciphertext);
  CHECK(std::string(a->ciphertext.begin(), a->ciphertext.end()) != plain);
  auto back = hashdb::open(k, *a, "aad");
  REQUIRE(back.has_value());
  CHECK(*back == plain);
  auto empty = hashdb::seal(k, "", "aad");
  REQUIRE(empty.has_value());
  CHECK(hashdb::open(k, *empty, "aad").value() == "");

  auto tampered = *a;
  tampered.ciphertext[3] ^= 0x01;
  CHECK(hg_test::error_of(hashdb::open(k, tampered, "aad")) == hashdb::errc::integrity);
  tampered = *a;
  tampered.tag[0] ^= 0x80;
  CHECK(hg_test::error_of(hashdb::open(k, tampered, "aad")) == hashdb::errc::integrity);
  tampered = *a;
  tampered.nonce[11] ^= 0x01;
  CHECK(hg_test::error_of(hashdb::open(k, tampered, "aad")) == hashdb::errc::integrity);
  CHECK(hg_test::error_of(hashdb::open(k, *a, "other aad")) == hashdb::errc::integrity);
  // Wrong key bytes under the same id, and a different id.
  CHECK(hg_test::error_of(hashdb::open(key("k1", '8'), *a, "aad")) == hashdb::errc::integrity);
  CHECK(hg_test::error_of(hashdb::open(key("k2", '7'), *a, "aad")) == hashdb::errc::integrity);
}

TEST_CASE("evidence store: preserve, audited reveal marks the file viewed, purge with holds") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, {});
  auto r1 = store.record(hg_test::make_event("z", l.list_a, l.entry_a1, 1, t0, "https://u/1"));
  auto r2 = store.record(hg_test::make_event("y", l.list_b, l.entry_b1, 2, t0, "https://u/2"));
  REQUIRE((r1 && r2));
  const auto case1 = *r1->case_id;
  const auto case2 = *r2->case_id;
  const std::string content1 = hg_test::hex_n(1, 64);
  const std::string content2 = hg_test::hex_n(2, 64);
  const std::string bytes = "\x89PNG synthetic";

  hashdb::evidence_store ev(c, key("k1", '5'));
  REQUIRE(ev.preserve(case1, content1, bytes, "image/png", "node-1").has_value());
  CHECK(last_action(c) == "evidence.preserve");
  REQUIRE(ev.preserve(case2, content2, "other", "image/jpeg", "node-1").has_value());
  CHECK(hg_test::error_of(ev.preserve(case1, content2, "x", "image/png", "n")) ==
        hashdb::errc::not_found);

  // The stored row holds no plaintext.
  {
    pqxx::connection pc(db.url());
    pqxx::read_transaction tx(pc);
    auto row = tx.exec1(
        "SELECT position('synthetic'::bytea IN ciphertext), key_id FROM evidence"
        " WHERE case_id = " +
        std::to_string(case1));
    CHECK(row[0].as<int>() == 0);
    CHECK(row[1].as<std::string>() == "k1");
  }

  hashdb::review_store review(c);
  CHECK_FALSE(review.detail(case1)->files[0].viewed_by_esp);
  CHECK(review.detail(case1)->files[0].evidence_preserved);
  auto shown = ev.reveal(case1, content1, "k_rev1", "review");
  REQUIRE(shown.has_value());
  CHECK(shown->bytes == bytes);
  CHECK(shown->media_type == "image/png");
  CHECK(last_action(c) == "evidence.reveal");
  auto f = review.detail(case1)->files[0];
  CHECK(f.viewed_by_esp);
  CHECK(f.viewed_by == "k_rev1");
  CHECK_FALSE(f.viewed_at.empty());
  // A second reveal is audited again; the first viewer stays recorded.
  REQUIRE(ev.reveal(case1, content1, "k_rev2", "second look").has_value());
  CHECK(review.detail(case1)->files[0].viewed_by == "k_rev1");

  // The wrong key is refused, and the refusal is audited.
  hashdb::evidence_store wrong(c, key("k1", '6'));
  CHECK(hg_test::error_of(wrong.reveal(case1, content1, "k_rev1", "x")) == hashdb::errc::integrity);
  CHECK(last_action(c) == "evidence.reveal_failed");
  // Tampering in the database is refused.
  hg_test::exec_sql(db.url(),
                    "UPDATE evidence SET ciphertext = set_byte(ciphertext, 0,"
                    " get_byte(ciphertext, 0) # 1) WHERE case_id = " +
                        std::to_string(case2));
  CHECK(hg_test::error_of(ev.reveal(case2, content2, "k_rev1", "x")) == hashdb::errc::integrity);
  CHECK(hg_test::error_of(ev.reveal(case1, content2, "k_rev1", "x")) == hashdb::errc::not_found);

  // Purge: case1 reported with its deadline passed but on hold -> kept; case2 dismissed past its
  // false-positive retention -> gone.
  hg_test::decide_final(store, case1, hashdb::decision_kind::confirmed);
  hashdb::report_input rep;
  rep.case_id = case1;
  rep.report_id = "r1";
  REQUIRE(store.record_report(rep, "k_comp").has_value());
  hg_test::exec_sql(db.url(),
                    "UPDATE cases SET preserve_until = now() - interval '1 day'"
                    " WHERE id = " +
                        std::to_string(case1));
  REQUIRE(store.set_legal_hold(case1, true, "k_comp").has_value());
  hg_test::exec_sql(db.url(), "DELETE FROM evidence WHERE case_id = " + std::to_string(case2));
  REQUIRE(ev.preserve(case2, content2, "other", "image/jpeg", "node-1").has_value());
  for (const char* who : {"k_rev901", "k_rev902"}) {
    REQUIRE(ev.reveal(case2, content2, who, "review").has_value());
  }
  hg_test::decide_final(store, case2, hashdb::decision_kind::false_positive);
  hg_test::exec_sql(db.url(), "UPDATE cases SET dismissed_at = now() - interval '31 days'");
  auto p = ev.purge_expired("system", 30);
  REQUIRE(p.has_value());
  CHECK(p->held == std::vector<std::int64_t>{case1});
  REQUIRE(p->purged.size() == 1);
  CHECK(p->purged[0].first == case2);
  CHECK(last_action(c) == "evidence.purge");
  CHECK(ev.reveal(case1, content1, "k_rev1", "still held").has_value());
  // Released from hold: the next purge removes it.
  REQUIRE(store.set_legal_hold(case1, false, "k_comp").has_value());
  p = ev.purge_expired("system", 30);
  REQUIRE(p.has_value());
  REQUIRE(p->purged.size() == 1);
  CHECK(p->purged[0].first == case1);
  CHECK(hg_test::error_of(ev.reveal(case1, content1, "k_rev1", "gone")) == hashdb::errc::not_found);
}

TEST_CASE("evidence store: preserve_event seals into the event's case, only for its own bytes") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, hg_test::one_reviewer());
  const std::string bytes = "synthetic image bytes for preserve_event";
  auto e = hg_test::make_event("z", l.list_a, l.entry_a1, 1, t0, "https://u/1");
  e.id = hashdb::new_uuid();
  e.sha256 = sha256_hex(bytes);
  hashdb::evidence_store ev(c, key("k1", '5'));

  // Not recorded yet (still in a spool): not_found, to be retried.
  CHECK(hg_test::error_of(ev.preserve_event(e.id, bytes, "image/png", "node-1")) ==
        hashdb::errc::not_found);
  auto rec = store.record(e);
  REQUIRE(rec.has_value());
  REQUIRE(rec->case_id.has_value());
  // Other bytes than the event's are refused.
  CHECK(hg_test::error_of(ev.preserve_event(e.id, "other bytes", "image/png", "node-1")) ==
        hashdb::errc::invalid_argument);
  CHECK(evidence_rows(db.url()) == 0);
  auto stored = ev.preserve_event(e.id, bytes, "image/png", "node-1");
  REQUIRE(stored.has_value());
  CHECK(*stored == hashdb::preserve_outcome::stored);
  CHECK(last_action(c) == "evidence.preserve");
  auto back = ev.reveal(*rec->case_id, e.sha256, "k_rev1", "check");
  REQUIRE(back.has_value());
  CHECK(back->bytes == bytes);
  // Again: the first copy stays, nothing new is audited.
  REQUIRE(ev.preserve_event(e.id, bytes, "image/png", "node-1").has_value());
  CHECK(evidence_rows(db.url()) == 1);
  CHECK(last_action(c) == "evidence.reveal");

  // Content dismissed with suppression opens no case: nothing to keep.
  hashdb::decision_input fp;
  fp.case_id = *rec->case_id;
  fp.reviewer_key_id = 1;
  fp.kind = hashdb::decision_kind::false_positive;
  fp.note = "not it";
  fp.suppress = true;
  REQUIRE(store.decide(fp, "k_rev1").has_value());
  auto again = hg_test::make_event("z2", l.list_b, l.entry_b1, 1, t0 + 5, "https://u/2");
  again.id = hashdb::new_uuid();
  again.sha256 = e.sha256;
  auto sup = store.record(again);
  REQUIRE(sup.has_value());
  REQUIRE(sup->outcome == hashdb::record_outcome::suppressed);
  auto none = ev.preserve_event(again.id, bytes, "image/png", "node-1");
  REQUIRE(none.has_value());
  CHECK(*none == hashdb::preserve_outcome::no_case);
  CHECK(evidence_rows(db.url()) == 1);
}

TEST_CASE("purge_evidence: one case, dry run, no key needed") {
  hg_test::test_database db;
  auto c = db.connect();
  const auto l = hg_test::make_lists(db.url());
  hashdb::case_store store(c, {});
  auto r1 = store.record(hg_test::make_event("a", l.list_a, l.entry_a1, 1, t0, "https://u/1"));
  auto r2 = store.record(hg_test::make_event("b", l.list_b, l.entry_b1, 2, t0, "https://u/2"));
  REQUIRE((r1 && r2));
  hashdb::evidence_store ev(c, key("k1", '5'));
  REQUIRE(ev.preserve(*r1->case_id, hg_test::hex_n(1, 64), "one", "image/png", "n").has_value());
  REQUIRE(ev.preserve(*r2->case_id, hg_test::hex_n(2, 64), "two", "image/png", "n").has_value());
  hg_test::exec_sql(db.url(), "UPDATE cases SET preserve_until = now() - interval '1 hour'");

  auto dry = hashdb::purge_evidence(c, "system", 30, std::nullopt, true);
  REQUIRE(dry.has_value());
  CHECK(dry->purged.size() == 2);
  CHECK(evidence_rows(db.url()) == 2);
  CHECK(last_action(c) == "evidence.preserve");

  auto one = hashdb::purge_evidence(c, "system", 30, *r2->case_id);
  REQUIRE(one.has_value());
  REQUIRE(one->purged.size() == 1);
  CHECK(one->purged[0].first == *r2->case_id);
  CHECK(evidence_rows(db.url()) == 1);
  CHECK(last_action(c) == "evidence.purge");
}

namespace {

/// A two-person case (content 1) with one preserved file.
struct preserved_case {
  hg_test::test_database db;
  hashdb::connection c{db.connect()};
  hashdb::case_store store{c, {}};
  hashdb::evidence_store ev{c, key("k1", '5')};
  std::int64_t id{};
  std::string content{hg_test::hex_n(1, 64)};

  preserved_case() {
    const auto l = hg_test::make_lists(db.url());
    id = hg_test::open_case(store, l, "z", 1);
    REQUIRE(ev.preserve(id, content, "synthetic", "image/png", "node-1").has_value());
  }
};

}  // namespace

TEST_CASE(
    "evidence: only an unblurred reveal is a view, and a dismissal needs one by its reviewer") {
  preserved_case p;
  auto [c, store, ev, id, content] = std::tie(p.c, p.store, p.ev, p.id, p.content);
  hashdb::review_store review(c);

  // A blurred preview is audited but is no view: fileViewedByEsp stays false.
  auto preview = ev.reveal(id, content, "k_rev1", "review", hashdb::reveal_mode::preview);
  REQUIRE(preview.has_value());
  CHECK(preview->bytes == "synthetic");
  CHECK(last_action(c) == "evidence.preview");
  CHECK_FALSE(review.detail(id)->files[0].viewed_by_esp);
  CHECK(review.detail(id)->files[0].viewed_by.empty());
  auto dismiss = hg_test::make_decision(id, 1, hashdb::decision_kind::false_positive);
  CHECK(hg_test::error_of(store.decide(dismiss, "k_rev1")) == hashdb::errc::evidence_not_viewed);

  // Revealed unblurred to k_rev1: viewed, and k_rev1 may dismiss; k_rev2 may not yet.
  REQUIRE(ev.reveal(id, content, "k_rev1", "review", hashdb::reveal_mode::original).has_value());
  CHECK(last_action(c) == "evidence.reveal");
  CHECK(review.detail(id)->files[0].viewed_by == "k_rev1");
  REQUIRE(store.decide(dismiss, "k_rev1").has_value());
  auto second = hg_test::make_decision(id, 2, hashdb::decision_kind::false_positive);
  CHECK(hg_test::error_of(store.decide(second, "k_rev2")) == hashdb::errc::evidence_not_viewed);
  // Confirming needs no look (the match stands unless someone looks and disagrees).
  auto confirm = hg_test::make_decision(id, 2, hashdb::decision_kind::confirmed);
  CHECK(store.decide(confirm, "k_rev2")->status == "disputed");
}

TEST_CASE("evidence of a dismissed case is kept for the false-positive retention") {
  preserved_case p;
  auto [db, store, ev, id, content] = std::tie(p.db, p.store, p.ev, p.id, p.content);
  for (const char* who : {"k_rev901", "k_rev902"}) {
    REQUIRE(ev.reveal(id, content, who, "review").has_value());
  }
  hg_test::decide_final(store, id, hashdb::decision_kind::false_positive);

  auto now = ev.purge_expired("system", 30);
  REQUIRE(now.has_value());
  CHECK(now->purged.empty());
  CHECK(evidence_rows(db.url()) == 1);
  hg_test::exec_sql(db.url(), "UPDATE cases SET dismissed_at = now() - interval '29 days'");
  CHECK(ev.purge_expired("system", 30)->purged.empty());
  hg_test::exec_sql(db.url(), "UPDATE cases SET dismissed_at = now() - interval '31 days'");
  auto later = ev.purge_expired("system", 30);
  REQUIRE(later.has_value());
  CHECK(later->purged.size() == 1);
  CHECK(evidence_rows(db.url()) == 0);
}
