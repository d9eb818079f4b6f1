// An exchange source for a Meta ThreatExchange privacy group's /threat_updates stream
// (threatexchange_wire.hpp has the protocol).
//
// Sync: updates from the stored start_time, page by page with the `after` cursor; once a run
// has no next page, the next run starts at the latest last_updated delivered (updates at that
// second come again, as updates). ThreatExchange keeps deletions 90 days, so a checkpoint whose
// last fetch is older than 85 days starts over from the beginning with page.restart set: what
// the re-fetch does not deliver again is deleted at its end. should_delete updates (and updates
// left without descriptors) are deleted entries. No feedback (reactions need descriptor ids).
//
// Credentials: the access token ("APP_ID|SECRET"), sent as the access_token parameter; the
// Graph API's OAuthException (an expired or revoked token, which cannot be renewed here) is
// errc::unauthorized. The paging `next` link carries the token, so it is never stored.
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <memory>
#include <string>

namespace hashguard::exchanges {

struct threatexchange_settings {
  std::string base_url{"https://graph.facebook.com/v21.0"};  ///< config `base_url`
  std::string access_token;                                  ///< config `access_token_file`
  std::string privacy_group;  ///< the group's numeric id; config `privacy_group`
  int page_size{500};         ///< config `page_size` (1..1000)
  /// Comma-separated ThreatExchange types to fetch ("HASH_PDQ,HASH_MD5"); "" = all.
  /// Config `types`.
  std::string types;
  outbound::client_options http;
  outbound::retry_policy retry;
};

/// errc::bad_config without a base URL, access token or a numeric privacy group, or a page
/// size out of range.
[[nodiscard]] core::result<std::unique_ptr<source>> make_threatexchange_source(
    threatexchange_settings settings);

}  // namespace hashguard::exchanges
