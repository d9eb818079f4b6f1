// Hash list text formats: line parsers and writers. Pure functions and small value types: no
// database, no I/O (the list store feeds them lines), so they are unit-tested and fuzzed alone.
//
// Formats (README "Hash list formats"):
//   hex        one hash per line, optionally ",entry_id"; '#' starts a comment line.
//   te-local   ThreatExchange / HMA local-file form: "signal_type signal [entry_id]" per line,
//              e.g. "pdq 9c3a...". Type names: pdq, phash, md5 (also photo_md5), sha1, sha256.
//   csv        a header row naming a `hash` (or `signal`, `signal_value`) column, optionally
//              `id`, `quality`, `note`, `signal_type`; RFC 4180 quoting; other columns ignored.
//   hashguard  hashguard's own export: "# hashguard-list v1" then "# key: value" metadata
//              lines (name, source, signal, threshold, action, dihedral, version, entries),
//              then the csv form with header "hash,id,quality,note".
// Every format: a UTF-8 BOM on the first line is skipped, "\r\n" line ends are accepted, blank
// lines are skipped, hex digits may be upper case (stored lower case). The list's signal
// decides the expected length: pdq 64 hex digits, phash 16, md5 32, sha1 40, sha256 64.
#pragma once

#include "hashguard/core/vocabulary.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

enum class list_format : std::uint8_t { hex, te_local, csv, hashguard };

[[nodiscard]] std::string_view to_string(list_format f) noexcept;
/// "hex", "te-local" (also "te_local"), "csv", "hashguard".
[[nodiscard]] std::optional<list_format> parse_list_format(std::string_view name) noexcept;

/// Guesses the format from the start of a file (a few KiB is plenty): the hashguard header,
/// else the first line that is not blank or a comment: a csv header (a comma and a `hash` or
/// `signal` column name), a "signal_type hex" pair, or hex. nullopt when nothing looks like a
/// hash list (binary data, or no content line).
[[nodiscard]] std::optional<list_format> detect_list_format(std::string_view head) noexcept;

/// The metadata of a list as the hashguard format carries it.
struct list_metadata {
  std::string name;
  std::string source{"internal"};
  core::signal sig{core::signal::pdq};
  int threshold{0};
  core::action act{core::action::review};
  bool dihedral{true};
  std::optional<int> review_threshold;  ///< "# review_threshold: N" (absent: no band)
  std::int64_t version{0};
  std::int64_t entries{0};
};

/// One entry as a file states it.
struct list_entry {
  std::string value;        ///< normalised lowercase hex of the signal's length
  std::string external_id;  ///< the source's id for the item; empty when none
  std::optional<int> quality;
  std::string note;
};

enum class line_kind : std::uint8_t { entry, skipped, rejected };

struct line_result {
  line_kind kind{line_kind::skipped};
  list_entry entry;    ///< when kind == entry
  std::string reason;  ///< when kind == rejected: a stable code and a detail, "bad_hex: ..."
};

/// Stable rejection codes (the prefix of line_result::reason).
namespace reject {
inline constexpr std::string_view bad_hex = "bad_hex";
inline constexpr std::string_view wrong_length = "wrong_length";
inline constexpr std::string_view unknown_signal = "unknown_signal";
inline constexpr std::string_view signal_mismatch = "signal_mismatch";
inline constexpr std::string_view bad_quality = "bad_quality";
inline constexpr std::string_view bad_field = "bad_field";
inline constexpr std::string_view no_header = "no_header";
inline constexpr std::string_view bad_metadata = "bad_metadata";
}  // namespace reject

/// Parses a file line by line. Holds the csv column map and the hashguard metadata read so
/// far; otherwise stateless. One parser per file; not thread-safe.
class list_parser {
 public:
  list_parser(list_format format, core::signal expected) noexcept
      : format_(format), expected_(expected) {}

  /// One line without its '\n' ('\r' and a first-line BOM are stripped here).
  [[nodiscard]] line_result parse_line(std::string_view line);

  /// The hashguard header's metadata (hashguard format, after its header lines).
  [[nodiscard]] const std::optional<list_metadata>& metadata() const noexcept { return meta_; }
  [[nodiscard]] list_format format() const noexcept { return format_; }

 private:
  line_result parse_hex(std::string_view line) const;
  line_result parse_te(std::string_view line) const;
  line_result parse_csv(std::string_view line);
  line_result parse_meta(std::string_view line);
  line_result value_entry(std::string_view value, list_entry entry) const;

  list_format format_;
  core::signal expected_;
  bool first_line_{true};
  bool in_header_{true};  // hashguard: still reading "# key: value" lines
  // csv column positions; -1 when absent
  bool have_columns_{false};
  int col_value_{-1};
  int col_id_{-1};
  int col_quality_{-1};
  int col_note_{-1};
  int col_type_{-1};
  std::optional<list_metadata> meta_;
};

/// Checks and normalises one hash value for a signal: lowercase hex of the signal's length.
/// On failure returns nullopt and sets `reason` ("bad_hex: ..." or "wrong_length: ...").
[[nodiscard]] std::optional<std::string> normalize_hash(std::string_view text, core::signal sig,
                                                        std::string& reason);

/// A te-local type name to a signal: pdq, phash, md5, photo_md5, sha1, sha256.
[[nodiscard]] std::optional<core::signal> parse_te_signal(std::string_view name) noexcept;

/// Splits one csv line into fields (RFC 4180 quoting within the line). nullopt when a quote
/// is not closed.
[[nodiscard]] std::optional<std::vector<std::string>> split_csv(std::string_view line);
/// Quotes a csv field when it holds a comma, quote, CR or LF, or starts or ends with a space or
/// tab (what split_csv trims from unquoted fields).
[[nodiscard]] std::string csv_field(std::string_view text);

/// The header of the hashguard format (lines ending in '\n', csv header included).
[[nodiscard]] std::string hashguard_header(const list_metadata& meta);
/// One entry line (with '\n') in the given format for a list of signal `sig`.
[[nodiscard]] std::string format_entry(list_format format, core::signal sig,
                                       const list_entry& entry);
/// The first lines of an export in `format` (csv header, comments); may be empty.
[[nodiscard]] std::string format_header(list_format format, const list_metadata& meta);

}  // namespace hashguard::hashdb
