#include "hashguard/api/http.hpp"

#include "hashguard/core/errc.hpp"
#include "hg_catch.hpp"

#include <boost/json/parse.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <thread>

using namespace hashguard;

TEST_CASE("request headers are found case-insensitively") {
  api::request r;
  r.headers = {{"X-Zone", "zone-a"}, {"authorization", "Bearer k"}};
  CHECK(r.header("x-zone") == "zone-a");
  CHECK(r.header("Authorization") == "Bearer k");
  CHECK_FALSE(r.header("X-Missing"));
  CHECK(api::iequals("Content-Length", "content-length"));
  CHECK_FALSE(api::iequals("Content-Length", "content-lengt"));
}

TEST_CASE("query parameters are percent-decoded, '+' is a space, absent is nullopt") {
  api::request r;
  r.query = "since=abc%3D%3D&limit=10&q=a+b&flag&empty=";
  CHECK(r.query_param("since") == "abc==");
  CHECK(r.query_param("limit") == "10");
  CHECK(r.query_param("q") == "a b");
  CHECK(r.query_param("flag") == "");
  CHECK(r.query_param("empty") == "");
  CHECK_FALSE(r.query_param("missing"));
  r.params["id"] = "42";
  CHECK(r.param("id") == "42");
  CHECK(r.param("nope").empty());
}

TEST_CASE("a file-backed body owns its descriptor: the last copy of the response closes it") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  ::close(fds[1]);
  {
    api::response r;
    r.file = std::make_shared<api::body_file>(fds[0]);
    CHECK(r.file->fd() == fds[0]);
    api::response copy = r;
    r = api::response{};
    CHECK(::fcntl(fds[0], F_GETFD) != -1);  // the copy still holds it
  }
  CHECK(::fcntl(fds[0], F_GETFD) == -1);
}

TEST_CASE("error responses carry the shape, the mapped status and Retry-After when due") {
  const auto r = api::response::error(api::errc::overloaded, "queue full", 3);
  CHECK(r.status == 503);
  CHECK(r.header("retry-after") == "3");
  const auto v = boost::json::parse(r.body);
  CHECK(v.at("error").at("code").as_string() == "overloaded");

  const auto nf = api::response::error(api::errc::not_found, "nope");
  CHECK(nf.status == 404);
  CHECK_FALSE(nf.header("Retry-After"));

  const auto mod = api::response::error(core::error_code(core::errc::not_hex));
  CHECK(mod.status == 400);
  CHECK(boost::json::parse(mod.body).at("error").at("code").as_string() == "not_hex");
}

TEST_CASE("an error response carries its code beside the body; other answers carry none") {
  CHECK(api::response::error(api::errc::overloaded, "queue full").error_code == "overloaded");
  CHECK(api::response::error("database_unavailable", "down").error_code == "database_unavailable");
  CHECK(api::response::error(core::error_code(core::errc::not_hex)).error_code == "not_hex");
  // An unmapped name answers 500 and still names itself, as its body does.
  const auto odd = api::response::error("no_such_code_anywhere", "?");
  CHECK(odd.status == 500);
  CHECK(odd.error_code == "no_such_code_anywhere");
  CHECK(api::response::json(200, "{}").error_code.empty());
  CHECK(api::response::text(200, "ok", "text/plain").error_code.empty());
}

TEST_CASE("a responder answers once - a dropped one answers 500") {
  std::vector<api::response> got;
  {
    api::responder r([&](api::response x) { got.push_back(std::move(x)); });
    r(api::response::json(200, "{}"));
    r(api::response::json(201, "{}"));  // ignored
    CHECK(r.called());
  }
  REQUIRE(got.size() == 1);
  CHECK(got[0].status == 200);

  got.clear();
  {
    api::responder r([&](api::response x) { got.push_back(std::move(x)); });
  }
  REQUIRE(got.size() == 1);
  CHECK(got[0].status == 500);
  CHECK(boost::json::parse(got[0].body).at("error").at("code").as_string() == "internal");
}

TEST_CASE("a responder may be called from another thread, exactly once overall") {
  std::atomic<int> calls{0};
  api::responder r([&](api::response) { ++calls; });
  std::thread a([r] { r(api::response::json(200, "{}")); });
  std::thread b([r] { r(api::response::json(200, "{}")); });
  a.join();
  b.join();
  CHECK(calls == 1);
}

TEST_CASE("make_async wraps a synchronous handler") {
  auto h = api::make_async([](const api::request& req, const api::auth_context&) {
    return api::response::json(200, req.body);
  });
  api::request req;
  req.body = "abc";
  std::string seen;
  h(req, {}, api::responder([&](api::response x) { seen = x.body; }));
  CHECK(seen == "abc");
}
