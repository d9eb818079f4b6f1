#include "hashguard/api/metrics.hpp"

#include "exposition_parser.hpp"
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
  m.count_rejected("max_connections");
  m.connection_opened();
  REQUIRE(m.add_gauge("hg_scan_queue_depth", "jobs waiting", [] { return 3.0; }));
  REQUIRE(m.add_family("hg_active_kernel", "kernel in use", api::metric_kind::gauge, [] {
    return std::vector<api::metric_sample>{{{{"kernel", "avx2"}}, 1.0}};
  }));

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
  REQUIRE(m.add_family("hg_names", "one\\two\nthree", api::metric_kind::gauge, [] {
    return std::vector<api::metric_sample>{{{{"name", "a\"b\\c\nd"}}, 2.5}};
  }));
  const std::string text = m.render();
  CHECK(text.find(R"(route="/a\"b\\c")") != std::string::npos);
  CHECK(has_line(text, R"(hg_names{name="a\"b\\c\nd"} 2.5)"));
  CHECK(has_line(text, R"(# HELP hg_names one\\two\nthree)"));
}

TEST_CASE("a family name is registered once, built-in or added") {
  api::metrics m;
  REQUIRE(m.add_gauge("hg_queue", "jobs", [] { return 1.0; }));
  auto again = m.add_family("hg_queue", "jobs", api::metric_kind::counter,
                            [] { return std::vector<api::metric_sample>{}; });
  REQUIRE_FALSE(again);
  CHECK(again.error() == api::metrics_errc::duplicate_family);
  auto builtin = m.add_gauge("hg_http_requests_total", "clash", [] { return 0.0; });
  REQUIRE_FALSE(builtin);
  CHECK(builtin.error() == api::metrics_errc::duplicate_family);
  auto bad = m.add_gauge("hg-bad name", "invalid", [] { return 0.0; });
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == api::metrics_errc::invalid_name);
  const std::string text = m.render();
  CHECK(text.find("# TYPE hg_queue gauge\nhg_queue 1\n") != std::string::npos);
  // Each family's TYPE line appears once.
  std::size_t types = 0;
  for (auto pos = text.find("# TYPE hg_queue "); pos != std::string::npos;
       pos = text.find("# TYPE hg_queue ", pos + 1)) {
    ++types;
  }
  CHECK(types == 1);
}

TEST_CASE("added families: counters, no samples, several samples, invalid label names left out") {
  api::metrics m;
  REQUIRE(m.add_family("hg_things_total", "things", api::metric_kind::counter, [] {
    return std::vector<api::metric_sample>{{{{"kind", "a"}}, 3}, {{{"kind", "b"}}, 4}};
  }));
  REQUIRE(m.add_family("hg_nothing", "no samples yet", api::metric_kind::gauge,
                       [] { return std::vector<api::metric_sample>{}; }));
  REQUIRE(m.add_family("hg_odd", "bad label", api::metric_kind::gauge, [] {
    return std::vector<api::metric_sample>{
        {{{"bad-label", "x"}}, 1}, {{{"le", "1"}}, 1}, {{{"ok", "y"}}, 2}};
  }));
  const std::string text = m.render();
  CHECK(has_line(text, "# TYPE hg_things_total counter"));
  CHECK(has_line(text, R"(hg_things_total{kind="a"} 3)"));
  CHECK(has_line(text, R"(hg_things_total{kind="b"} 4)"));
  CHECK(text.find("# TYPE hg_nothing gauge\n# HELP") != std::string::npos);
  CHECK(text.find("bad-label") == std::string::npos);
  CHECK(text.find(R"(hg_odd{le=)") == std::string::npos);
  CHECK(has_line(text, R"(hg_odd{ok="y"} 2)"));
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

TEST_CASE("every family renders once, HELP and TYPE first, as a strict scraper reads it") {
  api::metrics m;
  m.count_request("/v1/scan", "POST", 200, 0.004);
  m.count_request("/v1/scan", "POST", 200, 30.0);
  m.count_request("/a\"b\\c\nd", "GET", 404, 0.0001);
  m.observe_stage(api::stage::hash, 0.02);
  m.count_rejected("timeout");
  REQUIRE(m.add_gauge("hg_queue_depth", "jobs\\waiting\nnow", [] { return 2.0; }));
  REQUIRE(m.add_family("hg_entries", "entries by signal", api::metric_kind::gauge, [] {
    return std::vector<api::metric_sample>{{{{"signal", "pdq"}}, 40}, {{{"signal", "md5"}}, 3}};
  }));
  const auto doc = hg_test::parse_exposition(m.render());
  for (const auto* name :
       {"hg_http_requests_total", "hg_http_request_duration_seconds", "hg_stage_duration_seconds",
        "hg_http_rejected_total", "hg_http_connections_open", "hg_queue_depth", "hg_entries"}) {
    INFO(name);
    CHECK(doc.find(name) != nullptr);
  }
  const auto* requests = doc.find("hg_http_requests_total");
  REQUIRE(requests != nullptr);
  CHECK(requests->samples.size() == 2);
  CHECK(requests->samples[0].labels.at("route") == "/a\"b\\c\nd");
  CHECK(doc.find("hg_queue_depth")->help == "jobs\\waiting\nnow");
  CHECK(doc.find("hg_entries")->samples.size() == 2);
}
