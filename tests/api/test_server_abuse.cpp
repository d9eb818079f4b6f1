// Abuse over real sockets against the in-process server (api/server.hpp): hundreds of idle
// connections, slow headers and oversized headers at the connection cap do not keep a
// legitimate client out; idle connections are closed by the per-read timeout; per-key rate
// limits hold on every authenticated route, and one key's flood throttles only that key.
//
// The timeouts here are long (seconds) on purpose: a legitimate client that gets its answer
// long before any timeout could have freed a connection was let in by the eviction rule, not by
// the clock.
#include "hashguard/api/server.hpp"
#include "hashguard/core/parse.hpp"

#include "hg_catch.hpp"
#include "http_client.hpp"
#include "server_fixture.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <thread>

using namespace hashguard;
using namespace hg_test;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

api::sync_handler echo(std::string name) {
  return [name](const api::request&, const api::auth_context& auth) {
    boost::json::object o;
    o["route"] = name;
    o["key_id"] = auth.key_id;
    return api::response::json(200, boost::json::serialize(o));
  };
}

void add_echo_routes(test_server& s) {
  for (const auto& spec : handlers::design_routes()) s.routes.add(spec, echo(spec.pattern));
  handlers::add_builtin_routes(s.routes, {&s.stats,
                                          [] {
                                            return handlers::readiness{true, ""};
                                          },
                                          1});
}

// Long timeouts: nothing in these tests is freed by the clock unless the test says so.
void patient(test_server& s) {
  s.options.read_timeout = 30s;
  s.options.idle_timeout = 30s;
  s.options.request_deadline = 60s;
  s.options.write_timeout = 10s;
  s.options.drain_timeout = 2s;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  while (!done()) {
    if (steady::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string path_of(const std::string& pattern) {
  std::string out = pattern;
  for (auto at = out.find('{'); at != std::string::npos; at = out.find('{')) {
    out.replace(at, out.find('}', at) - at + 1, "42");
  }
  return out;
}

api::key_record make_key(std::string_view key, core::role r, double rate = 0, double burst = 0) {
  const auto d = api::digest_key(key);
  return api::key_record{d, api::key_id_of(d), r, rate, burst};
}

std::optional<http_response> request(std::uint16_t port, const std::string& method,
                                     const std::string& target, std::string_view key) {
  std::optional<std::string_view> body;
  if (method == "POST" || method == "PATCH") body = "{}";
  return fetch(port, method, target, key, body);
}

// The value of hg_http_rejected_total{reason="..."} in a /metrics text, 0 when absent.
long rejected(std::uint16_t port, std::string_view reason) {
  auto m = fetch(port, "GET", "/metrics");
  if (!m) return -1;
  const auto v =
      metric_value(m->body, "hg_http_rejected_total{reason=\"" + std::string(reason) + "\"}");
  return v ? static_cast<long>(*v) : 0;
}

}  // namespace

TEST_CASE("300 idle connections at the cap do not keep a legitimate client out") {
  test_server s;
  patient(s);
  s.options.max_connections = 300;
  add_echo_routes(s);
  s.start();
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<client>(s.port()));
  REQUIRE(wait_for([&] { return s.srv->connections() == 300; }, 10s));

  // Each legitimate connection, public or authenticated, is answered at once: it takes the
  // place of the longest-idle connection, far sooner than the 30 s read timeout.
  for (int i = 0; i < 10; ++i) {
    const auto t0 = steady::now();
    auto h = i % 2 == 0 ? fetch(s.port(), "GET", "/healthz")
                        : fetch(s.port(), "POST", "/v1/match", ingest_key, std::string("{}"));
    REQUIRE(h);
    CHECK(h->status == 200);
    CHECK(steady::now() - t0 < 10s);
    // The newcomer counts from its accept; the connection it evicted closes on its own strand
    // a moment later (an inline handler can answer before that): the count comes back to the
    // cap, it does not stay over it.
    CHECK(wait_for([&] { return s.srv->connections() <= 300; }, 5s));
  }
  // The first newcomer found the cap full and evicted the oldest idle connection, which was
  // closed with no answer. (Later ones may have found a slot freed by an earlier legitimate
  // client's close.)
  CHECK(idle.front()->wait_closed(2s));
  CHECK(rejected(s.port(), "evicted") >= 1);
  CHECK(rejected(s.port(), "max_connections") == 0);
  // The newest idle connections are still open and still usable.
  auto& last = *idle.back();
  REQUIRE(last.send(make_request("GET", "/healthz")));
  auto r = last.read_response(5s);
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("slow headers and oversized headers at the cap do not keep a legitimate client out") {
  test_server s;
  patient(s);
  s.options.max_connections = 100;
  s.options.header_limit = 2048;
  add_echo_routes(s);
  s.start();

  // 50 slow connections, dribbling a header (slowloris) or the body of an anonymous request
  // (slow POST to a public route), byte by byte; 40 idle ones.
  std::vector<std::unique_ptr<client>> slow;
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<client>(s.port()));
    (void)slow.back()->send(i % 2 == 0 ? "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
                                       : "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                         "Content-Length: 4000\r\n\r\n");
  }
  for (int i = 0; i < 40; ++i) idle.push_back(std::make_unique<client>(s.port()));
  REQUIRE(wait_for([&] { return s.srv->connections() == 90; }, 10s));

  std::atomic<bool> stop{false};
  std::atomic<int> answers_431{0};
  std::atomic<int> attempts_431{0};
  std::vector<std::jthread> attackers;
  attackers.emplace_back([&] {  // keeps the slow ones slow (well within the read timeout)
    while (!stop) {
      for (auto& c : slow) (void)c->send("a");
      std::this_thread::sleep_for(100ms);
    }
  });
  for (int t = 0; t < 3; ++t) {  // oversized headers, connection after connection
    attackers.emplace_back([&] {
      const std::string big = make_request("GET", "/healthz", {{"X-Big", std::string(4096, 'b')}});
      while (!stop) {
        try {
          client c(s.port());
          ++attempts_431;
          if (!c.send(big)) continue;
          auto r = c.read_response(2s);
          if (r && r->status == 431) ++answers_431;
        } catch (const std::exception&) {
          std::this_thread::sleep_for(5ms);
        }
      }
    });
  }

  // The legitimate client: a fresh connection per request, each answered long before any
  // timeout could have freed a slot.
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    const auto t0 = steady::now();
    auto r = fetch(s.port(), "POST", "/v1/match", ingest_key, std::string("{}"));
    if (r && r->status == 200 && steady::now() - t0 < 10s) ++ok;
  }
  stop = true;
  attackers.clear();
  CHECK(ok == 20);
  CHECK(attempts_431 > 0);
  CHECK(answers_431 > 0);  // the oversized ones got their 431 too (when not evicted first)
  CHECK(s.srv->connections() <= 100);
}

TEST_CASE("anonymous slow bodies at the cap are evicted, authenticated ones are not") {
  test_server s;
  patient(s);
  s.options.max_connections = 20;
  add_echo_routes(s);
  s.start();
  // Every slot holds a request to a public route whose body trickles in: anonymous, so
  // evictable until the body is complete.
  std::vector<std::unique_ptr<client>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<client>(s.port()));
    REQUIRE(
        slow.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\nab"));
  }
  REQUIRE(wait_for([&] { return s.srv->connections() == 20; }, 10s));
  auto r = fetch(s.port(), "GET", "/healthz");
  REQUIRE(r);
  CHECK(r->status == 200);
  // One of them made room (which one depends on when each header was read).
  int closed = 0;
  for (auto& c : slow) {
    if (c->wait_closed(100ms)) ++closed;
  }
  CHECK(closed >= 1);
  slow.clear();
  REQUIRE(wait_for([&] { return s.srv->connections() == 0; }, 10s));

  // The same with an ingest key: those requests passed authentication, so they keep their
  // slots and the newcomer gets 503.
  std::vector<std::unique_ptr<client>> keyed;
  for (int i = 0; i < 20; ++i) {
    keyed.push_back(std::make_unique<client>(s.port()));
    REQUIRE(keyed.back()->send(make_request(
        "POST", "/v1/match",
        {{"Authorization", "Bearer " + std::string(ingest_key)}, {"Content-Length", "4000"}},
        std::string("ab"))));
  }
  REQUIRE(wait_for([&] { return s.srv->connections() == 20; }, 10s));
  std::this_thread::sleep_for(100ms);  // every header read and authenticated
  client late(s.port());
  auto refused = late.read_response(5s);
  REQUIRE(refused);
  CHECK(refused->status == 503);
  keyed.clear();  // (so that /metrics gets a slot)
  REQUIRE(wait_for([&] { return s.srv->connections() == 0; }, 10s));
  CHECK(rejected(s.port(), "max_connections") >= 1);
}

TEST_CASE("idle connections are closed by the per-read timeout") {
  test_server s;
  s.options.max_connections = 400;
  s.options.read_timeout = 300ms;
  add_echo_routes(s);
  s.start();
  std::vector<std::unique_ptr<client>> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<client>(s.port()));
  // A connection that never sends a byte is closed once its first read times out: the count
  // falls back to zero by itself, and every client sees the close (no answer).
  CHECK(wait_for([&] { return s.srv->connections() == 0; }, 15s));
  int closed = 0;
  for (auto& c : idle) {
    if (c->wait_closed(2s)) ++closed;
  }
  CHECK(closed == 300);
  CHECK(rejected(s.port(), "idle_timeout") >= 300);
}

TEST_CASE("rate limits apply per key on every authenticated route: 429, Retry-After, error shape") {
  test_server s;
  add_echo_routes(s);
  s.start();
  int n = 0;
  for (const auto& spec : handlers::design_routes()) {
    if (!spec.role) continue;
    ++n;
    const std::string target = path_of(spec.pattern);
    INFO(spec.method << " " << target);
    // A key of its own per route: one request per 100 s, burst 1.
    const std::string key = "route-key-" + std::to_string(n) + "-abcdefghijkl";
    const std::string twin = "twin-key-" + std::to_string(n) + "-abcdefghijkl";
    s.keys.add({make_key(key, *spec.role, 0.01, 1), make_key(twin, *spec.role, 0.01, 1)});
    auto first = request(s.port(), spec.method, target, key);
    REQUIRE(first);
    CHECK(first->status == 200);
    auto second = request(s.port(), spec.method, target, key);
    REQUIRE(second);
    CHECK(second->status == 429);
    CHECK(core::parse_int<int>(second->header("retry-after"), 1, 100));
    CHECK(second->header("content-type") == "application/json");
    const auto err = boost::json::parse(second->body).at("error");
    CHECK(err.at("code").as_string() == "rate_limited");
    CHECK(!err.at("message").as_string().empty());
    // Another key of the same role is not throttled by this one.
    auto other = request(s.port(), spec.method, target, twin);
    REQUIRE(other);
    CHECK(other->status == 200);
  }
  CHECK(n >= 20);  // every authenticated route of DESIGN.md section 5 was tried

  // Every request of a key counts, the refused ones (403 wrong role) included.
  s.keys.add({make_key("reviewer-counted-abcdefghijkl", core::role::reviewer, 0.01, 1)});
  auto wrong = fetch(s.port(), "GET", "/v1/index", "reviewer-counted-abcdefghijkl");
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  auto right = fetch(s.port(), "GET", "/v1/cases", "reviewer-counted-abcdefghijkl");
  REQUIRE(right);
  CHECK(right->status == 429);
  // Unknown keys are not authenticated, so never reach a bucket: 401, not 429.
  auto unknown = fetch(s.port(), "GET", "/v1/cases", "no-such-key-abcdefghijkl");
  REQUIRE(unknown);
  CHECK(unknown->status == 401);
}

TEST_CASE("one key's flood does not throttle another key of the same role") {
  test_server s;
  s.options.rate_limit_per_s = 20;  // the configured default for every key
  s.options.rate_limit_burst = 20;
  add_echo_routes(s);
  const std::string flood_key = "flooding-ingest-key-abcdefghijkl";
  const std::string calm_key = "calm-ingest-key-abcdefghijkl";
  s.keys.add({make_key(flood_key, core::role::ingest), make_key(calm_key, core::role::ingest)});
  s.start();

  std::atomic<int> flood_ok{0};
  std::atomic<int> flood_429{0};
  const auto t0 = steady::now();
  {
    std::vector<std::jthread> flood;
    for (int t = 0; t < 4; ++t) {
      flood.emplace_back([&] {
        client c(s.port());
        const auto req =
            make_request("GET", "/v1/decisions", {{"Authorization", "Bearer " + flood_key}});
        for (int i = 0; i < 300; ++i) {
          if (!c.send(req)) return;
          auto r = c.read_response();
          if (!r) return;
          if (r->status == 200) ++flood_ok;
          if (r->status == 429) ++flood_429;
        }
      });
    }
    // The calm key, meanwhile: 15 requests, all answered (its bucket holds 20).
    int calm_ok = 0;
    for (int i = 0; i < 15; ++i) {
      auto r = fetch(s.port(), "POST", "/v1/match", calm_key, std::string("{}"));
      if (r && r->status == 200) ++calm_ok;
      std::this_thread::sleep_for(10ms);
    }
    CHECK(calm_ok == 15);
  }
  const double elapsed = std::chrono::duration<double>(steady::now() - t0).count();
  INFO("flood: " << flood_ok << " answered, " << flood_429 << " refused in " << elapsed << " s");
  CHECK(flood_429 > 0);
  CHECK(flood_ok + flood_429 == 1200);
  // The bucket: at most the burst plus what refilled while the flood ran.
  CHECK(flood_ok <= 20 + static_cast<int>(20 * elapsed) + 1);
  CHECK(rejected(s.port(), "rate_limited") == flood_429);
}

TEST_CASE("request bodies in flight stay within the body budget, and every byte comes back") {
  test_server s;
  patient(s);
  const std::size_t limit = 64 * 1024;
  s.options.body_limit_image = limit;
  s.options.body_budget = 3 * limit;  // three whole image bodies
  add_echo_routes(s);
  s.start();
  const std::string body(limit, 'x');
  const std::string bearer = "Bearer " + std::string(ingest_key);
  const auto header = [&](const std::string& length) {
    return "POST /v1/scan HTTP/1.1\r\nHost: x\r\nAuthorization: " + bearer +
           "\r\nContent-Length: " + length + "\r\n\r\n";
  };
  const auto code_of = [](const http_response& r) {
    return std::string(boost::json::parse(r.body).at("error").at("code").as_string());
  };

  // Three slow bodies: each header and a first part of its body; their bodies are reserved.
  std::vector<std::unique_ptr<client>> slow;
  for (int i = 0; i < 3; ++i) {
    slow.push_back(std::make_unique<client>(s.port()));
    REQUIRE(slow.back()->send(header(std::to_string(limit)) + body.substr(0, 1000)));
  }
  REQUIRE(wait_for([&] { return s.srv->body_bytes_reserved() == 3 * limit; }, 10s));

  // A fourth cannot reserve its Content-Length: 503 overloaded with Retry-After, answered to
  // its header alone (the body was never sent).
  {
    client over(s.port());
    REQUIRE(over.send(header(std::to_string(limit))));
    const auto refused = over.read_response(5s);
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(code_of(*refused) == "overloaded");
    CHECK(refused->header("retry-after") == "1");
    CHECK(over.wait_closed(5s));
  }
  // Requests without a body still pass.
  const auto health = fetch(s.port(), "GET", "/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);

  // A client that goes away mid-body gives its reservation back.
  slow.pop_back();
  REQUIRE(wait_for([&] { return s.srv->body_bytes_reserved() == 2 * limit; }, 10s));

  SECTION("a chunked body is refused once it outgrows what is left") {
    client chunked(s.port());
    REQUIRE(chunked.send("POST /v1/scan HTTP/1.1\r\nHost: x\r\nAuthorization: " + bearer +
                         "\r\nTransfer-Encoding: chunked\r\n\r\n"));
    // A third slow body takes 40 KiB of the 64 KiB left, so 24 KiB remain; the chunked body
    // (no Content-Length to reserve up front) is admitted and then sends 48 KiB in chunks of
    // 4 KiB: within the route's limit, over what is left.
    client third(s.port());
    REQUIRE(third.send(header(std::to_string(40 * 1024)) + "ab"));
    REQUIRE(wait_for([&] { return s.srv->body_bytes_reserved() >= 2 * limit + 40 * 1024; }, 10s));
    const std::string piece(4096, 'y');
    for (int i = 0; i < 12; ++i) {
      if (!chunked.send("1000\r\n" + piece + "\r\n")) break;  // closed once refused
    }
    const auto refused = chunked.read_response(5s);
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(code_of(*refused) == "overloaded");
    CHECK_FALSE(refused->header("retry-after").empty());
  }
  CHECK(rejected(s.port(), "body_budget") >= 1);

  // The slow bodies arrive and are answered; then nothing is reserved and a whole body fits.
  for (auto& c : slow) {
    REQUIRE(c->send(body.substr(1000)));
    const auto answered = c->read_response(5s);
    REQUIRE(answered);
    CHECK(answered->status == 200);
  }
  slow.clear();
  REQUIRE(wait_for([&] { return s.srv->body_bytes_reserved() == 0; }, 10s));
  for (int i = 0; i < 3; ++i) {
    const auto later = exchange(s.port(), "POST", "/v1/scan", ingest_key, body);
    REQUIRE(later);
    CHECK(later->status == 200);
  }
  // (Given back when the session finishes the request, just after the answer left.)
  CHECK(wait_for([&] { return s.srv->body_bytes_reserved() == 0; }, 10s));
}
