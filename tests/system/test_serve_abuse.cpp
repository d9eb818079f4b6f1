// `hashguard serve` as a process, attacked: its whole output (the printed configuration, the
// JSON request log, every message) never holds an API key, a key's bearer form, the bootstrap
// admin key or the evidence key, whatever clients do with keys (valid, wrong, malformed, in
// query strings, in other headers, as the request target, in oversized headers, in bodies);
// per-key rate limits come from its configuration; idle, slow and oversized-header clients at
// the connection cap do not keep a legitimate client out.
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_process.hpp"

#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/keys.hpp"

#include <boost/json/parse.hpp>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace hg_test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using steady = std::chrono::steady_clock;

// One raw exchange on a fresh connection: whatever the server answers (nullopt if nothing).
std::optional<http_response> raw(std::uint16_t port, const std::string& bytes) {
  client c(port);
  if (!c.send(bytes)) return std::nullopt;
  return c.read_response(5s);
}

std::optional<http_response> with_headers(std::uint16_t port, const std::string& method,
                                          const std::string& target,
                                          std::vector<std::pair<std::string, std::string>> headers,
                                          std::optional<std::string_view> body = std::nullopt) {
  return raw(port, make_request(method, target, headers, body));
}

std::string base64(std::string_view in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto byte = [&](std::size_t k) -> unsigned { return static_cast<unsigned char>(in[k]); };
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (byte(i) << 16U) | (byte(i + 1) << 8U) | byte(i + 2);
    out += table[(v >> 18U) & 63U];
    out += table[(v >> 12U) & 63U];
    out += table[(v >> 6U) & 63U];
    out += table[v & 63U];
  }
  if (i + 1 == in.size()) {
    const unsigned v = byte(i) << 16U;
    out += table[(v >> 18U) & 63U];
    out += table[(v >> 12U) & 63U];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (byte(i) << 16U) | (byte(i + 1) << 8U);
    out += table[(v >> 18U) & 63U];
    out += table[(v >> 12U) & 63U];
    out += table[(v >> 6U) & 63U];
    out += '=';
  }
  return out;
}

// A body /v1/match accepts (it needs at least one hash).
const std::string match_body =
    R"({"pdq":"0000000000000000000000000000000000000000000000000000000000000000","quality":100})";

}  // namespace

TEST_CASE("serve: no key ever reaches its output, whatever clients do with keys") {
  test_database db;
  const hg_test::temp_dir tmp("hg-serve-keys");
  const fs::path& dir = tmp.path;
  // Keys of every kind: the bootstrap admin key (environment, as a Kubernetes Secret gives
  // it), config keys (a config file), a database key (as `hashguard keys create` makes it),
  // and the evidence key (environment).
  const std::string bootstrap = "bootstrap-admin-SECRET-5f1c9e0a7b3d";
  const std::string ingest = "ingest-config-SECRET-8a2b4c6d8e0f";
  const std::string reviewer = "reviewer-config-SECRET-1b3d5f7a9c2e";
  const std::string compliance = "compliance-config-SECRET-0e2c4a6b8d1f";
  const std::string evidence_key(64, 'e');
  std::string database_key;
  {
    auto conn = db.connect();
    hashguard::hashdb::key_store store(conn);
    auto made = store.create("edge", hashguard::core::role::ingest);
    REQUIRE(made);
    database_key = made->secret;
  }
  {
    std::ofstream conf(dir / "hashguard.conf");
    conf << "http.port = 0\n"
            "auth.keys = ingest:"
         << ingest << ",reviewer:" << reviewer << ",compliance:" << compliance
         << "\n"
            "auth.rate_limit_per_s = 2\n"
            "auth.rate_limit_burst = 40\n";
  }
  serve_process srv({hashguard_bin(), "serve", "--config", (dir / "hashguard.conf").string(),
                     "--http-header-limit-bytes=4096"},
                    {"HG_DATABASE_URL=" + db.url(), "HG_DATA_DIR=" + (dir / "data").string(),
                     "HG_AUTH_BOOTSTRAP_KEY=" + bootstrap, "HG_EVIDENCE_ENABLED=true",
                     "HG_EVIDENCE_KEY=" + evidence_key});
  const auto port = srv.port();
  const std::vector<std::string> keys{bootstrap, ingest, reviewer, compliance, database_key};

  // Valid keys on their routes (and one on a route of another role).
  auto ok = fetch(port, "GET", "/v1/index", bootstrap);
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(fetch(port, "POST", "/v1/match", ingest, match_body)->status == 200);
  CHECK(fetch(port, "GET", "/v1/cases", reviewer)->status == 200);
  CHECK(fetch(port, "GET", "/v1/audit", compliance)->status == 200);
  CHECK(fetch(port, "GET", "/v1/index", ingest)->status == 403);
  {  // the database key works once loaded (at start)
    auto r = fetch(port, "POST", "/v1/match", database_key, match_body);
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  int requests = 6;
  for (const auto& key : keys) {
    const std::string wrong = key.substr(0, key.size() - 1) + (key.back() == 'x' ? "y" : "x");
    // Wrong and malformed keys: 401.
    for (const std::string& auth :
         {"Bearer " + wrong, "Bearer " + key + "x", "Bearer " + key.substr(1),
          "Bearer  " + key + " extra", "Token " + key, key, "Basic " + base64("user:" + key)}) {
      auto r = with_headers(port, "GET", "/v1/index", {{"Authorization", auth}});
      ++requests;
      REQUIRE(r);
      CHECK((r->status == 401 || r->status == 400));
    }
    // Keys where a client might put them instead of the Authorization header.
    for (const std::string& target :
         {"/v1/index?api_key=" + key, "/v1/cases?key=" + key + "&access_token=" + key,
          "/healthz?token=" + key, "/nowhere?apikey=" + key, "/v1/lists?auth=Bearer%20" + key}) {
      auto r = with_headers(port, "GET", target, {});
      ++requests;
      REQUIRE(r);
      CHECK(r->status == (target.starts_with("/healthz")   ? 200
                          : target.starts_with("/nowhere") ? 404
                                                           : 401));
    }
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"X-API-Key", key},
             {"Api-Key", key},
             {"X-Auth-Token", key},
             {"Cookie", "session=" + key},
             {"Proxy-Authorization", "Bearer " + key}}) {
      auto r = with_headers(port, "GET", "/v1/index", {{name, value}});
      ++requests;
      REQUIRE(r);
      CHECK(r->status == 401);
    }
    // The key as the request target, as a method, oversized, and in a body.
    auto target = raw(port, "GET " + key + " HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(target);
    CHECK(target->status == 400);
    auto method = raw(port, key.substr(0, 20) + "KEY /v1/index HTTP/1.1\r\nHost: x\r\n\r\n");
    if (method) CHECK(method->status >= 400);
    auto big =
        with_headers(port, "GET", "/v1/index",
                     {{"Authorization", "Bearer " + key}, {"X-Pad", std::string(8192, 'p')}});
    REQUIRE(big);
    CHECK(big->status == 431);
    auto body = fetch(port, "POST", "/v1/match", ingest, R"({"pdq":")" + key + R"("})");
    REQUIRE(body);
    CHECK(body->status == 400);
    auto garbage = raw(port, "Authorization: Bearer " + key + "\r\n\r\n");
    if (garbage) CHECK(garbage->status == 400);
    requests += 5;
  }

  // Rate limits from the configuration (2/s, burst 40): one key's flood gets 429 with
  // Retry-After and the standard error shape; another key of the same role is unaffected.
  {
    // (A 429 to a request with a body closes the connection: the body was never read.)
    int refused = 0;
    for (int i = 0; i < 100; ++i) {
      auto r = fetch(port, "POST", "/v1/match", ingest, match_body);
      REQUIRE(r);
      ++requests;
      if (r->status == 429) {
        ++refused;
        CHECK(hashguard::core::parse_int<int>(r->header("retry-after"), 1));
        const auto err = boost::json::parse(r->body).at("error");
        CHECK(err.at("code").as_string() == "rate_limited");
      } else {
        CHECK(r->status == 200);
      }
    }
    CHECK(refused >= 20);
    auto other = fetch(port, "POST", "/v1/match", database_key, match_body);
    REQUIRE(other);
    CHECK(other->status == 200);
  }

  CHECK(srv.stop(SIGTERM).code == 0);
  const std::string out = srv.out_text() + srv.err_text();
  INFO(out.substr(0, 4000));
  // The log has a line per answered request (the check below is not vacuous).
  std::size_t lines = 0;
  for (std::size_t at = out.find("\"route\":"); at != std::string::npos;
       at = out.find("\"route\":", at + 1)) {
    ++lines;
  }
  CHECK(lines >= static_cast<std::size_t>(requests) - 20);
  CHECK(out.find("auth.bootstrap_key = <redacted>  (env)") != std::string::npos);
  CHECK(out.find("auth.keys = <redacted>  (file)") != std::string::npos);
  CHECK(out.find("evidence.key = <redacted>  (env)") != std::string::npos);
  CHECK(out.find(R"("key_id":"bootstrap")") != std::string::npos);
  CHECK(out.find(R"("error":"rate_limited")") != std::string::npos);
  for (const auto& key : keys) {
    INFO("key " << key);
    CHECK(out.find(key) == std::string::npos);
    CHECK(out.find("Bearer " + key) == std::string::npos);
    CHECK(out.find(key.substr(0, 16)) == std::string::npos);  // no prefix either
    CHECK(out.find(base64("user:" + key)) == std::string::npos);
  }
  CHECK(out.find(evidence_key) == std::string::npos);
}

TEST_CASE("serve: idle, slow and oversized-header clients at the cap do not keep a client out") {
  test_database db;
  const hg_test::temp_dir tmp("hg-serve-cap");
  const fs::path& dir = tmp.path;
  const std::string ingest = "ingest-cap-key-0123456789abcdef-0123";
  serve_process srv(
      serve_command({"--http-max-connections=200", "--http-read-timeout-ms=30000",
                     "--http-idle-timeout-ms=30000", "--http-request-deadline-ms=60000",
                     "--http-header-limit-bytes=4096", "--auth-keys=ingest:" + ingest,
                     "--http-log-requests=false"}),
      {"HG_DATABASE_URL=" + db.url(), "HG_DATA_DIR=" + (dir / "data").string()});
  const auto port = srv.port();
  std::vector<std::unique_ptr<client>> hogs;
  for (int i = 0; i < 150; ++i) hogs.push_back(std::make_unique<client>(port));
  for (int i = 0; i < 50; ++i) {
    hogs.push_back(std::make_unique<client>(port));
    (void)hogs.back()->send("POST /v1/scan HTTP/1.1\r\nHost: x\r\nX-Slow: ");
  }
  std::this_thread::sleep_for(500ms);  // let the server accept them all
  std::atomic<bool> stop{false};
  std::atomic<int> answers_431{0};
  std::jthread oversized([&] {
    const std::string big = make_request("GET", "/healthz", {{"X-Big", std::string(8192, 'b')}});
    while (!stop) {
      try {
        client c(port);
        if (!c.send(big)) continue;
        auto r = c.read_response(2s);
        if (r && r->status == 431) ++answers_431;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(5ms);
      }
    }
  });
  int ok = 0;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = steady::now();
    auto r = i % 2 == 0 ? fetch(port, "GET", "/readyz")
                        : fetch(port, "POST", "/v1/match", ingest, match_body);
    if (r && r->status == 200 && steady::now() - t0 < 15s) ++ok;
  }
  // The ten requests can finish (/v1/match answers on the I/O thread) before any oversized
  // request got its 431 rather than an eviction: give the flood time to get one.
  CHECK(hg_test::eventually([&] { return answers_431 > 0; }, 30s));
  stop = true;
  oversized.join();
  CHECK(ok == 10);
  auto metrics = fetch(port, "GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("hg_http_rejected_total{reason=\"evicted\"}") != std::string::npos);
  hogs.clear();
  CHECK(srv.stop(SIGTERM).code == 0);
}
