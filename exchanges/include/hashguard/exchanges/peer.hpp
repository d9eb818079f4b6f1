// An exchange source that follows a list of another hashguard instance through its change
// feed (peer_wire.hpp has the protocol; the serving side is GET /v1/lists/{id}/changes).
//
// Sync: pages from the stored cursor until the peer says more == false; the cursor moves only
// with a page applied, so a crash resumes where it stopped. Retired and deleted entries at the
// peer are deleted here. The peer refuses with 403 a list fed by an exchange whose reshare is
// off (errc::unauthorized here, the peer's message kept as the detail) and answers 404 for a
// list outside the key's scope (errc::bad_config). No feedback.
//
// Credentials: the peer's API key (role exchange), from credential_file or credential_env.
#pragma once

#include "hashguard/exchanges/source.hpp"
#include "hashguard/outbound/http_client.hpp"

#include <memory>
#include <string>

namespace hashguard::exchanges {

struct peer_settings {
  std::string base_url;  ///< the peer's address (the exchange's `url`, or setting.base_url)
  std::string key;       ///< its API key of role exchange (the credential)
  std::string list;      ///< the peer's list, by name or id; config `list`
  int page_size{1000};   ///< config `page_size` (1..10000)
  outbound::client_options http;
  outbound::retry_policy retry;
};

/// errc::bad_config without a base URL, key or list, or a page size out of range.
[[nodiscard]] core::result<std::unique_ptr<source>> make_peer_source(peer_settings settings);

}  // namespace hashguard::exchanges
