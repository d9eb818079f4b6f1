// The server over real sockets on 127.0.0.1 (ephemeral port): routes, the route x role matrix,
// limits, deadlines, keep-alive, pipelining, backpressure, rate limits, drain, TLS.
#include "hashguard/api/server.hpp"
#include "hashguard/handlers/ui.hpp"

#include "hg_catch.hpp"
#include "hg_tls.hpp"
#include "http_client.hpp"
#include "server_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <future>
#include <thread>

using namespace hashguard;
using namespace hg_test;
using namespace std::chrono_literals;

namespace {

api::route_spec make_spec(std::string method, std::string pattern, std::optional<core::role> role,
                          api::run_on where = api::run_on::io,
                          api::body_class body = api::body_class::none) {
  return api::route_spec{std::move(method), std::move(pattern), role, where, body, ""};
}

using steady = std::chrono::steady_clock;

// A handler that says which route it is and what it saw.
api::sync_handler echo(std::string name) {
  return [name](const api::request& req, const api::auth_context& auth) {
    boost::json::object o;
    o["route"] = name;
    o["body_bytes"] = req.body.size();
    o["role"] = auth.role ? std::string(core::to_string(*auth.role)) : std::string("none");
    o["key_id"] = auth.key_id;
    for (const auto& [k, v] : req.params) o["param_" + k] = v;
    return api::response::json(200, boost::json::serialize(o));
  };
}

// Every design route with an echo handler, plus the built-ins (ready).
void add_echo_routes(test_server& s) {
  for (const auto& spec : handlers::design_routes()) s.routes.add(spec, echo(spec.pattern));
  handlers::add_builtin_routes(s.routes, {&s.stats,
                                          [] {
                                            return handlers::readiness{true, ""};
                                          },
                                          1});
}

std::string error_code_of(const http_response& r) {
  return std::string(boost::json::parse(r.body).at("error").at("code").as_string());
}

// A concrete path for a pattern ({id} -> 42).
std::string path_of(const std::string& pattern) {
  std::string out = pattern;
  for (auto at = out.find("{id}"); at != std::string::npos; at = out.find("{id}")) {
    out.replace(at, 4, "42");
  }
  return out;
}

// A gate that handlers wait on until the test opens it.
struct gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open{false};
  int waiting{0};
  void wait() {
    std::unique_lock lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(lock, [this] { return open; });
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  bool wait_for_waiters(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return waiting >= n; });
  }
};

}  // namespace

TEST_CASE("built-in routes over a socket: healthz, readyz, metrics, openapi") {
  test_server s;
  std::atomic<bool> ready{false};
  handlers::add_builtin_routes(s.routes, {&s.stats,
                                          [&] {
                                            return ready ? handlers::readiness{true, ""}
                                                         : handlers::readiness{
                                                               false, "spool not writable"};
                                          },
                                          2});
  s.start();
  auto h = fetch(s.port(), "GET", "/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(h->header("content-type") == "application/json");
  CHECK_FALSE(h->header("x-request-id").empty());

  auto r = fetch(s.port(), "GET", "/readyz");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->header("retry-after") == "2");
  CHECK(error_code_of(*r) == "not_ready");
  ready = true;
  r = fetch(s.port(), "GET", "/readyz");
  REQUIRE(r);
  CHECK(r->status == 200);

  auto o = fetch(s.port(), "GET", "/v1/openapi.json");
  REQUIRE(o);
  CHECK(o->status == 200);
  CHECK(boost::json::parse(o->body).at("paths").as_object().contains("/v1/scan"));

  auto m = fetch(s.port(), "GET", "/metrics");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(m->header("content-type").starts_with("text/plain"));
  // The earlier requests are counted by route pattern and status.
  CHECK(m->body.find(R"(hg_http_requests_total{route="/healthz",method="GET",status="200"} 1)") !=
        std::string::npos);
  CHECK(m->body.find(R"(hg_http_requests_total{route="/readyz",method="GET",status="503"} 1)") !=
        std::string::npos);
  CHECK(m->body.find("hg_stage_duration_seconds_bucket{stage=\"decode\"") != std::string::npos);
}

TEST_CASE("the route x role matrix: every route, no key, a bad key and every role") {
  test_server s;
  add_echo_routes(s);
  s.start();
  const std::vector<std::optional<core::role>> callers{core::role::ingest, core::role::reviewer,
                                                       core::role::compliance, core::role::admin};
  for (const auto& spec : handlers::design_routes()) {
    const std::string path = path_of(spec.pattern);
    const bool has_body = spec.method == "POST" || spec.method == "PATCH";
    const std::optional<std::string_view> body =
        has_body ? std::optional<std::string_view>("{}") : std::nullopt;
    INFO(spec.method << " " << spec.pattern);
    auto send = [&](std::string_view key) {
      // A fresh connection each time: an answer given before a body is read closes it.
      client c(s.port());
      std::vector<std::pair<std::string, std::string>> headers;
      if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + std::string(key));
      REQUIRE(c.send(make_request(spec.method, path, headers, body)));
      auto r = c.read_response();
      REQUIRE(r);
      return *r;
    };
    if (!spec.role) {
      for (std::string_view key : {std::string_view{}, std::string_view{"garbage"}}) {
        const auto r = send(key);
        CHECK(r.status != 401);  // public: no key needed, a bad one ignored
        CHECK(r.status != 403);
        // The UI's rows are real handlers here (a redirect, a missing file), the rest echo.
        if (!spec.pattern.starts_with("/ui")) CHECK(r.status == 200);
      }
      continue;
    }
    auto none = send({});
    CHECK(none.status == 401);
    CHECK(error_code_of(none) == "unauthorized");
    CHECK(none.header("www-authenticate") == "Bearer");
    auto bad = send("not-a-key");
    CHECK(bad.status == 401);
    for (const auto& caller : callers) {
      INFO("caller role " << core::to_string(*caller));
      const auto r = send(key_for(*caller));
      if (caller == spec.role) {
        REQUIRE(r.status == 200);
        const auto v = boost::json::parse(r.body);
        CHECK(v.at("route").as_string() == spec.pattern);
        CHECK(v.at("role").as_string() == core::to_string(*caller));
        CHECK(std::string(v.at("key_id").as_string()).starts_with("k_"));
        if (spec.pattern.find("{id}") != std::string::npos) {
          CHECK(v.at("param_id").as_string() == "42");
        }
      } else {
        CHECK(r.status == 403);
        CHECK(error_code_of(r) == "forbidden");
      }
    }
  }
}

TEST_CASE("404, 405 with Allow, 501 placeholders, malformed requests") {
  test_server s;
  handlers::add_placeholder_routes(s.routes);
  s.start();
  auto nf = fetch(s.port(), "GET", "/v1/nothing-here");
  REQUIRE(nf);
  CHECK(nf->status == 404);
  CHECK(error_code_of(*nf) == "not_found");

  auto na = fetch(s.port(), "PUT", "/v1/lists/3", admin_key);
  REQUIRE(na);
  CHECK(na->status == 405);
  CHECK(na->header("allow") == "DELETE, PATCH");
  CHECK(error_code_of(*na) == "method_not_allowed");

  auto ni = fetch(s.port(), "GET", "/v1/cases/3", reviewer_key);
  REQUIRE(ni);
  CHECK(ni->status == 501);
  CHECK(error_code_of(*ni) == "not_implemented");

  for (std::string_view junk :
       {std::string_view("GARBAGE\r\n\r\n"), std::string_view("GET /healthz HTTP/9.9\r\n\r\n"),
        std::string_view("GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n"),
        std::string_view("GET /healthz HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
        std::string_view(
            "POST /v1/match HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        std::string_view("GET http://example.com/healthz HTTP/1.1\r\n\r\n")}) {
    INFO(junk);
    client c(s.port());
    REQUIRE(c.send(junk));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(error_code_of(*r) == "malformed");
    CHECK(c.wait_closed(2s));
  }

  client c(s.port());
  REQUIRE(c.send(make_request("GET", "/healthz", {{"X-Request-Id", std::string(200, 'a')}})));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 400);
}

TEST_CASE("bodies: 0 bytes, exactly the limit, over the limit before any body byte") {
  test_server s;
  add_echo_routes(s);
  s.start();
  const std::vector<std::pair<std::string, std::string>> auth{
      {"Authorization", "Bearer " + std::string(ingest_key)}};

  {  // a 0-byte body reaches the handler
    client c(s.port());
    REQUIRE(c.send(make_request("POST", "/v1/match", auth, std::string_view{})));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(boost::json::parse(r->body).at("body_bytes").as_int64() == 0);
  }
  {  // exactly the JSON limit is accepted
    const std::string body(s.options.body_limit_json, 'x');
    auto r = fetch(s.port(), "POST", "/v1/match", ingest_key, body);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(boost::json::parse(r->body).at("body_bytes").to_number<std::size_t>() == body.size());
  }
  {  // over the limit: 413 arrives although not one body byte was sent
    client c(s.port());
    auto headers = auth;
    headers.emplace_back("Content-Length", std::to_string(s.options.body_limit_json + 1));
    REQUIRE(c.send(make_request("POST", "/v1/match", headers)));
    auto r = c.read_response(2s);
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(error_code_of(*r) == "payload_too_large");
    CHECK(r->header("connection") == "close");
  }
  {  // the image route has its own, larger limit
    const std::string body(s.options.body_limit_json * 4, 'x');
    auto r = fetch(s.port(), "POST", "/v1/scan", ingest_key, body);
    REQUIRE(r);
    CHECK(r->status == 200);
    auto big = fetch(s.port(), "POST", "/v1/scan", ingest_key,
                     std::string(s.options.body_limit_image + 1, 'x'));
    REQUIRE(big);
    CHECK(big->status == 413);
  }
  {  // chunked bodies are cut while they stream
    client c(s.port());
    auto headers = auth;
    headers.emplace_back("Transfer-Encoding", "chunked");
    REQUIRE(c.send(make_request("POST", "/v1/match", headers)));
    const std::string chunk(1000, 'y');
    char size_line[16];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
    bool refused = false;
    for (int i = 0; i < 10 && !refused; ++i) {
      refused = !c.send(std::string(size_line) + chunk + "\r\n");
    }
    auto r = c.read_response(2s);
    REQUIRE(r);
    CHECK(r->status == 413);
  }
  {  // a small chunked body is fine
    client c(s.port());
    auto headers = auth;
    headers.emplace_back("Transfer-Encoding", "chunked");
    REQUIRE(c.send(make_request("POST", "/v1/match", headers) + "3\r\nabc\r\n0\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(boost::json::parse(r->body).at("body_bytes").as_int64() == 3);
  }
}

TEST_CASE("authentication happens on the header, before the body is read") {
  test_server s;
  add_echo_routes(s);
  s.start();
  for (std::string_view key : {std::string_view{}, reviewer_key}) {
    client c(s.port());
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Length", "40000"}};
    if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + std::string(key));
    REQUIRE(c.send(make_request("POST", "/v1/scan", headers)));
    const auto t0 = steady::now();
    auto r = c.read_response(2s);
    REQUIRE(r);
    CHECK(r->status == (key.empty() ? 401 : 403));
    CHECK(steady::now() - t0 < 250ms);  // well before the 300 ms read timeout
    CHECK(r->header("connection") == "close");
  }
  // Expect: 100-continue gets the interim answer only once the key is accepted.
  client c(s.port());
  REQUIRE(c.send(make_request("POST", "/v1/scan",
                              {{"Authorization", "Bearer " + std::string(ingest_key)},
                               {"Content-Length", "5"},
                               {"Expect", "100-continue"}})));
  auto interim = c.read_response(2s, true);
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(c.send("hello"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(boost::json::parse(r->body).at("body_bytes").as_int64() == 5);
}

TEST_CASE("a truncated body, a stalled body and oversized headers") {
  test_server s;
  add_echo_routes(s);
  s.start();
  const std::vector<std::pair<std::string, std::string>> headers{
      {"Authorization", "Bearer " + std::string(ingest_key)}, {"Content-Length", "100"}};
  {  // the client stops after 10 of 100 bytes and half-closes
    client c(s.port());
    REQUIRE(c.send(make_request("POST", "/v1/match", headers) + std::string(10, 'z')));
    c.shutdown_write();
    auto r = c.read_response(2s);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(error_code_of(*r) == "truncated_body");
  }
  {  // the client stops sending but keeps the connection: 408 after the read timeout
    client c(s.port());
    REQUIRE(c.send(make_request("POST", "/v1/match", headers) + std::string(10, 'z')));
    const auto t0 = steady::now();
    auto r = c.read_response(3s);
    REQUIRE(r);
    CHECK(r->status == 408);
    CHECK(error_code_of(*r) == "request_timeout");
    CHECK(steady::now() - t0 >= 250ms);
    CHECK(c.wait_closed(3s));
  }
  {  // header over the limit: 431
    client c(s.port());
    REQUIRE(c.send(make_request("GET", "/healthz", {{"X-Big", std::string(4000, 'h')}})));
    auto r = c.read_response(2s);
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(error_code_of(*r) == "header_too_large");
  }
  {  // many small fields add up the same way
    client c(s.port());
    std::vector<std::pair<std::string, std::string>> many;
    for (int i = 0; i < 200; ++i) many.emplace_back("X-F" + std::to_string(i), "0123456789");
    REQUIRE(c.send(make_request("GET", "/healthz", many)));
    auto r = c.read_response(2s);
    REQUIRE(r);
    CHECK(r->status == 431);
  }
}

TEST_CASE("a client dribbling its header is cut off by the whole-request deadline") {
  test_server s;
  add_echo_routes(s);
  s.start();
  client c(s.port());
  const std::string req = make_request("GET", "/healthz", {{"X-Pad", std::string(1500, 'p')}});
  const auto t0 = steady::now();
  std::optional<http_response> r;
  bool peer_closed = false;
  // One byte every 40 ms: each read makes progress well within the 300 ms read timeout, but
  // the header would take over a minute; the 500 ms request deadline ends it.
  for (char ch : req) {
    if (!c.send(std::string_view(&ch, 1))) {
      peer_closed = true;
      break;
    }
    r = c.read_response(40ms);
    if (r) break;
    if (steady::now() - t0 > 3s) break;
  }
  if (!r && !peer_closed) r = c.read_response(2s);
  const auto elapsed = steady::now() - t0;
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(elapsed >= 450ms);
  CHECK(elapsed < 1500ms);
  CHECK(c.wait_closed(3s));
  CHECK(s.stats.render().find(R"(hg_http_rejected_total{reason="header_deadline"} 1)") !=
        std::string::npos);
}

TEST_CASE("idle connections close - keep-alive is bounded - pipelined requests answer in order") {
  test_server s;
  s.options.keepalive_max_requests = 3;
  add_echo_routes(s);
  s.start();
  {  // a connection that never sends is closed after the read timeout, with no answer
    client c(s.port());
    const auto t0 = steady::now();
    CHECK(c.wait_closed(3s));
    CHECK(steady::now() - t0 >= 250ms);
  }
  {  // keep-alive ends after 3 requests, the third says Connection: close
    client c(s.port());
    for (int i = 0; i < 3; ++i) {
      REQUIRE(c.send(make_request("GET", "/healthz")));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->header("connection") == (i < 2 ? "" : "close"));
    }
    CHECK(c.wait_closed(2s));
  }
  {  // an idle keep-alive connection is closed after idle_timeout
    client c(s.port());
    REQUIRE(c.send(make_request("GET", "/healthz")));
    REQUIRE(c.read_response());
    const auto t0 = steady::now();
    CHECK(c.wait_closed(3s));
    CHECK(steady::now() - t0 >= 350ms);
  }
  {  // three pipelined requests in one write, answered in order, request ids echoed
    client c(s.port());
    std::string burst;
    for (int i = 0; i < 3; ++i) {
      burst += make_request("GET", "/healthz", {{"X-Request-Id", "pipe-" + std::to_string(i)}});
    }
    REQUIRE(c.send(burst));
    for (int i = 0; i < 3; ++i) {
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->header("x-request-id") == "pipe-" + std::to_string(i));
    }
  }
}

TEST_CASE("200 concurrent connections are all served") {
  test_server s;
  s.options.scan_queue = 200;  // room for every scan: this test is about connections
  s.options.max_connections = 250;
  add_echo_routes(s);
  s.start();
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 200; ++i) clients.push_back(std::make_unique<client>(s.port()));
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const bool scan = i % 2 == 0;
    REQUIRE(clients[i]->send(
        scan ? make_request("POST", "/v1/scan",
                            {{"Authorization", "Bearer " + std::string(ingest_key)}},
                            std::string(1000, 'i'))
             : make_request("GET", "/healthz")));
  }
  int ok = 0;
  for (auto& c : clients) {
    auto r = c->read_response(10s);
    if (r && r->status == 200) ++ok;
  }
  CHECK(ok == 200);
}

TEST_CASE("over the connection cap with every connection busy: 503 with Retry-After") {
  // An idle connection would be evicted for the newcomer (test_server_abuse.cpp); two requests
  // held in their handlers cannot be, so the third connection is refused.
  test_server s;
  s.options.max_connections = 2;
  s.options.retry_after_s = 4;
  gate g;
  add_echo_routes(s);
  s.routes.add(make_spec("GET", "/hold", std::nullopt, api::run_on::db),
               api::sync_handler([&g](const api::request&, const api::auth_context&) {
                 g.wait();
                 return api::response::json(200, "{}");
               }));
  s.start();
  client a(s.port());
  client b(s.port());
  REQUIRE(a.send(make_request("GET", "/hold")));
  REQUIRE(b.send(make_request("GET", "/hold")));
  REQUIRE(g.wait_for_waiters(2, 3s));
  client c(s.port());
  auto r = c.read_response(2s);
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->header("retry-after") == "4");
  CHECK(error_code_of(*r) == "overloaded");
  g.release();
  auto ra = a.read_response();
  auto rb = b.read_response();
  REQUIRE(ra);
  REQUIRE(rb);
  CHECK(ra->status == 200);
  CHECK(rb->status == 200);
}

TEST_CASE("a full scan queue answers 503 with Retry-After and the I/O threads stay free") {
  test_server s;
  s.options.scan_threads = 1;
  s.options.scan_queue = 1;
  s.options.retry_after_s = 2;
  s.options.read_timeout = 3000ms;
  s.options.request_deadline = 3000ms;
  gate g;
  for (const auto& spec : handlers::design_routes()) s.routes.add(spec, echo(spec.pattern));
  handlers::add_builtin_routes(s.routes, {&s.stats,
                                          [] {
                                            return handlers::readiness{true, ""};
                                          },
                                          1});
  s.routes.add(
      make_spec("POST", "/v1/scan", core::role::ingest, api::run_on::scan, api::body_class::image),
      api::sync_handler([&g](const api::request&, const api::auth_context&) {
        g.wait();
        return api::response::json(200, R"({"verdict":"no_match"})");
      }));
  s.start();
  const auto req = make_request("POST", "/v1/scan",
                                {{"Authorization", "Bearer " + std::string(ingest_key)}}, "img");
  client running(s.port());
  REQUIRE(running.send(req));
  REQUIRE(g.wait_for_waiters(1, 3s));  // the only scan thread is busy
  client queued(s.port());
  REQUIRE(queued.send(req));
  std::this_thread::sleep_for(100ms);  // let it reach the queue
  client refused(s.port());
  REQUIRE(refused.send(req));
  auto r = refused.read_response(2s);
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->header("retry-after") == "2");
  CHECK(error_code_of(*r) == "overloaded");
  // The I/O threads still answer inline routes while the scan pool is saturated.
  auto h = fetch(s.port(), "GET", "/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  g.release();
  auto a = running.read_response();
  auto b = queued.read_response();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->status == 200);
  CHECK(b->status == 200);
}

TEST_CASE("per-key rate limit: 429 with Retry-After, other keys unaffected") {
  test_server s;
  s.options.rate_limit_per_s = 1;
  s.options.rate_limit_burst = 3;
  add_echo_routes(s);
  s.start();
  client c(s.port());
  const std::vector<std::pair<std::string, std::string>> ingest{
      {"Authorization", "Bearer " + std::string(ingest_key)}};
  std::vector<int> statuses;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(c.send(make_request("GET", "/v1/decisions", ingest)));
    auto r = c.read_response();
    REQUIRE(r);
    statuses.push_back(r->status);
    if (r->status == 429) {
      CHECK(r->header("retry-after") == "1");
      CHECK(error_code_of(*r) == "rate_limited");
    }
  }
  CHECK(statuses == std::vector<int>{200, 200, 200, 429, 429});
  auto other = fetch(s.port(), "GET", "/v1/cases", reviewer_key);
  REQUIRE(other);
  CHECK(other->status == 200);
}

TEST_CASE("handler failures answer 500 and the connection survives") {
  std::mutex helpers_mu;
  std::vector<std::jthread> helpers;  // joined on destruction: no thread outlives the test
  test_server s;
  s.routes.add(
      make_spec("GET", "/throw", std::nullopt, api::run_on::scan),
      api::sync_handler([](const api::request&, const api::auth_context&) -> api::response {
        throw std::runtime_error("bug");
      }));
  // A synchronous handler on the I/O thread is called inline (no executor round trip); its
  // exception must still become a 500, not take the I/O thread down.
  s.routes.add(
      make_spec("GET", "/throw-inline", std::nullopt, api::run_on::io),
      api::sync_handler([](const api::request&, const api::auth_context&) -> api::response {
        throw std::runtime_error("bug");
      }));
  s.routes.add(make_spec("GET", "/forget", std::nullopt, api::run_on::db),
               api::async_handler([](const api::request&, const api::auth_context&,
                                     api::responder) { /* drops the responder */ }));
  s.routes.add(
      make_spec("GET", "/later", std::nullopt, api::run_on::io),
      api::async_handler([&](const api::request&, const api::auth_context&, api::responder done) {
        std::lock_guard lock(helpers_mu);
        helpers.emplace_back([done] {
          std::this_thread::sleep_for(20ms);
          done(api::response::json(202, R"({"late":true})"));
          // Keep the called responder past the server's end (the test stops it meanwhile):
          // what the responder still holds must stay valid without the server.
          std::this_thread::sleep_for(300ms);
        });
      }));
  s.start();
  client c(s.port());
  for (const char* path : {"/throw", "/throw-inline", "/forget", "/later"}) {
    REQUIRE(c.send(make_request("GET", path)));
    auto r = c.read_response();
    REQUIRE(r);
    if (std::string_view(path) == "/later") {
      CHECK(r->status == 202);
      s.stop();  // while the helper thread still holds its responder
    } else {
      CHECK(r->status == 500);
      CHECK(error_code_of(*r) == "internal");
    }
  }
}

TEST_CASE("one JSON log line per request, with key id and role, never the key") {
  test_server s;
  add_echo_routes(s);
  s.start();
  REQUIRE(fetch(s.port(), "GET", "/v1/cases", reviewer_key, std::nullopt)->status == 200);
  REQUIRE(fetch(s.port(), "GET", "/v1/cases", admin_key)->status == 403);
  REQUIRE(
      fetch(s.port(), "POST", "/v1/scan", ingest_key, std::string("IMAGEBYTES-SECRET"))->status ==
      200);
  REQUIRE(fetch(s.port(), "GET", "/nope")->status == 404);
  s.stop();
  const auto lines = s.log();
  REQUIRE(lines.size() == 4);
  for (const auto& line : lines) {
    INFO(line);
    for (auto key : {ingest_key, reviewer_key, compliance_key, admin_key}) {
      CHECK(line.find(key) == std::string::npos);
    }
    CHECK(line.find("IMAGEBYTES") == std::string::npos);
  }
  // Lines are written after each answer, from whichever I/O thread served it: find them by
  // content rather than order.
  auto find = [&](std::string_view route, int status) {
    for (const auto& line : lines) {
      const auto v = boost::json::parse(line);
      if (v.at("route").as_string() == route && v.at("status").as_int64() == status) return v;
    }
    FAIL("no log line for " << route << " " << status);
    return boost::json::value{};
  };
  const auto first = find("/v1/cases", 200);
  CHECK(first.at("role").as_string() == "reviewer");
  CHECK(first.at("key_id").as_string() == api::key_id_of(api::digest_key(reviewer_key)));
  CHECK(first.at("request_id").as_string().size() == 16);
  CHECK(first.at("method").as_string() == "GET");
  const auto second = find("/v1/cases", 403);
  CHECK(second.at("role").as_string() == "admin");
  CHECK(second.at("error").as_string() == "forbidden");
  const auto third = find("/v1/scan", 200);
  CHECK(third.at("bytes_in").as_int64() == 17);
  const auto fourth = find("unmatched", 404);
  CHECK(fourth.at("error").as_string() == "not_found");
}

TEST_CASE("the log line's error is the answer's error code, never read back from its body") {
  test_server s;
  // An error answer whose body is not the JSON error shape (a page for browsers), and a success
  // whose body looks like one: the log follows the response's error_code, not the bytes.
  s.routes.add(make_spec("GET", "/page-error", std::nullopt),
               api::sync_handler([](const api::request&, const api::auth_context&) {
                 auto r = api::response::error(api::errc::unprocessable, "bad picture");
                 r.body = "<p>that picture could not be read</p>";
                 r.content_type = "text/html";
                 return r;
               }));
  s.routes.add(make_spec("GET", "/looks-like-error", std::nullopt),
               api::sync_handler([](const api::request&, const api::auth_context&) {
                 return api::response::json(200, api::error_json("not_found", "a quoted error"));
               }));
  s.start();
  REQUIRE(fetch(s.port(), "GET", "/page-error")->status == 422);
  REQUIRE(fetch(s.port(), "GET", "/looks-like-error")->status == 200);
  s.stop();
  const auto lines = s.log();
  REQUIRE(lines.size() == 2);
  for (const auto& line : lines) {
    INFO(line);
    const auto v = boost::json::parse(line).as_object();
    if (v.at("status").as_int64() == 422) {
      REQUIRE(v.contains("error"));
      CHECK(v.at("error").as_string() == "unprocessable");
    } else {
      CHECK_FALSE(v.contains("error"));
    }
  }
}

TEST_CASE("SIGTERM drains: in-flight requests complete, idle ones close, new ones are refused") {
  test_server s;
  s.options.drain_timeout = 3000ms;
  s.options.read_timeout = 3000ms;
  s.options.idle_timeout = 3000ms;
  s.options.request_deadline = 3000ms;
  gate g;
  std::atomic<int> completed{0};
  s.routes.add(
      make_spec("POST", "/v1/scan", core::role::ingest, api::run_on::scan, api::body_class::image),
      api::sync_handler([&](const api::request& req, const api::auth_context&) {
        g.wait();
        ++completed;
        return api::response::json(200, "{\"bytes\":" + std::to_string(req.body.size()) + "}");
      }));
  handlers::add_builtin_routes(s.routes, {&s.stats,
                                          [] {
                                            return handlers::readiness{true, ""};
                                          },
                                          1});
  s.start(/*signals=*/true);
  const auto req = make_request("POST", "/v1/scan",
                                {{"Authorization", "Bearer " + std::string(ingest_key)}}, "abc");
  std::vector<std::unique_ptr<client>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(std::make_unique<client>(s.port()));
    REQUIRE(busy.back()->send(req));
  }
  client idle(s.port());
  REQUIRE(idle.send(make_request("GET", "/healthz")));
  REQUIRE(idle.read_response());
  REQUIRE(g.wait_for_waiters(2, 3s));  // two scan threads hold requests; one is queued

  REQUIRE(::kill(::getpid(), SIGTERM) == 0);
  CHECK(idle.wait_closed(2s));  // the idle keep-alive connection closes at once
  // New connections are refused once the acceptor is closed.
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    try {
      client late(s.port());
      std::this_thread::sleep_for(20ms);
    } catch (const std::exception&) {
      refused = true;
    }
  }
  CHECK(refused);
  std::this_thread::sleep_for(100ms);
  g.release();
  for (auto& c : busy) {
    auto r = c->read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("connection") == "close");
    CHECK(c->wait_closed(2s));
  }
  CHECK(completed == 3);
  CHECK(s.srv->wait());  // drained before the deadline
}

TEST_CASE("TLS: HTTPS with the configured certificate and key - a bad path fails start") {
  hg_test::tls_files files("127.0.0.1", "", "api-tls");
  test_server s;
  s.options.tls_cert = files.cert;
  s.options.tls_key = files.key;
  add_echo_routes(s);
  s.start();
  auto h = fetch(s.port(), "GET", "/healthz", {}, std::nullopt, /*tls=*/true);
  REQUIRE(h);
  CHECK(h->status == 200);
  auto scan = fetch(s.port(), "POST", "/v1/scan", ingest_key, std::string(5000, 'b'), true);
  REQUIRE(scan);
  CHECK(scan->status == 200);
  CHECK(boost::json::parse(scan->body).at("body_bytes").as_int64() == 5000);
  auto denied = fetch(s.port(), "POST", "/v1/scan", {}, std::string("x"), true);
  REQUIRE(denied);
  CHECK(denied->status == 401);

  api::server_options bad = test_options();
  bad.tls_cert = files.dir.string() + "/missing.pem";
  bad.tls_key = files.key;
  api::route_table routes;
  api::key_registry keys;
  api::server broken(bad, api::services{&routes, &keys, nullptr, nullptr, nullptr, nullptr, {}});
  CHECK_FALSE(broken.start());
}

TEST_CASE("handlers run where their route says: scan, database or video pool, or I/O thread") {
  test_server s;
  auto where = [&s](std::string name) {
    return api::sync_handler([&s, name](const api::request&, const api::auth_context&) {
      boost::json::object o;
      o["route"] = name;
      o["scan"] = s.scan_pool->runs_on_this_thread();
      o["db"] = s.db_pool->runs_on_this_thread();
      o["video"] = s.video_pool->runs_on_this_thread();
      return api::response::json(200, boost::json::serialize(o));
    });
  };
  s.routes.add(make_spec("GET", "/on-scan", std::nullopt, api::run_on::scan), where("scan"));
  s.routes.add(make_spec("GET", "/on-db", std::nullopt, api::run_on::db), where("db"));
  s.routes.add(make_spec("GET", "/on-io", std::nullopt, api::run_on::io), where("io"));
  s.routes.add(make_spec("GET", "/on-video", std::nullopt, api::run_on::video), where("video"));
  s.start();
  for (const auto& [path, scan, db, video] :
       {std::tuple{"/on-scan", true, false, false}, std::tuple{"/on-db", false, true, false},
        std::tuple{"/on-io", false, false, false}, std::tuple{"/on-video", false, false, true}}) {
    INFO(path);
    auto r = fetch(s.port(), "GET", path);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const auto v = boost::json::parse(r->body);
    CHECK(v.at("scan").as_bool() == scan);
    CHECK(v.at("db").as_bool() == db);
    CHECK(v.at("video").as_bool() == video);
  }
}

TEST_CASE("a body dribbled within the read timeout is still cut by the request deadline") {
  test_server s;
  add_echo_routes(s);
  s.start();
  client c(s.port());
  REQUIRE(c.send(make_request(
      "POST", "/v1/match",
      {{"Authorization", "Bearer " + std::string(ingest_key)}, {"Content-Length", "1000"}})));
  const auto t0 = steady::now();
  std::optional<http_response> r;
  for (int i = 0; i < 1000 && !r; ++i) {
    if (!c.send("x")) break;
    r = c.read_response(50ms);
    if (steady::now() - t0 > 3s) break;
  }
  if (!r) r = c.read_response(2s);
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(steady::now() - t0 < 1500ms);
  CHECK(s.stats.render().find(R"(hg_http_rejected_total{reason="body_deadline"} 1)") !=
        std::string::npos);
}

TEST_CASE("the web UI's embedded static files over a socket") {
  test_server s;
  add_echo_routes(s);
  handlers::add_builtin_routes(s.routes, {&s.stats, {}, 1});
  s.start();
  auto r = fetch(s.port(), "GET", "/ui/");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == handlers::embedded_ui_files().at("index.html"));
  CHECK(r->header("content-type") == "text/html; charset=utf-8");
  CHECK(r->header("x-content-type-options") == "nosniff");
  auto redirect = fetch(s.port(), "GET", "/ui");
  REQUIRE(redirect);
  CHECK(redirect->status == 308);
  CHECK(redirect->header("location") == "/ui/");
  auto traversal = fetch(s.port(), "GET", "/ui/../v1/cases");
  REQUIRE(traversal);
  CHECK(traversal->status == 404);
}
