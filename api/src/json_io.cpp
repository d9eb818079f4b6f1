#include "hashguard/api/json_io.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <cstdio>
#include <ctime>

namespace hashguard::api {
namespace {

bool json_media_type(std::string_view content_type) {
  // "application/json", "application/json; charset=utf-8", "application/problem+json"...
  const auto semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (iequals(type, "application/json")) return true;
  return type.size() > 5 && iequals(type.substr(type.size() - 5), "+json") &&
         iequals(type.substr(0, 12), "application/");
}

}  // namespace

core::result<boost::json::value> parse_json_body(const request& req) {
  if (auto ct = req.header("Content-Type"); ct && !json_media_type(*ct)) {
    return errc::unsupported_media_type;
  }
  if (req.body.empty()) return errc::malformed;
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(req.body, ec);
  if (ec) return errc::malformed;
  return v;
}

core::result<boost::json::object> parse_json_object(const request& req) {
  auto v = parse_json_body(req);
  if (!v) return v.error();
  if (!v->is_object()) return errc::malformed;
  return std::move(v->as_object());
}

std::optional<std::string> string_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

response json_response(int status, const boost::json::value& v) {
  return response::json(status, boost::json::serialize(v));
}

core::result<std::int64_t> int_query(const request& req, std::string_view name,
                                     std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const auto text = req.query_param(name);
  if (!text) return fallback;
  std::int64_t v = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, v);
  if (text->empty() || ec != std::errc{} || ptr != end || v < min || v > max) {
    return errc::malformed;
  }
  return v;
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fff]Z" -> microseconds since the epoch (UTC).
std::optional<std::int64_t> parse_time(std::string_view s) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  const std::string text(s);
  if (text.size() == 10) {
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d", &y, &mo, &d) != 3) return std::nullopt;
  } else if (text.size() >= 20 && text.back() == 'Z') {
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) {
      return std::nullopt;
    }
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000;
}

core::result<std::optional<std::int64_t>> time_query(const request& req, std::string_view name) {
  const auto text = req.query_param(name);
  if (!text || text->empty()) return std::optional<std::int64_t>{};
  auto us = parse_time(*text);
  if (!us) return errc::malformed;
  return us;
}

}  // namespace hashguard::api
