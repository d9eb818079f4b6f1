// A match event: one scan that matched one or more list entries (DESIGN.md section 3 step 4).
// The api builds it, the recorder stores it (PostgreSQL or the spool), the case store groups
// it into a case. Plain value type.
#pragma once

#include "hashguard/core/vocabulary.hpp"
#include "hashguard/hashdb/errc.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct event_hit {
  std::int64_t list_id{};
  std::int64_t entry_id{};
  core::signal sig{core::signal::pdq};
  int distance{};
  int threshold{};
  std::int64_t list_version{};
  core::action act{core::action::review};
  core::dihedral variant{core::dihedral::original};
};

/// Who uploaded the content, as the ingest request said (X-Uploader-Account, X-Uploader-Ip,
/// X-Uploader-Time; issue 19): the CyberTipline report's reported person. Personal data: never
/// logged, purged with the events of a dismissed case. Each part is optional ("" / 0: absent).
struct uploader_info {
  std::string account;   ///< the uploader's account id on the platform (UTF-8, printable)
  std::string ip;        ///< canonical IPv4 / IPv6 text (core::parse_ip_address)
  std::int64_t at_us{};  ///< when they uploaded it, microseconds since the epoch; 0: unknown
  [[nodiscard]] bool empty() const noexcept { return account.empty() && ip.empty() && at_us == 0; }
  friend bool operator==(const uploader_info&, const uploader_info&) = default;
};

/// The longest uploader account an event stores, in bytes.
inline constexpr std::size_t max_uploader_account_bytes = 256;

struct match_event {
  std::string id;                 ///< UUID text; the recorder assigns one when empty
  std::int64_t occurred_us{};     ///< microseconds since the Unix epoch; 0 = now
  std::string zone;               ///< the customer zone (required)
  std::string source_url;         ///< UTF-8; the scan path keeps it to max_source_url_bytes
  bool source_url_truncated{};    ///< source_url is the first part of a longer URL
  std::string request_id;         ///< X-Request-Id; with zone and sha256, deduplicated in a window
  std::string node;               ///< the hashguard node that scanned
  std::string md5, sha1, sha256;  ///< lowercase hex of the content's digests, or empty
  std::string pdq;                ///< 64 hex, or empty
  std::optional<int> pdq_quality;
  std::string phash;                       ///< 16 hex, or empty
  core::action act{core::action::review};  ///< the strictest action among the hits
  std::vector<event_hit> hits;
  uploader_info uploader;  ///< empty when the ingest request named no uploader
  /// The caller was already answered with this event's own id (the recorder spooled it): the
  /// database stores it as its own event even when its (zone, request id, SHA-256) repeats a
  /// stored event's, so the id the caller holds always exists. Set by the recorder.
  bool answered{};
};

/// The longest source URL an event stores, in bytes (issue 15): the cache layer truncates
/// longer ones and says so; hashguard cuts one that arrives longer anyway.
inline constexpr std::size_t max_source_url_bytes = 8192;

/// A random (version 4) UUID in text form.
[[nodiscard]] std::string new_uuid();
/// Microseconds since the Unix epoch, now.
[[nodiscard]] std::int64_t now_us();

/// Checks what the database would refuse (zone set, hex fields well-formed, UUID form, at
/// least one hit, an uploader account of printable UTF-8 within max_uploader_account_bytes, an
/// uploader IP in canonical form). errc::invalid_argument otherwise.
[[nodiscard]] core::result<void> validate(const match_event& e);

/// The JSON object hg_record_event takes and the spool stores.
[[nodiscard]] std::string to_json(const match_event& e);
[[nodiscard]] core::result<match_event> event_from_json(std::string_view json);

}  // namespace hashguard::hashdb
