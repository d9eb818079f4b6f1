// The registry of exchange kinds: from an exchange's `kind` to the constructor of its source.
// One small table (src/registry.cpp); a new protocol adds one row there.
#pragma once

#include "hashguard/core/vocabulary.hpp"
#include "hashguard/exchanges/source.hpp"
#include "hashguard/hashdb/exchange_store.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::exchanges {

/// One configured exchange (the `exchanges` section of the configuration file).
struct exchange_config {
  std::string name;  ///< [A-Za-z0-9][A-Za-z0-9._-]{0,63}
  std::string kind;  ///< a registered kind (source_kinds())
  /// The source's address: an https URL, or a directory for `folder`.
  std::string url;
  /// The secret the source authenticates with (token, API key, password), read by the caller
  /// from a `*_file` setting or the environment. Never logged or put in an error message.
  std::string credential;
  /// Kind-specific settings (`setting.KEY` in the exchanges file), read by the kind: folder:
  /// signal, page_entries; ncmec: environment, base_url, username, member_ids, start_time,
  /// max_window_entries, negative_reason; stopncii: base_url, fetch_key_file,
  /// feedback_key_file, page_size, start_time; threatexchange: base_url, privacy_group,
  /// page_size, types; hashguard: base_url, list, page_size. An unknown key is refused.
  std::map<std::string, std::string, std::less<>> settings;
  std::chrono::seconds interval{3600};
  core::harm_type harm{core::harm_type::csam};
  std::vector<hashdb::exchange_feed> feeds;  ///< the list fed per signal
  bool reshare{false};  ///< serve its lists to peers; refused for kinds that forbid it
  bool feedback{false};
  bool auto_quarantine{false};
};

/// Builds a kind's source from its configuration; on errc::bad_config, sets `problem` to a
/// message naming the key at fault (never the credential).
using source_factory = core::result<std::unique_ptr<source>> (*)(const exchange_config&,
                                                                 std::string& problem);

struct source_kind {
  std::string_view kind;
  source_factory make;
  /// Whether the source's terms allow serving its entries to other instances (false for
  /// NCMEC and StopNCII).
  bool reshare_allowed;
};

/// Every registered kind, in table order.
[[nodiscard]] std::span<const source_kind> source_kinds() noexcept;

/// Checks the configuration against its kind (errc::bad_config: unknown kind, reshare where
/// the kind forbids it, no feed, a bad name, a missing or bad setting) and constructs the
/// source. On error, `problem` (when given) names what is wrong: the key for a setting
/// ("setting.page_size: ..."); it never holds the credential.
[[nodiscard]] core::result<std::unique_ptr<source>> make_source(const exchange_config& config,
                                                                std::string* problem = nullptr);

/// The store's view of a configuration (for hashdb::exchange_store::register_exchange).
[[nodiscard]] hashdb::exchange_spec spec_of(const exchange_config& config);

}  // namespace hashguard::exchanges
