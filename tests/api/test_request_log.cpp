#include "hashguard/api/request_log.hpp"

#include "hg_catch.hpp"

#include <boost/json/parse.hpp>

using namespace hashguard;

TEST_CASE("a request log line is one JSON object with the documented fields") {
  api::request_log_entry e;
  e.method = "POST";
  e.route = "/v1/scan";
  e.path = "/v1/scan";
  e.status = 200;
  e.bytes_in = 1000;
  e.bytes_out = 321;
  e.duration_ms = 1.23456;
  e.request_id = "req-\"1\"";
  e.key_id = "k_0011aabbccdd";
  e.role = "ingest";
  e.remote = "127.0.0.1:5555";
  const std::string line = api::to_json_line(e);
  CHECK(line.find('\n') == std::string::npos);
  const auto v = boost::json::parse(line);
  CHECK(v.at("method").as_string() == "POST");
  CHECK(v.at("route").as_string() == "/v1/scan");
  CHECK(v.at("status").as_int64() == 200);
  CHECK(v.at("bytes_in").to_number<std::uint64_t>() == 1000);
  CHECK(v.at("bytes_out").to_number<std::uint64_t>() == 321);
  CHECK(v.at("duration_ms").as_double() == Approx(1.235));
  CHECK(line.find("\"duration_ms\":1.235") != std::string::npos);  // a plain decimal, no exponent
  CHECK(v.at("request_id").as_string() == "req-\"1\"");
  CHECK(v.at("key_id").as_string() == "k_0011aabbccdd");
  CHECK(v.at("role").as_string() == "ingest");
  const std::string ts(v.at("ts").as_string());
  CHECK(ts.size() == 24);
  CHECK(ts.back() == 'Z');
  CHECK_FALSE(v.as_object().contains("error"));

  api::request_log_entry anon;
  anon.method = "GET";
  anon.route = "unmatched";
  anon.status = 404;
  anon.error = "not_found";
  const auto a = boost::json::parse(api::to_json_line(anon));
  CHECK_FALSE(a.as_object().contains("key_id"));
  CHECK_FALSE(a.as_object().contains("role"));
  CHECK(a.at("error").as_string() == "not_found");
}
