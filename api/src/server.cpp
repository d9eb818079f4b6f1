// The Beast/Asio server: the only file of the project that includes Beast (compile time).
//
// Shape (Beast's advanced and awaitable servers): an accept loop on its own strand spawns one
// session coroutine per connection on a fresh strand. A session owns its stream, a read buffer
// that persists across requests (pipelined bytes wait there), and one watchdog timer. The
// watchdog cancels the socket's pending operation instead of closing it (as beast::tcp_stream's
// timeouts would), so a late request can still get its 408.
#include "hashguard/api/server.hpp"

#include "hashguard/api/request_log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>
#include <unordered_map>

namespace hashguard::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using sys_error = boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using plain_stream = tcp::socket;
using tls_stream = ssl::stream<tcp::socket>;
template <class S>
inline constexpr bool is_tls = std::is_same_v<S, tls_stream>;

std::string random_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  constexpr char digits[] = "0123456789abcdef";
  std::string id(16, '0');
  std::uint64_t v = rng();
  for (char& c : id) {
    c = digits[v & 0xF];
    v >>= 4;
  }
  return id;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// What a connection is doing, as the accept loop sees it when it must choose one to evict
// (choose_victim). A client without a valid key can only ever hold an evictable connection:
// the key is checked before any body byte is read.
enum class phase : int {
  closing,  // answered and lingering before the close (a 431, a 408...): evicted first
  idle,     // waiting for the first byte of a request   } then these two, the one that
  header,   // reading a header, or an anonymous body    } entered its phase first
  busy,     // an authenticated request's body, any handler, its answer: never evicted
};

// State shared between a session coroutine and the code that reaches into it from outside
// (the watchdog, shutdown, eviction). Touched only on the connection's strand, except `stage`,
// `stage_since` and `evicted`, which the accept loop reads (under the server's mutex for
// `evicted`).
struct connection {
  explicit connection(asio::any_io_executor executor) : ex(executor), timer(executor) {
    enter(phase::idle);
  }
  virtual ~connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  virtual tcp::socket& lowest() = 0;

  asio::any_io_executor ex;
  asio::steady_timer timer;
  std::uint64_t timer_gen{0};                              // the pending wait's generation
  bool waiting{false};                                     // a wait is pending on `timer`
  steady::time_point wait_expiry{};                        // ... and expires then
  steady::time_point deadline{steady::time_point::max()};  // armed deadline; max: disarmed
  bool timed_out{false};
  bool idle{false};       // waiting for the first byte of the next request
  bool draining{false};   // the server is shutting down: finish this request, then close
  bool evict_now{false};  // chosen for eviction: stop reading and close
  std::string remote;

  std::atomic<phase> stage{phase::idle};
  std::atomic<std::int64_t> stage_since{0};  // steady clock, nanoseconds
  bool evicted{false};                       // guarded by server::impl::mu

  void enter(phase p) {
    stage.store(p, std::memory_order_relaxed);
    stage_since.store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
            .count(),
        std::memory_order_relaxed);
  }
};

template <class Stream>
struct connection_of final : connection {
  template <class... Args>
  explicit connection_of(asio::any_io_executor executor, Args&&... args)
      : connection(executor), stream(std::forward<Args>(args)...) {}
  tcp::socket& lowest() override { return beast::get_lowest_layer(stream); }
  Stream stream;
};

// The watchdog is lazy: arming and disarming only move `deadline`; the timer itself is
// re-armed only when the new deadline is earlier than the wait already pending, and a wait
// that expires before the current deadline just waits again. Re-arming an Asio timer for
// every read and write (several times per request) costs a timer-queue update, usually a
// timerfd_settime system call, and a cancelled-wait completion; most requests now touch the
// timer not at all.
void start_wait(const std::shared_ptr<connection>& c, steady::time_point expiry);

void on_watchdog(const std::shared_ptr<connection>& c, std::uint64_t gen, sys_error ec) {
  if (c->timer_gen != gen) return;  // superseded by a wait for an earlier expiry
  c->waiting = false;
  if (ec || c->deadline == steady::time_point::max()) return;  // cancelled, or disarmed
  if (steady::now() < c->deadline) {
    start_wait(c, c->deadline);  // the deadline moved on since this wait began
    return;
  }
  c->timed_out = true;
  sys_error ignored;
  c->lowest().cancel(ignored);
}

void start_wait(const std::shared_ptr<connection>& c, steady::time_point expiry) {
  const std::uint64_t gen = ++c->timer_gen;
  c->waiting = true;
  c->wait_expiry = expiry;
  c->timer.expires_at(expiry);  // cancels a pending wait; its completion sees a stale gen
  c->timer.async_wait([c, gen](sys_error ec) { on_watchdog(c, gen, ec); });
}

// Arms the watchdog: at `deadline` the pending operation on the socket is cancelled and
// timed_out set (the operation then completes with an error and the session sees timed_out).
void arm(const std::shared_ptr<connection>& c, steady::time_point deadline) {
  c->timed_out = false;
  c->deadline = deadline;
  if (!c->waiting || deadline < c->wait_expiry) start_wait(c, deadline);
}

void disarm(const std::shared_ptr<connection>& c) {
  c->deadline = steady::time_point::max();
}

// The method as metrics and the log name it: a client can send any token as a method, and
// each distinct one would otherwise be a new metrics series (unbounded memory) and arbitrary
// client text in the log.
std::string_view method_label(std::string_view m) {
  for (std::string_view known :
       {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}) {
    if (m == known) return known;
  }
  return m == "-" ? m : std::string_view("other");
}

bool is_parse_error(const sys_error& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

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
        signals(accept_strand) {}

  // ---- lifecycle -------------------------------------------------------------------------
  core::result<void> start();
  void shutdown();
  bool wait();
  void handle_signals();

  // ---- connections -----------------------------------------------------------------------
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> reject(tcp::socket socket);
  template <class Stream>
  asio::awaitable<void> session(std::shared_ptr<connection_of<Stream>> c);
  void session_ended(connection* c);
  std::shared_ptr<connection> choose_victim();

  server_options opt;
  services svc;
  // Shared: an answer's target keeps it alive (see answer_target). Declared before everything
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

  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<connection*, std::weak_ptr<connection>> live;
  std::size_t open{0};
  std::size_t evicting{0};  // chosen for eviction, not yet closed (counted in `open`)
  bool stopping{false};
  bool waited{false};
  steady::time_point drain_deadline{};
};

// ---- one request ---------------------------------------------------------------------------

namespace {

// What a session knows about the request it is answering, for the response and the log line.
struct exchange {
  std::string method;
  std::string path;
  std::string route{"unmatched"};
  std::string request_id;
  auth_context auth;
  std::uint64_t bytes_in{0};
  unsigned version{11};
  steady::time_point start{};
};

// Where an answer goes: the session's executor, plus a reference that keeps the io_context
// alive. A handler's thread may still hold (and then destroy) this after the server answered
// and was torn down; destroying an executor needs its io_context, so the context is declared
// first and goes last.
struct answer_target {
  std::shared_ptr<asio::io_context> context;
  asio::any_io_executor ex;
};

// Runs a handler; an exception it lets out is answered 500 `internal` through `answer` (a
// handler's bug must not take a pool or I/O thread down, nor leave the request unanswered).
template <class Call, class Answer>
void run_guarded(Call&& call, Answer&& answer) {
  try {
    call();
  } catch (const std::exception& e) {
    answer(response::error(errc::internal, std::string("handler failed: ") + e.what()));
  } catch (...) {
    answer(response::error(errc::internal, "handler failed"));
  }
}

template <class Token>
auto async_invoke(std::shared_ptr<asio::io_context> context, work_pool* pool, const route* r,
                  const request& req, const auth_context& auth, int retry_after_s, Token&& token) {
  return asio::async_initiate<Token, void(response)>(
      [context = std::move(context), pool, r, &req, &auth, retry_after_s](auto handler) {
        auto target = std::make_shared<answer_target>(
            answer_target{context, asio::get_associated_executor(handler)});
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        // The answer always travels back to the session's strand, whichever thread made it.
        // The handler moves into the posted operation, so nothing of the session stays behind
        // in the responder.
        responder done([h, target](response res) {
          asio::post(target->ex, [handler = std::move(*h), res = std::move(res)]() mutable {
            std::move(handler)(std::move(res));
          });
        });
        auto job = [r, &req, &auth, done]() {
          run_guarded([&] { r->handler(req, auth, done); }, done);
        };
        if (pool == nullptr) {
          job();
        } else if (!pool->try_post(job)) {
          done(response::error(errc::overloaded, "the " + pool->name() + " queue is full",
                               retry_after_s));
        }
      },
      token);
}

response invoke_inline(const route& r, const request& req, const auth_context& auth) {
  response out;
  run_guarded([&] { out = r.sync(req, auth); }, [&](response failed) { out = std::move(failed); });
  return out;
}

// One step of reading a message: feed what is buffered to the parser; when it needs more, read
// once from the stream. Beast's http::async_read_some would loop until the parser consumes
// something, and a header is consumed only once complete, so a dribbled header would look like
// one endless read; stepping ourselves lets every read get its own timeout.
template <class Stream>
asio::awaitable<sys_error> read_step(Stream& stream, beast::flat_buffer& buffer,
                                     http::request_parser<http::string_body>& parser) {
  sys_error ec;
  if (buffer.size() > 0) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec != http::error::need_more) co_return ec;  // progress, or a parse error
    if (used > 0) co_return sys_error{};
  }
  if (buffer.size() >= buffer.max_size()) co_return http::error::buffer_overflow;
  const std::size_t room = std::min<std::size_t>(65536, buffer.max_size() - buffer.size());
  auto [read_ec, n] = co_await stream.async_read_some(buffer.prepare(room), use_tuple);
  buffer.commit(n);
  if (read_ec == asio::error::eof || read_ec == ssl::error::stream_truncated) {
    if (!parser.got_some() && buffer.size() == 0) co_return http::error::end_of_stream;
    sys_error eof_ec;
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), eof_ec);
      buffer.consume(used);
      if (eof_ec && eof_ec != http::error::need_more) co_return eof_ec;
      if (parser.is_done()) co_return sys_error{};
    }
    parser.put_eof(eof_ec);
    co_return eof_ec ? eof_ec : sys_error(http::error::partial_message);
  }
  co_return read_ec;
}

}  // namespace

template <class Stream>
asio::awaitable<void> server::impl::session(std::shared_ptr<connection_of<Stream>> c) {
  const std::shared_ptr<connection> base = c;
  beast::flat_buffer buffer(static_cast<std::size_t>(opt.header_limit) + 65536);
  bool unread_input = false;  // the client may still be sending what we will not read

  // Writes one answer; false when the connection is unusable afterwards.
  auto write = [&](exchange& x, response r, bool keep_alive) -> asio::awaitable<bool> {
    http::response<http::string_body> res;
    res.version(x.version);
    res.result(static_cast<unsigned>(r.status));
    res.set(http::field::content_type, r.content_type);
    res.set("X-Request-Id", x.request_id);
    for (auto& f : r.headers) res.insert(f.name, f.value);
    res.keep_alive(keep_alive);
    std::size_t bytes_out = r.body.size();
    sys_error ec;
    // Counted when the answer is ready, before its first byte goes out: a client that has its
    // answer finds it in the next scrape of /metrics (counted after the write, it could still be
    // missing there). The histogram is the time to the answer; the log line, written after the
    // write, has the whole exchange.
    const std::string_view method = method_label(x.method);
    const int status = r.status;
    auto count = [&] {
      const double to_answer = std::chrono::duration<double>(steady::now() - x.start).count();
      if (svc.stats != nullptr) svc.stats->count_request(x.route, method, status, to_answer);
    };
    if (r.file) {
      // A file-backed body (large exports): streamed chunk by chunk, the write timeout
      // measuring progress rather than the whole transfer.
      http::response<http::file_body> fres{std::move(res.base())};
      bool opened = false;
      const int fd = ::dup(r.file->fd());
      if (fd >= 0 && ::lseek(fd, 0, SEEK_SET) == 0) {
        beast::file f;
        f.native_handle(fd);  // f owns the duplicate from here
        fres.body().reset(std::move(f), ec);
        opened = !ec;
      } else if (fd >= 0) {
        ::close(fd);
      }
      // Nothing was sent yet, but the handler's answer is gone: close rather than lie.
      if (!opened) co_return false;
      bytes_out = static_cast<std::size_t>(fres.body().size());
      fres.prepare_payload();
      count();
      http::response_serializer<http::file_body> sr{fres};
      while (!ec && !sr.is_done()) {
        arm(base, steady::now() + opt.write_timeout);
        auto [wec, n] = co_await http::async_write_some(c->stream, sr, use_tuple);
        disarm(base);
        ec = wec;
      }
    } else {
      res.body() = std::move(r.body);
      res.prepare_payload();
      count();
      arm(base, steady::now() + opt.write_timeout);
      auto [wec, n] = co_await http::async_write(c->stream, res, use_tuple);
      disarm(base);
      ec = wec;
    }

    const double seconds = std::chrono::duration<double>(steady::now() - x.start).count();
    if (opt.log_requests && svc.log) {
      std::string error_code;
      if (r.status >= 400) {
        // The error shape's code, read back cheaply: {"error":{"code":"X",...
        const std::string_view body = res.body();
        const auto at = body.find("\"code\":\"");
        if (at != std::string_view::npos) {
          const auto from = at + 8;
          const auto to = body.find('"', from);
          if (to != std::string_view::npos) error_code = std::string(body.substr(from, to - from));
        }
      }
      request_log_entry e;
      e.method = method;
      e.route = x.route;
      e.path = x.path;
      e.status = r.status;
      e.bytes_in = x.bytes_in;
      e.bytes_out = bytes_out;
      e.duration_ms = seconds * 1000.0;
      e.request_id = x.request_id;
      e.key_id = x.auth.key_id;
      const std::string role_name =
          x.auth.role ? std::string(core::to_string(*x.auth.role)) : std::string();
      e.role = role_name;
      e.remote = c->remote;
      e.error = error_code;
      svc.log(to_json_line(e));
    }
    co_return !ec && !c->timed_out;
  };

  if constexpr (is_tls<Stream>) {
    arm(base, steady::now() + opt.read_timeout);
    auto [ec] = co_await c->stream.async_handshake(ssl::stream_base::server, use_tuple);
    disarm(base);
    if (ec) {
      session_ended(base.get());
      co_return;
    }
  }

  for (unsigned served = 0;; ++served) {
    exchange x;
    x.request_id = random_request_id();
    http::request_parser<http::string_body> parser;
    parser.header_limit(opt.header_limit);
    parser.body_limit(boost::none);  // set per route once the header is known

    // -- header: idle wait, then per-read timeout within the whole-request deadline --------
    sys_error ec;
    steady::time_point deadline = steady::time_point::max();
    bool started = buffer.size() > 0;
    if (started) deadline = steady::now() + opt.request_deadline;
    if ((c->draining && !started) || c->evict_now) break;
    c->enter(started ? phase::header : phase::idle);
    while (!parser.is_header_done()) {
      const auto per_read = started || served == 0 ? opt.read_timeout : opt.idle_timeout;
      c->idle = !started;
      if (c->evict_now) {
        ec = asio::error::operation_aborted;
        break;
      }
      arm(base, std::min(steady::now() + per_read, deadline));
      ec = co_await read_step(c->stream, buffer, parser);
      c->idle = false;
      if (c->timed_out && !ec) ec = asio::error::operation_aborted;
      if (ec) break;
      if (!started && (parser.got_some() || buffer.size() > 0)) {
        started = true;
        deadline = steady::now() + opt.request_deadline;
        c->enter(phase::header);
      }
    }
    disarm(base);
    x.start = steady::now();
    if (ec && c->evict_now) break;  // evicted at the connection cap: close, no answer
    if (ec) {
      const bool timed_out = c->timed_out;
      const bool received = parser.got_some() || buffer.size() > 0;
      if (!received && !timed_out) break;  // closed, or drained while idle
      if (!received && timed_out) {
        // A connection that never sent a byte (or an idle keep-alive one): just close.
        if (svc.stats != nullptr) svc.stats->count_rejected("idle_timeout");
        break;
      }
      x.method = "-";
      response r;
      if (timed_out) {
        if (svc.stats != nullptr) svc.stats->count_rejected("header_deadline");
        r = response::error(errc::request_timeout, "the request header did not arrive in time");
      } else if (ec == http::error::header_limit) {
        r = response::error(errc::header_too_large, "request header fields too large");
      } else if (is_parse_error(ec) && ec != http::error::partial_message &&
                 ec != http::error::end_of_stream) {
        r = response::error(errc::malformed, "malformed HTTP request: " + ec.message());
      } else {
        break;  // the peer went away mid-header: nobody to answer
      }
      unread_input = true;
      co_await write(x, std::move(r), false);
      break;
    }

    // -- route, key, role, rate, size: all before any body byte is read -------------------
    auto& head = parser.get();
    x.version = head.version();
    x.method = std::string(head.method_string());
    const std::string target(head.target());
    const auto qmark = target.find('?');
    x.path = target.substr(0, qmark);
    const bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
    bool keep_alive = head.keep_alive() && served + 1 < opt.keepalive_max_requests;

    std::optional<response> early;
    const route* rt = nullptr;
    route_match m;
    if (auto rid = head["X-Request-Id"]; !rid.empty()) {
      if (valid_request_id(rid)) {
        x.request_id = std::string(rid);
      } else {
        early = response::error(errc::malformed, "X-Request-Id must be 1-128 visible ASCII");
      }
    }
    if (!early && (x.path.empty() || x.path.front() != '/')) {
      early = response::error(errc::malformed, "the request target must be an absolute path");
      x.path.clear();  // not a path: whatever the client put there stays out of the log
    }
    if (!early) {
      m = svc.routes->match(x.method, x.path);
      rt = m.matched;
      if (rt == nullptr && m.allow.empty()) {
        early = response::error(errc::not_found, "no route for " + x.path);
      } else if (rt == nullptr) {
        early =
            response::error(errc::method_not_allowed, x.method + " is not allowed on " + x.path);
        early->headers.push_back({"Allow", m.allow});
      } else {
        x.route = rt->spec.pattern;
      }
    }
    if (!early && rt->spec.role) {
      const auto token = bearer_token(head[http::field::authorization]);
      std::optional<key_record> key;
      if (token) key = svc.keys->authenticate(*token);
      if (!key) {
        early = response::error(errc::unauthorized,
                                token ? "unknown API key" : "missing Authorization: Bearer key");
        early->headers.push_back({"WWW-Authenticate", "Bearer"});
      } else {
        x.auth.key_id = key->key_id;
        x.auth.role = key->role;
        // Every request a valid key makes takes a token, on every authenticated route and
        // whatever its role: a key's flood is throttled as a whole, and only that key's.
        std::optional<rate_limiter::decision> rate;
        if (svc.limiter != nullptr) {
          rate = svc.limiter->take(key->key_id, key->rate_per_s, key->burst);
        }
        if (rate && !rate->allowed) {
          if (svc.stats != nullptr) svc.stats->count_rejected("rate_limited");
          early = response::error(errc::rate_limited, "rate limit exceeded for this key",
                                  rate->retry_after_s);
        } else if (key->role != *rt->spec.role) {
          early = response::error(
              errc::forbidden,
              "this route needs the " + std::string(core::to_string(*rt->spec.role)) + " role");
        }
      }
    }
    if (!early) {
      const std::uint64_t limit = opt.body_limit(rt->spec.body);
      if (parser.content_length() && *parser.content_length() > limit) {
        early = response::error(errc::payload_too_large, "the body is over this route's limit of " +
                                                             std::to_string(limit) + " bytes");
      } else {
        parser.body_limit(limit);  // chunked bodies are cut while they stream
      }
    }
    if (early) {
      // Nothing of the body was read: the connection cannot carry another request.
      if (has_body) unread_input = true;
      const bool keep = keep_alive && !has_body && !c->draining;
      if (!co_await write(x, std::move(*early), keep) || !keep) break;
      continue;
    }

    // -- body ---------------------------------------------------------------------------
    // An authenticated request is never evicted; an anonymous one (a public route) stays
    // evictable until its body has arrived, or a slow body would be a way to hold a slot.
    if (rt->spec.role) c->enter(phase::busy);
    if (has_body && beast::iequals(head[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, head.version()};
      arm(base, steady::now() + opt.write_timeout);
      auto [cec, cn] = co_await http::async_write(c->stream, cont, use_tuple);
      disarm(base);
      if (cec || c->timed_out) break;
    }
    if (deadline == steady::time_point::max()) deadline = x.start + opt.request_deadline;
    while (!parser.is_done()) {
      arm(base, std::min(steady::now() + opt.read_timeout, deadline));
      ec = co_await read_step(c->stream, buffer, parser);
      if (c->timed_out && !ec) ec = asio::error::operation_aborted;
      if (ec) break;
    }
    disarm(base);
    if (ec) {
      response r;
      if (c->timed_out) {
        if (svc.stats != nullptr) svc.stats->count_rejected("body_deadline");
        r = response::error(errc::request_timeout, "the request body did not arrive in time");
      } else if (ec == http::error::body_limit) {
        r = response::error(errc::payload_too_large, "the body is over this route's limit");
      } else if (ec == http::error::partial_message || ec == asio::error::eof) {
        r = response::error(errc::truncated_body, "the body ended before its declared length");
      } else if (is_parse_error(ec)) {
        r = response::error(errc::malformed, "malformed body: " + ec.message());
      } else {
        break;
      }
      unread_input = true;
      co_await write(x, std::move(r), false);
      break;
    }

    // -- handler ------------------------------------------------------------------------
    c->enter(phase::busy);
    request req;
    req.method = x.method;
    req.target = target;
    req.path = x.path;
    if (qmark != std::string::npos) req.query = target.substr(qmark + 1);
    req.params = std::move(m.params);
    req.request_id = x.request_id;
    for (const auto& f : head) {
      req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
    req.body = std::move(head.body());
    x.bytes_in = req.body.size();

    work_pool* pool = nullptr;
    if (rt->spec.where == run_on::scan) pool = svc.scan_pool;
    if (rt->spec.where == run_on::db) pool = svc.db_pool;
    response answer;
    if (pool == nullptr && rt->sync) {
      // A synchronous I/O-thread handler: called right here. Going through async_invoke would
      // post the answer back to this strand, a scheduler round trip (and often a wake-up of
      // the other I/O thread) that costs more than the handler.
      answer = invoke_inline(*rt, req, x.auth);
    } else {
      answer = co_await async_invoke(ioc_owner, pool, rt, req, x.auth, opt.retry_after_s,
                                     asio::use_awaitable);
    }
    keep_alive = keep_alive && !c->draining;
    if (!co_await write(x, std::move(answer), keep_alive) || !keep_alive) break;
  }

  // -- close ------------------------------------------------------------------------------
  c->enter(phase::closing);
  if constexpr (is_tls<Stream>) {
    if (!unread_input) {
      arm(base, steady::now() + std::min<std::chrono::milliseconds>(opt.write_timeout,
                                                                    std::chrono::seconds(1)));
      co_await c->stream.async_shutdown(use_tuple);
      disarm(base);
    }
  }
  sys_error ignored;
  c->lowest().shutdown(tcp::socket::shutdown_send, ignored);
  if (unread_input) {
    // Lingering close: closing with unread input makes the kernel send a reset, which can
    // destroy the answer before the client reads it. Read and drop for a short while first.
    std::array<char, 16384> sink{};
    arm(base, steady::now() +
                  std::min<std::chrono::milliseconds>(opt.read_timeout, std::chrono::seconds(2)));
    std::uint64_t dropped = 0;
    while (!c->timed_out && !c->evict_now && dropped < 64U * 1024 * 1024) {
      auto [rec, n] = co_await c->lowest().async_read_some(asio::buffer(sink), use_tuple);
      if (rec) break;
      dropped += n;
    }
    disarm(base);
  }
  c->lowest().close(ignored);
  session_ended(base.get());
}

void server::impl::session_ended(connection* c) {
  c->timer.cancel();
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
      asio::co_spawn(ex, session(c), [this](std::exception_ptr e) {
        if (e && svc.log) svc.log(R"({"event":"session_failed"})");
      });
    };
    if (tls) {
      spawn(std::make_shared<connection_of<tls_stream>>(ex, std::move(socket), *tls));
    } else {
      spawn(std::make_shared<connection_of<plain_stream>>(ex, std::move(socket)));
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
  if (svc.scan_pool != nullptr) svc.scan_pool->shutdown();
  if (svc.db_pool != nullptr) svc.db_pool->shutdown();
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

std::size_t server::connections() const noexcept {
  std::lock_guard lock(impl_->mu);
  return impl_->open;
}

}  // namespace hashguard::api
