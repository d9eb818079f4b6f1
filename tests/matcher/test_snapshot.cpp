#include "hashguard/matcher/snapshot.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/matcher/kernel.hpp"
#include "test_support.hpp"

#include "hg_catch.hpp"

#include <random>
#include <vector>

using namespace hashguard;
using namespace hashguard::matcher;
using core::signal;

namespace {

list_info make_list(std::int64_t id, signal sig, int threshold, bool dihedral = true,
                    core::action act = core::action::block) {
  list_info l;
  l.id = id;
  l.name = "list-" + std::to_string(id);
  l.sig = sig;
  l.threshold = threshold;
  l.act = act;
  l.version = 3;
  l.dihedral = dihedral;
  return l;
}

template <std::size_t N>
std::array<std::uint8_t, N> bytes_of(std::string_view hex) {
  auto v = core::parse_hex_bytes(hex, N);
  REQUIRE(v);
  std::array<std::uint8_t, N> out{};
  std::copy(v->begin(), v->end(), out.begin());
  return out;
}

}  // namespace

TEST_CASE("a snapshot matches PDQ per list threshold, with the dihedral switch and quality gate") {
  std::mt19937_64 rng(31);
  const auto base = hg_test::random256(rng);
  const auto rotated = hg_test::random256(rng);  // stands for the rot90 variant of the image
  snapshot_builder b;
  REQUIRE(b.add_list(make_list(10, signal::pdq, 31)));
  REQUIRE(b.add_list(make_list(20, signal::pdq, 8, /*dihedral=*/false, core::action::review)));
  REQUIRE(b.add_pdq(10, 1001, hg_test::flip256(base, 20, rng)));    // list 10 at 20: hit
  REQUIRE(b.add_pdq(20, 2001, hg_test::flip256(base, 20, rng)));    // list 20 at 20 > 8: no
  REQUIRE(b.add_pdq(20, 2002, hg_test::flip256(base, 5, rng)));     // list 20 at 5: hit
  REQUIRE(b.add_pdq(10, 1002, hg_test::flip256(rotated, 3, rng)));  // via rot90 only
  REQUIRE(b.add_pdq(20, 2003, hg_test::flip256(rotated, 2, rng)));  // rot90, but no dihedral
  for (int i = 0; i < 5000; ++i) REQUIRE(b.add_pdq(10, 5000 + i, hg_test::random256(rng)));
  auto built = b.build({nullptr, 7, {}});
  REQUIRE(built);
  const snapshot& s = **built;
  CHECK(s.version() == 7);
  CHECK(s.size(signal::pdq) == 5005);
  CHECK(s.pdq_radius() == 31);
  REQUIRE(s.find_list(20) != nullptr);
  CHECK(s.find_list(20)->threshold == 8);
  CHECK(s.find_list(99) == nullptr);
  CHECK(std::string(s.kernel_used().name) == hg_test::active().name);

  scan_query q;
  q.query = 4;
  pdq_query p;
  p.variants[0] = base;
  p.variants[1] = rotated;
  for (std::size_t v = 2; v < 8; ++v) p.variants[v] = hg_test::random256(rng);
  p.variant_count = 8;
  p.quality = 90;
  q.pdq = p;
  match_stats stats;
  std::vector<core::hit> hits;
  s.match(q, hits, &stats);
  CHECK(stats.pdq.path == search_path::mih);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0] == core::hit{10, 1001, signal::pdq, 20, core::dihedral::original, 4});
  CHECK(hits[1].list_id == 20);
  CHECK(hits[1].entry_id == 2002);
  CHECK(hits[1].distance == 5);
  CHECK(hits[2].entry_id == 1002);
  CHECK(hits[2].variant == core::dihedral::rot90);
  CHECK(hits[2].distance == 3);

  // Only the original orientation given: the rotated entries are not reached.
  q.pdq->variant_count = 1;
  CHECK(s.match(q).size() == 2);

  // Quality gate: below 50 nothing matches by PDQ.
  q.pdq->variant_count = 8;
  q.pdq->quality = core::pdq_min_quality - 1;
  hits.clear();
  s.match(q, hits, &stats);
  CHECK(hits.empty());
  CHECK(stats.pdq_low_quality);
  q.pdq->quality = core::pdq_min_quality;
  CHECK(s.match(q).size() == 3);
}

TEST_CASE("an entry reached by several variants gives one hit at its smallest distance") {
  std::mt19937_64 rng(32);
  const auto h = hg_test::random256(rng);
  snapshot_builder b;
  REQUIRE(b.add_list(make_list(1, signal::pdq, 31)));
  REQUIRE(b.add_pdq(1, 77, h));
  auto s = b.build();
  REQUIRE(s);
  scan_query q;
  pdq_query p;
  p.variant_count = 8;
  p.variants[0] = hg_test::flip256(h, 9, rng);
  for (std::size_t v = 1; v < 8; ++v) p.variants[v] = hg_test::flip256(h, 4, rng);
  p.variants[5] = h;
  q.pdq = p;
  const auto hits = (*s)->match(q);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].distance == 0);
  CHECK(hits[0].variant == core::dihedral::flipy);
}

TEST_CASE("pHash lists match within their threshold and digests match exactly") {
  snapshot_builder b;
  REQUIRE(b.add_list(make_list(1, signal::phash, 6)));
  REQUIRE(b.add_list(make_list(2, signal::phash, 2)));
  REQUIRE(b.add_list(make_list(3, signal::md5, 0)));
  REQUIRE(b.add_list(make_list(4, signal::sha1, 0)));
  REQUIRE(b.add_list(make_list(5, signal::sha256, 0)));
  REQUIRE(b.add_list(make_list(6, signal::sha256, 0)));
  // The query below is 0x0f0f.
  REQUIRE(b.add_hex(1, 11, "0000000000000f00"));  // distance 4: within list 1's 6
  REQUIRE(b.add_hex(2, 21, "0000000000000f00"));  // distance 4: beyond list 2's 2
  REQUIRE(b.add_hex(1, 12, "00000000000000ff"));  // distance 8: beyond list 1's 6
  REQUIRE(b.add_hex(2, 22, "0000000000000f0e"));  // distance 1
  const std::string md5 = "d41d8cd98f00b204e9800998ecf8427e";
  const std::string sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
  const std::string sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  REQUIRE(b.add_hex(3, 31, md5));
  REQUIRE(b.add_hex(3, 32, "00000000000000000000000000000001"));
  REQUIRE(b.add_hex(4, 41, sha1));
  REQUIRE(b.add_hex(5, 51, sha256));
  REQUIRE(b.add_hex(6, 61, sha256));  // the same digest on two lists: two hits
  REQUIRE(b.add_hex(6, 62, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
  auto s = b.build();
  REQUIRE(s);
  CHECK((*s)->size(signal::phash) == 4);
  CHECK((*s)->size(signal::md5) == 2);
  CHECK((*s)->size(signal::sha256) == 3);

  scan_query q;
  q.phash = core::hash64{0x0f0f};
  q.md5 = bytes_of<16>(md5);
  q.sha1 = bytes_of<20>(sha1);
  q.sha256 = bytes_of<32>(sha256);
  const auto hits = (*s)->match(q);
  REQUIRE(hits.size() == 6);
  CHECK(hits[0] == core::hit{1, 11, signal::phash, 4, core::dihedral::original, 0});
  CHECK(hits[1] == core::hit{2, 22, signal::phash, 1, core::dihedral::original, 0});
  CHECK(hits[2] == core::hit{3, 31, signal::md5, 0, core::dihedral::original, 0});
  CHECK(hits[3] == core::hit{4, 41, signal::sha1, 0, core::dihedral::original, 0});
  CHECK(hits[4].sig == signal::sha256);
  CHECK(hits[5].sig == signal::sha256);
  CHECK(hits[4].list_id + hits[5].list_id == 11);

  // A PDQ hash with no PDQ list, and unknown digests, find nothing.
  scan_query other;
  other.pdq = pdq_query{};
  other.sha256 = bytes_of<32>(std::string(64, '1'));
  CHECK((*s)->match(other).empty());
}

TEST_CASE("the builder rejects bad lists and entries") {
  snapshot_builder b;
  REQUIRE(b.add_list(make_list(1, signal::pdq, 31)));
  CHECK(b.add_list(make_list(1, signal::pdq, 31)).error() == errc::duplicate_list);
  CHECK(b.add_list(make_list(2, signal::pdq, 257)).error() == errc::bad_threshold);
  CHECK(b.add_list(make_list(3, signal::phash, 65)).error() == errc::bad_threshold);
  CHECK(b.add_list(make_list(4, signal::pdq, -1)).error() == errc::bad_threshold);
  REQUIRE(b.add_list(make_list(5, signal::md5, 0)));
  CHECK(b.add_pdq(9, 1, core::hash256{}).error() == errc::unknown_list);
  CHECK(b.add_phash(1, 1, core::hash64{}).error() == errc::wrong_signal);
  CHECK(b.add_pdq(5, 1, core::hash256{}).error() == errc::wrong_signal);
  const std::array<std::uint8_t, 20> twenty{};
  CHECK(b.add_digest(5, 1, twenty).error() == errc::wrong_signal);
  CHECK(b.add_hex(1, 1, "xyz").error() == core::errc::wrong_length);
  CHECK(core::error_name(b.add_hex(1, 1, std::string(64, 'g')).error()) == "not_hex");
  CHECK(core::error_name(make_error_code(errc::unknown_list)) == "unknown_list");
}

TEST_CASE("a review band finds hits above the threshold that act as review at most") {
  std::mt19937_64 rng(48);
  const auto base = hg_test::random256(rng);
  snapshot_builder b;
  auto banded = make_list(1, signal::pdq, 31);
  banded.review_threshold = 48;
  REQUIRE(b.add_list(banded));
  REQUIRE(b.add_list(make_list(2, signal::pdq, 31)));  // no band
  auto logging = make_list(3, signal::pdq, 10, true, core::action::none);
  logging.review_threshold = 40;
  REQUIRE(b.add_list(logging));
  REQUIRE(b.add_pdq(1, 11, hg_test::flip256(base, 31, rng)));  // at the threshold: block
  REQUIRE(b.add_pdq(1, 12, hg_test::flip256(base, 32, rng)));  // threshold + 1: band
  REQUIRE(b.add_pdq(1, 13, hg_test::flip256(base, 48, rng)));  // top of the band
  REQUIRE(b.add_pdq(1, 14, hg_test::flip256(base, 49, rng)));  // past it: nothing
  REQUIRE(b.add_pdq(2, 21, hg_test::flip256(base, 40, rng)));  // no band: nothing
  REQUIRE(b.add_pdq(3, 31, hg_test::flip256(base, 35, rng)));  // band of a `none` list
  for (int i = 0; i < 3000; ++i) REQUIRE(b.add_pdq(2, 1000 + i, hg_test::random256(rng)));
  auto built = b.build();
  REQUIRE(built);
  const snapshot& s = **built;
  CHECK(s.pdq_radius() == 48);
  scan_query q;
  q.pdq = pdq_query{};
  q.pdq->variants[0] = base;
  const auto hits = s.match(q);
  REQUIRE(hits.size() == 4);
  CHECK(hits[0].entry_id == 11);
  CHECK_FALSE(s.in_review_band(hits[0]));
  CHECK(s.action_of(hits[0]) == core::action::block);
  CHECK(hits[1].entry_id == 12);
  CHECK(s.in_review_band(hits[1]));
  CHECK(s.action_of(hits[1]) == core::action::review);
  CHECK(hits[2].entry_id == 13);
  CHECK(hits[2].distance == 48);
  CHECK(s.action_of(hits[2]) == core::action::review);
  CHECK(hits[3].entry_id == 31);
  CHECK(s.action_of(hits[3]) == core::action::none);  // capped, never raised

  // MIH stays exact at the wider radius: the hits are what a linear scan at 48 finds, each
  // held to its own list's radius (entries 0-3 list 1 up to 48, 4 list 2 up to 31, 5 list 3
  // up to 40, the rest list 2).
  std::vector<range_match> linear;
  s.pdq_index().linear().range(std::span<const core::hash256>(&base, 1), 48, linear);
  std::vector<std::uint32_t> expected;
  for (const auto& m : linear) {
    const int radius = m.index < 4 ? 48 : m.index == 5 ? 40 : 31;
    if (m.distance <= radius) expected.push_back(m.index);
  }
  CHECK(expected == std::vector<std::uint32_t>{0, 1, 2, 5});

  // A band on a digest list, or past the signal's bits, is refused; one at or below the
  // threshold means no band.
  snapshot_builder bad;
  auto digest = make_list(5, signal::md5, 0);
  digest.review_threshold = 3;
  CHECK(bad.add_list(digest).error() == errc::bad_threshold);
  auto wide = make_list(6, signal::phash, 10);
  wide.review_threshold = 65;
  CHECK(bad.add_list(wide).error() == errc::bad_threshold);
  auto flat = make_list(7, signal::pdq, 31);
  flat.review_threshold = 31;
  REQUIRE(bad.add_list(flat));
  REQUIRE(bad.add_pdq(7, 1, base));
  auto flat_built = bad.build();
  REQUIRE(flat_built);
  CHECK((*flat_built)->find_list(7)->review_threshold == -1);
  CHECK((*flat_built)->pdq_radius() == 31);
}

TEST_CASE("a quarantined entry still matches but acts as review at most") {
  snapshot_builder b;
  REQUIRE(b.add_list(make_list(1, signal::sha256, 0)));
  REQUIRE(b.add_list(make_list(2, signal::pdq, 31)));
  std::array<std::uint8_t, 32> digest{};
  digest[0] = 9;
  REQUIRE(b.add_digest(1, 100, digest));
  REQUIRE(b.add_pdq(2, 200, core::hash256{}));
  b.quarantine(200);
  b.quarantine(200);  // repeated: kept once
  auto built = b.build();
  REQUIRE(built);
  const snapshot& s = **built;
  CHECK(s.quarantined_entries().size() == 1);
  scan_query q;
  q.pdq = pdq_query{};
  q.sha256 = digest;
  const auto hits = s.match(q);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].entry_id == 200);
  CHECK(s.quarantined(200));
  CHECK(s.action_of(hits[0]) == core::action::review);
  CHECK_FALSE(s.quarantined(100));
  CHECK(s.action_of(hits[1]) == core::action::block);
}

TEST_CASE("a holder publishes with one swap and readers keep the snapshot they loaded") {
  snapshot_holder holder;
  CHECK(holder.load() == nullptr);
  snapshot_builder b1;
  REQUIRE(b1.add_list(make_list(1, signal::md5, 0)));
  REQUIRE(b1.add_hex(1, 1, "00000000000000000000000000000001"));
  auto first = b1.build({nullptr, 1, {}});
  REQUIRE(first);
  CHECK(holder.publish(*first) == nullptr);
  const auto reader = holder.load();  // a request in flight
  snapshot_builder b2;
  REQUIRE(b2.add_list(make_list(1, signal::md5, 0)));
  auto second = b2.build({nullptr, 2, {}});
  REQUIRE(second);
  const auto previous = holder.publish(*second);
  CHECK(previous->version() == 1);
  CHECK(holder.load()->version() == 2);
  // The in-flight reader still sees version 1 and its entry.
  CHECK(reader->version() == 1);
  scan_query q;
  q.md5 = bytes_of<16>("00000000000000000000000000000001");
  CHECK(reader->match(q).size() == 1);
  CHECK(holder.load()->match(q).empty());
}
