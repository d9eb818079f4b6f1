#include "hashguard/api/metrics.hpp"

#include "hg_catch.hpp"

#include <thread>

using namespace hashguard;

namespace {
bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}
}  // namespace

TEST_CASE("histograms are cumulative with a +Inf bucket, sum and count") {
  api::histogram h;
  h.observe(0.0001);  // first bucket
  h.observe(0.003);   // le 0.005
  h.observe(20.0);    // +Inf only
  const auto c = h.cumulative();
  CHECK(c[0] == 1);
  CHECK(c[2] == 1);  // le 0.0025
  CHECK(c[3] == 2);  // le 0.005
  CHECK(c[api::latency_buckets.size() - 1] == 2);
  CHECK(c.back() == 3);
  CHECK(h.count() == 3);
  CHECK(h.sum() == Approx(20.0031).epsilon(1e-6));
}

TEST_CASE("the exposition has requests by route and status, stage histograms and gauges") {
  api::metrics m;
  m.count_request("/v1/scan", "POST", 200, 0.004);
  m.count_request("/v1/scan", "POST", 200, 0.006);
  m.count_request("/v1/scan", "POST", 503, 0.0001);
  m.count_request("unmatched", "GET", 404, 0.0001);
  m.observe_stage(api::stage::decode, 0.002);
  m.observe_stage(api::stage::store, 0.3);
  m.set_snapshot(1234, 7);
  m.set_active_kernel("avx2");
  m.set_spool_depth(5);
  m.count_rejected("max_connections");
  m.connection_opened();
  m.add_gauge("hg_scan_queue_depth", "jobs waiting", [] { return 3.0; });

  const std::string text = m.render();
  CHECK(has_line(text, R"(hg_http_requests_total{route="/v1/scan",method="POST",status="200"} 2)"));
  CHECK(has_line(text, R"(hg_http_requests_total{route="/v1/scan",method="POST",status="503"} 1)"));
  CHECK(has_line(text, R"(hg_http_requests_total{route="unmatched",method="GET",status="404"} 1)"));
  CHECK(has_line(text, R"(hg_http_request_duration_seconds_count{route="/v1/scan"} 3)"));
  CHECK(
      has_line(text, R"(hg_http_request_duration_seconds_bucket{route="/v1/scan",le="0.005"} 2)"));
  CHECK(has_line(text, R"(hg_stage_duration_seconds_bucket{stage="decode",le="0.0025"} 1)"));
  CHECK(has_line(text, R"(hg_stage_duration_seconds_bucket{stage="store",le="0.25"} 0)"));
  CHECK(has_line(text, R"(hg_stage_duration_seconds_bucket{stage="store",le="0.5"} 1)"));
  CHECK(has_line(text, R"(hg_stage_duration_seconds_count{stage="hash"} 0)"));
  CHECK(has_line(text, R"(hg_stage_duration_seconds_bucket{stage="match",le="+Inf"} 0)"));
  CHECK(has_line(text, "hg_snapshot_entries 1234"));
  CHECK(has_line(text, "hg_snapshot_version 7"));
  CHECK(has_line(text, "hg_spool_depth_events 5"));
  CHECK(has_line(text, R"(hg_active_kernel{kernel="avx2"} 1)"));
  CHECK(has_line(text, R"(hg_http_rejected_total{reason="max_connections"} 1)"));
  CHECK(has_line(text, "hg_http_connections_open 1"));
  CHECK(has_line(text, "hg_scan_queue_depth 3"));
  CHECK(has_line(text, "# TYPE hg_stage_duration_seconds histogram"));
  CHECK(has_line(text, "# TYPE hg_http_requests_total counter"));
  CHECK(m.requests("/v1/scan", 200) == 2);
  // Every sample line is "name{labels} value" or "name value".
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto eol = text.find('\n', pos);
    REQUIRE(eol != std::string::npos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.starts_with("#")) continue;
    INFO(line);
    CHECK(line.starts_with("hg_"));
    CHECK(line.find(' ') != std::string::npos);
  }
}

TEST_CASE("label values are escaped") {
  api::metrics m;
  m.count_request("/a\"b\\c", "GET", 200, 0.001);
  CHECK(m.render().find(R"(route="/a\"b\\c")") != std::string::npos);
}

TEST_CASE("stage_timer records once and concurrent observers lose nothing") {
  api::metrics m;
  {
    api::stage_timer t(m, api::stage::hash);
    t.stop();
  }
  CHECK(m.stage_count(api::stage::hash) == 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&m] {
      for (int j = 0; j < 1000; ++j) {
        m.observe_stage(api::stage::match, 0.001);
        m.count_request("/r", "GET", 200, 0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(m.stage_count(api::stage::match) == 4000);
  CHECK(m.requests("/r", 200) == 4000);
}
