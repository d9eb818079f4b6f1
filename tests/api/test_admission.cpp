// Admission without a socket: every early answer a header can get, in its order, and the
// admitted request with its route, parameters, caller and body limit.
#include "hashguard/api/admission.hpp"

#include "hg_catch.hpp"

#include <boost/json/parse.hpp>

using namespace hashguard;

namespace {

api::response ok(const api::request&, const api::auth_context&) {
  return api::response::json(200, "{}");
}

// A small route table, two keys, a limiter and limits the tests can reason about.
struct fixture {
  api::route_table routes;
  api::key_registry keys;
  api::rate_limiter limiter{0, 0};  // unlimited unless a key says otherwise
  api::server_options limits;

  fixture() {
    routes.add(
        {"GET", "/v1/cases/{id}", core::role::reviewer, api::run_on::db, api::body_class::none, ""},
        api::sync_handler(ok));
    routes.add({"PATCH", "/v1/cases/{id}", core::role::reviewer, api::run_on::db,
                api::body_class::json, ""},
               api::sync_handler(ok));
    routes.add(
        {"POST", "/v1/scan", core::role::ingest, api::run_on::scan, api::body_class::image, ""},
        api::sync_handler(ok));
    routes.add({"GET", "/healthz", std::nullopt, api::run_on::io, api::body_class::none, ""},
               api::sync_handler(ok));
    routes.add({"POST", "/public/echo", std::nullopt, api::run_on::io, api::body_class::json, ""},
               api::sync_handler(ok));
    keys.replace({record("reviewer-key", core::role::reviewer, 0, 0),
                  record("ingest-key", core::role::ingest, 0, 0),
                  record("slow-key", core::role::reviewer, 0.001, 1)});
    limits.body_limit_json = 100;
    limits.body_limit_image = 5000;
  }

  static api::key_record record(std::string_view key, core::role role, double rate, double burst) {
    const auto d = api::digest_key(key);
    return {d, api::key_id_of(d), role, rate, burst};
  }

  api::admission admit(const api::request_head& head) {
    return api::admit(head, {&routes, &keys, &limiter, &limits});
  }
};

api::request_head get(std::string_view target, std::string_view authorization = {}) {
  return {"GET", target, {}, authorization, std::nullopt};
}

std::string code_in_body(const api::response& r) {
  return std::string(boost::json::parse(r.body).at("error").at("code").as_string());
}

// An early answer with its status and code, the code both in the body and beside it.
void check_early(const api::admission& a, int status, std::string_view code) {
  REQUIRE_FALSE(a.admitted());
  CHECK(a.early->status == status);
  CHECK(a.early->error_code == code);
  CHECK(code_in_body(*a.early) == code);
}

}  // namespace

TEST_CASE("admission admits a request with its route, parameters, caller and body limit") {
  fixture f;
  const auto a = f.admit(get("/v1/cases/c%2042?x=1&y=2", "Bearer reviewer-key"));
  REQUIRE(a.admitted());
  REQUIRE(a.matched != nullptr);
  CHECK(a.matched->spec.pattern == "/v1/cases/{id}");
  CHECK(a.matched->spec.method == "GET");
  CHECK(a.path == "/v1/cases/c%2042");
  CHECK(a.query == "x=1&y=2");
  REQUIRE(a.params.count("id") == 1);
  CHECK(a.params.at("id") == "c 42");  // decoded
  CHECK(a.caller.key_id == api::key_id_of(api::digest_key("reviewer-key")));
  CHECK(a.caller.role == core::role::reviewer);
  CHECK(a.body_limit == 100);  // body_class::none takes the json limit
  CHECK(a.request_id.empty());

  // The route's body class decides the limit; a body exactly at it is admitted.
  const auto scan = f.admit({"POST", "/v1/scan", "req-7", "Bearer ingest-key", 5000});
  REQUIRE(scan.admitted());
  CHECK(scan.body_limit == 5000);
  CHECK(scan.request_id == "req-7");
  CHECK(scan.query.empty());
  CHECK(scan.params.empty());
}

TEST_CASE("admission: public routes need no key and name no caller") {
  fixture f;
  const auto a = f.admit(get("/healthz"));
  REQUIRE(a.admitted());
  CHECK(a.matched->spec.pattern == "/healthz");
  CHECK(a.caller.key_id.empty());
  CHECK_FALSE(a.caller.role);
  // A key sent to a public route is not even looked at: a wrong one is no 401.
  CHECK(f.admit(get("/healthz", "Bearer no-such-key")).admitted());
  CHECK(f.admit(get("/healthz", "Basic abc")).admitted());
  // Public routes still have body limits.
  check_early(f.admit({"POST", "/public/echo", {}, {}, 101}), 413, "payload_too_large");
}

TEST_CASE("admission: 400 for a bad X-Request-Id or a target that is not an absolute path") {
  fixture f;
  const auto bad_id = f.admit({"GET", "/healthz", "has space", {}, std::nullopt});
  check_early(bad_id, 400, "malformed");
  CHECK(bad_id.request_id.empty());  // the server answers with one of its own
  check_early(f.admit({"GET", "/healthz", std::string(129, 'a'), {}, std::nullopt}), 400,
              "malformed");
  CHECK(f.admit({"GET", "/healthz", std::string(128, 'a'), {}, std::nullopt}).admitted());

  for (std::string_view target : {"*", "http://example.org/healthz", "healthz", "", "?x=/"}) {
    CAPTURE(target);
    const auto a = f.admit(get(target));
    check_early(a, 400, "malformed");
    CHECK(a.path.empty());  // not a path: kept out of the log
    CHECK(a.matched == nullptr);
  }
}

TEST_CASE("admission: 404 for an unknown path, 405 with Allow for a known one") {
  fixture f;
  const auto missing = f.admit(get("/v1/nothing-here", "Bearer reviewer-key"));
  check_early(missing, 404, "not_found");
  CHECK(missing.matched == nullptr);
  CHECK(missing.path == "/v1/nothing-here");
  CHECK_FALSE(missing.early->header("Allow"));

  const auto wrong_method = f.admit({"DELETE", "/v1/cases/1", {}, "Bearer reviewer-key", {}});
  check_early(wrong_method, 405, "method_not_allowed");
  CHECK(wrong_method.matched == nullptr);
  CHECK(wrong_method.early->header("Allow") == "GET, PATCH");
  // The route is unknown, so no key was looked at.
  CHECK(wrong_method.caller.key_id.empty());
}

TEST_CASE("admission: 401 for a missing, malformed or unknown key, with WWW-Authenticate") {
  fixture f;
  for (std::string_view authorization :
       {std::string_view{}, std::string_view{"reviewer-key"}, std::string_view{"Basic cmV2"},
        std::string_view{"Bearer"}, std::string_view{"Bearer a b"},
        std::string_view{"Bearer not-a-key"}}) {
    CAPTURE(authorization);
    const auto a = f.admit(get("/v1/cases/1", authorization));
    check_early(a, 401, "unauthorized");
    CHECK(a.early->header("WWW-Authenticate") == "Bearer");
    REQUIRE(a.matched != nullptr);  // the log names the route
    CHECK(a.matched->spec.pattern == "/v1/cases/{id}");
    CHECK(a.caller.key_id.empty());
  }
  // With no key registry at all, every key is unknown.
  const auto none = api::admit(get("/v1/cases/1", "Bearer reviewer-key"),
                               {&f.routes, nullptr, nullptr, &f.limits});
  check_early(none, 401, "unauthorized");
}

TEST_CASE("admission: 403 for a valid key of another role, naming the caller") {
  fixture f;
  const auto a = f.admit(get("/v1/cases/1", "Bearer ingest-key"));
  check_early(a, 403, "forbidden");
  CHECK(a.caller.key_id == api::key_id_of(api::digest_key("ingest-key")));
  CHECK(a.caller.role == core::role::ingest);
  CHECK(a.early->body.find("reviewer") != std::string::npos);
}

TEST_CASE("admission: 429 with Retry-After once a key's bucket is empty, that key only") {
  fixture f;
  // slow-key: a burst of one, then one token per 1000 s.
  CHECK(f.admit(get("/v1/cases/1", "Bearer slow-key")).admitted());
  const auto a = f.admit(get("/v1/cases/1", "Bearer slow-key"));
  check_early(a, 429, "rate_limited");
  const auto retry_after = a.early->header("Retry-After");
  REQUIRE(retry_after);
  CHECK(std::stoi(std::string(*retry_after)) >= 1);
  CHECK(a.caller.key_id == api::key_id_of(api::digest_key("slow-key")));
  // The token is taken before the role check: a flood on routes of another role is throttled.
  check_early(f.admit({"POST", "/v1/scan", {}, "Bearer slow-key", 10}), 429, "rate_limited");
  // Other keys are unaffected; without a limiter nothing is limited.
  CHECK(f.admit(get("/v1/cases/1", "Bearer reviewer-key")).admitted());
  CHECK(api::admit(get("/v1/cases/1", "Bearer slow-key"), {&f.routes, &f.keys, nullptr, &f.limits})
            .admitted());
}

TEST_CASE("admission: 413 when Content-Length is over the route's limit, before the body") {
  fixture f;
  const auto a = f.admit({"PATCH", "/v1/cases/1", {}, "Bearer reviewer-key", 101});
  check_early(a, 413, "payload_too_large");
  CHECK(a.early->body.find("100 bytes") != std::string::npos);
  CHECK(a.caller.role == core::role::reviewer);  // the key was checked first
  CHECK(f.admit({"PATCH", "/v1/cases/1", {}, "Bearer reviewer-key", 100}).admitted());
  check_early(f.admit({"POST", "/v1/scan", {}, "Bearer ingest-key", 5001}), 413,
              "payload_too_large");
  // Without Content-Length (a chunked body) admission admits and hands over the limit.
  const auto chunked = f.admit({"POST", "/v1/scan", {}, "Bearer ingest-key", std::nullopt});
  REQUIRE(chunked.admitted());
  CHECK(chunked.body_limit == 5000);
  // A bad key is refused before its body size is looked at.
  check_early(f.admit({"POST", "/v1/scan", {}, "Bearer nope", 1'000'000}), 401, "unauthorized");
}
