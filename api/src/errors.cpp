#include "hashguard/api/errors.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <utility>

namespace hashguard::api {
namespace {

class api_category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.api"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::malformed: return "malformed request";
      case errc::truncated_body: return "the request body ended before its Content-Length";
      case errc::unauthorized: return "missing or unknown API key";
      case errc::forbidden: return "this key's role may not use this route";
      case errc::not_found: return "not found";
      case errc::method_not_allowed: return "method not allowed on this path";
      case errc::request_timeout: return "the request did not arrive in time";
      case errc::payload_too_large: return "request body over the limit";
      case errc::unsupported_media_type: return "unsupported format";
      case errc::unprocessable: return "the request cannot be processed";
      case errc::rate_limited: return "rate limit exceeded for this key";
      case errc::header_too_large: return "request header fields too large";
      case errc::internal: return "internal error";
      case errc::not_implemented: return "this route is not available on this build yet";
      case errc::overloaded: return "server overloaded, retry later";
      case errc::not_ready: return "not ready";
    }
    return "unknown api error";
  }
  const char* code_name(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::malformed: return "malformed";
      case errc::truncated_body: return "truncated_body";
      case errc::unauthorized: return "unauthorized";
      case errc::forbidden: return "forbidden";
      case errc::not_found: return "not_found";
      case errc::method_not_allowed: return "method_not_allowed";
      case errc::request_timeout: return "request_timeout";
      case errc::payload_too_large: return "payload_too_large";
      case errc::unsupported_media_type: return "unsupported_media_type";
      case errc::unprocessable: return "unprocessable";
      case errc::rate_limited: return "rate_limited";
      case errc::header_too_large: return "header_too_large";
      case errc::internal: return "internal";
      case errc::not_implemented: return "not_implemented";
      case errc::overloaded: return "overloaded";
      case errc::not_ready: return "not_ready";
    }
    return "unknown";
  }
};

// THE status table (DESIGN.md section 5). The api's own names come first; below them the
// names other modules' named_categories use for errors a client can cause. When a module adds
// a client-visible code, it gets its row here; anything absent is a 500.
constexpr std::array<std::pair<std::string_view, int>, 46> status_table{{
    {"malformed", 400},
    {"truncated_body", 400},
    {"unauthorized", 401},
    {"forbidden", 403},
    {"not_found", 404},
    {"method_not_allowed", 405},
    {"request_timeout", 408},
    {"payload_too_large", 413},
    {"unsupported_media_type", 415},
    {"unprocessable", 422},
    {"rate_limited", 429},
    {"header_too_large", 431},
    {"internal", 500},
    {"not_implemented", 501},
    {"overloaded", 503},
    {"not_ready", 503},
    // core: hex text of hashes in requests (POST /v1/match) and configuration
    {"wrong_length", 400},
    {"not_hex", 400},
    {"config_unknown_key", 500},
    {"config_bad_value", 500},
    {"config_file", 500},
    // scanner: sniff/decode (the names the scanner's errc is expected to use)
    {"empty_input", 400},
    {"empty", 415},  // scanner::errc::empty: no bytes, so no format either
    {"out_of_memory", 503},
    {"digest_failed", 500},
    {"unsupported_format", 415},
    {"too_many_pixels", 413},
    {"too_large", 413},
    {"truncated", 422},
    {"undecodable", 422},
    {"decode_failed", 422},
    {"corrupt", 422},
    // matcher / hashdb: lookups and validation
    {"unknown_signal", 400},
    {"bad_threshold", 400},
    {"invalid_argument", 400},
    {"bad_format", 400},
    {"list_not_found", 404},
    {"case_not_found", 404},
    {"event_not_found", 404},
    {"conflict", 409},
    {"already_exists", 409},
    {"unknown_format", 400},
    {"db_unavailable", 503},
    {"already_decided", 409},
    {"database_unavailable", 503},
    {"spool_full", 503},
}};

}  // namespace

const core::named_category& api_category() noexcept {
  static const api_category_impl instance;
  return instance;
}

int status_for_name(std::string_view code_name) noexcept {
  for (const auto& [name, status] : status_table) {
    if (name == code_name) return status;
  }
  return 500;
}

int status_for(const core::error_code& ec) noexcept {
  if (!ec) return 200;
  try {
    return status_for_name(core::error_name(ec));
  } catch (...) {
    return 500;
  }
}

std::string error_json(std::string_view code, std::string_view message) {
  boost::json::object inner;
  inner["code"] = code;
  inner["message"] = message;
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return boost::json::serialize(outer);
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace hashguard::api
