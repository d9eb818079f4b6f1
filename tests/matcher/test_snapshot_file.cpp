#include "hashguard/matcher/snapshot_file.hpp"

#include "test_support.hpp"

#include "hg_catch.hpp"

#include <cstring>
#include <functional>
#include <random>
#include <vector>

using namespace hashguard;
using namespace hashguard::matcher;
using core::signal;

namespace {

list_info make_list(std::int64_t id, signal sig, int threshold, bool dihedral = true) {
  list_info l;
  l.id = id;
  l.name = "list-" + std::to_string(id);
  l.sig = sig;
  l.threshold = threshold;
  l.act = core::action::review;
  l.version = 7;
  l.dihedral = dihedral;
  return l;
}

template <std::size_t N>
std::array<std::uint8_t, N> random_digest(std::mt19937_64& rng) {
  std::array<std::uint8_t, N> d{};
  for (auto& b : d) b = static_cast<std::uint8_t>(rng() & 0xFFU);
  return d;
}

// A snapshot with every signal, and the hashes it holds (for near-duplicate queries).
struct fixture {
  std::shared_ptr<const snapshot> snap;
  std::vector<core::hash256> pdq;
  std::vector<std::uint64_t> phash;
  std::vector<std::array<std::uint8_t, 32>> sha256;
};

fixture make_fixture(std::size_t n_pdq, std::uint64_t seed, const mih_options& mih = {}) {
  std::mt19937_64 rng(seed);
  snapshot_builder b;
  REQUIRE(b.add_list(make_list(4, signal::pdq, 31)).has_value());
  auto banded = make_list(9, signal::pdq, 12, false);
  banded.review_threshold = 20;  // a near-miss band travels in the image
  REQUIRE(b.add_list(banded).has_value());
  REQUIRE(b.add_list(make_list(11, signal::phash, 10)).has_value());
  REQUIRE(b.add_list(make_list(12, signal::md5, 0)).has_value());
  REQUIRE(b.add_list(make_list(13, signal::sha1, 0)).has_value());
  REQUIRE(b.add_list(make_list(14, signal::sha256, 0)).has_value());
  fixture f;
  for (std::size_t i = 0; i < n_pdq; ++i) {
    f.pdq.push_back(hg_test::random256(rng));
    REQUIRE(b.add_pdq(i % 3 == 0 ? 9 : 4, static_cast<std::int64_t>(1000 + i), f.pdq.back()));
  }
  for (std::size_t i = 0; i < 500; ++i) {
    f.phash.push_back(rng());
    REQUIRE(b.add_phash(11, static_cast<std::int64_t>(i), core::hash64{f.phash.back()}));
    const auto md5 = random_digest<16>(rng);
    const auto sha1 = random_digest<20>(rng);
    f.sha256.push_back(random_digest<32>(rng));
    REQUIRE(b.add_digest(12, static_cast<std::int64_t>(i), md5));
    REQUIRE(b.add_digest(13, static_cast<std::int64_t>(i), sha1));
    REQUIRE(b.add_digest(14, static_cast<std::int64_t>(i), f.sha256.back()));
  }
  b.quarantine(1003);
  b.quarantine(7);
  // Provenance of a few entries (any signal): an inline numeric id, text with tags.
  b.add_source(1000, "ncmec", "1-77");
  b.add_source(1001, "stopncii", "4242");
  b.add_source(7, "stopncii", "abc", std::vector<std::string>{"nudity", "x"});
  snapshot_options o;
  o.version = 42;
  o.mih = mih;
  auto s = b.build(o);
  REQUIRE(s.has_value());
  f.snap = *s;
  return f;
}

// The image copied into memory of the test's own (as a file would be): 8-byte aligned sections.
struct copied_image {
  std::vector<std::byte> descriptor;
  std::vector<std::vector<std::uint64_t>> storage;
  std::vector<std::size_t> sizes;

  explicit copied_image(const snapshot& s) {
    const auto img = image_of(s);
    descriptor = img.descriptor;
    for (const auto& sec : img.sections) {
      storage.emplace_back((sec.size() + 7) / 8);
      if (!sec.empty()) std::memcpy(storage.back().data(), sec.data(), sec.size());
      sizes.push_back(sec.size());
    }
  }
  std::byte* bytes(std::size_t section) {
    return reinterpret_cast<std::byte*>(storage[section].data());
  }
  template <class T>
  T* as(std::size_t section) {
    return reinterpret_cast<T*>(storage[section].data());
  }
  std::vector<std::span<const std::byte>> sections() const {
    std::vector<std::span<const std::byte>> out;
    for (std::size_t i = 0; i < storage.size(); ++i) {
      out.emplace_back(reinterpret_cast<const std::byte*>(storage[i].data()), sizes[i]);
    }
    return out;
  }
  core::result<std::shared_ptr<const snapshot>> load(const snapshot_options& o = {}) const {
    const auto secs = sections();
    return snapshot_from_image(descriptor, secs, nullptr, o);
  }
};

std::vector<scan_query> queries_for(const fixture& f, std::mt19937_64& rng) {
  std::vector<scan_query> out;
  for (int i = 0; i < 60; ++i) {
    scan_query q;
    pdq_query p;
    const auto& base = f.pdq[rng() % f.pdq.size()];
    p.variants[0] = hg_test::flip256(base, static_cast<int>(rng() % 40), rng);
    for (std::size_t v = 1; v < 8; ++v) p.variants[v] = hg_test::random256(rng);
    p.variants[3] = hg_test::flip256(f.pdq[rng() % f.pdq.size()], 5, rng);
    p.variant_count = i % 2 == 0 ? 8 : 1;
    q.pdq = p;
    q.phash = core::hash64{
        hg_test::flip64(f.phash[rng() % f.phash.size()], static_cast<int>(rng() % 14), rng)};
    if (i % 3 == 0) q.sha256 = f.sha256[rng() % f.sha256.size()];
    q.query = i;
    out.push_back(q);
  }
  return out;
}

// The offsets section of slot `s` (image order: pdq words, list positions, entry ids, then
// offsets/ids per slot).
std::size_t offsets_section(std::size_t slot) {
  return 3 + 2 * slot;
}
std::size_t ids_section(std::size_t slot) {
  return 4 + 2 * slot;
}

}  // namespace

TEST_CASE("image: a snapshot from its image answers every query as the one built fresh") {
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5000}, std::size_t{230000}}) {
    INFO("pdq entries " << n);
    auto f = make_fixture(std::max<std::size_t>(n, 1), 17 + n);
    if (n == 0) {
      // A snapshot without PDQ entries round-trips too.
      snapshot_builder b;
      REQUIRE(b.add_list(make_list(1, signal::sha256, 0)).has_value());
      auto s = b.build();
      REQUIRE(s.has_value());
      copied_image img(**s);
      auto back = img.load();
      REQUIRE(back.has_value());
      CHECK((*back)->size(signal::pdq) == 0);
      CHECK((*back)->lists().size() == 1);
      continue;
    }
    copied_image img(*f.snap);
    auto back = img.load();
    REQUIRE(back.has_value());
    const snapshot& a = *f.snap;
    const snapshot& b = **back;
    CHECK(b.version() == 42);
    REQUIRE(b.lists().size() == a.lists().size());
    for (std::size_t i = 0; i < a.lists().size(); ++i) {
      CHECK(b.lists()[i].id == a.lists()[i].id);
      CHECK(b.lists()[i].name == a.lists()[i].name);
      CHECK(b.lists()[i].sig == a.lists()[i].sig);
      CHECK(b.lists()[i].threshold == a.lists()[i].threshold);
      CHECK(b.lists()[i].review_threshold == a.lists()[i].review_threshold);
      CHECK(b.lists()[i].act == a.lists()[i].act);
      CHECK(b.lists()[i].dihedral == a.lists()[i].dihedral);
      CHECK(b.lists()[i].version == a.lists()[i].version);
    }
    for (auto s : {signal::pdq, signal::phash, signal::md5, signal::sha1, signal::sha256}) {
      CHECK(b.size(s) == a.size(s));
    }
    CHECK(b.pdq_radius() == a.pdq_radius());
    CHECK(
        std::vector<std::int64_t>(b.quarantined_entries().begin(), b.quarantined_entries().end()) ==
        std::vector<std::int64_t>{7, 1003});
    CHECK(b.pdq_index().slot_count() == a.pdq_index().slot_count());
    CHECK(b.pdq_index().max_radius() == a.pdq_index().max_radius());
    std::mt19937_64 rng(5);
    std::size_t hits = 0;
    for (const auto& q : queries_for(f, rng)) {
      const auto expected = a.match(q);
      const auto got = b.match(q);
      hits += expected.size();
      REQUIRE(got.size() == expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].list_id == expected[i].list_id);
        CHECK(got[i].entry_id == expected[i].entry_id);
        CHECK(got[i].sig == expected[i].sig);
        CHECK(got[i].distance == expected[i].distance);
        CHECK(got[i].variant == expected[i].variant);
        CHECK(b.action_of(got[i]) == a.action_of(expected[i]));
      }
    }
    CHECK(hits > 60);  // the queries do reach entries
    // The image of the adopted snapshot is the image it came from.
    const auto again = image_of(b);
    CHECK(again.descriptor == img.descriptor);
    REQUIRE(again.sections.size() == img.storage.size());
    for (std::size_t i = 0; i < again.sections.size(); ++i) {
      CHECK(again.sections[i].size() == img.sizes[i]);
      CHECK(std::memcmp(again.sections[i].data(), img.bytes(i), img.sizes[i]) == 0);
    }
  }
}

TEST_CASE("image: the adopted snapshot keeps its owner alive") {
  auto f = make_fixture(2000, 3);
  auto img = std::make_shared<copied_image>(*f.snap);
  const auto secs = img->sections();
  auto back = snapshot_from_image(img->descriptor, secs, img, {});
  REQUIRE(back.has_value());
  std::weak_ptr<copied_image> watch = img;
  img.reset();
  CHECK_FALSE(watch.expired());
  std::mt19937_64 rng(1);
  for (const auto& q : queries_for(f, rng))
    CHECK((*back)->match(q).size() == f.snap->match(q).size());
  back->reset();
  CHECK(watch.expired());
}

TEST_CASE("image: every inconsistency is bad_image") {
  auto f = make_fixture(3000, 11);
  const copied_image good(*f.snap);
  REQUIRE(good.load().has_value());
  const auto slots = f.snap->pdq_index().slot_count();
  const std::size_t n = f.snap->size(signal::pdq);
  // Descriptor header: magic, version, lists, snapshot version, pdq count, slots, reserved,
  // phash count, 3 digest counts, quarantined count, source count, source text bytes, exchange
  // count, reserved.
  const std::size_t first_list = 8 + 4 + 4 + 8 + 8 + 4 + 4 + 8 + 3 * 8 + 8 + 8 + 8 + 4 + 4;

  const std::vector<std::pair<std::string, std::function<void(copied_image&)>>> cases = {
      {"magic", [](copied_image& c) { c.descriptor[0] = std::byte{'X'}; }},
      {"image version", [](copied_image& c) { c.descriptor[8] = std::byte{2}; }},
      {"exchange count", [](copied_image& c) { c.descriptor[96] = std::byte{9}; }},
      {"reserved after the exchange count",
       [](copied_image& c) { c.descriptor[100] = std::byte{1}; }},
      {"list count", [](copied_image& c) { c.descriptor[12] = std::byte{7}; }},
      {"pdq count", [](copied_image& c) { c.descriptor[24] ^= std::byte{1}; }},
      {"slot count", [](copied_image& c) { c.descriptor[32] ^= std::byte{1}; }},
      {"reserved", [](copied_image& c) { c.descriptor[36] = std::byte{1}; }},
      {"phash count", [](copied_image& c) { c.descriptor[40] ^= std::byte{2}; }},
      {"sha256 count", [](copied_image& c) { c.descriptor[64] ^= std::byte{1}; }},
      {"list signal", [&](copied_image& c) { c.descriptor[first_list + 8] = std::byte{9}; }},
      {"list action", [&](copied_image& c) { c.descriptor[first_list + 9] = std::byte{9}; }},
      {"list dihedral", [&](copied_image& c) { c.descriptor[first_list + 10] = std::byte{2}; }},
      {"list threshold",
       [&](copied_image& c) { c.descriptor[first_list + 13] = std::byte{1}; }},  // 31 + 256
      {"list review threshold below -1",
       [&](copied_image& c) { c.descriptor[first_list + 16] = std::byte{5}; }},
      {"list review threshold not above the threshold",
       [&](copied_image& c) {
         const std::int32_t at_threshold = 31;  // list 4: threshold 31, no band
         std::memcpy(c.descriptor.data() + first_list + 16, &at_threshold, 4);
       }},
      {"list name length",
       [&](copied_image& c) { c.descriptor[first_list + 29] = std::byte{0xFF}; }},
      {"quarantined count", [](copied_image& c) { c.descriptor[72] ^= std::byte{1}; }},
      {"quarantined ids not ascending",
       [](copied_image& c) {
         // The quarantined ids come before the two provenance sections.
         std::swap(c.as<std::int64_t>(c.storage.size() - 3)[0],
                   c.as<std::int64_t>(c.storage.size() - 3)[1]);
       }},
      {"source rows not ascending",
       [](copied_image& c) {
         std::swap(c.as<std::int64_t>(c.storage.size() - 2)[0],
                   c.as<std::int64_t>(c.storage.size() - 2)[2]);
       }},
      {"list ids unsorted", [&](copied_image& c) { c.descriptor[first_list] = std::byte{100}; }},
      {"descriptor cut", [](copied_image& c) { c.descriptor.pop_back(); }},
      {"descriptor longer", [](copied_image& c) { c.descriptor.push_back(std::byte{0}); }},
      {"a section missing",
       [](copied_image& c) {
         c.storage.pop_back();
         c.sizes.pop_back();
       }},
      {"a section cut", [](copied_image& c) { c.sizes[2] -= 8; }},
      {"MIH offsets section cut", [](copied_image& c) { c.sizes[offsets_section(0)] -= 4; }},
      {"MIH ids section cut", [](copied_image& c) { c.sizes[ids_section(1)] -= 4; }},
      {"PDQ list position out of range", [](copied_image& c) { c.as<std::uint32_t>(1)[5] = 99; }},
      {"PDQ list position of a pHash list", [](copied_image& c) { c.as<std::uint32_t>(1)[5] = 2; }},
      {"MIH offsets do not start at 0",
       [](copied_image& c) { c.as<std::uint32_t>(offsets_section(0))[0] = 1; }},
      {"MIH offsets decrease",
       [&](copied_image& c) {
         auto* o = c.as<std::uint32_t>(offsets_section(slots - 1));
         const std::size_t values = c.sizes[offsets_section(slots - 1)] / 4 - 1;
         o[values / 2] = static_cast<std::uint32_t>(n);  // above what follows
       }},
      {"MIH offsets do not end at n",
       [&](copied_image& c) {
         auto* o = c.as<std::uint32_t>(offsets_section(3));
         o[c.sizes[offsets_section(3)] / 4 - 1] = static_cast<std::uint32_t>(n + 1);
       }},
      {"MIH id out of range",
       [&](copied_image& c) {
         c.as<std::uint32_t>(ids_section(2))[10] = static_cast<std::uint32_t>(n);
       }},
      {"MIH ids not ascending in a bucket",
       [&](copied_image& c) {
         // Find a bucket with two ids and swap them.
         const auto* o = c.as<std::uint32_t>(offsets_section(0));
         auto* ids = c.as<std::uint32_t>(ids_section(0));
         for (std::size_t v = 0;; ++v) {
           if (o[v + 1] - o[v] >= 2) {
             std::swap(ids[o[v]], ids[o[v] + 1]);
             return;
           }
         }
       }},
      {"digest padding",
       [&](copied_image& c) {
         const std::size_t md5 = 3 + 2 * slots + 3;
         c.bytes(md5)[48 * 7 + 20] = std::byte{1};
       }},
      {"digest of another signal's list",
       [&](copied_image& c) {
         const std::size_t sha1 = 3 + 2 * slots + 4;
         c.bytes(sha1)[48 * 3 + 32] = std::byte{0};  // list position 0: a PDQ list
       }},
      {"digests unsorted",
       [&](copied_image& c) {
         const std::size_t sha256 = 3 + 2 * slots + 5;
         std::byte tmp[48];
         std::memcpy(tmp, c.bytes(sha256), 48);
         std::memcpy(c.bytes(sha256), c.bytes(sha256) + 48 * 100, 48);
         std::memcpy(c.bytes(sha256) + 48 * 100, tmp, 48);
       }},
  };
  for (const auto& [what, corrupt] : cases) {
    INFO(what);
    copied_image bad = good;
    corrupt(bad);
    auto r = bad.load();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::bad_image);
  }

  // A misaligned section.
  {
    auto secs = good.sections();
    std::vector<std::byte> shifted(secs[2].size() + 1);
    std::memcpy(shifted.data() + 1, secs[2].data(), secs[2].size());
    secs[2] = std::span<const std::byte>(shifted.data() + 1, secs[2].size());
    auto r = snapshot_from_image(good.descriptor, secs, nullptr, {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::bad_image);
  }
  // Made with other MIH options: another slot count than the loader's options give.
  {
    snapshot_options o;
    o.mih.slots = slots + 1;
    auto r = good.load(o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::bad_image);
  }
}

TEST_CASE(
    "image: entry provenance travels in the image, and a row naming no exchange is bad_image") {
  auto f = make_fixture(1200, 5);
  const copied_image img(*f.snap);
  auto back = img.load();
  REQUIRE(back.has_value());
  for (const auto* s : {f.snap.get(), back->get()}) {
    CHECK(s->sourced_entries() == 3);
    const auto a = s->source_of(1000);
    REQUIRE(a.has_value());
    CHECK(a->exchange == "ncmec");
    CHECK(a->source_id == "1-77");
    const auto b = s->source_of(1001);
    REQUIRE(b.has_value());
    CHECK(b->exchange == "stopncii");
    CHECK(b->source_id == "4242");
    CHECK(b->tags.empty());
    const auto c = s->source_of(7);
    REQUIRE(c.has_value());
    CHECK(c->source_id == "abc");
    CHECK(c->tags == std::vector<std::string>{"nudity", "x"});
    CHECK_FALSE(s->source_of(1002).has_value());
  }
  // The source rows are the second-to-last section: point one at a third exchange.
  copied_image bad = img;
  const std::size_t rows = bad.storage.size() - 2;
  bad.as<std::uint64_t>(rows)[1] |= std::uint64_t{5} << 48;
  auto r = bad.load();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::bad_image);
  // A text reference past the text: the exchange alone, never a read out of bounds.
  copied_image past = img;
  for (std::size_t i = 0; i < 3; ++i) {
    auto& ref = past.as<std::uint64_t>(rows)[2 * i + 1];
    if ((ref & (1ULL << 47)) == 0) ref = (ref & ~((1ULL << 47) - 1)) | 999999;
  }
  auto clipped = past.load();
  REQUIRE(clipped.has_value());
  const auto c = (*clipped)->source_of(7);
  REQUIRE(c.has_value());
  CHECK(c->exchange == "stopncii");
  CHECK(c->source_id.empty());
}

TEST_CASE(
    "snapshot builder: provenance keeps the last call per entry and clamps what it cannot "
    "hold") {
  snapshot_builder b;
  REQUIRE(b.add_list(make_list(1, signal::pdq, 31)).has_value());
  REQUIRE(b.add_pdq(1, 10, core::hash256{}).has_value());
  b.add_source(10, "first", "1");
  b.add_source(10, "second", "0012");  // a leading zero: kept as text, not as a number
  std::vector<std::string> tags(40, "t");
  tags[0] = std::string(300, 'x');  // over 255 bytes: left out
  b.add_source(11, "second", std::string(5000, 'y'), tags);
  auto s = b.build();
  REQUIRE(s.has_value());
  CHECK((*s)->exchanges().size() == 2);
  const auto a = (*s)->source_of(10);
  REQUIRE(a.has_value());
  CHECK(a->exchange == "second");
  CHECK(a->source_id == "0012");
  const auto big = (*s)->source_of(11);
  REQUIRE(big.has_value());
  CHECK(big->source_id.empty());
  CHECK(big->tags.size() == 32);
}
