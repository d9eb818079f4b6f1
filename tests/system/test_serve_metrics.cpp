// /metrics of a real `hashguard serve` (real PostgreSQL, real sockets), read with the strict
// exposition parser: every family once, HELP/TYPE first, consistent histograms, and the
// snapshot families telling what the node actually matches against.
#include "exposition_parser.hpp"
#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "hg_util.hpp"
#include "http_client.hpp"
#include "serve_api.hpp"
#include "serve_process.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <set>
#include <string>

using namespace hg_test;
using namespace std::chrono_literals;

namespace {

exposition scrape(std::uint16_t port) {
  auto r = fetch(port, "GET", "/metrics");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->header("content-type").starts_with("text/plain; version=0.0.4"));
  INFO(r->body);
  try {
    return parse_exposition(r->body);
  } catch (const std::exception& e) {
    FAIL("strict exposition parser: " << e.what());
  }
  return {};
}

double sum_of(const exposition_family& f) {
  double total = 0;
  for (const auto& s : f.samples) total += s.value;
  return total;
}

// `n` distinct 64-digit PDQ hex values.
std::vector<std::string> pdq_hashes(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    char buf[65];
    const std::uint64_t k = i;
    std::snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx",
                  static_cast<unsigned long long>(k * 0x9e3779b97f4a7c15ULL),
                  static_cast<unsigned long long>(k + 1), static_cast<unsigned long long>(~k),
                  static_cast<unsigned long long>(k * 7 + 3));
    out.emplace_back(buf);
  }
  return out;
}

}  // namespace

TEST_CASE("serve: /metrics parses strictly and its snapshot families match what is loaded") {
  test_database db;
  const auto dir =
      std::filesystem::temp_directory_path() / ("hg-serve-metrics-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string admin = "admin-key-for-metrics-test-012345678";
  const std::string ingest = "ingest-key-for-metrics-test-01234567";
  serve_process srv({HG_HASHGUARD_BIN, "serve", "--http-port=0", "--database-url=" + db.url(),
                     "--data-dir=" + dir.string(), "--auth-keys=ingest:" + ingest,
                     "--auth-bootstrap-key=" + admin, "--snapshot-poll-ms=50"});

  // Before any list: the families are there once each, and the exposition is valid.
  auto before = scrape(srv.port());
  for (const auto* name :
       {"hg_snapshot_version", "hg_snapshot_entries", "hg_active_kernel", "hg_http_requests_total",
        "hg_http_request_duration_seconds", "hg_stage_duration_seconds", "hg_scan_queue_depth"}) {
    INFO(name);
    CHECK(before.find(name) != nullptr);
  }

  constexpr std::size_t loaded = 43;
  (void)make_list(srv.port(), admin, "metrics-test", pdq_hashes(loaded));
  REQUIRE(wait_pdq_entries(srv.port(), admin, loaded));
  // Some traffic, so the request and stage histograms have series to check.
  auto scanned =
      exchange(srv.port(), "POST", "/v1/scan", ingest,
               file_bytes(std::string(HG_TEST_DATA) +
                          "/pdq-vectors/images/reg-test-input/dih/bridge-1-original.jpg"),
               {}, 60000ms);
  REQUIRE(scanned);
  CHECK(scanned->status == 200);
  auto index = fetch(srv.port(), "GET", "/v1/index", admin);
  REQUIRE(index);
  REQUIRE(index->status == 200);
  const auto iv = boost::json::parse(index->body);

  const auto doc = scrape(srv.port());
  const auto* entries = doc.find("hg_snapshot_entries");
  REQUIRE(entries != nullptr);
  CHECK(entries->type == "gauge");
  CHECK(sum_of(*entries) == static_cast<double>(loaded));
  for (const auto& s : entries->samples) {
    INFO(s.labels.at("signal"));
    CHECK(s.value == iv.at("sizes").at(s.labels.at("signal")).to_number<double>());
  }

  const auto* version = doc.find("hg_snapshot_version");
  REQUIRE(version != nullptr);
  REQUIRE(version->samples.size() == 1);
  CHECK(version->samples[0].value > 0);
  CHECK(version->samples[0].value == iv.at("version").to_number<double>());

  const auto* kernel = doc.find("hg_active_kernel");
  REQUIRE(kernel != nullptr);
  REQUIRE(kernel->samples.size() == 1);
  CHECK(kernel->samples[0].value == 1);
  CHECK(kernel->samples[0].labels.at("kernel") == iv.at("kernel").as_string());

  const auto* requests = doc.find("hg_http_requests_total");
  REQUIRE(requests != nullptr);
  bool scan_counted = false;
  for (const auto& s : requests->samples) {
    scan_counted = scan_counted || (s.labels.at("route") == "/v1/scan" && s.value >= 1);
  }
  CHECK(scan_counted);
  CHECK_FALSE(doc.find("hg_stage_duration_seconds")->samples.empty());
  // A name ending in _total is a counter (Prometheus's naming rule; rate() needs counters).
  for (const auto& f : doc.families) {
    INFO(f.name);
    if (f.name.ends_with("_total")) CHECK(f.type == "counter");
  }
}

TEST_CASE("serve: /metrics shows every periodic task's last success and failures") {
  test_database db;
  const temp_dir dir("hg-serve-tasks");
  serve_process srv({HG_HASHGUARD_BIN, "serve", "--http-port=0", "--database-url=" + db.url(),
                     "--data-dir=" + dir.path.string(),
                     "--auth-bootstrap-key=admin-key-for-tasks-0123456789abcdef",
                     "--evidence.enabled=true", "--evidence.key=" + std::string(64, 'a'),
                     "--evidence.retry_ms=50", "--retention.purge_interval_s=1",
                     "--http.log_requests=true", "--flood.interval_s=1"});
  const std::set<std::string> tasks{"keys",     "snapshot",  "suppressions", "purge",
                                    "evidence", "log_flush", "probe_audit",  "audit_head",
                                    "floods",   "report"};

  // Every task succeeds with the database up: keys, snapshot and suppressions before serve
  // listens, the others at their first interval (the purge's is a second).
  exposition doc;
  const auto all_succeeded = [&] {
    doc = scrape(srv.port());
    const auto* last = doc.find("hg_task_last_success_timestamp_seconds");
    if (last == nullptr) return false;
    std::set<std::string> succeeded;
    for (const auto& s : last->samples) {
      if (s.value > 0) succeeded.insert(s.labels.at("task"));
    }
    return succeeded == tasks;
  };
  CHECK(eventually(all_succeeded, 60s));

  const auto* last = doc.find("hg_task_last_success_timestamp_seconds");
  REQUIRE(last != nullptr);
  CHECK(last->type == "gauge");
  const double now = static_cast<double>(std::time(nullptr));
  for (const auto& s : last->samples) {
    INFO(s.labels.at("task"));
    CHECK(s.value > now - 600);  // Unix seconds, recent
    CHECK(s.value < now + 600);
  }
  const auto* failures = doc.find("hg_task_failures_total");
  REQUIRE(failures != nullptr);
  CHECK(failures->type == "counter");
  std::set<std::string> counted;
  for (const auto& s : failures->samples) {
    counted.insert(s.labels.at("task"));
    INFO(s.labels.at("task"));
    CHECK(s.value == 0);
  }
  CHECK(counted == tasks);
  // Flood detection's figures (hashdb/floods.hpp): none flagged on an empty database.
  const auto* flagged = doc.find("hg_floods_flagged_total");
  REQUIRE(flagged != nullptr);
  CHECK(flagged->type == "counter");
  const auto* flooded = doc.find("hg_flooded_entries");
  REQUIRE(flooded != nullptr);
  CHECK(flooded->type == "gauge");
  REQUIRE(flooded->samples.size() == 1);
  CHECK(flooded->samples[0].value == 0);
}
