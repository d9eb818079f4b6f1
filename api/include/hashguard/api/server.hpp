// The HTTP server (Boost.Beast/Asio, as Beast's advanced and awaitable servers do it). Beast
// and Asio stay inside api/src (server.cpp: lifecycle, accept loop, eviction; session.cpp: one
// connection's requests; watchdog.cpp: its timeouts); this header is light. The checks made on
// a header before its body is read are admission.hpp, testable without a socket.
//
// Per connection: one session coroutine on its own strand. Per request: a fresh parser with
// the header limit (431) and no body limit; the header is read first, then the route is found
// (404/405), the key authenticated (401/403) and rate-limited (429), Content-Length checked
// against the route's body limit (413, before any body byte is read), "Expect: 100-continue"
// answered, and only then is the body read (chunked bodies are limited while they stream). Each
// read must make progress within read_timeout and the whole request must arrive within
// request_deadline: a late request gets 408 when a response is still possible, otherwise the
// connection is closed. Handlers run where their route says (run_on); a full pool queue gives
// 503 with Retry-After. Pipelined requests are answered in order, one at a time; keep-alive ends
// after keepalive_max_requests or idle_timeout.
//
// Connection cap (max_connections): a connection accepted at the cap takes the place of one
// that serves nobody: one lingering after its answer (a 431, a 408...) first, else the one that
// has waited longest for, or in, its request header (idle keep-alive, never-used, slowloris).
// That one is closed without an answer. A connection whose request passed authentication is
// never evicted, nor one whose request is in its handler; an anonymous request is evictable
// while its body arrives. Only when no connection is evictable does the new one get 503 (with
// Retry-After) and a close. So idle or slow clients, which need no key, cannot keep a
// legitimate client out; they are also closed by the per-read timeout on their own.
//
// Body budget (body_budget): request bodies held in memory across all connections stay within
// one total. A request reserves its Content-Length before its body is read (a chunked body
// grows its reservation as it arrives) and gives it back when it is finished; one that cannot
// reserve gets 503 overloaded with Retry-After and a close, its body unread (a chunked one as
// soon as it outgrows what is left). So 1,024 connections x a 32 MiB limit pin at most the
// budget, not 32 GiB; the reading buffer of each connection (header limit + 64 KiB) is apart.
//
// Rate limit: every request of a valid key takes a token from that key's bucket (any route
// with a role, before the role check); an empty bucket answers 429 rate_limited with
// Retry-After. Other keys are unaffected.
// An answer sent before the body was read closes the connection (with a lingering close so the
// client sees the answer rather than a reset).
//
// Lifecycle: start() binds and starts the I/O threads; shutdown() (or SIGTERM/SIGINT once
// handle_signals() ran) stops accepting, closes idle connections, lets in-flight requests finish
// (answered with Connection: close) until drain_timeout, then closes the rest; wait() returns
// when everything stopped. The pools given in `services` are shut down by wait() after the
// connections drained and before the I/O threads stop (so every job's answer can still travel);
// past the drain deadline they are cancelled first (work_pool::cancel: scans stop at their next
// budget check), so a long scan does not hold the process past the deadline. A handler's responder
// must be called (or dropped) before wait() can return: wait() keeps the I/O threads running until
// every open request has its answer.
//
// Thread-safety: start/handle_signals/wait from one thread; shutdown() from any thread.
#pragma once

#include "hashguard/api/auth.hpp"
#include "hashguard/api/metrics.hpp"
#include "hashguard/api/options.hpp"
#include "hashguard/api/router.hpp"
#include "hashguard/api/work_pool.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace hashguard::api {

/// Receives one finished JSON log line (no trailing newline). Called from I/O threads.
using log_sink = std::function<void(std::string_view line)>;
/// Writes the line and a newline to stderr in one write.
void stderr_log_sink(std::string_view line);

/// What the server uses but does not own. Everything must outlive the server.
struct services {
  const route_table* routes{nullptr};
  key_registry* keys{nullptr};
  rate_limiter* limiter{nullptr};
  metrics* stats{nullptr};
  work_pool* scan_pool{nullptr};
  work_pool* db_pool{nullptr};
  work_pool* video_pool{nullptr};  ///< run_on::video routes; null: run inline (tests only)
  log_sink log{stderr_log_sink};
};

class server {
 public:
  server(server_options options, services svc);
  ~server();  // shutdown() + wait()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, listens and starts the I/O threads. Errors: the bind/listen error, or the TLS
  /// certificate/key failing to load.
  [[nodiscard]] core::result<void> start();
  /// The bound port (useful with port 0).
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// SIGTERM and SIGINT start shutdown().
  void handle_signals();
  /// Starts the graceful shutdown; returns at once. Idempotent.
  void shutdown();
  /// Blocks until the server has stopped. Returns true when every connection drained before
  /// the deadline, false when some were closed by force.
  bool wait();
  /// Connections open now.
  [[nodiscard]] std::size_t connections() const noexcept;
  /// Bytes of request bodies reserved now against the body budget.
  [[nodiscard]] std::uint64_t body_bytes_reserved() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hashguard::api
