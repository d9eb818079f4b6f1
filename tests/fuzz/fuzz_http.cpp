// libFuzzer target: the HTTP request path. Each input is the byte stream one client sends on
// one connection to a real api::server (the session code: Beast's parser with our header limit,
// routing, Bearer auth, roles, the per-key rate limit, body limits, 100-continue, chunked
// bodies, pipelining and keep-alive, the request log) over loopback TCP. Behind it is the
// route table `hashguard serve` builds (handlers::register_routes: every route of the design
// table), minus PostgreSQL: the database routes answer 503 database_unavailable (their pool
// points at no server), the built-in routes, the embedded UI, and the real ingest handlers
// (/v1/scan and /v1/hash run the scanner on the scan pool, /v1/match parses JSON and matches an
// in-memory snapshot, /v1/index). Keys: ingest-key, admin-key, reviewer-key, compliance-key,
// and rate-key (ingest, one request per ~17 minutes).
//
// Invariants: the server answers and closes the connection once the client stops sending;
// every answer is well-formed HTTP/1.x; no answer is a 500 (a handler bug, DESIGN section 5).
#include "fuzz_limits.hpp"
#include "fuzz_support.hpp"
#include "hashguard/api/auth.hpp"
#include "hashguard/api/metrics.hpp"
#include "hashguard/api/options.hpp"
#include "hashguard/api/router.hpp"
#include "hashguard/api/server.hpp"
#include "hashguard/api/work_pool.hpp"
#include "hashguard/core/hex.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/handlers/routes.hpp"
#include "hashguard/handlers/ui.hpp"
#include "hashguard/matcher/snapshot.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

namespace api = hashguard::api;
namespace handlers = hashguard::handlers;
namespace core = hashguard::core;
namespace matcher = hashguard::matcher;

api::key_record key(std::string_view secret, core::role role, double rate = 0, double burst = 0) {
  api::key_record r;
  r.digest = api::digest_key(secret);
  r.key_id = api::key_id_of(r.digest);
  r.role = role;
  r.rate_per_s = rate;
  r.burst = burst;
  return r;
}

std::shared_ptr<const matcher::snapshot> small_snapshot() {
  matcher::snapshot_builder b;
  auto list = [&](std::int64_t id, core::signal sig, int threshold, core::action act) {
    matcher::list_info l;
    l.id = id;
    l.name = "fuzz-" + std::to_string(id);
    l.sig = sig;
    l.threshold = threshold;
    l.act = act;
    l.version = 1;
    if (!b.add_list(l)) hg_fuzz::fail("add_list");
  };
  list(1, core::signal::pdq, 31, core::action::block);
  list(2, core::signal::phash, 4, core::action::review);
  list(3, core::signal::md5, 0, core::action::report);
  list(4, core::signal::sha256, 0, core::action::block);
  // Arbitrary values no image in the corpora hashes near, so /v1/scan never needs the event
  // recorder that this fixture lacks; /v1/match reaches hits with these exact strings.
  const char* pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
  if (!b.add_hex(1, 1, pdq) || !b.add_hex(2, 2, "9f3a51c27e0b84d6") ||
      !b.add_hex(3, 3, "0123456789abcdef0123456789abcdef") ||
      !b.add_hex(4, 4, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")) {
    hg_fuzz::fail("add_hex");
  }
  auto snap = b.build();
  if (!snap) hg_fuzz::fail("snapshot build");
  return *snap;
}

struct fixture {
  api::route_table routes;
  api::key_registry keys;
  api::rate_limiter limiter{0, 0};
  api::metrics stats;
  api::work_pool scan_pool{"scan", 1, 8};
  api::work_pool db_pool{"db", 1, 8};
  matcher::snapshot_holder holder{small_snapshot()};
  // No server at this socket: every database route answers 503 at once, never waits.
  handlers::db_pool no_database{"postgresql://fuzz@/none?host=/nonexistent-hg-fuzz", 1,
                                std::chrono::milliseconds(0)};
  handlers::services deps;
  std::unique_ptr<api::server> server;

  fixture() {
    deps.snapshot = &holder;
    deps.scan.limits = hg_fuzz::fuzz_limits();
    deps.node = "fuzz";
    deps.db = &no_database;
    deps.stats = &stats;
    deps.ready = [] { return handlers::readiness{true, ""}; };
    if (!handlers::register_routes(routes, deps)) hg_fuzz::fail("register_routes");
    keys.replace({key("ingest-key", core::role::ingest), key("admin-key", core::role::admin),
                  key("reviewer-key", core::role::reviewer),
                  key("compliance-key", core::role::compliance),
                  key("rate-key", core::role::ingest, 0.001, 1)});

    api::server_options o;
    o.port = 0;
    o.io_threads = 1;
    o.header_limit = 4096;
    o.body_limit_json = 16 * 1024;
    o.body_limit_image = 256 * 1024;
    o.body_limit_import = 16 * 1024;
    o.read_timeout = std::chrono::milliseconds(2000);
    o.request_deadline = std::chrono::milliseconds(4000);
    o.keepalive_max_requests = 16;
    o.max_connections = 64;
    o.log_requests = true;
    api::services svc;
    svc.routes = &routes;
    svc.keys = &keys;
    svc.limiter = &limiter;
    svc.stats = &stats;
    svc.scan_pool = &scan_pool;
    svc.db_pool = &db_pool;
    svc.log = [](std::string_view) {};  // the log line is built; nobody needs to read it
    server = std::make_unique<api::server>(o, svc);
    if (!server->start()) hg_fuzz::fail("server start");
  }
};

// One connection: send everything, half-close, read until the server closes.
std::string exchange(std::uint16_t port, const std::uint8_t* data, std::size_t size) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) hg_fuzz::fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {  // NOLINT
    hg_fuzz::fail("connect");
  }
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered early and closed: fine
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string in;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[16384];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) hg_fuzz::fail("the server kept the connection open after the input");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // EOF, or a reset after the last answer
    in.append(buf, static_cast<std::size_t>(n));
  }
  // Close with a reset: no TIME_WAIT per input (thousands of connections a second).
  const linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd);
  return in;
}

// Walks the answers: status line, fields, Content-Length body. The last answer may be cut by a
// reset (the server closes with unread input once it stopped reading); anything else must parse.
void check_answers(std::string_view in) {
  while (!in.empty()) {
    const auto end = in.find("\r\n\r\n");
    if (end == std::string_view::npos) return;  // cut short by a reset
    const std::string_view head = in.substr(0, end + 2);
    HG_FUZZ_CHECK(head.substr(0, 7) == "HTTP/1." && head.size() > 12 && head[8] == ' ');
    const int status = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    HG_FUZZ_CHECK(status >= 100 && status <= 599);
    if (status == 500) {
      std::fprintf(stderr, "%.*s\n", static_cast<int>(in.size() > 2000 ? 2000 : in.size()),
                   in.data());
      hg_fuzz::fail("the server answered 500");
    }
    std::size_t length = 0;
    for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;) {
      const auto next = head.find("\r\n", at + 2);
      if (next == std::string_view::npos) break;
      const std::string_view field = head.substr(at + 2, next - at - 2);
      if (field.size() > 16 && api::iequals(field.substr(0, 16), "Content-Length: ")) {
        const auto n = hashguard::core::parse_int<std::size_t>(field.substr(16));
        HG_FUZZ_CHECK(n.has_value());
        length = *n;
      }
      at = next;
    }
    if (status < 200) length = 0;
    if (in.size() < end + 4 + length) return;  // cut short by a reset
    in.remove_prefix(end + 4 + length);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture* f = new fixture;  // lives until exit: the server's threads use it
  check_answers(exchange(f->server->port(), data, size));
  return 0;
}
