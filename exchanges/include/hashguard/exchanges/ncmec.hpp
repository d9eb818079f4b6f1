// An exchange source for NCMEC's Hash Sharing API v2 (ncmec_wire.hpp has the protocol).
//
// Sync: the entries of a time window [from, to) are fetched page by page (paging/next); NCMEC
// returns them in no time order, so the checkpoint keeps the window and the next link and moves
// `from` only once the window is exhausted. A first fetch of a window whose first page
// estimates more than max_window_entries shrinks the window before anything is returned;
// windows that stay small double. A next link older than next_link_lifetime is not used (NCMEC
// advises against keeping them): the window is fetched again from its start (entries already
// applied come again, as updates). The newest window ends `settle` before now; the sync is
// caught up (page.more false) once a window ends within `settle + min_window` of now.
// Feedback: a vote on the matched fingerprint (PUT .../feedback): confirmed = affirmative,
// dismissed = negative with a reason guid (the feedback's tag, else negative_reason, else the
// one reason NCMEC offers for that type; several and none chosen: bad_config).
//
// Credentials: HTTP Basic (username, password); the caller reads the password from
// `password_file` or the environment. Errors are codes only: nothing of the credentials, URLs
// or answers is in them.
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hashguard::exchanges {

struct ncmec_settings {
  /// "industry", "test_industry", ... (ncmec::environments()); config `environment`.
  std::string environment;
  /// Overrides the environment's base URL (a fake server in tests); config `base_url`.
  std::string base_url;
  std::string username;  ///< config `username`
  std::string password;  ///< config `password_file` (or the environment)
  /// Only entries of these members (ESP ids); empty = all. Config `member_ids`.
  std::vector<std::int64_t> member_ids;
  /// Where a first sync starts (seconds since the epoch). Config `start_time`.
  std::int64_t start_time{0};
  /// A window estimated above this many entries is narrowed first. Config `max_window_entries`.
  std::int64_t max_window_entries{250000};
  std::chrono::seconds next_link_lifetime{std::chrono::hours(12)};
  /// The newest window ends this long before now (entries stamped just now may still be
  /// arriving at the source). Config `settle_s`.
  std::chrono::seconds settle{5};
  std::chrono::seconds min_window{60};  ///< caught up within settle + this of now; `min_window_s`
  /// Down-vote reason guid when the feedback names none. Config `negative_reason`.
  std::string negative_reason;
  outbound::client_options http;
  outbound::retry_policy retry;
};

/// errc::bad_config when username or password is empty, or neither a known environment nor a
/// base_url is given.
[[nodiscard]] core::result<std::unique_ptr<source>> make_ncmec_source(ncmec_settings settings);

}  // namespace hashguard::exchanges
