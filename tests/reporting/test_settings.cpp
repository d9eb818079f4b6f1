// reporting.* settings: test by default, per-environment credentials, the production interlock.
#include "hashguard/reporting/settings.hpp"

#include "hashguard/core/errc.hpp"

#include "hg_catch.hpp"

namespace rp = hashguard::reporting;
namespace core = hashguard::core;

namespace {

// `text` as a config file, except the credentials (*.username, *.password), which come from
// the environment as they must (a config file's are refused: see the test below).
core::result<rp::reporting_settings> settings_of(std::string_view text, std::string* problem) {
  core::config cfg;
  rp::declare_reporting_config(cfg);
  std::string file;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    const std::string line(text.substr(at, end - at));
    at = end + 1;
    const auto eq = line.find(" = ");
    if (eq != std::string::npos && (line.find(".username") != std::string::npos ||
                                    line.find(".password") != std::string::npos)) {
      REQUIRE(cfg.set(line.substr(0, eq), line.substr(eq + 3), core::config_source::environment)
                  .has_value());
    } else {
      file += line + "\n";
    }
  }
  auto loaded = cfg.load_text(file, "test");
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

TEST_CASE("reporting settings: credentials only from a file or the environment") {
  for (const auto source : {core::config_source::flag, core::config_source::file}) {
    core::config cfg;
    rp::declare_reporting_config(cfg);
    REQUIRE(cfg.set("reporting.test.password", "pw", source).has_value());
    std::string why;
    auto s = rp::reporting_settings_from(cfg, &why);
    CHECK_FALSE(s.has_value());
    CHECK(why.find("reporting.test.password_file") != std::string::npos);
  }
  core::config cfg;
  rp::declare_reporting_config(cfg);
  // As resolve_secret_files() leaves it: the value with its _file companion set.
  REQUIRE(cfg.set("reporting.test.password_file", "/run/secrets/pw", core::config_source::flag)
              .has_value());
  REQUIRE(cfg.set("reporting.test.password", "pw", core::config_source::flag).has_value());
  std::string why;
  auto s = rp::reporting_settings_from(cfg, &why);
  REQUIRE(s.has_value());
  CHECK(s->credentials.password == "pw");
  CHECK_FALSE(s->allow_no_files);
  CHECK(s->lease == std::chrono::seconds(120));
}
