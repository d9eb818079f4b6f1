#include "hashguard/exchanges/registry.hpp"

#include "hashguard/exchanges/config.hpp"

#include "hg_catch.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

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

namespace {

// The three protocol kinds as an operator writes them; secrets from a fixed table.
exchanges::exchange_config section(const std::string& body) {
  exchanges::secret_reader secrets;
  secrets.file = [](const std::string& path) -> std::optional<std::string> {
    if (path == "/run/secrets/x") return "pa55word";
    return std::nullopt;
  };
  secrets.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  exchanges::config_problem p;
  auto parsed = exchanges::parse_exchanges("[exchange x]\nfeed.pdq = x-pdq\n" + body, secrets, &p);
  INFO(p.message);
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->size() == 1);
  return (*parsed)[0];
}

// The problem make_source gives for a section (empty when it builds).
std::string refusal(const std::string& body) {
  std::string problem;
  auto made = exchanges::make_source(section(body), &problem);
  if (made) return "";
  CHECK(made.error() == exchanges::errc::bad_config);
  CHECK(problem.find("pa55word") == std::string::npos);
  return problem;
}

}  // namespace

TEST_CASE("registry: ncmec, stopncii and threatexchange are built from their sections") {
  const auto key = std::filesystem::temp_directory_path() / "hg_registry_fetch_key";
  std::ofstream(key) << "fetch-key\n";

  const std::string ncmec =
      "kind = ncmec\ncredential_file = /run/secrets/x\nsetting.environment = test_industry\n"
      "setting.username = esp\nsetting.member_ids = 12, 34\nsetting.start_time = 2024-01-01\n"
      "setting.max_window_entries = 1000\nsetting.negative_reason = r-1\n";
  const std::string stopncii =
      "kind = stopncii\ncredential_file = /run/secrets/x\n"
      "setting.base_url = http://127.0.0.1:1/v1\nsetting.fetch_key_file = " +
      key.string() + "\nsetting.page_size = 100\nsetting.start_time = 0\n";
  const std::string te =
      "kind = threatexchange\ncredential_file = /run/secrets/x\n"
      "setting.privacy_group = 1234\nsetting.page_size = 50\n"
      "setting.types = HASH_PDQ,HASH_MD5\n";
  for (const auto& [kind, body] : {std::pair{"ncmec", ncmec}, std::pair{"stopncii", stopncii},
                                   std::pair{"threatexchange", te}}) {
    std::string problem;
    auto made = exchanges::make_source(section(body), &problem);
    INFO(kind << ": " << problem);
    REQUIRE(made.has_value());
    CHECK((*made)->kind() == kind);
  }
  const auto kinds = exchanges::source_kinds();
  for (const auto& k : kinds) {
    if (k.kind == "ncmec" || k.kind == "stopncii") CHECK_FALSE(k.reshare_allowed);
  }
  CHECK(refusal(ncmec + "reshare = true\n").rfind("reshare:", 0) == 0);
  CHECK(refusal(stopncii + "reshare = true\n").rfind("reshare:", 0) == 0);
  CHECK(refusal(te + "reshare = true\n").empty());

  // Each refusal names the key at fault.
  const std::string no_user =
      "kind = ncmec\ncredential_file = /run/secrets/x\n"
      "setting.environment = test_industry\n";
  CHECK(refusal(no_user).rfind("setting.username:", 0) == 0);
  CHECK(refusal("kind = ncmec\nsetting.environment = test_industry\nsetting.username = e\n")
            .rfind("credential_file or credential_env:", 0) == 0);
  CHECK(refusal(no_user + "setting.username = e\nsetting.environment = moon\n")
            .rfind("setting.environment:", 0) == 0);
  CHECK(refusal(ncmec + "setting.member_ids = 12,x\n").rfind("setting.member_ids:", 0) == 0);
  CHECK(refusal(ncmec + "setting.start_time = yesterday\n").rfind("setting.start_time:", 0) == 0);
  CHECK(
      refusal(ncmec + "setting.max_window_entries = 0\n").rfind("setting.max_window_entries:", 0) ==
      0);
  CHECK(refusal(ncmec + "setting.colour = blue\n").rfind("setting.colour:", 0) == 0);
  CHECK(refusal(stopncii + "setting.page_size = 10001\n").rfind("setting.page_size:", 0) == 0);
  CHECK(refusal("kind = stopncii\ncredential_file = /run/secrets/x\n")
            .rfind("setting.fetch_key_file:", 0) == 0);
  CHECK(refusal(stopncii + "setting.feedback_key_file = /nonexistent/key\n")
            .rfind("setting.feedback_key_file:", 0) == 0);
  CHECK(refusal("kind = threatexchange\ncredential_file = /run/secrets/x\n")
            .rfind("setting.privacy_group:", 0) == 0);
  CHECK(refusal(te + "setting.page_size = 1001\n").rfind("setting.page_size:", 0) == 0);
  std::filesystem::remove(key);
}
