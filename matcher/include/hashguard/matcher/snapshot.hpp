// Index snapshots: every hash list the node matches against, in one immutable object.
//
// A snapshot holds several lists, each with its id, name, signal (pdq, phash, md5, sha1,
// sha256), threshold, action, version and a dihedral switch; every entry carries its list id
// and entry id. PDQ entries of all lists share one MIH index (searched once at the largest
// PDQ threshold, each hit then held to its own list's threshold); pHash entries share one
// linear index; exact digests are sorted arrays searched by binary search.
//
// Life cycle: a snapshot_builder collects lists and entries (on a loader thread, off the
// request path) and build() turns them into a snapshot; a snapshot_holder publishes it with
// one pointer swap. A reader calls holder.load() once per request and keeps that shared_ptr
// until it is done, so it finishes on the snapshot it started with even if a newer one is
// published meanwhile; the old snapshot is freed when its last reader lets go.
//
// Images: snapshot_file.hpp turns a snapshot into flat byte sections and back without rebuilding
// (the on-disk snapshot cache).
//
// Thread-safety: snapshot is immutable (every member function is const and thread-safe);
// snapshot_builder is not thread-safe; snapshot_holder's functions are all thread-safe.
#pragma once

#include "hashguard/core/hash.hpp"
#include "hashguard/core/hit.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/matcher/errc.hpp"
#include "hashguard/matcher/linear.hpp"
#include "hashguard/matcher/mih.hpp"
#include "hashguard/matcher/video_index.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::matcher {

struct list_info {
  std::int64_t id{};  ///< hashdb's hash_lists.id
  std::string name;
  core::signal sig{core::signal::pdq};
  /// Largest Hamming distance that matches: 0..256 for pdq, 0..64 for phash; digests match
  /// exactly whatever it says (keep it 0).
  int threshold{};
  core::action act{core::action::review};
  std::int64_t version{};
  /// pdq only: match the query's 8 dihedral variants (rotations and flips), not just the
  /// original orientation.
  bool dihedral{true};
  /// The near-miss review band (perceptual lists only): hits at threshold+1..review_threshold
  /// are found too, but never act stronger than core::action::review. A value <= threshold
  /// (the default -1) means no band.
  int review_threshold{-1};
  /// The largest distance this list's hits may have: its threshold or its band's top.
  [[nodiscard]] int search_radius() const noexcept {
    return review_threshold > threshold ? review_threshold : threshold;
  }
  /// vpdq only (the threshold is the frame distance): a list video matches when at least this
  /// share (percent) of the query's kept frames matched it (> 0; default 80, as
  /// python-threatexchange) and at least this share of its own kept frames were matched
  /// (default 0).
  double video_query_percent{80.0};
  double video_compared_percent{0.0};
};

/// The PDQ part of a query: the scanner's hash, its dihedral variants and its quality.
struct pdq_query {
  /// Indexed by core::dihedral; variants[0] is the hash of the original orientation.
  std::array<core::hash256, 8> variants{};
  int variant_count{1};  ///< 1 (hash only, e.g. a client-side hash) or 8
  int quality{100};      ///< below core::pdq_min_quality the PDQ hash is not matched
};

/// Everything the scanner produced for one image (or one frame of an animation).
struct scan_query {
  std::optional<pdq_query> pdq;
  std::optional<core::hash64> phash;
  std::optional<std::array<std::uint8_t, 16>> md5;
  std::optional<std::array<std::uint8_t, 20>> sha1;
  std::optional<std::array<std::uint8_t, 32>> sha256;
  std::int32_t query{};  ///< copied into every hit's `query` (batch position or frame index)
};

struct match_stats {
  search_stats pdq;               ///< which path the PDQ search took, probes, candidates
  bool pdq_low_quality{false};    ///< a PDQ hash was given but its quality was below the gate
  std::size_t pdq_raw_matches{};  ///< PDQ (variant, entry) pairs within the search radius
};

struct snapshot_image;
struct snapshot_options;

class snapshot {
 public:
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
  [[nodiscard]] std::span<const list_info> lists() const noexcept { return lists_; }
  [[nodiscard]] const list_info* find_list(std::int64_t id) const noexcept;
  /// Number of entries of one signal, over all lists.
  [[nodiscard]] std::size_t size(core::signal s) const noexcept;
  [[nodiscard]] const kernel& kernel_used() const noexcept { return *kernel_; }
  [[nodiscard]] const mih_index& pdq_index() const noexcept { return pdq_; }
  [[nodiscard]] std::chrono::nanoseconds build_time() const noexcept { return build_time_; }
  /// The radius the PDQ index is searched with (the largest PDQ search_radius(), band included;
  /// -1 = no PDQ list). The MIH index answers any radius exactly (larger than its max_radius()
  /// it scans linearly), so a wide band costs speed, never hits.
  [[nodiscard]] int pdq_radius() const noexcept { return pdq_radius_; }

  /// Appends the hits of one scan to `out`: for each list, its entries within the list's
  /// search_radius() (perceptual: threshold, or the top of its review band) or equal (digests). PDQ
  /// is matched only when quality >= core::pdq_min_quality, with every given variant for lists
  /// whose dihedral switch is on and the original only otherwise; an entry reached by several
  /// variants gives one hit, the smallest distance (ties: the lowest variant). Order: pdq, phash,
  /// md5, sha1, sha256 hits, each by entry position. Never fails.
  void match(const scan_query& q, std::vector<core::hit>& out, match_stats* stats = nullptr) const;
  [[nodiscard]] std::vector<core::hit> match(const scan_query& q) const;

  /// Appends the vpdq hits of a query video (its frames as hashed, in frame order): one hit per
  /// list video that matches by its list's rule (video_index.hpp), signal vpdq, distance the
  /// smallest frame distance, query -1, and a detail naming the list video, both shares and
  /// the query's matched segments. Order: by list video position (list id, then entry order).
  void match_video(std::span<const video_frame_hash> query, std::vector<core::hit>& out,
                   search_stats* stats = nullptr) const;
  /// The vPDQ list-video index (nullptr: no vpdq list).
  [[nodiscard]] const video_index* videos() const noexcept { return videos_.get(); }

  /// Whether a hit of this snapshot lies in its list's near-miss band (distance above the
  /// list's threshold). False for an unknown list.
  [[nodiscard]] bool in_review_band(const core::hit& h) const noexcept;
  /// Whether the entry is quarantined (flood detection or an admin): it matches, but acts at
  /// most as core::action::review.
  [[nodiscard]] bool quarantined(std::int64_t entry_id) const noexcept;
  /// The action a hit carries: its list's, capped at core::action::review when the hit is in
  /// the near-miss band or its entry is quarantined (a weaker list action stays). core::action::
  /// none for an unknown list.
  [[nodiscard]] core::action action_of(const core::hit& h) const noexcept;
  /// Provenance of an exchange-fed entry (its exchange's name, source id and tags); nullopt for
  /// an imported entry. Allocates only for the answer (called per hit, never per scan).
  [[nodiscard]] std::optional<core::hit_detail::source_ref> source_of(std::int64_t entry_id) const;
  /// Number of entries with provenance, and the exchange names they refer to.
  [[nodiscard]] std::size_t sourced_entries() const noexcept { return sources_.size(); }
  [[nodiscard]] std::span<const std::string> exchanges() const noexcept { return exchanges_; }
  /// The quarantined entry ids, ascending.
  [[nodiscard]] std::span<const std::int64_t> quarantined_entries() const noexcept {
    return quarantined_.span();
  }

 private:
  friend class snapshot_builder;
  friend snapshot_image image_of(const snapshot& s);
  friend core::result<std::shared_ptr<const snapshot>> snapshot_from_image(
      std::span<const std::byte> descriptor, std::span<const std::span<const std::byte>> sections,
      const std::shared_ptr<const void>& owner, const snapshot_options& options);
  struct digest_entry {
    std::array<std::uint8_t, 32> bytes{};  ///< zero-padded past the digest's length
    std::uint32_t list{};                  ///< position in lists_
    std::uint32_t reserved{};              ///< 0 (explicit: images hold no undefined bytes)
    std::int64_t entry{};
  };
  // Provenance, 16 bytes per exchange-fed entry (none for imported ones), sorted by entry id:
  // `ref` packs the exchange (bits 48..63, a position in exchanges_), an inline flag (bit 47)
  // and either the source id itself (inline: a decimal id below 2^47 with no tags, as NCMEC's
  // and ThreatExchange's are) or the offset of its record in source_text_ (u16 id length, id,
  // u8 tag count, per tag u8 length and bytes). At 10M entries: 160 MB of rows, plus text only
  // for ids that are not plain numbers or carry tags; exchange names are interned.
  struct source_row {
    std::int64_t entry{};
    std::uint64_t ref{};
  };
  static constexpr std::uint64_t source_inline_bit = 1ULL << 47;
  static constexpr std::uint64_t source_value_mask = source_inline_bit - 1;
  snapshot(mih_index pdq, linear_index64 phash, const kernel& k);
  void match_digest(const table_buffer<digest_entry>& table, core::signal sig,
                    std::span<const std::uint8_t> bytes, std::int32_t query,
                    std::vector<core::hit>& out) const;

  std::uint64_t version_{};
  std::vector<list_info> lists_;  ///< sorted by id
  const kernel* kernel_;
  mih_index pdq_;
  table_buffer<std::uint32_t> pdq_list_;  ///< per PDQ entry: position in lists_
  table_buffer<std::int64_t> pdq_entry_;
  int pdq_radius_{-1};
  linear_index64 phash_;
  table_buffer<std::uint32_t> phash_list_;
  table_buffer<std::int64_t> phash_entry_;
  int phash_radius_{-1};
  std::array<table_buffer<digest_entry>, 3> digests_;  ///< md5, sha1, sha256; sorted by bytes
  table_buffer<std::int64_t> quarantined_;             ///< entry ids, ascending, unique
  std::vector<std::string> exchanges_;                 ///< interned exchange names
  table_buffer<source_row> sources_;                   ///< by entry id, ascending, unique
  table_buffer<std::uint8_t> source_text_;             ///< records source_row::ref points at
  std::chrono::nanoseconds build_time_{};
  /// The vpdq lists' videos. Not part of snapshot images (snapshot_file.hpp): a snapshot with
  /// videos is rebuilt from the database, never cached.
  std::shared_ptr<const video_index> videos_;
};

struct snapshot_options {
  /// The kernel every search uses; nullptr = startup_kernel() (whose error build() returns).
  const kernel* k{nullptr};
  std::uint64_t version{};
  mih_options mih{};
};

class snapshot_builder {
 public:
  /// Errors: errc::duplicate_list, errc::bad_threshold (threshold out of range, or a review
  /// band on a digest list or above the signal's bit count).
  [[nodiscard]] core::result<void> add_list(list_info list);
  /// Errors: errc::unknown_list, errc::wrong_signal (the list's signal is another).
  [[nodiscard]] core::result<void> add_pdq(std::int64_t list_id, std::int64_t entry_id,
                                           const core::hash256& h);
  [[nodiscard]] core::result<void> add_phash(std::int64_t list_id, std::int64_t entry_id,
                                             core::hash64 h);
  /// A digest of the list's signal: 16 (md5), 20 (sha1) or 32 (sha256) bytes, else wrong_signal.
  [[nodiscard]] core::result<void> add_digest(std::int64_t list_id, std::int64_t entry_id,
                                              std::span<const std::uint8_t> bytes);
  /// A video of a vpdq list: its frames as stored (the index keeps those of quality >= 50, each
  /// hash once). `name` is what a hit calls it. Errors: errc::unknown_list, errc::wrong_signal.
  [[nodiscard]] core::result<void> add_video(std::int64_t list_id, std::int64_t entry_id,
                                             std::string name,
                                             std::vector<video_frame_hash> frames);
  /// Marks an entry id as quarantined (any signal; an id with no entry is kept and harmless).
  void quarantine(std::int64_t entry_id);
  /// Records an entry's provenance (the entry may be of any signal; an id with no entry is kept
  /// and harmless; a second call for one id replaces the first). What the snapshot cannot hold
  /// is left out rather than failing the load: a source id over 4096 bytes (kept empty), tags
  /// past the 32nd or over 255 bytes. The database keeps everything.
  void add_source(std::int64_t entry_id, std::string_view exchange, std::string_view source_id,
                  std::span<const std::string> tags = {});
  /// Makes room for `n` entries of signal `s` (an optimisation only).
  void reserve(core::signal s, std::size_t n);
  /// Parses `hex` as the list's signal (core/hex.hpp rules) and adds it.
  [[nodiscard]] core::result<void> add_hex(std::int64_t list_id, std::int64_t entry_id,
                                           std::string_view hex);

  /// Builds the snapshot (the builder is left empty). Errors: the kernel selection's.
  [[nodiscard]] core::result<std::shared_ptr<const snapshot>> build(snapshot_options options = {});

 private:
  struct pending_digest {
    std::int64_t list_id{};
    std::int64_t entry{};
    std::array<std::uint8_t, 32> bytes{};
  };
  core::result<const list_info*> list_for(std::int64_t list_id, core::signal sig) const;

  std::map<std::int64_t, list_info> lists_;  // by id; the builder is off the hot path
  std::vector<std::int64_t> pdq_list_;
  std::vector<std::int64_t> pdq_entry_;
  std::vector<core::hash256> pdq_;
  std::vector<std::int64_t> phash_list_;
  std::vector<std::int64_t> phash_entry_;
  std::vector<core::hash64> phash_;
  std::array<std::vector<pending_digest>, 3> digests_;  // md5, sha1, sha256
  std::vector<std::int64_t> quarantined_;
  struct pending_source {
    std::int64_t entry{};
    std::uint64_t ref{};  ///< as snapshot::source_row's, the text offset into source_text_
    std::size_t order{};  ///< call order: the last call for an entry wins
  };
  std::map<std::string, std::uint32_t, std::less<>> exchange_ids_;
  std::vector<std::string> exchanges_;
  std::vector<pending_source> sources_;
  std::vector<std::uint8_t> source_text_;
  struct pending_video {
    std::int64_t list_id{};
    std::int64_t entry{};
    std::string name;
    std::vector<video_frame_hash> frames;
  };
  std::vector<pending_video> videos_;
};

/// Publishes snapshots: load() copies the current pointer, publish() swaps it, each under a
/// lock held only for that pointer operation (a few nanoseconds; readers never wait for a
/// build). Why not std::atomic<std::shared_ptr>: libstdc++ 12 implements it with a lock bit too,
/// and ThreadSanitizer reports its pointer read in load() racing with exchange(); a mutex gives
/// the same single swap with a happens-before edge every tool can see.
class snapshot_holder {
 public:
  snapshot_holder() = default;
  explicit snapshot_holder(std::shared_ptr<const snapshot> initial)
      : current_(std::move(initial)) {}

  /// The current snapshot (nullptr before the first publish). Keep it for the whole request.
  [[nodiscard]] std::shared_ptr<const snapshot> load() const noexcept {
    const std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  /// Makes `next` current; returns the one it replaced (freed by the caller, outside the lock,
  /// once the last reader lets go).
  std::shared_ptr<const snapshot> publish(std::shared_ptr<const snapshot> next) noexcept {
    const std::lock_guard<std::mutex> lock(mutex_);
    current_.swap(next);
    return next;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const snapshot> current_;
};

}  // namespace hashguard::matcher
