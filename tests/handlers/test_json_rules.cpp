// One JSON request rule on every route that takes a JSON body (design rows with body class
// json): a Content-Type other than application/json (or +json) answers 415
// unsupported_media_type, a body that is not a JSON object answers the same 400 malformed
// body everywhere, and no Content-Type at all is accepted as JSON.
#include "hashguard/handlers/routes.hpp"

#include "hg_catch.hpp"
#include "hg_pg.hpp"
#include "route_call.hpp"

#include <set>
#include <string>

using namespace hashguard;

namespace {

hg_test::route_call call_for(const api::route_spec& row, std::string body,
                             std::optional<std::string> content_type) {
  hg_test::route_call c;
  c.method = row.method;
  std::string path = row.pattern;
  for (auto [name, value] :
       {std::pair<std::string_view, std::string_view>{"{id}", "1"},
        {"{content}", "0000000000000000000000000000000000000000000000000000000000000000"}}) {
    if (auto at = path.find(name); at != std::string::npos) path.replace(at, name.size(), value);
  }
  c.target = path;
  c.body = std::move(body);
  c.content_type = std::move(content_type);
  return c;
}

}  // namespace

TEST_CASE("every JSON route: 415 for a foreign Content-Type, one 400 body for malformed JSON") {
  hg_test::test_database db;
  matcher::snapshot_holder holder;
  handlers::db_pool pool(db.url(), 2, std::chrono::milliseconds(5000), hg_test::audit_keys());
  handlers::services deps;
  deps.snapshot = &holder;
  deps.db = &pool;
  deps.evidence = hashdb::evidence_key{"test", {}};
  api::route_table table;
  REQUIRE(handlers::register_routes(table, deps));

  std::set<std::string> malformed_bodies;
  std::size_t json_routes = 0;
  for (const auto& row : handlers::design_routes()) {
    if (row.body != api::body_class::json) continue;
    ++json_routes;
    INFO(row.method << " " << row.pattern);
    const auto foreign = hg_test::call_route(table, call_for(row, "{}", "text/plain"));
    CHECK(foreign.status == 415);
    CHECK(hg_test::error_code_of(foreign) == "unsupported_media_type");

    for (const char* bad : {"{\"unterminated", "[1, 2]", "\xff\xfe"}) {
      const auto r = hg_test::call_route(table, call_for(row, bad, "application/json"));
      CHECK(r.status == 400);
      CHECK(hg_test::error_code_of(r) == "malformed");
      malformed_bodies.insert(r.body);
    }
    const auto plus_json =
        hg_test::call_route(table, call_for(row, "[]", "application/problem+json; charset=utf-8"));
    CHECK(plus_json.status == 400);  // a +json type is JSON: the array is what is refused
  }
  CHECK(json_routes >= 6);
  CHECK(malformed_bodies.size() == 1);
}
