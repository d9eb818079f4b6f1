#include "hashguard/api/request_log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace hashguard::api {
namespace {

// "2026-11-29T02:30:00.123Z". The date and time part changes once a second: formatted once
// per second per thread (strftime and gmtime_r are a visible share of a small request's cost).
std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  thread_local std::time_t formatted_second = -1;
  thread_local std::string formatted;
  if (t != formatted_second) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    formatted.assign(buf, n);
    formatted_second = t;
  }
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
  return formatted + frac;
}

}  // namespace

std::string to_json_line(const request_log_entry& e) {
  boost::json::object o;
  o["ts"] = utc_now();
  o["method"] = e.method;
  o["route"] = e.route;
  o["path"] = e.path;
  o["status"] = e.status;
  o["bytes_in"] = e.bytes_in;
  o["bytes_out"] = e.bytes_out;
  o["request_id"] = e.request_id;
  if (!e.key_id.empty()) o["key_id"] = e.key_id;
  if (!e.role.empty()) o["role"] = e.role;
  if (!e.remote.empty()) o["remote"] = e.remote;
  if (!e.error.empty()) o["error"] = e.error;
  // duration_ms as a plain decimal with microsecond precision ("45.732"): Boost.JSON writes
  // doubles in exponent form ("4.5732E1"), valid JSON but awkward to read in a log.
  std::string line = boost::json::serialize(o);
  const double ms = std::isfinite(e.duration_ms) ? std::max(0.0, e.duration_ms) : 0.0;
  char number[48];
  const int n = std::snprintf(number, sizeof number, ",\"duration_ms\":%.3f", ms);
  line.insert(line.size() - 1, number, static_cast<std::size_t>(std::max(0, n)));
  return line;
}

}  // namespace hashguard::api
