#include "hashguard/exchanges/registry.hpp"

#include "hg_catch.hpp"

#include <algorithm>

using namespace hashguard;

namespace {

exchanges::exchange_config folder_config() {
  exchanges::exchange_config c;
  c.name = "local";
  c.kind = "folder";
  c.url = "/tmp";
  c.feeds.push_back({core::signal::pdq, "local-pdq", 31, core::action::review});
  return c;
}

}  // namespace

TEST_CASE("registry: a kind maps to its source, bad settings are refused") {
  const auto kinds = exchanges::source_kinds();
  CHECK(std::any_of(kinds.begin(), kinds.end(), [](const auto& k) { return k.kind == "folder"; }));
  auto made = exchanges::make_source(folder_config());
  REQUIRE(made.has_value());
  CHECK((*made)->kind() == "folder");

  auto unknown = folder_config();
  unknown.kind = "carrier_pigeon";
  CHECK(exchanges::make_source(unknown).error() == exchanges::errc::bad_config);
  auto no_feed = folder_config();
  no_feed.feeds.clear();
  CHECK(exchanges::make_source(no_feed).error() == exchanges::errc::bad_config);
  auto bad_name = folder_config();
  bad_name.name = "no spaces";
  CHECK(exchanges::make_source(bad_name).error() == exchanges::errc::bad_config);
  auto bad_setting = folder_config();
  bad_setting.settings["signal"] = "tmk";
  CHECK(exchanges::make_source(bad_setting).error() == exchanges::errc::bad_config);
  auto unknown_setting = folder_config();
  unknown_setting.settings["colour"] = "blue";
  CHECK(exchanges::make_source(unknown_setting).error() == exchanges::errc::bad_config);
  // Kinds whose terms forbid resharing refuse reshare = true.
  for (const auto& k : kinds) {
    if (k.reshare_allowed) continue;
    auto c = folder_config();
    c.kind = std::string(k.kind);
    c.reshare = true;
    CHECK(exchanges::make_source(c).error() == exchanges::errc::bad_config);
  }

  const auto spec = exchanges::spec_of(folder_config());
  CHECK(spec.name == "local");
  CHECK(spec.kind == "folder");
  REQUIRE(spec.feeds.size() == 1);
  CHECK(spec.feeds[0].list == "local-pdq");
}
