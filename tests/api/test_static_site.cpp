#include "hashguard/api/static_site.hpp"

#include "hg_catch.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace hashguard;
namespace fs = std::filesystem;

namespace {

struct site_dir {
  fs::path root;
  site_dir() {
    root = fs::temp_directory_path() / ("hg-static-" + std::to_string(::getpid()));
    fs::create_directories(root / "web" / "js");
    write("web/index.html", "<!doctype html><title>hashguard</title>");
    write("web/js/app.js", "console.log(1);");
    write("web/js/index.html", "js index");
    write("web/style.CSS", "body{}");
    write("web/blob.bin", "xx");
    write("secret.txt", "outside the site");
  }
  ~site_dir() { fs::remove_all(root); }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(root / rel, std::ios::binary) << text;
  }
};

std::shared_ptr<const api::static_site> load(const site_dir& d) {
  auto site = api::static_site::load((d.root / "web").string());
  REQUIRE(site);
  return *site;
}

}  // namespace

TEST_CASE("static files are served from memory with types and security headers") {
  site_dir d;
  const auto site = load(d);
  CHECK(site->files() == 5);
  auto index = site->serve("");
  CHECK(index.status == 200);
  CHECK(index.body == "<!doctype html><title>hashguard</title>");
  CHECK(index.content_type == "text/html; charset=utf-8");
  CHECK(index.header("X-Content-Type-Options") == "nosniff");
  CHECK(index.header("Content-Security-Policy")->starts_with("default-src 'self'"));
  CHECK(index.header("Referrer-Policy") == "no-referrer");
  auto js = site->serve("js/app.js");
  CHECK(js.status == 200);
  CHECK(js.content_type == "text/javascript; charset=utf-8");
  CHECK(site->serve("js/").body == "js index");
  CHECK(site->serve("style.CSS").content_type == "text/css; charset=utf-8");
  CHECK(site->serve("blob.bin").content_type == "application/octet-stream");

  // The file exists on disk (next to the site) but was never loaded.
  d.write("web/late.html", "added after load");
  CHECK(site->serve("late.html").status == 404);
}

TEST_CASE("no path escapes the site") {
  site_dir d;
  const auto site = load(d);
  for (std::string_view bad :
       {"../secret.txt", "js/../../secret.txt", "./index.html", "js/./app.js", "/index.html",
        "js//app.js", "..", "js\\app.js", "missing.html", "js"}) {
    INFO(bad);
    const auto r = site->serve(bad);
    CHECK(r.status == 404);
    CHECK(r.body.find("outside the site") == std::string::npos);
  }
}

TEST_CASE("loading: a missing directory and a size cap") {
  site_dir d;
  CHECK(api::static_site::load((d.root / "nope").string()).error() == api::errc::not_found);
  CHECK(api::static_site::load((d.root / "web").string(), 10).error() ==
        api::errc::payload_too_large);
}

TEST_CASE("static routes: a redirect for the bare prefix and the rest-of-path parameter") {
  site_dir d;
  api::route_table t;
  api::add_static_routes(t, load(d));
  auto call = [&](std::string_view path) {
    const auto m = t.match("GET", path);
    REQUIRE(m.matched != nullptr);
    api::request req;
    req.params = m.params;
    api::response out;
    m.matched->handler(req, {}, api::responder([&](api::response r) { out = std::move(r); }));
    return out;
  };
  const auto redirect = call("/ui");
  CHECK(redirect.status == 308);
  CHECK(redirect.header("Location") == "/ui/");
  CHECK(call("/ui/").status == 200);
  CHECK(call("/ui/js/app.js").body == "console.log(1);");
  CHECK(call("/ui/js/%2e%2e/%2e%2e/secret.txt").status == 404);
  CHECK(call("/ui/nothing").status == 404);
  CHECK(t.match("POST", "/ui/").allow == "GET");
}
