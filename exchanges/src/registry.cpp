#include "hashguard/exchanges/registry.hpp"

#include "protocol_kinds.hpp"

#include "hashguard/exchanges/folder.hpp"

#include <array>
#include <regex>

namespace hashguard::exchanges {
namespace {

core::result<std::unique_ptr<source>> make_folder_kind(const exchange_config& config,
                                                       std::string& problem) {
  auto made = folder_source::make(config);
  if (!made) {
    problem = config.url.empty() ? "url: missing (the folder)"
                                 : "setting.signal or setting.page_entries: invalid or unknown "
                                   "setting (folder reads signal and page_entries)";
  }
  return made;
}

// One row per protocol. NCMEC's and StopNCII's terms forbid passing their entries on; for the
// others, the exchange's own `reshare` setting (off by default) decides.
constexpr std::array<source_kind, 5> kinds{{
    {"folder", &make_folder_kind, true},
    {"hashguard", &detail::make_hashguard_kind, true},
    {"ncmec", &detail::make_ncmec_kind, false},
    {"stopncii", &detail::make_stopncii_kind, false},
    {"threatexchange", &detail::make_threatexchange_kind, true},
}};

bool valid_name(std::string_view name) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return std::regex_match(name.begin(), name.end(), pattern);
}

}  // namespace

std::span<const source_kind> source_kinds() noexcept {
  return kinds;
}

core::result<std::unique_ptr<source>> make_source(const exchange_config& config,
                                                  std::string* problem) {
  std::string why;
  const auto refuse = [&](std::string message) {
    if (problem != nullptr) *problem = std::move(message);
    return errc::bad_config;
  };
  if (!valid_name(config.name)) return refuse("name: not [A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  if (config.feeds.empty()) return refuse("feed.*: no list to feed");
  if (config.interval.count() <= 0) return refuse("interval_s: must be positive");
  for (const auto& k : kinds) {
    if (k.kind != config.kind) continue;
    if (config.reshare && !k.reshare_allowed) {
      return refuse("reshare: the " + config.kind + " terms forbid serving its entries to peers");
    }
    auto made = k.make(config, why);
    if (!made && problem != nullptr) *problem = why;
    return made;
  }
  return refuse("kind: unknown kind " + config.kind);
}

hashdb::exchange_spec spec_of(const exchange_config& config) {
  hashdb::exchange_spec s;
  s.name = config.name;
  s.kind = config.kind;
  s.harm = config.harm;
  s.reshare = config.reshare;
  s.feedback = config.feedback;
  s.auto_quarantine = config.auto_quarantine;
  s.feeds = config.feeds;
  return s;
}

}  // namespace hashguard::exchanges
