#include "hashguard/api/router.hpp"

#include "hg_catch.hpp"

using namespace hashguard;
using api::route_spec;

namespace {

api::route_spec make_spec(std::string method, std::string pattern, std::optional<core::role> role,
                          api::run_on where = api::run_on::io,
                          api::body_class body = api::body_class::none) {
  return api::route_spec{std::move(method), std::move(pattern), role, where, body, ""};
}

api::sync_handler named(std::string name) {
  return [name](const api::request&, const api::auth_context&) {
    return api::response::json(200, name);
  };
}

std::string call(const api::route* r) {
  std::string out;
  r->handler({}, {}, api::responder([&](api::response x) { out = x.body; }));
  return out;
}

api::route_table sample() {
  api::route_table t;
  t.add(make_spec("GET", "/v1/cases", core::role::reviewer), named("list"));
  t.add(make_spec("GET", "/v1/cases/{id}", core::role::reviewer), named("one"));
  t.add(make_spec("POST", "/v1/cases/{id}/decision", core::role::reviewer), named("decide"));
  t.add(make_spec("GET", "/v1/audit/{id}", core::role::compliance), named("audit-one"));
  t.add(make_spec("GET", "/v1/audit/verify", core::role::compliance), named("verify"));
  t.add(make_spec("PATCH", "/v1/lists/{id}", core::role::admin), named("patch"));
  t.add(make_spec("DELETE", "/v1/lists/{id}", core::role::admin), named("delete"));
  return t;
}

}  // namespace

TEST_CASE("literal and parameter segments match - parameters are bound and decoded") {
  const auto t = sample();
  auto m = t.match("GET", "/v1/cases");
  REQUIRE(m.matched != nullptr);
  CHECK(call(m.matched) == "list");
  m = t.match("GET", "/v1/cases/c%2F1");
  REQUIRE(m.matched != nullptr);
  CHECK(call(m.matched) == "one");
  CHECK(m.params.at("id") == "c/1");
  m = t.match("POST", "/v1/cases/7/decision");
  REQUIRE(m.matched != nullptr);
  CHECK(m.params.at("id") == "7");
}

TEST_CASE("no match is 404 (empty allow) - a known path with another method lists Allow") {
  const auto t = sample();
  auto m = t.match("GET", "/v1/nothing");
  CHECK(m.matched == nullptr);
  CHECK(m.allow.empty());
  m = t.match("GET", "/v1/lists/3");
  CHECK(m.matched == nullptr);
  CHECK(m.allow == "DELETE, PATCH");
  m = t.match("POST", "/v1/cases");
  CHECK(m.matched == nullptr);
  CHECK(m.allow == "GET");
}

TEST_CASE("a trailing slash, an empty parameter or extra segments do not match") {
  const auto t = sample();
  CHECK(t.match("GET", "/v1/cases/").matched == nullptr);
  CHECK(t.match("GET", "/v1/cases//decision").matched == nullptr);
  CHECK(t.match("GET", "/v1/cases/1/2").matched == nullptr);
  CHECK(t.match("GET", "v1/cases").matched != nullptr);  // the leading '/' is optional here
}

TEST_CASE("the more literal pattern wins over a parameter") {
  const auto t = sample();
  auto m = t.match("GET", "/v1/audit/verify");
  REQUIRE(m.matched != nullptr);
  CHECK(call(m.matched) == "verify");
  m = t.match("GET", "/v1/audit/17");
  REQUIRE(m.matched != nullptr);
  CHECK(call(m.matched) == "audit-one");
}

TEST_CASE("adding the same method and pattern replaces the handler") {
  auto t = sample();
  const auto before = t.routes().size();
  t.add(make_spec("GET", "/v1/cases", core::role::reviewer), named("replaced"));
  CHECK(t.routes().size() == before);
  CHECK(call(t.match("GET", "/v1/cases").matched) == "replaced");
  CHECK(t.find("GET", "/v1/cases/{id}") != nullptr);
  CHECK(t.find("PUT", "/v1/cases/{id}") == nullptr);
}

TEST_CASE("split_path and percent_decode") {
  CHECK(api::split_path("/a/b/") == std::vector<std::string_view>{"a", "b", ""});
  CHECK(api::split_path("/") == std::vector<std::string_view>{""});
  CHECK(api::percent_decode("a%20b%zz%4") == "a b%zz%4");
  CHECK(api::percent_decode("a+b") == "a+b");
  CHECK(api::percent_decode("a+b", true) == "a b");
}
