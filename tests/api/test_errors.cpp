#include "hashguard/api/errors.hpp"

#include "hashguard/core/errc.hpp"
#include "hg_catch.hpp"

#include <boost/json/parse.hpp>

using namespace hashguard;
using api::errc;

TEST_CASE("every api error maps to DESIGN.md's status and has a stable name") {
  struct row {
    errc code;
    const char* name;
    int status;
  };
  const row rows[] = {
      {errc::malformed, "malformed", 400},
      {errc::truncated_body, "truncated_body", 400},
      {errc::unauthorized, "unauthorized", 401},
      {errc::forbidden, "forbidden", 403},
      {errc::not_found, "not_found", 404},
      {errc::method_not_allowed, "method_not_allowed", 405},
      {errc::request_timeout, "request_timeout", 408},
      {errc::payload_too_large, "payload_too_large", 413},
      {errc::unsupported_media_type, "unsupported_media_type", 415},
      {errc::unprocessable, "unprocessable", 422},
      {errc::rate_limited, "rate_limited", 429},
      {errc::header_too_large, "header_too_large", 431},
      {errc::internal, "internal", 500},
      {errc::not_implemented, "not_implemented", 501},
      {errc::overloaded, "overloaded", 503},
      {errc::not_ready, "not_ready", 503},
  };
  for (const auto& r : rows) {
    core::error_code ec = r.code;
    INFO(r.name);
    CHECK(core::error_name(ec) == r.name);
    CHECK(api::status_for(ec) == r.status);
    CHECK(api::status_for_name(r.name) == r.status);
    CHECK_FALSE(ec.message().empty());
  }
}

TEST_CASE("other modules' errors map by their code names - unknown ones are 500") {
  CHECK(api::status_for(core::errc::not_hex) == 400);
  CHECK(api::status_for(core::errc::wrong_length) == 400);
  CHECK(api::status_for(core::errc::config_file) == 500);
  CHECK(api::status_for_name("unsupported_format") == 415);
  CHECK(api::status_for_name("too_many_pixels") == 413);
  CHECK(api::status_for_name("corrupt") == 422);
  // An input over its CPU budget is its own fault: 422, so no Retry-After invites a resend;
  // a scan stopped by a shutdown is the server's: 503, retry (elsewhere).
  CHECK(api::status_for_name("scan_budget_exceeded") == 422);
  CHECK_FALSE(api::wants_retry_after(api::status_for_name("scan_budget_exceeded")));
  CHECK(api::status_for_name("scan_cancelled") == 503);
  CHECK(api::status_for_name("no_such_code_anywhere") == 500);
  CHECK(api::status_for(boost::system::errc::make_error_code(boost::system::errc::io_error)) ==
        500);
  CHECK(api::status_for(core::error_code{}) == 200);
}

TEST_CASE("the error shape is {error: {code, message}} with JSON escaping") {
  const std::string text = api::error_json("malformed", "bad \"quote\"\n");
  const auto v = boost::json::parse(text);
  CHECK(v.at("error").at("code").as_string() == "malformed");
  CHECK(v.at("error").at("message").as_string() == "bad \"quote\"\n");
  CHECK(v.as_object().size() == 1);
  CHECK(v.at("error").as_object().size() == 2);
}

TEST_CASE("Retry-After goes with 429 and 503 only - reason phrases are standard") {
  CHECK(api::wants_retry_after(429));
  CHECK(api::wants_retry_after(503));
  CHECK_FALSE(api::wants_retry_after(500));
  CHECK_FALSE(api::wants_retry_after(413));
  CHECK(api::reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(api::reason_phrase(404) == "Not Found");
  CHECK(api::reason_phrase(299) == "Unknown");
}
