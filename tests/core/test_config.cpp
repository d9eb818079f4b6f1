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

TEST_CASE("every secret has a _file variant whose file holds its value") {
  const std::string path = "/tmp/hg_test_secret_" + std::to_string(::getpid());
  {
    std::ofstream f(path);
    f << "from-a-mounted-secret-file-0123456789\n";
  }
  config c = sample();
  CHECK(c.has("auth.bootstrap_key_file"));
  CHECK_FALSE(c.has("data.dir_file"));  // only secrets get one
  char env[] = "HG_AUTH_BOOTSTRAP_KEY_FILE=/overridden-below";
  char* envp[] = {env, nullptr};
  REQUIRE(c.load_environment(envp));
  REQUIRE(c.set("auth.bootstrap_key_file", path, config_source::flag));
  std::string problem;
  REQUIRE(c.resolve_secret_files(&problem));
  CHECK(problem.empty());
  CHECK(c.get_string("auth.bootstrap_key") == "from-a-mounted-secret-file-0123456789");
  const std::string text = c.describe();
  CHECK(text.find("from-a-mounted") == std::string::npos);
  CHECK(text.find("auth.bootstrap_key = <redacted>  (flag)") != std::string::npos);

  SECTION("both the secret and its file is an error naming them") {
    config both = sample();
    REQUIRE(both.set("auth.bootstrap_key", "inline", config_source::flag));
    REQUIRE(both.set("auth.bootstrap_key_file", path, config_source::flag));
    CHECK(both.resolve_secret_files(&problem).error() == errc::config_bad_value);
    CHECK(problem.find("auth.bootstrap_key_file") != std::string::npos);
  }
  SECTION("a missing or empty file is an error") {
    config missing = sample();
    REQUIRE(missing.set("auth.bootstrap_key_file", path + ".absent", config_source::file));
    CHECK(missing.resolve_secret_files(&problem).error() == errc::config_file);
    CHECK(problem.find(".absent") != std::string::npos);
    {
      std::ofstream f(path, std::ios::trunc);
      f << "\n";
    }
    config empty = sample();
    REQUIRE(empty.set("auth.bootstrap_key_file", path, config_source::file));
    CHECK(empty.resolve_secret_files(&problem).error() == errc::config_bad_value);
  }
  std::remove(path.c_str());
}
