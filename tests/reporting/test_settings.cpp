// reporting.* settings: test by default, per-environment credentials, the production interlock.
#include "hashguard/reporting/settings.hpp"

#include "hashguard/core/errc.hpp"

#include "hg_catch.hpp"

namespace rp = hashguard::reporting;
namespace core = hashguard::core;

namespace {

core::result<rp::reporting_settings> settings_of(std::string_view text, std::string* problem) {
  core::config cfg;
  rp::declare_reporting_config(cfg);
  auto loaded = cfg.load_text(text, "test");
  REQUIRE(loaded.has_value());
  return rp::reporting_settings_from(cfg, problem);
}

}  // namespace

TEST_CASE("reporting settings: test by default with the test credentials") {
  std::string why;
  auto s = settings_of(
      "reporting.test.username = t-user\nreporting.test.password = t-pw\n"
      "reporting.production.username = p-user\nreporting.production.password = p-pw\n",
      &why);
  REQUIRE(s.has_value());
  CHECK(s->env == rp::environment::test);
  CHECK(s->base_url == "https://exttest.cybertip.org/ispws");
  CHECK(s->credentials.username == "t-user");
  CHECK(s->credentials.password == "t-pw");
  CHECK(s->max_attempts == 3);
  CHECK_FALSE(s->auto_file);
  CHECK(s->retry_delay == std::chrono::seconds(60));
}

TEST_CASE("reporting settings: production needs the interlock naming the ESP id") {
  const std::string prod =
      "reporting.environment = production\nreporting.production.username = p-user\n"
      "reporting.production.password = p-pw\nreporting.esp_id = ESP-77\n";
  std::string why;
  auto missing = settings_of(prod, &why);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == core::errc::config_bad_value);
  CHECK(why.find("production_interlock") != std::string::npos);

  why.clear();
  auto other = settings_of(prod + "reporting.production_interlock = ESP-78\n", &why);
  CHECK_FALSE(other.has_value());
  CHECK_FALSE(why.empty());

  auto ok = settings_of(prod + "reporting.production_interlock = ESP-77\n", &why);
  REQUIRE(ok.has_value());
  CHECK(ok->env == rp::environment::production);
  CHECK(ok->base_url == "https://report.cybertip.org/ispws");
  CHECK(ok->credentials.username == "p-user");
  CHECK(ok->esp_id == "ESP-77");

  why.clear();
  auto no_credentials = settings_of(
      "reporting.environment = production\nreporting.esp_id = E\n"
      "reporting.production_interlock = E\nreporting.test.username = t\n"
      "reporting.test.password = t\n",
      &why);
  CHECK_FALSE(no_credentials.has_value());
  CHECK(why.find("production.username") != std::string::npos);
}

TEST_CASE("reporting settings: bad values are refused") {
  for (const char* text : {"reporting.environment = staging\n", "reporting.max_attempts = 0\n",
                           "reporting.max_attempts = 21\n", "reporting.retry_delay_s = -1\n"}) {
    INFO(text);
    std::string why;
    auto s = settings_of(text, &why);
    CHECK_FALSE(s.has_value());
    CHECK_FALSE(why.empty());
  }
  std::string why;
  auto s = settings_of(
      "reporting.base_url = http://127.0.0.1:9/ispws/\nreporting.max_attempts = 5\n"
      "reporting.auto_file = true\n",
      &why);
  REQUIRE(s.has_value());
  CHECK(s->base_url == "http://127.0.0.1:9/ispws");
  CHECK(s->max_attempts == 5);
  CHECK(s->auto_file);
}
