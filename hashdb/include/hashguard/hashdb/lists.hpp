// Hash lists: the versioned store of known-item hashes (tables hash_lists and hashes).
//
// A list has a unique name, a source (NCMEC, IWF, internal...), one signal, a match threshold
// (Hamming distance for pdq/phash; 0 for digests), an action and a dihedral-matching switch.
// Its version changes on every edit (import, enable/disable, set, retire): versions come from
// one sequence, so catalog_version() (the largest) changes whenever any list does, and nodes
// poll it to know when to rebuild their snapshot. A retired list is disabled, read-only and
// kept for the case store's provenance.
//
// Imports are one transaction: lines are parsed in C++ (list_formats.hpp), streamed with COPY
// into a temporary staging table, then inserted in hash order, skipping what the list already
// holds (the list's row is locked for the import, so imports into one list never race), so
// re-importing a file changes nothing and the report names every rejected and duplicate line.
//
// A list_store borrows a connection (one per thread) and prepares its statements on it once.
#pragma once

#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/list_formats.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct hash_list {
  std::int64_t id{};
  std::string name;
  std::string source;
  core::signal sig{core::signal::pdq};
  int threshold{};
  core::action act{core::action::review};
  bool dihedral{true};
  /// The near-miss review band's top (perceptual lists): hits at threshold+1..review_threshold
  /// answer `review`, never block, and open near-miss cases. nullopt: no band.
  std::optional<int> review_threshold;
  /// Flood detection may quarantine this list's perceptual entries by itself (floods.hpp).
  bool auto_quarantine{false};
  /// vpdq lists (threshold = frame distance): the shares of query frames and of the list
  /// video's frames a match needs, percent (matcher::list_info).
  double video_query_percent{80.0};
  double video_compared_percent{0.0};
  bool enabled{true};
  bool retired{false};
  std::int64_t version{};
  std::int64_t entries{};
  std::string created_at;  ///< ISO 8601, UTC
  std::string updated_at;
};

struct list_spec {
  std::string name;  ///< [A-Za-z0-9][A-Za-z0-9._-]{0,63}
  std::string source{"internal"};
  core::signal sig{core::signal::pdq};
  int threshold{0};  ///< 0..256 (pdq), 0..64 (phash), 0 for digests
  core::action act{core::action::review};
  bool dihedral{true};
  bool enabled{true};
  std::optional<int> review_threshold;  ///< above threshold, <= the signal's bits; pdq/phash only
  bool auto_quarantine{false};
  double video_query_percent{80.0};    ///< vpdq: (0, 100]
  double video_compared_percent{0.0};  ///< vpdq: [0, 100]
};

/// Fields to change; unset ones stay.
struct list_changes {
  std::optional<bool> enabled;
  std::optional<int> threshold;
  std::optional<core::action> act;
  std::optional<bool> dihedral;
  std::optional<std::string> source;
  /// When set_review_threshold: the new band top, or nullopt to remove the band. (Two fields,
  /// not optional<optional<int>>: GCC 12 warns about the nested one's storage.)
  bool set_review_threshold{false};
  std::optional<int> review_threshold;
  std::optional<bool> auto_quarantine;
};

/// Whether `review_threshold` may be a band of a list with this signal and threshold: a
/// perceptual signal, above the threshold, within the hash's bits. The single rule the API,
/// the CLI and the store share (the database checks it again).
[[nodiscard]] bool valid_review_threshold(core::signal sig, int threshold, int review_threshold);
/// Whether a vpdq list's shares are valid: query in (0, 100] (a 0 % query share would match
/// videos no frame reaches), compared in [0, 100].
[[nodiscard]] bool valid_video_percents(double query_percent, double compared_percent);

struct import_options {
  std::optional<list_format> format;   ///< nullopt: detect from the file's start
  std::size_t max_listed_lines{1000};  ///< cap on the rejected/duplicate lines listed
  /// Called every `progress_every` lines and at the end with (lines read, bytes read).
  std::function<void(std::uint64_t, std::uint64_t)> progress;
  std::uint64_t progress_every{100000};
  /// vpdq lists: the name of the video a file without "# video:" lines holds (the reference's
  /// one-video files); empty = "video".
  std::string video_name;
};

struct import_line {
  std::uint64_t line{};  ///< 1-based
  std::string reason;    ///< "bad_hex: ...", "duplicate", ...
};

struct import_report {
  list_format format{list_format::hex};
  std::uint64_t lines{};                    ///< lines read
  std::uint64_t accepted{};                 ///< new entries stored
  std::uint64_t duplicates{};               ///< entries already in the list or repeated in the file
  std::uint64_t rejected{};                 ///< lines that are not a valid entry
  std::vector<import_line> rejected_lines;  ///< at most max_listed_lines, in line order
  std::vector<import_line> duplicate_lines;  ///< at most max_listed_lines, in line order
  std::int64_t version{};                    ///< the list's version after the import
  std::optional<list_metadata> metadata;     ///< the hashguard header, when the file had one
  /// Where the time went (wall): parsing and COPY into the staging table (the two overlap:
  /// rows stream as they are parsed), the deduplicating INSERT (sort, probes of the list's
  /// unique index, heap and index writes), the counts and duplicate listing, the commit.
  struct timings {
    std::chrono::nanoseconds stage{};
    std::chrono::nanoseconds insert{};
    std::chrono::nanoseconds report{};
    std::chrono::nanoseconds commit{};
  } time;
};

/// What disable_entry() did.
struct disabled_entry {
  std::int64_t list_id{};
  std::int64_t entry_id{};
  std::string value;        ///< the entry's hash or digest, lowercase hex
  std::string external_id;  ///< "" when none
  bool changed{false};      ///< false: it was disabled already (nothing written)
  std::int64_t version{};   ///< the list's version afterwards
};

class list_store {
 public:
  explicit list_store(connection& c) noexcept : conn_(c) {}

  /// errc::invalid_argument (name, threshold, review band), errc::already_exists (name taken).
  [[nodiscard]] core::result<hash_list> create(const list_spec& spec);
  /// Every list, retired ones only when asked; ordered by id.
  [[nodiscard]] core::result<std::vector<hash_list>> list(bool include_retired = false);
  [[nodiscard]] core::result<hash_list> get(std::string_view name);
  [[nodiscard]] core::result<hash_list> get(std::int64_t id);
  /// Applies changes and bumps the version. errc::conflict on a retired list;
  /// errc::invalid_argument when the resulting threshold and band do not fit together.
  [[nodiscard]] core::result<hash_list> update(std::string_view name, const list_changes& changes);
  /// Disables the list for good (kept for provenance). Idempotent.
  [[nodiscard]] core::result<hash_list> retire(std::string_view name);
  /// Disables one entry of a list for good: the way to clear a wrong entry (an exact digest
  /// that matched innocent content; cases.hpp refuses to suppress such content instead). The
  /// entry is retired (kept for the provenance of cases that matched it), the list's version
  /// moves so every node drops it at its next snapshot reload, and importing the same value
  /// again leaves it disabled. The audit row ("list.entry_disable", with `reason`) is written
  /// in the same transaction. Idempotent: a disabled entry answers changed=false, unaudited.
  /// errc::not_found (no such list, or the entry is not in it), errc::invalid_argument (an
  /// empty reason, or one over 10000 bytes).
  [[nodiscard]] core::result<disabled_entry> disable_entry(std::int64_t list_id,
                                                           std::int64_t entry_id,
                                                           std::string_view reason,
                                                           std::string_view actor);

  /// Imports `in` into the list. A hashguard-format file whose list does not exist yet creates
  /// it from its metadata (`name` wins over the file's name). errc::unknown_format when the
  /// format is not named and cannot be detected; errc::conflict for a retired list;
  /// errc::not_found for a missing list in any other format.
  [[nodiscard]] core::result<import_report> import(std::string_view name, std::istream& in,
                                                   const import_options& options = {});

  /// Writes the list's live entries in `format`, ordered by entry id. Returns the count.
  [[nodiscard]] core::result<std::uint64_t> export_to(std::string_view name, list_format format,
                                                      std::ostream& out);

  /// The largest list version (0 with no lists): changes whenever any list changes.
  [[nodiscard]] core::result<std::int64_t> catalog_version();

 private:
  /// The vPDQ video file (core/vpdq_text.hpp) into a vpdq list: one entry per video (value:
  /// SHA-256 of its frame text; external id: its name; frames in vpdq_frames). The report
  /// counts videos: accepted, duplicates (the same frames already in the list) and rejected
  /// (with the line and reason); `lines` is the file's line count.
  [[nodiscard]] core::result<import_report> import_vpdq(const hash_list& list, std::istream& in,
                                                        const import_options& options);
  connection& conn_;
};

}  // namespace hashguard::hashdb
