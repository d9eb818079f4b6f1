// The StopNCII.org API on the wire, as pure functions (no I/O): the FetchHashes request and its
// JSON answer, SubmitFeedback, and the checkpoint stopncii.hpp's source stores. Learnt from
// python-threatexchange's StopNCII client (threatexchange/exchanges/clients/stopncii/api.py).
//
// GET BASE/FetchHashes?startTimestamp=S&pageSize=N[&nextPageToken=T], headers
// Ocp-Apim-Subscription-Key (every call) and x-functions-key (that endpoint's key), answers
//   {"count": 2, "nextPageToken": "..", "nextSetTimestamp": 1700000000, "hasMoreRecords": true,
//    "hashRecords": [{"lastModtimestamp": 1700000000, "signalType": "ImagePDQ",
//                     "hashValue": "..", "hashStatus": "Active", "caseNumbers": {..},
//                     "CSPFeedbacks": [{"feedbackValue": "Blocked", "tags": [..], "source":
//                     ".."}]}]}
// A record is the current state of one (signalType, hashValue); it becomes one source_entry:
// source_id the normalised hash value, signal "pdq" (ImagePDQ) or "md5" (VideoMD5: a file
// digest, matched as any MD5), other types their own name in lower case ("videotmk", "text",
// "url"), deleted when hashStatus is Withdrawn or Deleted, tags the CSPs' feedback tags,
// opinion "positive" when a CSP blocked it, "negative" when one found it not NCII, "disputed"
// for both, "" for neither; updated_at from lastModtimestamp.
#pragma once

#include "hashguard/core/error.hpp"
#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::exchanges::stopncii {

inline constexpr std::string_view default_base_url = "https://api.stopncii.org/v1";

struct keys {
  std::string subscription_key;       ///< Ocp-Apim-Subscription-Key, every call
  std::string fetch_function_key;     ///< x-functions-key of FetchHashes
  std::string feedback_function_key;  ///< x-functions-key of SubmitFeedback ("" = no feedback)
};

/// GET BASE/FetchHashes for the records changed after `start_timestamp` (seconds), resuming at
/// `page_token` when not empty.
[[nodiscard]] outbound::request fetch_request(std::string_view base_url, const keys& k,
                                              std::int64_t start_timestamp, int page_size,
                                              std::string_view page_token);

struct fetch_answer {
  std::vector<source_entry> entries;
  std::string next_page_token;        ///< "" when absent or null
  std::int64_t next_set_timestamp{};  ///< where the next run starts once this one is done
  bool has_more{false};               ///< hasMoreRecords
};

/// Parses a FetchHashes answer. errc::bad_page (nothing returned) for JSON that is not an
/// object, a record without signalType or hashValue, a hashguard signal whose value is not hex
/// of its length, another value that is not printable text of at most 4096 bytes, a missing
/// nextSetTimestamp, or hasMoreRecords without a nextPageToken.
[[nodiscard]] core::result<fetch_answer> parse_fetch_answer(std::string_view json);

/// POST BASE/SubmitFeedback with one hash's outcome: feedbackValue "Blocked" (confirmed) or
/// "NotBlocked" (dismissed), the tag as its one tag. errc::unsupported without a feedback key.
[[nodiscard]] core::result<outbound::request> feedback_request(std::string_view base_url,
                                                               const keys& k, const feedback& f);

/// Where a sync stands: the run's startTimestamp and, mid-run, the next page's token.
struct checkpoint {
  std::int64_t start{};     ///< startTimestamp of the run being fetched
  std::string token;        ///< nextPageToken; "" = the run's first page
  std::int64_t token_at{};  ///< when the token was received (tokens are short-lived)
};

[[nodiscard]] std::string encode_checkpoint(const checkpoint& c);
/// errc::bad_config for text encode_checkpoint did not write ("" is the start).
[[nodiscard]] core::result<checkpoint> decode_checkpoint(std::string_view text);

}  // namespace hashguard::exchanges::stopncii
