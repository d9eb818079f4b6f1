#include "hashguard/core/config.hpp"

#include "hg_catch.hpp"

#include <unistd.h>
#include <cstdio>
#include <fstream>

using namespace hashguard::core;

namespace {
config sample() {
  config c;
  c.declare("http.port", config_type::integer, "8080", "listen port");
  c.declare("http.read_timeout_ms", config_type::integer, "5000", "per-read timeout");
  c.declare("tls.enabled", config_type::boolean, "false", "serve TLS");
  c.declare("auth.bootstrap_key", config_type::secret, "", "admin key");
  c.declare("data.dir", config_type::string, "/var/lib/hashguard", "data directory");
  return c;
}
}  // namespace

TEST_CASE("defaults are the embedded defaults") {
  const config c = sample();
  CHECK(c.get_int("http.port") == 8080);
  CHECK_FALSE(c.get_bool("tls.enabled"));
  CHECK(c.get_string("data.dir") == "/var/lib/hashguard");
}

TEST_CASE("file < environment < flags") {
  config c = sample();
  REQUIRE(c.load_text("# comment\nhttp.port = 9000\n\ndata.dir = \"/srv/hg\"\r\n", "test"));
  CHECK(c.get_int("http.port") == 9000);
  CHECK(c.get_string("data.dir") == "/srv/hg");

  char env1[] = "HG_HTTP_PORT=9100";
  char env2[] = "HG_FORCE_KERNEL=scalar";  // not a config key: ignored
  char env3[] = "PATH=/bin";
  char* envp[] = {env1, env2, env3, nullptr};
  REQUIRE(c.load_environment(envp));
  CHECK(c.get_int("http.port") == 9100);

  auto rest = c.apply_flags({"--http-port=9200", "file.jpg", "--tls-enabled", "--data.dir", "/x"});
  REQUIRE(rest);
  CHECK(c.get_int("http.port") == 9200);
  CHECK(c.get_bool("tls.enabled"));
  CHECK(c.get_string("data.dir") == "/x");
  CHECK(*rest == std::vector<std::string>{"file.jpg"});
}

TEST_CASE("bad config input is an error, not a silent default") {
  config c = sample();
  CHECK(c.load_text("http.port = eighty\n", "t").error() == errc::config_bad_value);
  CHECK(c.load_text("no equals sign\n", "t").error() == errc::config_file);
  CHECK(c.load_text("nosuch.key = 1\n", "t").error() == errc::config_unknown_key);
  CHECK(c.apply_flags({"--nosuch=1"}).error() == errc::config_unknown_key);
  CHECK(c.apply_flags({"--http-port"}).error() == errc::config_bad_value);
  CHECK(c.apply_flags({"--tls-enabled=maybe"}).error() == errc::config_bad_value);
  char env[] = "HG_HTTP_PORT=abc";
  char* envp[] = {env, nullptr};
  CHECK(c.load_environment(envp).error() == errc::config_bad_value);
  CHECK(c.load_file("/nonexistent/hashguard.conf").error() == errc::config_file);
  CHECK(c.get_int("http.port") == 8080);
}

TEST_CASE("load_file reads a real file") {
  const std::string path = "/tmp/hg_test_config_" + std::to_string(::getpid()) + ".conf";
  {
    std::ofstream f(path);
    f << "http.read_timeout_ms=250\n";
  }
  config c = sample();
  REQUIRE(c.load_file(path));
  CHECK(c.get_int("http.read_timeout_ms") == 250);
  std::remove(path.c_str());
}

TEST_CASE("describe redacts secrets and names sources") {
  config c = sample();
  REQUIRE(c.set("auth.bootstrap_key", "s3cr3t-key", config_source::flag));
  const std::string text = c.describe();
  CHECK(text.find("s3cr3t-key") == std::string::npos);
  CHECK(text.find("auth.bootstrap_key = <redacted>  (flag)") != std::string::npos);
  CHECK(text.find("http.port = 8080  (default)") != std::string::npos);
}
