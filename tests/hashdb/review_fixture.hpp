// Synthetic case-store content for the review and export tests: two lists with entries, events
// recorded through the case store (the real record path), hashes derived from small integers.
#pragma once

#include "hashguard/hashdb/cases.hpp"

#include "hg_catch.hpp"
#include "hg_pg.hpp"

#include <pqxx/pqxx>

#include <cstdint>
#include <string>

namespace hg_test {

inline std::string hex_n(std::uint64_t v, std::size_t digits) {
  static constexpr char d[] = "0123456789abcdef";
  std::string out(digits, '0');
  for (std::size_t i = 0; i < digits && v != 0; ++i, v >>= 4) out[digits - 1 - i] = d[v & 15];
  return out;
}

inline void exec_sql(const std::string& url, const std::string& sql) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec0(sql);
  tx.commit();
}

struct review_lists {
  std::int64_t list_a{}, list_b{}, entry_a1{}, entry_a2{}, entry_b1{};
};

/// Creates lists "ncmec-test" (pdq, 2 entries) and "internal-md5" (md5, 1 entry).
inline review_lists make_lists(const std::string& url) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  review_lists l;
  l.list_a = tx.exec1(
                   "INSERT INTO hash_lists (name, source, signal, threshold, action)"
                   " VALUES ('ncmec-test', 'ncmec', 'pdq', 31, 'block') RETURNING id")[0]
                 .as<std::int64_t>();
  l.list_b = tx.exec1(
                   "INSERT INTO hash_lists (name, source, signal, threshold, action)"
                   " VALUES ('internal-md5', 'internal', 'md5', 0, 'report') RETURNING id")[0]
                 .as<std::int64_t>();
  auto entry = [&](std::int64_t list, int n, const char* ext) {
    return tx
        .exec_params1(
            "INSERT INTO hashes (list_id, value, external_id)"
            " VALUES ($1, decode($2, 'hex'), $3) RETURNING id",
            list, hex_n(static_cast<std::uint64_t>(n), 64), ext)[0]
        .as<std::int64_t>();
  };
  l.entry_a1 = entry(l.list_a, 1001, "NC-1");
  l.entry_a2 = entry(l.list_a, 1002, "NC-2");
  l.entry_b1 = entry(l.list_b, 2001, "IN-1");
  tx.commit();
  return l;
}

/// One event in `zone` for content number `content`, hitting (list, entry).
inline hashguard::hashdb::match_event make_event(std::string zone, std::int64_t list,
                                                 std::int64_t entry, std::uint64_t content,
                                                 std::int64_t occurred_us, std::string url) {
  using namespace hashguard;
  hashdb::match_event e;
  e.zone = std::move(zone);
  e.source_url = std::move(url);
  e.node = "node-1";
  e.occurred_us = occurred_us;
  e.sha256 = hex_n(content, 64);
  e.sha1 = hex_n(content + 7, 40);
  e.md5 = hex_n(content + 3, 32);
  e.pdq = hex_n(content * 7, 64);
  e.pdq_quality = 90;
  e.act = core::action::block;
  hashdb::event_hit h;
  h.list_id = list;
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

/// A reviewer's decision on `case_id` (note "checked"; classification A1 when confirming).
inline hashguard::hashdb::decision_input make_decision(std::int64_t case_id, std::int64_t reviewer,
                                                       hashguard::hashdb::decision_kind kind,
                                                       bool suppress = false) {
  using namespace hashguard;
  hashdb::decision_input d;
  d.case_id = case_id;
  d.reviewer_key_id = reviewer;
  d.kind = kind;
  d.note = "checked";
  if (kind == hashdb::decision_kind::confirmed) d.classification = "A1";
  d.suppress = suppress;
  return d;
}

/// Case options where one reviewer decides alone: for tests about something other than the
/// two-person rule (feeds, exports, suppression sets), which decide with one call.
inline hashguard::hashdb::case_options one_reviewer() {
  hashguard::hashdb::case_options o;
  o.required_confirmations = 1;
  return o;
}

/// Decides `case_id` finally as `kind` by as many distinct reviewers as the case needs
/// (reviewer ids first_reviewer, first_reviewer + 1, ...; actor "k_rev<id>"): a report needs a
/// confirmed case, a dismissal as many reviewers as a confirmation.
inline void decide_final(hashguard::hashdb::case_store& cases, std::int64_t case_id,
                         hashguard::hashdb::decision_kind kind, std::int64_t first_reviewer = 901,
                         bool suppress = false) {
  auto need = cases.get(case_id);
  REQUIRE(need.has_value());
  for (int i = 0; i < need->required_confirmations; ++i) {
    const std::int64_t reviewer = first_reviewer + i;
    auto r = cases.decide(make_decision(case_id, reviewer, kind, suppress),
                          "k_rev" + std::to_string(reviewer));
    REQUIRE(r.has_value());
  }
  REQUIRE(cases.get(case_id)->status == std::string(hashguard::hashdb::to_string(kind)));
}

/// Records one event of content number `content` in `zone` (list_a, entry_a1) and returns the
/// case it opened or joined (REQUIREs one).
inline std::int64_t open_case(hashguard::hashdb::case_store& cases, const review_lists& l,
                              const std::string& zone, std::uint64_t content,
                              std::int64_t at_us = 1'780'000'000'000'000) {
  auto r =
      cases.record(make_event(zone, l.list_a, l.entry_a1, content, at_us, "https://a.test/x.jpg"));
  REQUIRE(r.has_value());
  REQUIRE(r->case_id.has_value());
  return *r->case_id;
}

struct hot_case {
  std::int64_t id{};
  std::string first_event;
};

/// A hot case in zone "z": one event recorded through the case store (content 1, list_a's
/// entry_a1, "https://u/first", at start_us), then `n` more added with one set-based INSERT ...
/// SELECT generate_series: event g (1..n) occurs at start_us + g seconds, carries content 2
/// when g % 3 == 0 and content 1 otherwise (digests as make_event writes them), comes from
/// "https://u/<g % urls>" and hits the same entry as the first; the case's and its files'
/// counters are updated as ingest does.
inline hot_case open_hot_case(hashguard::hashdb::case_store& store, const std::string& url,
                              const review_lists& l, std::int64_t start_us, int n, int urls) {
  auto first = store.record(make_event("z", l.list_a, l.entry_a1, 1, start_us, "https://u/first"));
  REQUIRE(first.has_value());
  const hot_case hot{first->case_id.value(), first->event_id};
  const std::uint64_t content_a = 1;
  const std::uint64_t content_b = 2;
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec_params0(
      "CREATE TEMP TABLE hot ON COMMIT DROP AS"
      " SELECT gen_random_uuid() AS id,"
      "  'epoch'::timestamptz + ($2::bigint + g * 1000000::bigint) * interval '1 microsecond' AS "
      "at,"
      "  'https://u/' || (g % $3) AS url, g % 3 = 0 AS b"
      " FROM generate_series(1, $1) g",
      n, start_us, urls);
  tx.exec_params0(
      "INSERT INTO events (id, occurred_at, zone, source_url, request_id, node, md5, sha1,"
      " sha256, pdq, pdq_quality, action, case_id)"
      " SELECT id, at, $1, url, id::text, 'node-1',"
      "  decode(CASE WHEN b THEN $3 ELSE $4 END, 'hex'),"
      "  decode(CASE WHEN b THEN $5 ELSE $6 END, 'hex'),"
      "  decode(CASE WHEN b THEN $7 ELSE $8 END, 'hex'),"
      "  decode(CASE WHEN b THEN $9 ELSE $10 END, 'hex'), 90, 'block', $2 FROM hot",
      std::string("z"), hot.id, hex_n(content_b + 3, 32), hex_n(content_a + 3, 32),
      hex_n(content_b + 7, 40), hex_n(content_a + 7, 40), hex_n(content_b, 64),
      hex_n(content_a, 64), hex_n(content_b * 7, 64), hex_n(content_a * 7, 64));
  tx.exec_params0(
      "INSERT INTO event_hits (event_id, ordinal, list_id, entry_id, signal, distance, threshold,"
      " list_version, action, variant)"
      " SELECT id, 1, $1, $2, 'pdq', 4, 31, 3, 'block', 'rot90' FROM hot",
      l.list_a, l.entry_a1);
  tx.exec_params0(
      "INSERT INTO case_files AS f (case_id, content, md5, sha1, sha256, pdq, first_seen,"
      " last_seen, sightings)"
      " SELECT e.case_id, e.sha256, e.md5, e.sha1, e.sha256, e.pdq, min(h.at), max(h.at),"
      "  count(*) FROM hot h JOIN events e ON e.id = h.id"
      " GROUP BY e.case_id, e.sha256, e.md5, e.sha1, e.pdq"
      " ON CONFLICT (case_id, content) DO UPDATE SET sightings = f.sightings + excluded.sightings,"
      "  first_seen = least(f.first_seen, excluded.first_seen),"
      "  last_seen = greatest(f.last_seen, excluded.last_seen)");
  tx.exec_params0(
      "UPDATE cases SET sightings = sightings + $2,"
      " last_seen = greatest(last_seen, (SELECT max(at) FROM hot)) WHERE id = $1",
      hot.id, n);
  tx.commit();
  return hot;
}

}  // namespace hg_test
