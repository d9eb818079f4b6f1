#include "hashguard/api/json_io.hpp"

#include "hg_catch.hpp"

#include <boost/json/parse.hpp>

using namespace hashguard;

namespace {
api::request with_body(std::string body, std::string content_type = "application/json") {
  api::request r;
  r.body = std::move(body);
  if (!content_type.empty()) r.headers.push_back({"Content-Type", std::move(content_type)});
  return r;
}
}  // namespace

TEST_CASE("JSON bodies: valid, malformed, empty, wrong media type, not an object") {
  auto ok = api::parse_json_object(with_body(R"({"pdq":["ab"],"n":3})"));
  REQUIRE(ok);
  CHECK(ok->at("n").as_int64() == 3);
  CHECK(api::parse_json_body(with_body("[1,2]", "application/json; charset=utf-8")));
  CHECK(api::parse_json_body(with_body("[1,2]", "")));  // no Content-Type: accepted
  CHECK(api::parse_json_body(with_body("{}", "application/vnd.api+json")));

  CHECK(api::parse_json_body(with_body("{\"a\":")).error() == api::errc::malformed);
  CHECK(api::parse_json_body(with_body("{} trailing")).error() == api::errc::malformed);
  CHECK(api::parse_json_body(with_body("")).error() == api::errc::malformed);
  CHECK(api::parse_json_body(with_body("{}", "text/plain")).error() ==
        api::errc::unsupported_media_type);
  CHECK(api::parse_json_body(with_body("{}", "image/jpeg")).error() ==
        api::errc::unsupported_media_type);
  CHECK(api::parse_json_object(with_body("[1]")).error() == api::errc::malformed);
  CHECK(api::parse_json_object(with_body("\"text\"")).error() == api::errc::malformed);

  const auto bad = api::response::error(api::parse_json_body(with_body("{")).error());
  CHECK(bad.status == 400);
  const auto media =
      api::response::error(api::parse_json_body(with_body("{}", "text/csv")).error());
  CHECK(media.status == 415);
}

TEST_CASE("integer query parameters are strict and range-checked") {
  api::request r;
  r.query = "limit=50&bad=5x&neg=-3&big=99999999999999999999&empty=";
  CHECK(api::int_query(r, "limit", 10, 1, 100).value() == 50);
  CHECK(api::int_query(r, "missing", 10, 1, 100).value() == 10);
  CHECK(api::int_query(r, "limit", 10, 1, 20).error() == api::errc::malformed);
  CHECK(api::int_query(r, "bad", 10, 1, 100).error() == api::errc::malformed);
  CHECK(api::int_query(r, "neg", 10, 0, 100).error() == api::errc::malformed);
  CHECK(api::int_query(r, "neg", 10, -5, 100).value() == -3);
  CHECK(api::int_query(r, "big", 10, 0, 100).error() == api::errc::malformed);
  CHECK(api::int_query(r, "empty", 10, 0, 100).error() == api::errc::malformed);
}

TEST_CASE("json_response serialises a value") {
  boost::json::object o;
  o["verdict"] = "no_match";
  const auto r = api::json_response(200, o);
  CHECK(r.status == 200);
  CHECK(r.content_type == "application/json");
  CHECK(boost::json::parse(r.body).at("verdict").as_string() == "no_match");
}
