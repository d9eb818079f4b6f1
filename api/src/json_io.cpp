#include "hashguard/api/json_io.hpp"

#include "hashguard/core/parse.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

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
  const auto v = core::parse_int(*text, min, max);
  if (!v) return errc::malformed;
  return *v;
}

core::result<std::optional<std::int64_t>> time_query(const request& req, std::string_view name) {
  const auto text = req.query_param(name);
  if (!text || text->empty()) return std::optional<std::int64_t>{};
  auto us = core::parse_utc_time_us(*text);
  if (!us) return errc::malformed;
  return std::optional<std::int64_t>(*us);
}

}  // namespace hashguard::api
