// `hashguard serve` as a process: configuration printed with secrets redacted, the port it
// listens on, the routes it answers, and exit status 0 after SIGTERM.
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_process.hpp"

#include <boost/json/parse.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace hg_test;
using namespace std::chrono_literals;

namespace {

// serve needs a database (the fixture's) and a data directory of its own (spool, cache).
std::vector<std::string> db_env(const test_database& db, const std::filesystem::path& dir) {
  return {"HG_DATABASE_URL=" + db.url(), "HG_DATA_DIR=" + dir.string()};
}

}  // namespace

TEST_CASE("hashguard serve starts on its config, answers, and exits 0 on SIGTERM") {
  const std::string secret = "serve-test-bootstrap-secret-42-01234";
  test_database db;
  const temp_dir tmp("hg-serve-start");
  const auto dir = tmp.path / "data";
  serve_process srv({HG_HASHGUARD_BIN, "serve", "--http-port=0", "--http.io_threads", "1",
                     "--auth-bootstrap-key=" + secret, "--http-read-timeout-ms=2000"},
                    db_env(db, dir));
  const auto port = srv.port();
  REQUIRE(port > 0);

  auto h = fetch(port, "GET", "/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  auto r = fetch(port, "GET", "/readyz");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto idx = fetch(port, "GET", "/v1/index", secret);
  REQUIRE(idx);
  CHECK(idx->status == 200);  // the admin key works and the snapshot is loaded
  auto denied = fetch(port, "GET", "/v1/cases", secret);
  REQUIRE(denied);
  CHECK(denied->status == 403);  // admin is not reviewer: no role inherits another
  auto m = fetch(port, "GET", "/metrics");
  REQUIRE(m);
  CHECK(m->body.find("hg_scan_queue_depth 0") != std::string::npos);

  const auto exit = srv.stop(SIGTERM);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  const std::string err = srv.err_text();
  INFO(err);
  CHECK(err.find("auth.bootstrap_key = <redacted>") != std::string::npos);
  CHECK(err.find("http.port = 0  (flag)") != std::string::npos);
  CHECK(err.find(secret) == std::string::npos);
  // One JSON line per request, the admin's requests attributed to the bootstrap key id.
  CHECK(err.find(R"("route":"/v1/index")") != std::string::npos);
  CHECK(err.find(R"("key_id":"bootstrap")") != std::string::npos);
  CHECK(err.find("hashguard serve: stopped\n") != std::string::npos);
}

TEST_CASE("hashguard serve rejects bad settings with exit status 2") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{HG_HASHGUARD_BIN, "serve", "--http-port=99999"},
        std::vector<std::string>{HG_HASHGUARD_BIN, "serve", "--no-such-setting=1"},
        std::vector<std::string>{HG_HASHGUARD_BIN, "serve", "--auth-keys=wizard:abc"}}) {
    child_process c = spawn_process(args);
    int status = 0;
    REQUIRE(::waitpid(c.pid, &status, 0) == c.pid);
    ::close(c.out);
    ::close(c.err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
  }
}

TEST_CASE("hashguard serve reads a config file and HG_* variables, flags winning") {
  const temp_dir tmp("hg-serve-config");
  const auto& dir = tmp.path;
  test_database db;
  const auto file = dir / "hashguard.conf";
  {
    std::ofstream out(file);
    out << "# test configuration\n"
           "http.port = 0\n"
           "auth.keys = reviewer:file-reviewer-key-123-0123456789abcd\n"
           "http.max_connections = 77\n";
  }
  serve_process srv(
      {HG_HASHGUARD_BIN, "serve", "--config", file.string(), "--http-max-connections=88"},
      {"HG_HTTP_IO_THREADS=2", "HG_HTTP_KEEPALIVE_MAX_REQUESTS=5", "HG_DATABASE_URL=" + db.url(),
       "HG_DATA_DIR=" + (dir / "data").string()});
  const auto port = srv.port();
  auto cases = fetch(port, "GET", "/v1/cases", "file-reviewer-key-123-0123456789abcd");
  REQUIRE(cases);
  CHECK(cases->status == 200);  // authenticated as reviewer, answered from the case store
  auto wrong = fetch(port, "GET", "/v1/index", "file-reviewer-key-123-0123456789abcd");
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  const auto exit = srv.stop(SIGINT);
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  const std::string err = srv.err_text();
  INFO(err);
  CHECK(err.find("http.io_threads = 2  (env)") != std::string::npos);
  CHECK(err.find("http.keepalive_max_requests = 5  (env)") != std::string::npos);
  CHECK(err.find("http.max_connections = 88  (flag)") != std::string::npos);
  CHECK(err.find("auth.keys = <redacted>  (file)") != std::string::npos);
  CHECK(err.find("file-reviewer-key-123-0123456789abcd") == std::string::npos);
}

TEST_CASE("hashguard serve refuses a short or placeholder config key at start, saying why") {
  const temp_dir tmp("hg-serve-weak-key");
  const auto placeholder = tmp.path / "bootstrap.key";
  {
    std::ofstream out(placeholder);
    out << "REPLACE-ME-placeholder-bootstrap-admin-key\n";  // docker/secrets' text
  }
  struct refused {
    std::vector<std::string> args;
    std::string says;
  };
  for (const refused& r :
       {refused{{HG_HASHGUARD_BIN, "serve", "--auth-bootstrap-key=admin-key-too-short"},
                "auth.bootstrap_key: a key must be at least 32 characters"},
        refused{{HG_HASHGUARD_BIN, "serve", "--auth-keys=ingest:" + std::string(31, 'i')},
                "auth.keys: entry 1: a key must be at least 32 characters"},
        refused{{HG_HASHGUARD_BIN, "serve", "--auth-bootstrap-key-file=" + placeholder.string()},
                "placeholder text"}}) {
    child_process c = spawn_process(r.args);
    const std::string err = read_all(c.err);
    int status = 0;
    REQUIRE(::waitpid(c.pid, &status, 0) == c.pid);
    ::close(c.out);
    ::close(c.err);
    INFO(err);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(err.find(r.says) != std::string::npos);
    CHECK(err.find("admin-key-too-short") == std::string::npos);  // never the key itself
  }
}

TEST_CASE("hashguard serve reads its secrets from *_file settings") {
  const temp_dir tmp("hg-serve-secret-files");
  test_database db;
  const std::string admin = "admin-key-from-a-mounted-secret-0123456789";
  const auto key_file = tmp.path / "bootstrap.key";
  const auto url_file = tmp.path / "database.url";
  {
    std::ofstream(key_file) << admin << "\n";
    std::ofstream(url_file) << db.url() << "\n";
  }
  serve_process srv(serve_command({"--auth-bootstrap-key-file=" + key_file.string(),
                                   "--data-dir=" + (tmp.path / "data").string()}),
                    {"HG_DATABASE_URL_FILE=" + url_file.string()});
  auto index = fetch(srv.port(), "GET", "/v1/index", admin);
  REQUIRE(index);
  CHECK(index->status == 200);
  const auto exit = srv.stop(SIGTERM);
  CHECK(exit.exited);
  const std::string err = srv.err_text();
  CHECK(err.find(admin) == std::string::npos);
  CHECK(err.find("auth.bootstrap_key = <redacted>  (flag)") != std::string::npos);
}
