#include "hashguard/exchanges/registry.hpp"

#include "hashguard/exchanges/folder.hpp"

#include <array>
#include <regex>

namespace hashguard::exchanges {
namespace {

// One row per protocol. NCMEC's and StopNCII's terms forbid passing their entries on.
constexpr std::array<source_kind, 1> kinds{{
    {"folder", &folder_source::make, true},
}};

bool valid_name(std::string_view name) {
  static const std::regex pattern("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  return std::regex_match(name.begin(), name.end(), pattern);
}

}  // namespace

std::span<const source_kind> source_kinds() noexcept {
  return kinds;
}

core::result<std::unique_ptr<source>> make_source(const exchange_config& config) {
  if (!valid_name(config.name) || config.feeds.empty() || config.interval.count() <= 0) {
    return errc::bad_config;
  }
  for (const auto& k : kinds) {
    if (k.kind != config.kind) continue;
    if (config.reshare && !k.reshare_allowed) return errc::bad_config;
    return k.make(config);
  }
  return errc::bad_config;
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
