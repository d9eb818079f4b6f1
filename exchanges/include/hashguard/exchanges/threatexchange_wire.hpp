// Meta ThreatExchange's /threat_updates on the wire, as pure functions (no I/O): the request
// for a privacy group's updates, the JSON answer parsed into source entries, the access-token
// error, and the checkpoint threatexchange.hpp's source stores. Learnt from the Graph API's
// public reference and python-threatexchange (clients/fb_threatexchange/, impl/
// fb_threatexchange_api.py).
//
// GET BASE/GROUP/threat_updates/?access_token=T&start_time=S&limit=N&fields=..[&after=C]
// answers {"data": [{"id": "..", "indicator": "..", "type": "HASH_PDQ", "last_updated": 1700000000,
//                    "should_delete": false,
//                    "descriptors": {"data": [{"id": "..", "owner": {"id": ".."},
//                                              "status": "MALICIOUS", "tags": [..],
//                                              "reactions": [{"key": "HELPFUL", "value":
//                                              "1,2"}]}]}}],
//          "paging": {"cursors": {"after": ".."}, "next": ".."}}
// An update becomes one source_entry: source_id the indicator id, signal "pdq" (HASH_PDQ),
// "md5" (HASH_MD5, HASH_VIDEO_MD5, HASH_PHOTO_MD5), "sha1", "sha256" (HASH_SHA256,
// HASH_VIDEO_SHA256), other types in lower case without "hash_" ("tmk", "url_md5", "uri",
// ...); deleted when should_delete is true or the update has no descriptors; tags the
// descriptors' tags; opinion "positive" (a MALICIOUS descriptor), "negative" (only
// NON_MALICIOUS), "disputed" (both, or a DISAGREE_WITH_TAGS reaction on a positive), else "".
// The paging's `next` link carries the access token, so it is never kept: the client keeps the
// `after` cursor and builds the link itself.
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::exchanges::threatexchange {

inline constexpr std::string_view default_base_url = "https://graph.facebook.com/v21.0";

/// ThreatExchange keeps deletions 90 days; a checkpoint older than this re-fetches everything.
inline constexpr std::int64_t restart_after_seconds = std::int64_t{85} * 24 * 3600;

/// GET BASE/GROUP/threat_updates/ from `start_time` (seconds; 0 = everything), at cursor
/// `after` when not empty. `types` ("HASH_PDQ,HASH_MD5") narrows the types when not empty.
[[nodiscard]] outbound::request updates_request(std::string_view base_url,
                                                std::string_view access_token,
                                                std::string_view privacy_group,
                                                std::int64_t start_time, std::string_view after,
                                                int page_size, std::string_view types);

struct updates_answer {
  std::vector<source_entry> entries;
  std::string after;                ///< the next page's cursor; "" on the last page
  std::int64_t max_last_updated{};  ///< the latest last_updated on this page (0 when empty)
};

/// Parses one answer. errc::bad_page (nothing returned) for JSON that is not an object with a
/// "data" array, an update without id or type, a live update without indicator or
/// last_updated, a hashguard signal that is not hex of its length, or a `next` link without an
/// `after` cursor.
[[nodiscard]] core::result<updates_answer> parse_updates(std::string_view json);

/// Whether an answer says the access token is invalid or expired: 401 or 403, or the Graph
/// API's OAuthException (HTTP 400 with error.type "OAuthException" or error.code 190).
[[nodiscard]] bool is_token_error(int status, std::string_view body);

/// Where a sync stands: the run's start_time and, mid-run, the cursor of the next page.
struct checkpoint {
  std::int64_t start{};       ///< start_time of the run being fetched
  std::string after;          ///< the next page's cursor; "" = the run's first page
  std::int64_t high{};        ///< the latest last_updated delivered in this run
  std::int64_t fetched_at{};  ///< when the last page was fetched (the 85-day horizon)
};

[[nodiscard]] std::string encode_checkpoint(const checkpoint& c);
/// errc::bad_config for text encode_checkpoint did not write ("" is the start).
[[nodiscard]] core::result<checkpoint> decode_checkpoint(std::string_view text);

}  // namespace hashguard::exchanges::threatexchange
