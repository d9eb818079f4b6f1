#include "hashguard/api/request_log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cmath>
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
  o["duration_ms"] = std::round(e.duration_ms * 1000.0) / 1000.0;
  o["request_id"] = e.request_id;
  if (!e.key_id.empty()) o["key_id"] = e.key_id;
  if (!e.role.empty()) o["role"] = e.role;
  if (!e.remote.empty()) o["remote"] = e.remote;
  if (!e.error.empty()) o["error"] = e.error;
  return boost::json::serialize(o);
}

}  // namespace hashguard::api
