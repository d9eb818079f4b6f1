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

}  // namespace hg_test
