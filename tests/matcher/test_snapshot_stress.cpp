// Snapshot swap under concurrent readers. Run in the normal suite and, built with
// -fsanitize=thread (HG_TSAN_TESTS=ON, scripts/test's build-tsan), under ThreadSanitizer.
#include "hashguard/matcher/snapshot.hpp"

#include "hg_catch.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace hashguard;
using namespace hashguard::matcher;

namespace {

// Snapshot version v holds one PDQ list whose entries all carry entry id v, and whose single
// hash is the query flipped in (v % 20) bits: a reader can check that every answer it gets is
// consistent with the one snapshot it loaded.
std::shared_ptr<const snapshot> make(std::uint64_t v, const core::hash256& query) {
  snapshot_builder b;
  list_info l;
  l.id = 1;
  l.sig = core::signal::pdq;
  l.threshold = 31;
  REQUIRE(b.add_list(l));
  core::hash256 h = query;
  for (unsigned k = 0; k < v % 20; ++k) h.words[k / 64] ^= std::uint64_t{1} << (k % 64);
  REQUIRE(b.add_pdq(1, static_cast<std::int64_t>(v), h));
  for (std::uint64_t i = 0; i < 200; ++i) {
    REQUIRE(b.add_pdq(1, static_cast<std::int64_t>(v), core::hash256{{~i, i, ~i, i * 7}}));
  }
  auto s = b.build({nullptr, v, {}});
  REQUIRE(s);
  return *s;
}

}  // namespace

TEST_CASE("readers see whole snapshots while a writer keeps publishing new ones") {
  const core::hash256 query{{0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x1111, 0x2222}};
  // Build every version up front: Catch2's assertions are not thread-safe, so the threads
  // below only count what they see and the checks run afterwards.
  constexpr std::uint64_t versions = 60;
  std::vector<std::shared_ptr<const snapshot>> built;
  for (std::uint64_t v = 1; v <= versions; ++v) built.push_back(make(v, query));
  snapshot_holder holder(built[0]);

  std::atomic<bool> stop{false};
  std::atomic<int> inconsistent{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      scan_query q;
      q.pdq = pdq_query{};
      q.pdq->variants[0] = query;
      std::uint64_t last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const auto s = holder.load();
        const std::uint64_t v = s->version();
        const auto hits = s->match(q);
        // Exactly one hit, from this snapshot, at this snapshot's distance; versions only grow.
        if (hits.size() != 1 || hits[0].entry_id != static_cast<std::int64_t>(v) ||
            hits[0].distance != static_cast<int>(v % 20) || v < last) {
          inconsistent.fetch_add(1);
        }
        last = v;
        reads.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::vector<std::uint64_t> replaced;
  for (std::uint64_t v = 1; v < versions; ++v) {
    const auto old = holder.publish(built[v]);
    replaced.push_back(old->version());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // The holder drops its references as they are replaced: let readers hold the last ones.
  built.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  for (auto& t : readers) t.join();

  CHECK(inconsistent.load() == 0);
  CHECK(reads.load() > 0);
  REQUIRE(replaced.size() == versions - 1);
  for (std::size_t i = 0; i < replaced.size(); ++i) CHECK(replaced[i] == i + 1);
  CHECK(holder.load()->version() == versions);
  CHECK(holder.load().use_count() == 2);  // the holder's and this temporary: no leaks
}
