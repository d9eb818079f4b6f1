// The normalisation every protocol client applies to what a source states, so a page holds
// only entries that satisfy source_entry's contract (source.hpp): hashguard signals as
// lowercase hex of their length, other values as bounded printable text, bounded tags.
#pragma once

#include "hashguard/exchanges/source.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::exchanges::detail {

inline constexpr std::size_t max_value_bytes = 4096;
inline constexpr std::size_t max_tags = 32;
inline constexpr std::size_t max_tag_bytes = 128;
inline constexpr std::size_t max_source_id_bytes = 512;

/// Whether `signal` is one hashguard matches ("pdq", "phash", "md5", "sha1", "sha256").
[[nodiscard]] bool is_hashguard_signal(std::string_view signal) noexcept;

/// `value` made canonical for `signal`: surrounding ASCII blanks removed; for a hashguard signal
/// lowercase hex of exactly its length, for any other printable UTF-8 of at most 4096 bytes.
/// nullopt when it cannot be (the caller refuses the page).
[[nodiscard]] std::optional<std::string> normalise_value(std::string_view signal,
                                                         std::string_view value);

/// Adds `tag` (trimmed) to `tags` unless it is empty, not printable UTF-8, over 128 bytes, already
/// there, or the list already holds 32: a source's labels are provenance, never a reason to
/// refuse a page.
void add_tag(std::vector<std::string>& tags, std::string_view tag);

/// Whether `id` can be a source_id: 1 to 512 bytes of printable UTF-8.
[[nodiscard]] bool valid_source_id(std::string_view id) noexcept;

/// `text` in lower case (ASCII only).
[[nodiscard]] std::string ascii_lower(std::string_view text);

/// `text` without leading and trailing spaces, tabs, CR and LF.
[[nodiscard]] std::string_view trim(std::string_view text) noexcept;

/// Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC).
[[nodiscard]] std::string iso_utc(std::int64_t seconds);

/// "YYYY-MM-DDTHH:MM:SS[.fraction]Z" -> whole seconds since the epoch; nullopt otherwise.
[[nodiscard]] std::optional<std::int64_t> parse_iso_utc(std::string_view text) noexcept;

/// `text` percent-encoded for a URL query value (RFC 3986 unreserved characters kept).
[[nodiscard]] std::string query_escape(std::string_view text);

}  // namespace hashguard::exchanges::detail
