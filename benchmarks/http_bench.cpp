// http_bench: what the HTTP layer costs, before any scanning or matching is wired in.
//
// An in-process hashguard::api::server answers, over keep-alive connections on loopback:
//   - GET /healthz (public, answered on the I/O thread),
//   - POST /v1/match with an ingest key and a 100-byte JSON body, answered by a trivial handler
//     on the scan pool (auth, routing, the pool hop, the request log line to /dev/null),
// and, as the peer in the same run, a floor: a bare blocking socket server that reads each
// request up to its end and writes a canned response (no parsing, no auth, no pool). The gap
// between the two is the cost of the HTTP machinery. Closed loop: each connection sends its
// next request when the previous answer arrived. Client and server share the machine's cores.
//
// Usage: http_bench [--quick] [--seconds S] [--connections C] [--io-threads N]
#include "bench_args.hpp"

#include "hashguard/api/auth.hpp"
#include "hashguard/api/metrics.hpp"
#include "hashguard/api/server.hpp"
#include "hashguard/api/work_pool.hpp"
#include "hashguard/handlers/routes.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace hashguard;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::string_view bench_key = "http-bench-ingest-key";

int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Reads one HTTP message (header + Content-Length body) from fd into buf; returns the status
// (or the request's first byte for the floor server), -1 on EOF or error.
int read_message(int fd, std::string& buf, bool* closing = nullptr) {
  char tmp[16384];
  while (true) {
    const auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      const auto cl = buf.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(buf.substr(cl + 16));
      if (buf.size() >= end + 4 + length) {
        int status = 0;
        if (buf.starts_with("HTTP/1.1 ")) status = std::atoi(buf.c_str() + 9);
        if (closing != nullptr) {
          const auto c = buf.find("Connection: close");
          *closing = c != std::string::npos && c < end;
        }
        buf.erase(0, end + 4 + length);
        return status;
      }
    }
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return -1;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
}

struct load_result {
  double rps{0};
  double p50_ms{0};
  double p99_ms{0};
  std::uint64_t errors{0};
};

load_result run_load(std::uint16_t port, const std::string& request, int connections,
                     double seconds) {
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(connections));
  std::vector<std::uint64_t> errors(static_cast<std::size_t>(connections), 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < connections; ++i) {
    threads.emplace_back([&, i] {
      auto& lat = latencies[static_cast<std::size_t>(i)];
      int fd = connect_to(port);
      std::string buf;
      while (fd >= 0 && !stop.load(std::memory_order_relaxed)) {
        const auto t0 = steady::now();
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size())) {
          ++errors[static_cast<std::size_t>(i)];
          break;
        }
        bool closing = false;
        const int status = read_message(fd, buf, &closing);
        if (status != 200) {
          ++errors[static_cast<std::size_t>(i)];
          if (status < 0) break;
        }
        lat.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
        if (closing) {  // keep-alive ended (http.keepalive_max_requests): reconnect
          ::close(fd);
          buf.clear();
          fd = connect_to(port);
        }
      }
      if (fd < 0) ++errors[static_cast<std::size_t>(i)];
      if (fd >= 0) ::close(fd);
    });
  }
  const auto start = steady::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(steady::now() - start).count();
  std::vector<double> all;
  load_result r;
  for (std::size_t i = 0; i < latencies.size(); ++i) {
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
    r.errors += errors[i];
  }
  std::sort(all.begin(), all.end());
  r.rps = static_cast<double>(all.size()) / elapsed;
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

// The floor: thread per connection, read a request, write a canned answer.
class floor_server {
 public:
  floor_server() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 128);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        int nodelay = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
        workers_.emplace_back([fd] {
          static constexpr std::string_view answer =
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
              "15\r\n\r\n{\"status\":\"ok\"}";
          std::string buf;
          while (read_message(fd, buf) >= 0) {
            if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) break;
          }
          ::close(fd);
        });
      }
    });
  }
  ~floor_server() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    for (auto& w : workers_) w.join();
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  int listen_fd_{-1};
  std::uint16_t port_{0};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3.0;
  int connections = 8;
  unsigned io_threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      seconds = 0.3;
      connections = 4;
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--connections" && i + 1 < argc) {
      connections = bench::int_arg<int>(argv[++i], 1);
    } else if (a == "--io-threads" && i + 1 < argc) {
      io_threads = bench::int_arg<unsigned>(argv[++i], 1);
    } else {
      std::cerr << "usage: http_bench [--quick] [--seconds S] [--connections C] [--io-threads N]\n";
      return 2;
    }
  }

  api::server_options opt;
  opt.port = 0;
  opt.io_threads = io_threads;
  api::route_table routes;
  api::metrics stats;
  handlers::add_placeholder_routes(routes);
  handlers::add_builtin_routes(routes, {&stats, [] { return handlers::readiness{true, ""}; }, 1});
  api::route_spec match_spec;
  for (const auto& s : handlers::design_routes()) {
    if (s.pattern == "/v1/match") match_spec = s;
  }
  routes.add(match_spec, api::sync_handler([](const api::request& req, const api::auth_context&) {
               return api::response::json(
                   200, R"({"verdict":"no_match","action":"none","hits":[],"bytes":)" +
                            std::to_string(req.body.size()) + "}");
             }));
  api::key_registry keys;
  const auto d = api::digest_key(bench_key);
  keys.replace({{d, api::key_id_of(d), core::role::ingest, 0, 0}});
  api::rate_limiter limiter(0, 0);
  api::work_pool scan("scan", std::max(1U, std::thread::hardware_concurrency()), 1024);
  api::work_pool db("db", 1, 16);
  std::FILE* devnull = std::fopen("/dev/null", "w");
  api::services svc{
      &routes, &keys, &limiter, &stats, &scan, &db, nullptr, [devnull](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), devnull);
        std::fputc('\n', devnull);
      }};
  api::server srv(opt, svc);
  if (!srv.start()) {
    std::cerr << "http_bench: cannot start the server\n";
    return 1;
  }

  const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string body =
      R"({"md5":["0123456789abcdef0123456789abcdef"],"pdq":[")" + std::string(64, 'a') + R"("]})";
  const std::string match =
      "POST /v1/match HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(bench_key) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;

  const auto h = run_load(srv.port(), healthz, connections, seconds);
  const auto m = run_load(srv.port(), match, connections, seconds);
  srv.shutdown();
  srv.wait();
  std::fclose(devnull);
  floor_server floor;
  const auto f = run_load(floor.port(), healthz, connections, seconds);

  std::printf("connections %d, io threads %u, %.1f s per run, %u cores\n", connections, io_threads,
              seconds, std::thread::hardware_concurrency());
  std::printf("%-44s %10.0f req/s  p50 %.3f ms  p99 %.3f ms  errors %llu\n",
              "hashguard GET /healthz (I/O thread)", h.rps, h.p50_ms, h.p99_ms,
              static_cast<unsigned long long>(h.errors));
  std::printf("%-44s %10.0f req/s  p50 %.3f ms  p99 %.3f ms  errors %llu\n",
              "hashguard POST /v1/match stub (auth + pool)", m.rps, m.p50_ms, m.p99_ms,
              static_cast<unsigned long long>(m.errors));
  std::printf("%-44s %10.0f req/s  p50 %.3f ms  p99 %.3f ms  errors %llu\n",
              "peer: canned-answer socket floor", f.rps, f.p50_ms, f.p99_ms,
              static_cast<unsigned long long>(f.errors));
  std::printf(
      "{\"connections\": %d, \"io_threads\": %u, \"healthz_rps\": %.0f, \"healthz_p99_ms\": "
      "%.3f, \"match_stub_rps\": %.0f, \"match_stub_p50_ms\": %.3f, \"match_stub_p99_ms\": %.3f, "
      "\"floor_rps\": %.0f, \"floor_p99_ms\": %.3f, \"match_stub_vs_floor\": %.3f, "
      "\"errors\": %llu}\n",
      connections, io_threads, h.rps, h.p99_ms, m.rps, m.p50_ms, m.p99_ms, f.rps, f.p99_ms,
      f.rps > 0 ? m.rps / f.rps : 0.0,
      static_cast<unsigned long long>(h.errors + m.errors + f.errors));
  return 0;
}
