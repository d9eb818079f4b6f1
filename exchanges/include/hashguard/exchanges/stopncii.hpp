// An exchange source for StopNCII.org (stopncii_wire.hpp has the protocol).
//
// Sync: FetchHashes from the stored startTimestamp, page by page with nextPageToken; the
// checkpoint keeps the run's startTimestamp and the token, and once a run has no more records
// it moves to the answer's nextSetTimestamp (page.more false: caught up). A token older than
// token_lifetime is not used: the run is fetched again from its start (records come again as
// updates). A Withdrawn or Deleted hash is a deleted entry. Feedback (when a feedback function
// key is set): SubmitFeedback with Blocked (confirmed) or NotBlocked (dismissed) and the
// feedback's tag.
//
// Credentials: the subscription key and the function keys (the caller reads them from
// `*_file` settings or the environment); errors are codes only.
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace hashguard::exchanges {

struct stopncii_settings {
  std::string base_url{"https://api.stopncii.org/v1"};  ///< config `base_url`
  std::string subscription_key;                         ///< config `subscription_key_file`
  std::string fetch_function_key;                       ///< config `fetch_key_file`
  std::string feedback_function_key;  ///< config `feedback_key_file` ("" = no feedback)
  int page_size{800};                 ///< config `page_size` (1..10000)
  std::int64_t start_timestamp{0};    ///< where a first sync starts; config `start_time`
  std::chrono::seconds token_lifetime{std::chrono::hours(1)};
  outbound::client_options http;
  outbound::retry_policy retry;
};

/// errc::bad_config without a base URL, subscription key or fetch key, or a page size out of range.
[[nodiscard]] core::result<std::unique_ptr<source>> make_stopncii_source(
    stopncii_settings settings);

}  // namespace hashguard::exchanges
