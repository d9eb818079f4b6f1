#include "hashguard/api/options.hpp"

#include "hg_catch.hpp"

#include <algorithm>
#include <thread>

using namespace hashguard;

TEST_CASE("the embedded defaults are the documented ones") {
  core::config cfg;
  api::declare_config(cfg);
  auto o = api::options_from(cfg);
  REQUIRE(o);
  CHECK(o->address == "127.0.0.1");
  CHECK(o->port == 8080);
  CHECK(o->io_threads == std::max(1U, std::thread::hardware_concurrency()));  // 0: one per core
  CHECK(o->scan_threads >= 1);  // 0 means one per core
  CHECK(o->header_limit == 16 * 1024);
  CHECK(o->body_limit(api::body_class::image) == 32 * 1024 * 1024);
  CHECK(o->body_limit(api::body_class::json) == 1024 * 1024);
  CHECK(o->body_limit(api::body_class::none) == 1024 * 1024);
  CHECK(o->body_limit(api::body_class::video) == 256 * 1024 * 1024);
  CHECK(o->video_threads == 2);  // a few decoder processes at once, never the scan pool's
  CHECK(o->video_queue == 16);
  CHECK(o->keepalive_max_requests == 1000);
  CHECK(o->max_connections == 1024);
  CHECK(o->body_budget == 1024 * 1024 * 1024);  // 32 image bodies, not 1,024 x 32 MiB
  CHECK_FALSE(o->tls());
  CHECK(o->rate_limit_per_s == 500);  // per-key rate limits are on by default
  CHECK(o->rate_limit_burst == 1000);
  auto keys = api::keys_from(cfg);
  REQUIRE(keys);
  CHECK(keys->empty());
}

TEST_CASE("file, environment and flags override - values are validated") {
  core::config cfg;
  api::declare_config(cfg);
  REQUIRE(cfg.load_text("http.port = 9090\nhttp.read_timeout_ms = 250\n", "test"));
  REQUIRE(cfg.apply_flags({"--http-io-threads=3", "--http.max_connections", "10"}));
  auto o = api::options_from(cfg);
  REQUIRE(o);
  CHECK(o->port == 9090);
  CHECK(o->read_timeout == std::chrono::milliseconds(250));
  CHECK(o->io_threads == 3);
  CHECK(o->max_connections == 10);

  // The video body limit is its own key, and no more than the body budget.
  REQUIRE(cfg.set("http.body_limit_video_bytes", "1000", core::config_source::flag));
  REQUIRE(api::options_from(cfg));
  CHECK(api::options_from(cfg)->body_limit(api::body_class::video) == 1000);
  REQUIRE(cfg.set("http.body_limit_video_bytes", "2147483648", core::config_source::flag));
  CHECK(api::options_from(cfg).error() == api::errc::malformed);  // over the 1 GiB budget
  REQUIRE(cfg.set("http.body_limit_video_bytes", "1000", core::config_source::flag));
  REQUIRE(cfg.set("http.video_threads", "0", core::config_source::flag));
  CHECK_FALSE(api::options_from(cfg));
  REQUIRE(cfg.set("http.video_threads", "1", core::config_source::flag));

  REQUIRE(cfg.set("http.port", "70000", core::config_source::flag));
  CHECK(api::options_from(cfg).error() == api::errc::malformed);
  REQUIRE(cfg.set("http.port", "0", core::config_source::flag));
  REQUIRE(cfg.set("http.tls_cert", "/tmp/cert.pem", core::config_source::flag));
  CHECK_FALSE(api::options_from(cfg));  // a certificate without a key
  REQUIRE(cfg.set("http.tls_key", "/tmp/key.pem", core::config_source::flag));
  auto tls = api::options_from(cfg);
  REQUIRE(tls);
  CHECK(tls->tls());
  REQUIRE(cfg.set("http.io_threads", "257", core::config_source::flag));
  CHECK_FALSE(api::options_from(cfg));
  REQUIRE(cfg.set("http.io_threads", "-1", core::config_source::flag));
  CHECK_FALSE(api::options_from(cfg));
  REQUIRE(cfg.set("http.io_threads", "1", core::config_source::flag));

  // The body budget: at least 1 byte and at least the largest body limit, or that body could
  // never be admitted.
  REQUIRE(cfg.set("http.body_budget_bytes", "600000000", core::config_source::flag));
  const auto budget = api::options_from(cfg);
  REQUIRE(budget);
  CHECK(budget->body_budget == 600'000'000);
  REQUIRE(cfg.set("http.body_budget_bytes", "0", core::config_source::flag));
  CHECK(api::options_from(cfg).error() == api::errc::malformed);
  REQUIRE(cfg.set("http.body_budget_bytes", "100000000", core::config_source::flag));
  CHECK(api::options_from(cfg).error() == api::errc::malformed);  // under 512 MiB imports
  REQUIRE(cfg.set("http.body_limit_import_bytes", "100000000", core::config_source::flag));
  CHECK(api::options_from(cfg));
}

TEST_CASE("config keys: the bootstrap admin key and role:key pairs - secrets are redacted") {
  core::config cfg;
  api::declare_config(cfg);
  REQUIRE(cfg.set("auth.bootstrap_key", "boot-secret-value-0123456789abcdef",
                  core::config_source::environment));
  REQUIRE(cfg.set(
      "auth.keys",
      " ingest:ing-secret-0123456789abcdef01234567 , reviewer:rev-secret-0123456789abcdef01234567,",
      core::config_source::flag));
  auto keys = api::keys_from(cfg);
  REQUIRE(keys);
  REQUIRE(keys->size() == 3);
  CHECK((*keys)[0].key_id == "bootstrap");
  CHECK((*keys)[0].role == core::role::admin);
  CHECK((*keys)[0].digest == api::digest_key("boot-secret-value-0123456789abcdef"));
  CHECK((*keys)[1].role == core::role::ingest);
  CHECK((*keys)[1].digest == api::digest_key("ing-secret-0123456789abcdef01234567"));
  CHECK((*keys)[2].role == core::role::reviewer);
  CHECK((*keys)[2].key_id ==
        api::key_id_of(api::digest_key("rev-secret-0123456789abcdef01234567")));

  const std::string printed = cfg.describe();
  CHECK(printed.find("boot-secret-value-0123456789abcdef") == std::string::npos);
  CHECK(printed.find("ing-secret") == std::string::npos);
  CHECK(printed.find("auth.bootstrap_key = <redacted>") != std::string::npos);

  REQUIRE(cfg.set("auth.keys", "superuser:x", core::config_source::flag));
  CHECK_FALSE(api::keys_from(cfg));
  REQUIRE(cfg.set("auth.keys", "ingest:", core::config_source::flag));
  CHECK_FALSE(api::keys_from(cfg));
  REQUIRE(cfg.set("auth.keys", "no-colon", core::config_source::flag));
  CHECK_FALSE(api::keys_from(cfg));
}

TEST_CASE("config keys shorter than 32 characters or holding the shipped placeholder are refused") {
  core::config cfg;
  api::declare_config(cfg);
  std::string problem;
  SECTION("a short bootstrap key") {
    REQUIRE(cfg.set("auth.bootstrap_key", "short-admin-key", core::config_source::flag));
    CHECK_FALSE(api::keys_from(cfg, &problem));
    CHECK(problem.find("auth.bootstrap_key") != std::string::npos);
    CHECK(problem.find("at least 32 characters") != std::string::npos);
    CHECK(problem.find("short-admin-key") == std::string::npos);  // never the key itself
  }
  SECTION("the placeholder of docker/secrets, however long") {
    REQUIRE(cfg.set("auth.bootstrap_key", "REPLACE-ME-placeholder-bootstrap-admin-key",
                    core::config_source::file));
    CHECK_FALSE(api::keys_from(cfg, &problem));
    CHECK(problem.find("placeholder") != std::string::npos);
  }
  SECTION("a short key in auth.keys names its entry") {
    REQUIRE(cfg.set("auth.keys", "ingest:ingest-key-0123456789abcdef0123456,reviewer:rev",
                    core::config_source::flag));
    CHECK_FALSE(api::keys_from(cfg, &problem));
    CHECK(problem.find("auth.keys: entry 2") != std::string::npos);
  }
  SECTION("a key of exactly 32 characters is accepted") {
    REQUIRE(cfg.set("auth.keys", "ingest:" + std::string(32, 'k'), core::config_source::flag));
    CHECK(api::keys_from(cfg, &problem));
    CHECK(api::config_key_problem(std::string(31, 'k')).find("31") != std::string::npos);
  }
}
