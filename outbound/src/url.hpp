// The absolute http:// and https:// URLs http_client accepts, split into what a connection and
// a request line need. Internal to outbound.
#pragma once

#include "hashguard/core/error.hpp"

#include <string>
#include <string_view>

namespace hashguard::outbound::detail {

struct parsed_url {
  bool tls{};
  std::string host;         ///< lower-case name or address literal, IPv6 without brackets
  std::string port;         ///< decimal, the scheme's default when the URL names none
  std::string target;       ///< path and query ("/" when the URL has neither), no fragment
  std::string host_header;  ///< the Host field: host (IPv6 bracketed) and a non-default port
  [[nodiscard]] std::string connection_key() const {
    return (tls ? "https://" : "http://") + host + ":" + port;
  }
};

/// errc::bad_url unless `url` is scheme://host[:port][/path][?query][#fragment] with scheme
/// http or https, no user information, a host of letters, digits, '-', '.', '_' (or a bracketed
/// IPv6 literal), a port in 1-65535, and no byte outside visible ASCII.
[[nodiscard]] core::result<parsed_url> parse_url(std::string_view url);

}  // namespace hashguard::outbound::detail
