#include "hashguard/handlers/routes.hpp"
#include "hashguard/matcher/snapshot.hpp"

#include "hg_catch.hpp"

#include <boost/json/parse.hpp>

#include <set>
#include <tuple>

using namespace hashguard;

namespace {

api::response call(const api::route_table& t, std::string_view method, std::string_view path) {
  const auto m = t.match(method, path);
  REQUIRE(m.matched != nullptr);
  api::response out;
  api::request req;
  req.method = std::string(method);
  req.path = std::string(path);
  m.matched->handler(req, {}, api::responder([&](api::response r) { out = std::move(r); }));
  return out;
}

}  // namespace

TEST_CASE("the design table has every route of DESIGN.md section 5 once, roles as written") {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& s : handlers::design_routes()) {
    INFO(s.method << " " << s.pattern);
    CHECK(seen.insert({s.method, s.pattern}).second);
    CHECK(s.pattern.starts_with("/"));
    if (s.pattern.starts_with("/v1/") && s.pattern != "/v1/openapi.json") {
      CHECK(s.role.has_value());
    } else {
      CHECK_FALSE(s.role.has_value());
      CHECK(s.where == api::run_on::io);
    }
    if (s.role == core::role::ingest) {
      CHECK((s.pattern == "/v1/scan" || s.pattern == "/v1/scan/video" || s.pattern == "/v1/hash" ||
             s.pattern == "/v1/match" || s.pattern == "/v1/decisions"));
    }
    // A list's change feed is the one list route of role exchange (another hashguard).
    if (s.pattern == "/v1/lists/{id}/changes") {
      CHECK(s.role == core::role::exchange);
    } else if (s.pattern.starts_with("/v1/lists") || s.pattern.starts_with("/v1/keys") ||
               s.pattern.starts_with("/v1/exchanges") || s.pattern == "/v1/index") {
      CHECK(s.role == core::role::admin);
    }
    if (s.role == core::role::exchange) CHECK(s.method == "GET");
    // A case's compliance routes (issue 19): the report, filing, the read-only view, holds and
    // the request to destroy evidence; an admin approves that destruction, as a ruling.
    const bool compliance_case_route =
        s.pattern.starts_with("/v1/cases") &&
        (s.pattern.ends_with("/report") || s.pattern.find("/cybertipline") != std::string::npos ||
         s.pattern.ends_with("/compliance") || s.pattern.find("/hold") != std::string::npos ||
         s.pattern.ends_with("/destruction"));
    const bool admin_case_route =
        s.pattern.ends_with("/ruling") || s.pattern.ends_with("/destruction/approve");
    if (s.pattern.starts_with("/v1/exports") || s.pattern.starts_with("/v1/audit") ||
        s.pattern.starts_with("/v1/cybertipline") || compliance_case_route) {
      CHECK(s.role == core::role::compliance);
    }
    if (s.pattern.starts_with("/v1/cases") && !compliance_case_route && !admin_case_route) {
      CHECK(s.role == core::role::reviewer);
    }
    if (admin_case_route || s.pattern.starts_with("/v1/reporting")) {
      CHECK(s.role == core::role::admin);
    }
  }
  CHECK(seen.contains({"POST", "/v1/scan"}));
  CHECK(seen.contains({"POST", "/v1/scan/video"}));
  CHECK(seen.contains({"PATCH", "/v1/lists/{id}"}));
  CHECK(seen.contains({"DELETE", "/v1/lists/{id}"}));
  CHECK(seen.contains({"POST", "/v1/cases/{id}/report"}));
  CHECK(seen.contains({"GET", "/v1/decisions"}));
  CHECK(seen.contains({"GET", "/v1/audit/verify"}));
  CHECK(seen.contains({"GET", "/ui/{file}"}));
  CHECK(seen.contains({"GET", "/v1/keys"}));
  CHECK(seen.contains({"POST", "/v1/keys"}));
  CHECK(seen.contains({"DELETE", "/v1/keys/{id}"}));
  CHECK(seen.contains({"POST", "/v1/cases/{id}/reopen"}));
  CHECK(seen.contains({"POST", "/v1/cases/{id}/ruling"}));
  CHECK(seen.contains({"POST", "/v1/lists/{id}/entries/{entry}/disable"}));
  CHECK(seen.contains({"POST", "/v1/lists/{id}/entries/{entry}/quarantine"}));
  CHECK(seen.contains({"POST", "/v1/lists/{id}/entries/{entry}/restore"}));
  CHECK(seen.contains({"GET", "/v1/floods"}));
  // With POST /v1/cases/{id}/files/{content}/reveal, the reopen, ruling and entry-disable rows,
  // the entry quarantine and restore rows, the floods listing, the 3 key routes, the 3 /ui
  // rows and POST /v1/scan/video; the list change feed and the 3 exchange routes.
  CHECK(seen.contains({"GET", "/v1/lists/{id}/changes"}));
  CHECK(seen.contains({"GET", "/v1/exchanges"}));
  CHECK(seen.contains({"GET", "/v1/exchanges/{name}"}));
  CHECK(seen.contains({"POST", "/v1/exchanges/{name}/sync"}));
  CHECK(seen.size() == 54);
  // Videos wait on their decoder processes on the video pool, under their own body limit.
  for (const auto& s : handlers::design_routes()) {
    if (s.pattern != "/v1/scan/video") continue;
    CHECK(s.where == api::run_on::video);
    CHECK(s.body == api::body_class::video);
  }
}

TEST_CASE("the OpenAPI document and the route table agree, both ways, roles included") {
  const auto doc = boost::json::parse(handlers::openapi_document());
  CHECK(std::string(doc.at("openapi").as_string()).starts_with("3."));
  std::set<std::tuple<std::string, std::string, std::string>> in_doc;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (const auto& [method, op] : item.as_object()) {
      std::string upper(method);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      in_doc.insert({upper, std::string(path), std::string(op.at("x-hashguard-role").as_string())});
      // Routes with a role declare the bearer scheme; public ones declare none.
      const bool secured = !op.at("security").as_array().empty();
      CHECK(secured == (op.at("x-hashguard-role").as_string() != "none"));
      CHECK(op.as_object().contains("responses"));
    }
  }
  std::set<std::tuple<std::string, std::string, std::string>> in_table;
  for (const auto& s : handlers::design_routes()) {
    if (s.pattern.starts_with("/ui")) continue;  // the UI's static files are not the JSON API
    in_table.insert({s.method, s.pattern,
                     s.role ? std::string(core::to_string(*s.role)) : std::string("none")});
  }
  for (const auto& t : in_table) {
    INFO("route missing from openapi.json: " << std::get<0>(t) << " " << std::get<1>(t) << " "
                                             << std::get<2>(t));
    CHECK(in_doc.contains(t));
  }
  for (const auto& t : in_doc) {
    INFO("openapi.json has a route the table lacks: " << std::get<0>(t) << " " << std::get<1>(t)
                                                      << " " << std::get<2>(t));
    CHECK(in_table.contains(t));
  }
  CHECK(doc.at("components").at("schemas").as_object().contains("Error"));
}

TEST_CASE(
    "every design row gets exactly one handler, with the row's spec, and no handler lacks a row") {
  // The services are never called here: registration only wires.
  matcher::snapshot_holder holder;
  handlers::db_pool pool("postgresql://nobody@/none?host=/nonexistent", 1);
  handlers::services deps;
  deps.snapshot = &holder;
  deps.db = &pool;
  api::route_table t;
  std::string problem;
  const auto wired = handlers::register_routes(t, deps, &problem);
  INFO(problem);
  REQUIRE(wired);
  CHECK(problem.empty());
  REQUIRE(t.routes().size() == handlers::design_routes().size());
  for (const auto& row : handlers::design_routes()) {
    INFO(row.method << " " << row.pattern);
    const auto* r = t.find(row.method, row.pattern);
    REQUIRE(r != nullptr);
    CHECK(r->spec.role == row.role);
    CHECK(r->spec.where == row.where);
    CHECK(r->spec.body == row.body);
    CHECK(r->spec.summary == row.summary);
    CHECK(handlers::design_row(row.method, row.pattern) == &row);
  }
  CHECK(handlers::design_row("GET", "/v1/no-such-route") == nullptr);
  // The role of a route is written once: a wired route never answers 501.
  api::request req;
  req.method = "GET";
  req.path = "/healthz";
  const auto m = t.match("GET", "/healthz");
  REQUIRE(m.matched != nullptr);
  api::response out;
  m.matched->handler(req, {}, api::responder([&](api::response r) { out = std::move(r); }));
  CHECK(out.status == 200);
}

TEST_CASE("the start-up errors of the registration have names and messages") {
  const core::error_code a = handlers::errc::unrouted_handler;
  const core::error_code b = handlers::errc::unhandled_route;
  CHECK(core::error_name(a) == "unrouted_handler");
  CHECK(core::error_name(b) == "unhandled_route");
  CHECK(a.message() != b.message());
}

TEST_CASE("placeholders answer 501 until a real handler replaces them") {
  api::route_table t;
  handlers::add_placeholder_routes(t);
  CHECK(t.routes().size() == handlers::design_routes().size());
  const auto r = call(t, "GET", "/v1/cases/9");
  CHECK(r.status == 501);
  CHECK(boost::json::parse(r.body).at("error").at("code").as_string() == "not_implemented");
}

TEST_CASE("built-in routes: healthz, readyz both ways, metrics, openapi") {
  api::metrics stats;
  REQUIRE(stats.add_gauge("hg_snapshot_version", "version", [] { return 2.0; }));
  bool ready = false;
  api::route_table t;
  handlers::add_placeholder_routes(t);
  handlers::add_builtin_routes(t, {&stats,
                                   [&] {
                                     return ready
                                                ? handlers::readiness{true, ""}
                                                : handlers::readiness{false, "snapshot not loaded"};
                                   },
                                   7});
  CHECK(t.routes().size() == handlers::design_routes().size());

  auto h = call(t, "GET", "/healthz");
  CHECK(h.status == 200);
  CHECK(boost::json::parse(h.body).at("status").as_string() == "ok");

  auto r = call(t, "GET", "/readyz");
  CHECK(r.status == 503);
  CHECK(r.header("Retry-After") == "7");
  CHECK(boost::json::parse(r.body).at("error").at("message").as_string() == "snapshot not loaded");
  ready = true;
  r = call(t, "GET", "/readyz");
  CHECK(r.status == 200);

  auto m = call(t, "GET", "/metrics");
  CHECK(m.status == 200);
  CHECK(m.content_type.starts_with("text/plain; version=0.0.4"));
  CHECK(m.body.find("hg_snapshot_version 2\n") != std::string::npos);

  auto o = call(t, "GET", "/v1/openapi.json");
  CHECK(o.status == 200);
  CHECK(o.body == handlers::openapi_document());
}
