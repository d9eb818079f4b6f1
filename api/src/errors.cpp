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
// a code, it gets its row here or a place on the "500 on purpose" list below; a test walks
// every module's category and fails on a name that has neither.
constexpr std::array<std::pair<std::string_view, int>, 56> status_table{{
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
    // core: hex text of hashes in requests (POST /v1/match)
    {"wrong_length", 400},
    {"not_hex", 400},
    // core: numbers and times in requests (parse.hpp)
    {"not_a_number", 400},
    {"out_of_range", 400},
    {"bad_time", 400},
    {"bad_address", 400},
    // scanner: sniff/decode
    {"empty", 415},  // scanner::errc::empty: no bytes, so no format either
    {"out_of_memory", 503},
    {"unsupported_format", 415},
    {"too_many_pixels", 413},
    {"too_large", 413},
    {"too_long", 413},          // video: duration over the limit
    {"too_many_frames", 413},   // video: frame count over the limit
    {"too_many_streams", 413},  // video: a container with more streams than the limit
    {"decoder_crashed", 422},   // video: the sandboxed decoder died on this input
    {"truncated", 422},
    {"corrupt", 422},
    // The input costs more CPU than scanner.max_scan_ms: its fault, so no Retry-After (a 503
    // would invite the cache layer to send it again forever). 503 overloaded stays for a
    // request that waited too long for a scan thread.
    {"scan_budget_exceeded", 422},
    {"scan_cancelled", 503},  // serve is shutting down mid-scan: another node can answer
    // matcher / hashdb: lookups and validation
    {"bad_threshold", 400},
    {"invalid_argument", 400},
    {"conflict", 409},
    {"already_exists", 409},
    {"purge_refused", 409},
    {"case_locked", 409},
    {"evidence_not_viewed", 409},
    {"suppression_refused", 409},
    {"not_confirmed", 409},
    {"harm_type_refused", 409},
    {"classification_required", 422},
    // hashdb: CyberTipline filing (POST /v1/cases/{id}/cybertipline, /report)
    {"job_exists", 409},
    {"report_recorded", 409},
    {"no_evidence", 422},
    {"unknown_format", 400},
    {"database_unavailable", 503},
    {"commit_in_doubt", 503},  // the connection broke during a commit: ask again
    {"commit_deadline", 503},
    {"spool_full", 503},
    // handlers: the ingest routes' probe detector (probe_guard.hpp), with Retry-After
    {"probe_suspected", 429},
    // handlers: a video sent to POST /v1/scan (it belongs on POST /v1/scan/video)
    {"use_video_route", 415},
}};

// Codes that answer 500 on purpose: configuration, storage and programming faults a client
// cannot cause and cannot fix by changing its request. Listed so that a new code is a
// decision (a row above or a place here), never an accident.
constexpr std::array<std::string_view, 21> deliberate_500{
    "config_unknown_key", "config_bad_value",   "config_file",   // core: start-up only
    "digest_failed",                                             // scanner: OpenSSL failed
    "unknown_kernel",     "unsupported_kernel", "unknown_list",  // matcher: building a
    "duplicate_list",     "wrong_signal",       "bad_radius",
    "bad_image",                                                     // snapshot, not a request
    "db_query_failed",    "schema_too_new",     "db_server_failed",  // hashdb: a statement or
    "io_error",           "spool_corrupt",      "integrity",         // the store is broken
    "audit_key_missing",  "audit_head_behind",                       // hashdb: audit chain
    "unrouted_handler",   "unhandled_route",                         // handlers: start-up only
};

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

bool has_status_row(std::string_view code_name) noexcept {
  for (const auto& row : status_table) {
    if (row.first == code_name) return true;
  }
  return false;
}

bool answers_500_on_purpose(std::string_view code_name) noexcept {
  for (const auto name : deliberate_500) {
    if (name == code_name) return true;
  }
  return false;
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
