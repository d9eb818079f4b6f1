// `hashguard serve` as a process, fed images that cost work: a scan over scanner.max_scan_ms
// answers 422 scan_budget_exceeded without Retry-After (the input is at fault, so the cache
// layer must not resend it), and SIGTERM while scans run and wait stops serve within its drain
// deadline (the scans past it are cancelled at their next budget check).
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "png_builder.hpp"
#include "serve_process.hpp"

#include <boost/json/parse.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace hg_test;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

const std::string ingest = "ingest-key-for-budget-test-0123456";

std::vector<std::string> serve_flags(const test_database& db, const temp_dir& dir,
                                     std::vector<std::string> extra) {
  std::vector<std::string> argv{HG_HASHGUARD_BIN,
                                "serve",
                                "--http-port=0",
                                "--database-url=" + db.url(),
                                "--data-dir=" + (dir.path / "data").string(),
                                "--auth-keys=ingest:" + ingest,
                                "--http-scan-threads=1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// A 4096 x 4096 grey PNG (16 MP, about 100 KB): tens to hundreds of milliseconds to scan.
std::string large_png() {
  const auto bytes = png_builder::ramp(4096, 4096);
  return {bytes.begin(), bytes.end()};
}

}  // namespace

TEST_CASE(
    "serve: a scan over scanner.max_scan_ms answers 422 scan_budget_exceeded, no Retry-After") {
  test_database db;
  const temp_dir dir("hg-serve-budget");
  serve_process srv(serve_flags(db, dir, {"--scanner-max-scan-ms=1"}));
  const std::string image = large_png();
  for (const char* route : {"/v1/scan", "/v1/hash"}) {
    INFO(route);
    const auto r = exchange(srv.port(), "POST", route, ingest, image,
                            {{"X-Zone", "budget.example"}, {"X-Request-Id", "budget-1"}}, 60s);
    REQUIRE(r);
    INFO(r->body);
    CHECK(r->status == 422);
    CHECK(boost::json::parse(r->body).at("error").at("code").as_string() == "scan_budget_exceeded");
    CHECK(r->header("retry-after").empty());
  }
  CHECK(srv.stop(SIGTERM).code == 0);
}

TEST_CASE("serve: SIGTERM while scans run and wait stops serve within its drain deadline") {
  test_database db;
  const temp_dir dir("hg-serve-budget");
  constexpr auto drain = 500ms;
  serve_process srv(serve_flags(db, dir,
                                {"--http-drain-timeout-ms=" + std::to_string(drain.count()),
                                 "--scanner-max-scan-ms=600000", "--http-scan-queue=256"}));
  const std::string image = large_png();

  // What one scan takes here (this build, this machine's load).
  const auto started = steady::now();
  const auto one = exchange(srv.port(), "POST", "/v1/hash", ingest, image, {}, 120s);
  REQUIRE(one);
  REQUIRE(one->status == 200);
  const auto scan_time = steady::now() - started;
  // Allowed: the drain, the stage a scan is in when it is cancelled, and the process's own
  // shutdown. The scans waiting must together take several times that, so a serve that ran
  // them all (before the cancel existed) fails.
  const auto allowed = drain + scan_time + 3s;
  const auto waiting = static_cast<int>(std::clamp<std::int64_t>(3 * allowed / scan_time, 8, 200));
  INFO("one scan " << std::chrono::duration_cast<std::chrono::milliseconds>(scan_time).count()
                   << " ms, " << waiting << " scans sent");

  std::vector<std::thread> clients;
  clients.reserve(static_cast<std::size_t>(waiting));
  for (int i = 0; i < waiting; ++i) {
    clients.emplace_back(
        [&] { (void)exchange(srv.port(), "POST", "/v1/hash", ingest, image, {}, 120s); });
  }
  // Most of them queued behind the one scan thread.
  const bool queued = eventually(
      [&] {
        const auto m = fetch(srv.port(), "GET", "/metrics");
        const auto depth = m ? metric_value(m->body, "hg_scan_queue_depth") : std::nullopt;
        return depth && *depth >= waiting / 2;
      },
      60s, 20ms);
  REQUIRE(queued);

  const auto signalled = steady::now();
  const auto exit = srv.stop(SIGTERM, 120s);
  const auto took = steady::now() - signalled;
  for (auto& c : clients) c.join();
  INFO("serve stopped " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms after SIGTERM");
  CHECK(exit.exited);
  CHECK(exit.code == 0);
  CHECK(took < allowed);
}
