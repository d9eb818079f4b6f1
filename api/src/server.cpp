// The server's lifecycle (start, signals, shutdown, wait), its accept loop and the eviction
// of a connection that serves nobody when a new one arrives at the connection cap. What one
// connection does is session.cpp; the order of the checks on a request is admission.cpp.
//
// Shape (Beast's advanced and awaitable servers): an accept loop on its own strand spawns one
// session coroutine per connection on a fresh strand. A session owns its stream, a read buffer
// that persists across requests (pipelined bytes wait there), and one watchdog timer
// (watchdog.hpp).
#include "hashguard/api/server.hpp"

#include "connection.hpp"
#include "session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace hashguard::api {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using sys_error = boost::system::error_code;
using detail::connection;
using detail::connection_of;
using detail::phase;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

void stderr_log_sink(std::string_view line) {
  std::string out;
  out.reserve(line.size() + 1);
  out.append(line);
  out.push_back('\n');
  // One write so lines from several threads never interleave (short writes aside).
  const char* p = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

struct server::impl {
  impl(server_options o, services s)
      : opt(std::move(o)),
        svc(std::move(s)),
        ioc_owner(std::make_shared<asio::io_context>(static_cast<int>(opt.io_threads))),
        ioc(*ioc_owner),
        work(asio::make_work_guard(ioc)),
        accept_strand(asio::make_strand(ioc)),
        acceptor(accept_strand),
        signals(accept_strand),
        bodies(opt.body_budget),
        env{&opt,    &svc,      admission_rules{svc.routes, svc.keys, svc.limiter, &opt},
            &bodies, ioc_owner, [this](connection& c) { session_ended(&c); }} {}

  // ---- lifecycle -------------------------------------------------------------------------
  core::result<void> start();
  void shutdown();
  bool wait();
  void handle_signals();

  // ---- connections -----------------------------------------------------------------------
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> reject(tcp::socket socket);
  void session_ended(connection* c);
  std::shared_ptr<connection> choose_victim();

  server_options opt;
  services svc;
  // Shared: an answer on its way keeps it alive (session.hpp). Declared before everything
  // that uses it.
  std::shared_ptr<asio::io_context> ioc_owner;
  asio::io_context& ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  asio::strand<asio::io_context::executor_type> accept_strand;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::optional<ssl::context> tls;
  std::vector<std::thread> threads;
  std::uint16_t bound_port{0};
  detail::body_budget bodies;  // request bodies in memory, across connections
  detail::session_env env;     // what every session shares

  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<connection*, std::weak_ptr<connection>> live;
  std::size_t open{0};
  std::size_t evicting{0};  // chosen for eviction, not yet closed (counted in `open`)
  bool stopping{false};
  bool waited{false};
  steady::time_point drain_deadline{};
};

void server::impl::session_ended(connection* c) {
  c->dog.stop();
  if (svc.stats != nullptr) svc.stats->connection_closed();
  std::lock_guard lock(mu);
  live.erase(c);
  --open;
  if (c->evicted) --evicting;
  cv.notify_all();
}

// Called with `mu` held. A connection lingering after its answer first; otherwise the one that
// has waited longest for (or in) its request header. Busy ones never: they hold a request that
// passed authentication. The oldest goes first because a client that means to send a request
// sends it at once: a connection that has been quiet (or dribbling its header) the longest is
// the likeliest to be an attacker's, and a legitimate idle keep-alive connection that loses
// this way only costs its client a reconnect.
std::shared_ptr<connection> server::impl::choose_victim() {
  std::shared_ptr<connection> best;
  int best_rank = 0;
  std::int64_t best_since = 0;
  for (auto& [ptr, weak] : live) {
    auto c = weak.lock();
    if (!c || c->evicted) continue;
    const phase p = c->stage.load(std::memory_order_relaxed);
    if (p == phase::busy) continue;
    const int rank = p == phase::closing ? 0 : 1;
    const std::int64_t since = c->stage_since.load(std::memory_order_relaxed);
    if (!best || rank < best_rank || (rank == best_rank && since < best_since)) {
      best = std::move(c);
      best_rank = rank;
      best_since = since;
    }
  }
  return best;
}

asio::awaitable<void> server::impl::reject(tcp::socket socket) {
  // Over the connection cap: a short 503 (plain HTTP only; a TLS client would need a
  // handshake first, which is the work the cap exists to avoid) and a close.
  if (!tls) {
    const std::string text =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Retry-After: " +
        std::to_string(opt.retry_after_s) + "\r\nConnection: close\r\n" + "Content-Length: ";
    const std::string body = error_json("overloaded", "too many connections");
    const std::string all = text + std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::steady_timer t(socket.get_executor());
    t.expires_after(std::chrono::milliseconds(200));
    t.async_wait([&socket](sys_error ec) {
      sys_error ignored;
      if (!ec) socket.cancel(ignored);
    });
    co_await asio::async_write(socket, asio::buffer(all), use_tuple);
    t.cancel();
  }
  sys_error ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

asio::awaitable<void> server::impl::accept_loop() {
  while (true) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(ioc), use_tuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // EMFILE and friends: back off a little instead of spinning.
      asio::steady_timer t(accept_strand, std::chrono::milliseconds(50));
      co_await t.async_wait(use_tuple);
      continue;
    }
    {
      std::unique_lock lock(mu);
      if (stopping) {
        lock.unlock();
        sys_error ignored;
        socket.close(ignored);
        continue;
      }
      std::shared_ptr<connection> victim;
      if (open - evicting >= opt.max_connections) {
        victim = choose_victim();
        if (!victim) {
          lock.unlock();
          if (svc.stats != nullptr) svc.stats->count_rejected("max_connections");
          auto ex = socket.get_executor();
          asio::co_spawn(ex, reject(std::move(socket)), asio::detached);
          continue;
        }
        // At the cap with a connection that serves nobody: close it and take the new one. The
        // count stays bounded: at most one pending eviction per connection over the cap.
        victim->evicted = true;
        ++evicting;
      }
      ++open;
      if (victim) {
        lock.unlock();
        if (svc.stats != nullptr) svc.stats->count_rejected("evicted");
        asio::post(victim->ex, [victim] {
          // It may have started serving a request since it was chosen: then it finishes that
          // one and closes; otherwise it stops now.
          if (victim->stage.load(std::memory_order_relaxed) == phase::busy) {
            victim->draining = true;
            return;
          }
          victim->evict_now = true;
          sys_error ignored;
          victim->lowest().cancel(ignored);
        });
      }
    }
    if (svc.stats != nullptr) svc.stats->connection_opened();
    sys_error ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto ex = socket.get_executor();
    const auto peer = socket.remote_endpoint(ignored);
    auto spawn = [&](auto c) {
      c->remote = peer.address().to_string() + ":" + std::to_string(peer.port());
      {
        std::lock_guard lock(mu);
        live[c.get()] = c;
        c->draining = stopping;  // accepted just as shutdown began: serve one request at most
      }
      asio::co_spawn(ex, detail::run_session(env, c), [this](std::exception_ptr e) {
        if (e && svc.log) svc.log(R"({"event":"session_failed"})");
      });
    };
    if (tls) {
      spawn(std::make_shared<connection_of<detail::tls_stream>>(ex, std::move(socket), *tls));
    } else {
      spawn(std::make_shared<connection_of<detail::plain_stream>>(ex, std::move(socket)));
    }
  }
}

core::result<void> server::impl::start() {
  sys_error ec;
  if (opt.tls()) {
    tls.emplace(ssl::context::tls_server);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::single_dh_use);
    tls->use_certificate_chain_file(opt.tls_cert, ec);
    if (ec) return ec;
    tls->use_private_key_file(opt.tls_key, ssl::context::pem, ec);
    if (ec) return ec;
  }
  const auto address = asio::ip::make_address(opt.address, ec);
  if (ec) return ec;
  const tcp::endpoint endpoint(address, opt.port);
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return ec;
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return ec;
  acceptor.bind(endpoint, ec);
  if (ec) return ec;
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  bound_port = acceptor.local_endpoint(ec).port();
  if (ec) return ec;
  asio::co_spawn(accept_strand, accept_loop(), asio::detached);
  for (unsigned i = 0; i < opt.io_threads; ++i) threads.emplace_back([this] { ioc.run(); });
  return {};
}

void server::impl::handle_signals() {
  sys_error ec;
  signals.add(SIGINT, ec);
  signals.add(SIGTERM, ec);
  asio::post(accept_strand, [this] {
    signals.async_wait([this](sys_error wait_ec, int) {
      if (!wait_ec) shutdown();
    });
  });
}

void server::impl::shutdown() {
  std::vector<std::shared_ptr<connection>> conns;
  {
    std::lock_guard lock(mu);
    if (stopping) return;
    stopping = true;
    drain_deadline = steady::now() + opt.drain_timeout;
    for (auto& [ptr, weak] : live) {
      if (auto c = weak.lock()) conns.push_back(std::move(c));
    }
  }
  cv.notify_all();
  asio::post(accept_strand, [this] {
    sys_error ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
  });
  // Idle connections close now; busy ones finish their request and answer Connection: close.
  for (auto& c : conns) {
    asio::post(c->ex, [c] {
      c->draining = true;
      if (c->idle) {
        sys_error ignored;
        c->lowest().cancel(ignored);
      }
    });
  }
}

bool server::impl::wait() {
  std::unique_lock lock(mu);
  if (waited) return true;
  cv.wait(lock, [this] { return stopping; });
  bool clean = cv.wait_until(lock, drain_deadline, [this] { return open == 0; });
  if (!clean) {
    // Past the drain deadline: close what is left. Sessions waiting on a pool job end when the
    // job answers into the closed socket.
    for (auto& [ptr, weak] : live) {
      if (auto c = weak.lock()) {
        asio::post(c->ex, [c] {
          sys_error ignored;
          c->lowest().close(ignored);
        });
      }
    }
  }
  lock.unlock();
  // Jobs already queued still answer (their sessions are gone or closing); new ones are refused.
  // Past the deadline nobody reads those answers: jobs that poll the cancel flag (scans) stop
  // at their next check, so a long scan cannot hold shutdown past the drain deadline.
  if (!clean) {
    if (svc.scan_pool != nullptr) svc.scan_pool->cancel();
    if (svc.db_pool != nullptr) svc.db_pool->cancel();
    if (svc.video_pool != nullptr) svc.video_pool->cancel();
  }
  if (svc.scan_pool != nullptr) svc.scan_pool->shutdown();
  if (svc.db_pool != nullptr) svc.db_pool->shutdown();
  if (svc.video_pool != nullptr) svc.video_pool->shutdown();
  lock.lock();
  // Every session still open is waiting for an answer that some handler owes it (a session
  // ends only after its answer arrived). The I/O threads must outlive those answers, so wait;
  // a handler that never answers is a bug, reported here rather than turned into a crash.
  while (!cv.wait_for(lock, std::chrono::seconds(5), [this] { return open == 0; })) {
    if (svc.log) {
      svc.log(R"({"event":"shutdown_waiting","connections":)" + std::to_string(open) + "}");
    }
  }
  waited = true;
  lock.unlock();
  work.reset();
  ioc.stop();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
  threads.clear();
  return clean;
}

server::server(server_options options, services svc)
    : impl_(std::make_unique<impl>(std::move(options), std::move(svc))) {}

server::~server() {
  if (!impl_->threads.empty()) {
    impl_->shutdown();
    impl_->wait();
  }
}

core::result<void> server::start() {
  return impl_->start();
}

std::uint16_t server::port() const noexcept {
  return impl_->bound_port;
}

void server::handle_signals() {
  impl_->handle_signals();
}

void server::shutdown() {
  impl_->shutdown();
}

bool server::wait() {
  return impl_->wait();
}

std::uint64_t server::body_bytes_reserved() const noexcept {
  return impl_->bodies.in_use();
}

std::size_t server::connections() const noexcept {
  std::lock_guard lock(impl_->mu);
  return impl_->open;
}

}  // namespace hashguard::api
