#include "hashguard/handlers/routes.hpp"
#include "hashguard/handlers/ui.hpp"

#include "hg_catch.hpp"

using namespace hashguard;

namespace {

api::response get(const api::route_table& t, const std::string& path) {
  auto m = t.match("GET", path);
  REQUIRE(m.matched != nullptr);
  api::request req;
  req.method = "GET";
  req.path = path;
  req.target = path;
  req.params = m.params;
  api::response out;
  bool called = false;
  m.matched->handler(req, {}, api::responder([&](api::response r) {
                       out = std::move(r);
                       called = true;
                     }));
  REQUIRE(called);
  return out;
}

}  // namespace

TEST_CASE("ui file names: flat, no dot files, no traversal") {
  CHECK(handlers::safe_ui_name("app.js"));
  CHECK(handlers::safe_ui_name("index.html"));
  CHECK_FALSE(handlers::safe_ui_name(""));
  CHECK_FALSE(handlers::safe_ui_name(".."));
  CHECK_FALSE(handlers::safe_ui_name("../CMakeLists.txt"));
  CHECK_FALSE(handlers::safe_ui_name("a/b.js"));
  CHECK_FALSE(handlers::safe_ui_name(".gitignore"));
  CHECK_FALSE(handlers::safe_ui_name("a..b"));
  CHECK_FALSE(handlers::safe_ui_name("a\\b"));
  CHECK_FALSE(handlers::safe_ui_name("%2e%2e"));
  CHECK(handlers::content_type_for("app.js") == "text/javascript; charset=utf-8");
  CHECK(handlers::content_type_for("index.html") == "text/html; charset=utf-8");
  CHECK(handlers::content_type_for("style.css") == "text/css; charset=utf-8");
  CHECK(handlers::content_type_for("x.bin") == "application/octet-stream");
}

TEST_CASE("ui routes serve the embedded web/ with security headers") {
  const auto& files = handlers::embedded_ui_files();
  REQUIRE(files.contains("index.html"));
  REQUIRE(files.contains("app.js"));
  for (const auto& [name, bytes] : files) {
    CHECK(handlers::safe_ui_name(name));
    CHECK_FALSE(bytes.empty());
  }
  api::route_table t;
  handlers::add_builtin_routes(t, {});
  auto index = get(t, "/ui/");
  CHECK(index.status == 200);
  CHECK(index.content_type == "text/html; charset=utf-8");
  CHECK(index.body == std::string(files.at("index.html")));
  auto csp = index.header("Content-Security-Policy");
  REQUIRE(csp.has_value());
  CHECK(csp->find("script-src 'self'") != std::string_view::npos);
  CHECK(csp->find("unsafe-inline") == std::string_view::npos);
  CHECK(index.header("X-Content-Type-Options") == std::optional<std::string_view>("nosniff"));
  CHECK(index.body.find("<script>") == std::string::npos);  // no inline script to allow

  auto js = get(t, "/ui/app.js");
  CHECK(js.status == 200);
  CHECK(js.content_type == "text/javascript; charset=utf-8");
  CHECK(get(t, "/ui/missing.js").status == 404);
  CHECK(get(t, "/ui/..%2fCMakeLists.txt").status == 404);
  CHECK(get(t, "/ui/%2e%2e").status == 404);
  auto redirect = get(t, "/ui");
  CHECK(redirect.status == 308);
  CHECK(redirect.header("Location") == std::optional<std::string_view>("/ui/"));

  // A configured directory is confined the same way.
  api::route_table d;
  handlers::add_builtin_routes(d, {nullptr, {}, 1, std::string(HG_SOURCE_DIR) + "/web"});
  CHECK(get(d, "/ui/style.css").status == 200);
  CHECK(get(d, "/ui/..%2fREADME.md").status == 404);
}
