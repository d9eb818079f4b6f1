// Exact multi-index hashing (Norouzi, Punjani and Fleet) for 256-bit hashes: the faiss
// IndexBinaryMultiHash of hashguard, over the same storage as the linear index.
//
// The 256 bits are cut into m contiguous slots (widths differ by at most one bit). Pigeonhole:
// with r = m*s + t (0 <= t < m), a hash within distance r of the query is within s of it on
// one of some t+1 chosen slots, or within s-1 on one of the others. Each slot has a CSR table
// (offsets indexed by the slot value, then entry ids): a search enumerates every slot value
// within the slot's radius, gathers the candidates, and checks each at full distance with the
// index's kernel. A candidate is reported only by the first slot that can find it, so
// candidates are deduplicated without a set and searches share no mutable state.
//
// Layout choice: m (11..32, so every slot is 8..24 bits wide and its table directly indexed)
// minimises the expected probes + 2 x candidates at the design radius (31 by default) for the
// index's size, within a table budget of max(64 bytes per entry, 1 MiB). 16-bit slots (the PDQ
// reference's) are too narrow above a few million entries; 11 slots of 23-24 bits suit 10M.
//
// Exactness: range() returns exactly what linear_index256::range returns for the same radius.
// Radii up to max_radius() (at least 31 at every size up to 10M entries) run through the
// tables; larger radii fall back to the linear scan, and the stats say which path ran.
//
// Build: slot tables are built on up to 4 threads for large indices (mih_options).
//
// Serialisation: table_sections() views the slot tables as flat byte arrays and adopt() makes an
// index of such arrays again (e.g. views of a read-only file mapping) after checking their
// structure, without rebuilding: what an on-disk snapshot cache needs (snapshot_file.hpp).
//
// Thread-safety: immutable after construction; any number of threads may search at once.
#pragma once

#include "hashguard/core/hash.hpp"
#include "hashguard/matcher/errc.hpp"
#include "hashguard/matcher/linear.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace hashguard::matcher {

enum class search_path : std::uint8_t { mih, linear_fallback };

struct search_stats {
  search_path path{search_path::mih};
  std::size_t probes{};      ///< slot values looked up (MIH path)
  std::size_t candidates{};  ///< entries checked at full distance (MIH path)
};

struct mih_options {
  int design_radius{31};  ///< the radius the slot layout is tuned for
  /// 0 = choose from the index size; otherwise the number of slots (11..32).
  std::uint32_t slots{0};
  /// Threads building the slot tables: 0 = the CPU count (at most 4); indices under 200k
  /// entries always build on the calling thread.
  unsigned build_threads{0};
};

/// The slot layout an index of `n` entries gets, computed without building it.
struct mih_layout {
  std::uint32_t slots{};      ///< m
  int max_radius{};           ///< largest radius served through the tables
  std::size_t table_bytes{};  ///< offsets + ids of every slot
};

class mih_index {
 public:
  [[nodiscard]] static mih_layout layout_for(std::size_t n, const mih_options& options = {});

  /// Copies `hashes` into a linear index (the shared storage) and builds the slot tables.
  mih_index(std::span<const core::hash256> hashes, const kernel& k, mih_options options = {});

  [[nodiscard]] std::size_t size() const noexcept { return linear_.size(); }
  [[nodiscard]] const linear_index256& linear() const noexcept { return linear_; }
  [[nodiscard]] std::uint32_t slot_count() const noexcept {
    return static_cast<std::uint32_t>(slots_.size());
  }
  [[nodiscard]] unsigned slot_width(std::size_t i) const noexcept { return slots_[i].width; }
  /// The largest radius served by the tables; larger radii scan linearly.
  [[nodiscard]] int max_radius() const noexcept { return max_radius_; }
  /// Bytes held beyond the raw hashes (offsets and ids of every slot).
  [[nodiscard]] std::size_t table_bytes() const noexcept;

  /// As linear_index256::range: appends every (query, entry) pair at distance <= radius,
  /// sorted by (query, index). Fills `stats` when given.
  void range(std::span<const core::hash256> queries, int radius, std::vector<range_match>& out,
             search_stats* stats = nullptr) const;

  // ---- serialisation ----
  /// The slot tables as byte arrays viewing this index's memory (valid while it lives), two per
  /// slot: its CSR offsets (2^width + 1 u32), then its entry ids (size() u32). The hashes
  /// themselves are linear().words().
  [[nodiscard]] std::vector<std::span<const std::byte>> table_sections() const;
  /// The byte sizes of those arrays for an index of `n` entries with `slots` slots (empty when
  /// `slots` is outside 11..32).
  [[nodiscard]] static std::vector<std::size_t> table_section_sizes(std::size_t n,
                                                                    std::uint32_t slots);
  /// An index over `linear` whose slot tables are `sections` (as table_sections() gave them),
  /// used in place, not rebuilt; `owner` keeps their memory alive. Checked: `slots` equals the
  /// layout `options` give for linear.size() entries, the sizes, 4-byte alignment, and the
  /// structure (every offsets table starts at 0, never decreases and ends at size(); every id
  /// is below size() and ids ascend within a slot value), so searching the result never reads
  /// out of bounds. Not checked (the caller's checksum guards it): that each id sits under its
  /// own slot value. Checks run on the build's threads. Errors: errc::bad_image.
  [[nodiscard]] static core::result<mih_index> adopt(
      linear_index256 linear, std::uint32_t slots,
      std::span<const std::span<const std::byte>> sections,
      const std::shared_ptr<const void>& owner, const mih_options& options = {});

  mih_index(mih_index&&) noexcept = default;
  mih_index& operator=(mih_index&&) noexcept = default;

 private:
  struct slot {
    unsigned start{};                     ///< first bit (0..255) in core::hash256's bit numbering
    unsigned width{};                     ///< bits
    table_buffer<std::uint32_t> offsets;  ///< 2^width + 1 entries: CSR row starts
    table_buffer<std::uint32_t> ids;      ///< entry ids, grouped by slot value, ascending
  };
  struct sort_buffers {
    explicit sort_buffers(std::size_t n);
    std::vector<std::uint64_t> keys;
    std::vector<std::uint64_t> scratch;
    std::vector<std::size_t> counts;
  };
  explicit mih_index(linear_index256 linear) : linear_(std::move(linear)) {}
  void set_layout(const mih_layout& layout);
  void build_slot(slot& sl, sort_buffers& buffers) const;
  [[nodiscard]] bool valid_slot(const slot& sl) const noexcept;
  /// Runs job(slot index) for every slot on up to `threads` threads (rethrows the first error).
  template <class Job>
  void for_each_slot(unsigned threads, Job job);
  /// Per-slot search radius for `radius` (-1 = slot not searched).
  void plan(int radius, std::vector<int>& per_slot) const;
  void search_one(const core::hash256& q, std::uint16_t query_index, int radius,
                  const std::vector<int>& per_slot, std::vector<range_match>& out,
                  search_stats& stats) const;

  linear_index256 linear_;
  std::vector<slot> slots_;
  int max_radius_{};
};

}  // namespace hashguard::matcher
