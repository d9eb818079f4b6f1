// The NCMEC Hash Sharing API v2 on the wire, as pure functions (no I/O): the environments'
// base URLs, the entries request and its paging, the XML answer parsed into source entries,
// feedback votes, and the checkpoint ncmec.hpp's source stores. Used by the source, by the
// fake server of the tests and by the fuzz target; learnt from NCMEC's public documentation
// (report.cybertip.org/hashsharing/v2/documentation.pdf) and python-threatexchange's client.
//
// The answer (namespace https://hashsharing.ncmec.org/hashsharing/v2, ignored here):
//   <queryResult>
//     <images count=".." maxTimestamp="..">
//       <image> <member id="42">name</member> <timestamp>ISO</timestamp> <id>..</id>
//               <classification>A1</classification>
//               <fingerprints><md5>..</md5><sha1>..</sha1><pdq>..</pdq><pdna>..</pdna>
//                             <tmk-pdqf href=".."/>...</fingerprints>
//               <feedback><affirmativeFeedback type="Md5">..</affirmativeFeedback>
//                         <negativeFeedback type="Sha1">..</negativeFeedback></feedback>
//       </image>
//       <deletedImage> <member id=".."/> <id>..</id> <timestamp>..</timestamp> </deletedImage>
//     </images>
//     <videos> <video>..</video> <deletedVideo>..</deletedVideo> </videos>
//     <paging><next>/v2/entries?from=..&amp;to=..&amp;start=2001&amp;size=1000&amp;max=3000</next></paging>
//   </queryResult>
//
// Entries become source_entry values, one per fingerprint that has text (a fingerprint given
// only by reference, like <tmk-pdqf href=".."/>, is skipped): source_id "MEMBER-ID" (NCMEC's
// ids are unique per member), signal the fingerprint's element name in lower case with '-' as
// '_' ("md5", "sha1", "pdq" are matched; "pdna", "tmk_pdqf", "videntifier", ... are stored),
// tags the classification (A1, A2, B1, B2) and "ncmec_member:ID", opinion "disputed" when
// another member voted the fingerprint down, else "positive", updated_at the timestamp.
// A deleted entry carries no fingerprints: it becomes one deleted source_entry per fingerprint
// type NCMEC documents (known_fingerprint_types), so every signal of that entry goes.
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/exchanges/source.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::exchanges::ncmec {

/// One NCMEC database; every one has a test twin named "test_" + name.
struct environment_info {
  std::string_view name;
  std::string_view base_url;
};

/// Every environment and test twin ("industry", "test_industry", "industry_exploitative",
/// "law_enforcement", "ngo", "exploitative", "ngo_generative_ai",
/// "ngo_generative_ai_exploitative", each also with "test_").
[[nodiscard]] std::span<const environment_info> environments() noexcept;

/// The base URL of an environment by name; nullopt for an unknown name.
[[nodiscard]] std::optional<std::string_view> environment_base_url(std::string_view name) noexcept;

/// The fingerprint types NCMEC documents, as this client names them (lower case, '_').
inline constexpr std::array<std::string_view, 9> known_fingerprint_types{
    "md5",         "sha1",     "pdq",       "pdna",           "netclean",
    "videntifier", "tmk_pdqf", "ssvh_pdna", "ssvh_safer_hash"};

struct parse_options {
  /// Only entries of these members (ESP ids); empty = every member.
  std::vector<std::int64_t> only_member_ids;
};

struct entries_answer {
  std::vector<source_entry> entries;
  /// paging/next as sent (a path beginning "/v2/entries?"); "" on a window's last page.
  std::string next;
  /// How many NCMEC entries the window holds from this page on, from paging's start and max
  /// (as python-threatexchange estimates): this page's entries + max - start + 1; this page's
  /// entries on the last page.
  std::int64_t estimated_total{};
};

/// Parses one entries answer. errc::bad_page (nothing returned) for XML that is not
/// well-formed, has a DOCTYPE, nests deeper than 32, is not a <queryResult>, holds an entry
/// without an id or numeric member id, an entry element of an unknown kind, a hashguard
/// fingerprint that is not hex of its length, or a next that is not a /v2/entries path.
[[nodiscard]] core::result<entries_answer> parse_entries(std::string_view xml,
                                                         const parse_options& options = {});

/// BASE/v2/entries?from=..&to=.. for the window [from, to) in seconds since the epoch.
[[nodiscard]] std::string entries_url(std::string_view base_url, std::int64_t from,
                                      std::int64_t to);
/// The URL of a next page: BASE + next.
[[nodiscard]] std::string next_url(std::string_view base_url, std::string_view next);
/// Whether `next` can be appended to the base URL: "/v2/entries?" followed by at most 2 KiB of
/// URL characters (no blank, '#', '\\' or control character).
[[nodiscard]] bool valid_next(std::string_view next) noexcept;

/// Where a vote on one fingerprint goes: PUT BASE/v2/entries/MEMBER/ID/TYPE/feedback.
/// errc::bad_config when source_id is not "MEMBER-ID" or the signal is not an NCMEC type.
[[nodiscard]] core::result<std::string> feedback_url(std::string_view base_url,
                                                     std::string_view source_id,
                                                     std::string_view signal);
/// The vote's XML body: <affirmative/> or <negative><reasonIds><guid>..</guid></reasonIds>.
[[nodiscard]] std::string feedback_body(bool positive, std::string_view reason_guid);
/// GET BASE/v2/feedback/TYPE/reasons: the reasons a down-vote of that type may give.
[[nodiscard]] core::result<std::string> feedback_reasons_url(std::string_view base_url,
                                                             std::string_view signal);

struct feedback_reason {
  std::string guid;
  std::string name;
};
/// The <availableFeedbackReasons> answer; errc::bad_page when it does not parse.
[[nodiscard]] core::result<std::vector<feedback_reason>> parse_feedback_reasons(
    std::string_view xml);

/// Where a sync stands: the time window being fetched and, mid-window, the next page's path.
/// NCMEC does not return a window's entries in time order, so only a fully fetched window
/// moves `from`.
struct checkpoint {
  std::int64_t from{};     ///< start of the window being fetched (seconds since the epoch)
  std::int64_t to{};       ///< its end; 0 = no window open (the next fetch opens [from, ..))
  std::int64_t span{};     ///< the window length chosen last (grows when windows are small)
  std::string next;        ///< the next page's path inside [from, to); "" = window not started
  std::int64_t next_at{};  ///< when `next` was received (NCMEC's paging links expire)
};

[[nodiscard]] std::string encode_checkpoint(const checkpoint& c);
/// errc::bad_config for text encode_checkpoint did not write ("" is the start: all zero).
[[nodiscard]] core::result<checkpoint> decode_checkpoint(std::string_view text);

}  // namespace hashguard::exchanges::ncmec
