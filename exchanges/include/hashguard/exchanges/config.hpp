// The exchanges file: the exchanges a node follows (the `exchanges.file` setting names it).
//
// Format: one section per exchange, "key = value" lines, '#' comments, blank lines ignored:
//
//   [exchange ncmec-test]
//   kind = ncmec                      # a registered kind (registry.hpp)
//   url = https://...                 # the source's address (a directory for `folder`)
//   credential_file = /run/secrets/ncmec   # the secret, from a file ...
//   credential_env = HG_NCMEC_TOKEN        # ... or an environment variable; never inline
//   interval_s = 3600                 # between the end of a sync and the next (default 3600)
//   harm_type = csam                  # csam (default), ncii or tvec
//   feed.pdq = ncmec-pdq threshold=31 action=review   # the list fed per signal, and how it
//   feed.md5 = ncmec-md5 action=block                  # matches (defaults: the signal's
//                                                      # default threshold, review)
//   reshare = false                   # serve its lists to peers (default false)
//   feedback = false                  # send reviewers' outcomes back (default false)
//   auto_quarantine = false
//   setting.page_entries = 50000      # kind-specific settings, passed to the source
//
// A credential written inline ("credential = ...") is refused: secrets come from files or the
// environment only, and never appear in an error message. Errors name the line.
#pragma once

#include "hashguard/core/config.hpp"
#include "hashguard/exchanges/registry.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::exchanges {

struct config_problem {
  std::size_t line{};  ///< 1-based; 0 when it concerns a whole section
  std::string message;
};

/// Reads a secret: a file's contents (trailing newlines dropped) or an environment variable.
struct secret_reader {
  std::function<std::optional<std::string>(const std::string& path)> file;
  std::function<std::optional<std::string>(const std::string& name)> env;
};
/// Files through std::ifstream, variables through std::getenv.
[[nodiscard]] secret_reader system_secrets();

/// Parses the exchanges file. errc::bad_config with `problem` filled on the first error: an
/// unknown key, a malformed line or value, a duplicate name or signal, an inline credential, an
/// unreadable credential file or unset variable, or no feed.
[[nodiscard]] core::result<std::vector<exchange_config>> parse_exchanges(
    std::string_view text, const secret_reader& secrets, config_problem* problem = nullptr);

/// Declares `exchanges.file` (the path of the exchanges file; empty: no exchanges) and
/// `exchanges.feedback_interval_s` (how often serve sends queued feedback).
void declare_config(core::config& cfg);

/// The exchanges `exchanges.file` names (none when it is empty), parsed with parse_exchanges.
/// errc::bad_config with `problem` set when the file cannot be read or does not parse.
[[nodiscard]] core::result<std::vector<exchange_config>> load_exchanges(
    const core::config& cfg, const secret_reader& secrets, config_problem* problem = nullptr);

}  // namespace hashguard::exchanges
