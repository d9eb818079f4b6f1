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
  CHECK(o->keepalive_max_requests == 1000);
  CHECK(o->max_connections == 1024);
  CHECK(o->body_budget == 1024 * 1024 * 1024);  // 32 image bodies, not 1,024 x 32 MiB
  CHECK_FALSE(o->tls());
  CHECK(o->rate_limit_per_s == 0);
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
  REQUIRE(cfg.set("auth.bootstrap_key", "boot-secret-value", core::config_source::environment));
  REQUIRE(
      cfg.set("auth.keys", " ingest:ing-secret , reviewer:rev-secret,", core::config_source::flag));
  auto keys = api::keys_from(cfg);
  REQUIRE(keys);
  REQUIRE(keys->size() == 3);
  CHECK((*keys)[0].key_id == "bootstrap");
  CHECK((*keys)[0].role == core::role::admin);
  CHECK((*keys)[0].digest == api::digest_key("boot-secret-value"));
  CHECK((*keys)[1].role == core::role::ingest);
  CHECK((*keys)[1].digest == api::digest_key("ing-secret"));
  CHECK((*keys)[2].role == core::role::reviewer);
  CHECK((*keys)[2].key_id == api::key_id_of(api::digest_key("rev-secret")));

  const std::string printed = cfg.describe();
  CHECK(printed.find("boot-secret-value") == std::string::npos);
  CHECK(printed.find("ing-secret") == std::string::npos);
  CHECK(printed.find("auth.bootstrap_key = <redacted>") != std::string::npos);

  REQUIRE(cfg.set("auth.keys", "superuser:x", core::config_source::flag));
  CHECK_FALSE(api::keys_from(cfg));
  REQUIRE(cfg.set("auth.keys", "ingest:", core::config_source::flag));
  CHECK_FALSE(api::keys_from(cfg));
  REQUIRE(cfg.set("auth.keys", "no-colon", core::config_source::flag));
  CHECK_FALSE(api::keys_from(cfg));
}
