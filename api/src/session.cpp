// The session steps (session.hpp). The only file that includes Beast's HTTP parser and
// serializer (compile time).
#include "session.hpp"

#include "hashguard/core/hex.hpp"

#include "hashguard/api/request_log.hpp"
#include "invoke.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/file.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <random>

namespace hashguard::api::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using sys_error = boost::system::error_code;
using request_parser = http::request_parser<http::string_body>;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string random_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return core::to_hex(core::hash64{rng()});
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

// What a session knows about the request it is answering, for the response and the log line.
// The views point into the request's parser (alive until the answer is written) or the route
// table.
struct exchange {
  std::string_view method;
  std::string_view path;
  std::string_view route{"unmatched"};
  std::string request_id;
  auth_context auth;
  std::uint64_t bytes_in{0};
  unsigned version{11};
  steady::time_point start{};
};

// ---- reading: one step at a time ------------------------------------------------------------
// Feed what is buffered to the parser; when it needs more, read once from the stream. Beast's
// http::async_read_some would loop until the parser consumes something, and a header is
// consumed only once complete, so a dribbled header would look like one endless read; stepping
// ourselves lets every read get its own timeout. The step's two halves are plain functions
// around the one read, so a header or a body costs no coroutine frame per read.

// The first half: parses what is buffered. The step's result, or nullopt when it needs a read.
std::optional<sys_error> parse_buffered(beast::flat_buffer& buffer, request_parser& parser) {
  if (buffer.size() > 0) {
    sys_error ec;
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec != http::error::need_more) return ec;  // progress, or a parse error
    if (used > 0) return sys_error{};
  }
  if (buffer.size() >= buffer.max_size()) return sys_error(http::error::buffer_overflow);
  return std::nullopt;
}

// Where the read goes: at most 64 KiB, within the buffer's bound.
beast::flat_buffer::mutable_buffers_type read_space(beast::flat_buffer& buffer) {
  return buffer.prepare(std::min<std::size_t>(65536, buffer.max_size() - buffer.size()));
}

// The second half: takes in what the read brought; an end of stream completes or cuts the
// message.
sys_error after_read(std::tuple<sys_error, std::size_t> read, beast::flat_buffer& buffer,
                     request_parser& parser) {
  auto [read_ec, n] = read;
  buffer.commit(n);
  if (read_ec != asio::error::eof && read_ec != ssl::error::stream_truncated) return read_ec;
  if (!parser.got_some() && buffer.size() == 0) return http::error::end_of_stream;
  sys_error eof_ec;
  if (buffer.size() > 0) {
    const std::size_t used = parser.put(buffer.data(), eof_ec);
    buffer.consume(used);
    if (eof_ec && eof_ec != http::error::need_more) return eof_ec;
    if (parser.is_done()) return sys_error{};
  }
  parser.put_eof(eof_ec);
  return eof_ec ? eof_ec : sys_error(http::error::partial_message);
}

// The request a handler sees. The body moves out of the parser; the rest is copied.
request make_request(http::request<http::string_body>& head, admission& a, const exchange& x) {
  request req;
  req.method = std::string(x.method);
  req.target = std::string(head.target());
  req.path = std::string(x.path);
  req.query = std::string(a.query);
  req.params = std::move(a.params);
  req.request_id = x.request_id;
  for (const auto& f : head) {
    req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  }
  req.body = std::move(head.body());
  return req;
}

// ---- the session ------------------------------------------------------------------------------

template <class Stream>
class session {
 public:
  session(const session_env& env, std::shared_ptr<connection_of<Stream>> c)
      : env_(env),
        opt_(*env.opt),
        svc_(*env.svc),
        c_(std::move(c)),
        dog_(c_, &c_->dog),
        buffer_(static_cast<std::size_t>(opt_.header_limit) + 65536) {}

  asio::awaitable<void> run();

 private:
  asio::awaitable<bool> handshake();
  asio::awaitable<sys_error> read_header(request_parser& parser, unsigned served,
                                         steady::time_point& deadline);
  std::optional<response> header_failure(const sys_error& ec, const request_parser& parser);
  asio::awaitable<bool> send_continue(unsigned version);
  asio::awaitable<sys_error> read_body(request_parser& parser, steady::time_point deadline,
                                       body_reservation& held);
  std::optional<response> body_failure(const sys_error& ec);
  work_pool* pool_for(run_on where) const noexcept;
  asio::awaitable<bool> write(exchange& x, response r, bool keep_alive);
  void log(const exchange& x, const response& r, std::string_view method,
           std::size_t bytes_out) const;
  asio::awaitable<void> close();

  void arm(std::chrono::milliseconds timeout,
           steady::time_point deadline = steady::time_point::max()) {
    watchdog::arm(dog_, std::min(steady::now() + timeout, deadline));
  }
  void disarm() noexcept { c_->dog.disarm(); }
  void count_rejected(std::string_view reason) const {
    if (svc_.stats != nullptr) svc_.stats->count_rejected(reason);
  }

  const session_env& env_;
  const server_options& opt_;
  const services& svc_;
  std::shared_ptr<connection_of<Stream>> c_;
  std::shared_ptr<watchdog> dog_;  // c_'s watchdog, keeping c_ alive while a wait is pending
  beast::flat_buffer buffer_;      // persists across requests: pipelined bytes wait here
  bool unread_input_{false};       // the client may still be sending what we will not read
};

template <class Stream>
asio::awaitable<void> session<Stream>::run() {
  if constexpr (is_tls<Stream>) {
    if (!co_await handshake()) {
      env_.ended(*c_);
      co_return;
    }
  }

  for (unsigned served = 0;; ++served) {
    // This request's share of the body budget, given back when the iteration ends (the
    // parser and the request, declared after it, are gone by then).
    body_reservation body_held(env_.bodies);
    exchange x;
    x.request_id = random_request_id();
    request_parser parser;
    parser.header_limit(opt_.header_limit);
    parser.body_limit(boost::none);  // set per route once the header is known

    // -- header -----------------------------------------------------------------------------
    if ((c_->draining && buffer_.size() == 0) || c_->evict_now) break;
    steady::time_point deadline = steady::time_point::max();
    const sys_error header_ec = co_await read_header(parser, served, deadline);
    x.start = steady::now();
    if (header_ec) {
      if (c_->evict_now) break;  // evicted at the connection cap: close, no answer
      std::optional<response> refusal = header_failure(header_ec, parser);
      if (!refusal) break;
      x.method = "-";
      unread_input_ = true;
      co_await write(x, std::move(*refusal), false);
      break;
    }

    // -- admission: route, key, role, rate, size, all before any body byte is read ----------
    auto& head = parser.get();
    const auto content_length = parser.content_length();
    const request_head seen{
        head.method_string(), head.target(), head["X-Request-Id"], head[http::field::authorization],
        content_length ? std::optional<std::uint64_t>(*content_length) : std::nullopt};
    admission a = admit(seen, env_.rules);
    x.version = head.version();
    x.method = seen.method;
    x.path = a.path;
    if (!a.request_id.empty()) x.request_id = std::string(a.request_id);
    if (a.matched != nullptr) x.route = a.matched->spec.pattern;
    x.auth = std::move(a.caller);
    const bool has_body = parser.chunked() || content_length.value_or(0) > 0;
    bool keep_alive = head.keep_alive() && served + 1 < opt_.keepalive_max_requests;
    if (a.early) {
      if (a.early->error_code == "rate_limited") count_rejected("rate_limited");
      // Nothing of the body was read: the connection cannot carry another request.
      if (has_body) unread_input_ = true;
      const bool keep = keep_alive && !has_body && !c_->draining;
      if (!co_await write(x, std::move(*a.early), keep) || !keep) break;
      continue;
    }
    parser.body_limit(a.body_limit);  // chunked bodies are cut while they stream

    // -- body -------------------------------------------------------------------------------
    // An authenticated request is never evicted; an anonymous one (a public route) stays
    // evictable until its body has arrived, or a slow body would be a way to hold a slot.
    if (a.matched->spec.role) c_->enter(phase::busy);
    if (has_body) {
      // The body's bytes are reserved before any is read (and before 100-continue invites
      // them); a chunked body reserves as its buffer grows (read_body).
      if (!body_held.hold(content_length.value_or(0))) {
        count_rejected("body_budget");
        unread_input_ = true;
        co_await write(
            x,
            response::error(errc::overloaded, "request bodies in flight are at the server's budget",
                            opt_.retry_after_s),
            false);
        break;
      }
      if (beast::iequals(head[http::field::expect], "100-continue") &&
          !co_await send_continue(head.version())) {
        break;
      }
      if (deadline == steady::time_point::max()) deadline = x.start + opt_.request_deadline;
      if (const sys_error body_ec = co_await read_body(parser, deadline, body_held)) {
        std::optional<response> refusal = body_failure(body_ec);
        if (!refusal) break;
        unread_input_ = true;
        co_await write(x, std::move(*refusal), false);
        break;
      }
    }

    // -- handler ----------------------------------------------------------------------------
    c_->enter(phase::busy);
    const request req = make_request(head, a, x);
    x.bytes_in = req.body.size();
    work_pool* pool = pool_for(a.matched->spec.where);
    response answer;
    if (pool == nullptr && a.matched->sync) {
      // A synchronous I/O-thread handler: called right here. Going through async_invoke would
      // post the answer back to this strand, a scheduler round trip (and often a wake-up of
      // the other I/O thread) that costs more than the handler.
      answer = invoke_inline(*a.matched, req, x.auth);
    } else {
      answer = co_await async_invoke(env_.io, pool, a.matched, req, x.auth, opt_.retry_after_s,
                                     asio::use_awaitable);
    }

    // -- answer -----------------------------------------------------------------------------
    keep_alive = keep_alive && !c_->draining;
    if (!co_await write(x, std::move(answer), keep_alive) || !keep_alive) break;
  }
  co_await close();
}

template <class Stream>
asio::awaitable<bool> session<Stream>::handshake() {
  arm(opt_.read_timeout);
  auto [ec] = co_await c_->stream.async_handshake(ssl::stream_base::server, use_tuple);
  disarm();
  co_return !ec;
}

// The idle wait for a request's first byte (idle_timeout between keep-alive requests,
// read_timeout for a new connection), then a per-read timeout within the whole-request
// deadline, which starts with the first byte and is left in `deadline` for the body.
template <class Stream>
asio::awaitable<sys_error> session<Stream>::read_header(request_parser& parser, unsigned served,
                                                        steady::time_point& deadline) {
  sys_error ec;
  bool started = buffer_.size() > 0;
  if (started) deadline = steady::now() + opt_.request_deadline;
  c_->enter(started ? phase::header : phase::idle);
  while (!parser.is_header_done()) {
    const auto per_read = started || served == 0 ? opt_.read_timeout : opt_.idle_timeout;
    c_->idle = !started;
    if (c_->evict_now) {
      ec = asio::error::operation_aborted;
      break;
    }
    arm(per_read, deadline);
    std::optional<sys_error> step = parse_buffered(buffer_, parser);
    if (!step) {
      step = after_read(co_await c_->stream.async_read_some(read_space(buffer_), use_tuple),
                        buffer_, parser);
    }
    ec = *step;
    c_->idle = false;
    if (c_->dog.timed_out() && !ec) ec = asio::error::operation_aborted;
    if (ec) break;
    if (!started && (parser.got_some() || buffer_.size() > 0)) {
      started = true;
      deadline = steady::now() + opt_.request_deadline;
      c_->enter(phase::header);
    }
  }
  disarm();
  co_return ec;
}

// The answer to a header that could not be read, or nullopt when there is nobody to answer
// (the peer closed, or never sent a byte).
template <class Stream>
std::optional<response> session<Stream>::header_failure(const sys_error& ec,
                                                        const request_parser& parser) {
  const bool timed_out = c_->dog.timed_out();
  const bool received = parser.got_some() || buffer_.size() > 0;
  if (!received) {
    // A connection that never sent a byte (or an idle keep-alive one): just close.
    if (timed_out) count_rejected("idle_timeout");
    return std::nullopt;
  }
  if (timed_out) {
    count_rejected("header_deadline");
    return response::error(errc::request_timeout, "the request header did not arrive in time");
  }
  if (ec == http::error::header_limit) {
    return response::error(errc::header_too_large, "request header fields too large");
  }
  if (is_parse_error(ec) && ec != http::error::partial_message &&
      ec != http::error::end_of_stream) {
    return response::error(errc::malformed, "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;  // the peer went away mid-header: nobody to answer
}

// "Expect: 100-continue": the client waits for this before it sends the body. False when the
// connection is unusable.
template <class Stream>
asio::awaitable<bool> session<Stream>::send_continue(unsigned version) {
  http::response<http::empty_body> cont{http::status::continue_, version};
  arm(opt_.write_timeout);
  auto [ec, n] = co_await http::async_write(c_->stream, cont, use_tuple);
  disarm();
  co_return !ec && !c_->dog.timed_out();
}

// Each read must make progress within read_timeout, the whole body arrive by `deadline`. The
// body's buffer stays within `held` (a chunked body grows it): past the budget,
// no_buffer_space.
template <class Stream>
asio::awaitable<sys_error> session<Stream>::read_body(request_parser& parser,
                                                      steady::time_point deadline,
                                                      body_reservation& held) {
  sys_error ec;
  while (!parser.is_done()) {
    arm(opt_.read_timeout, deadline);
    std::optional<sys_error> step = parse_buffered(buffer_, parser);
    if (!step) {
      step = after_read(co_await c_->stream.async_read_some(read_space(buffer_), use_tuple),
                        buffer_, parser);
    }
    ec = *step;
    if (!ec && !held.hold(parser.get().body().capacity())) ec = asio::error::no_buffer_space;
    if (c_->dog.timed_out() && !ec) ec = asio::error::operation_aborted;
    if (ec) break;
  }
  disarm();
  co_return ec;
}

// The answer to a body that could not be read, or nullopt when there is nobody to answer.
template <class Stream>
std::optional<response> session<Stream>::body_failure(const sys_error& ec) {
  if (ec == asio::error::no_buffer_space) {
    count_rejected("body_budget");
    return response::error(errc::overloaded, "request bodies in flight are at the server's budget",
                           opt_.retry_after_s);
  }
  if (c_->dog.timed_out()) {
    count_rejected("body_deadline");
    return response::error(errc::request_timeout, "the request body did not arrive in time");
  }
  if (ec == http::error::body_limit) {
    return response::error(errc::payload_too_large, "the body is over this route's limit");
  }
  if (ec == http::error::partial_message || ec == asio::error::eof) {
    return response::error(errc::truncated_body, "the body ended before its declared length");
  }
  if (is_parse_error(ec))
    return response::error(errc::malformed, "malformed body: " + ec.message());
  return std::nullopt;
}

template <class Stream>
work_pool* session<Stream>::pool_for(run_on where) const noexcept {
  if (where == run_on::scan) return svc_.scan_pool;
  if (where == run_on::db) return svc_.db_pool;
  if (where == run_on::video) return svc_.video_pool;
  return nullptr;
}

// Writes one answer and its log line; false when the connection is unusable afterwards.
template <class Stream>
asio::awaitable<bool> session<Stream>::write(exchange& x, response r, bool keep_alive) {
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
    if (svc_.stats != nullptr) svc_.stats->count_request(x.route, method, status, to_answer);
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
      arm(opt_.write_timeout);
      auto [wec, n] = co_await http::async_write_some(c_->stream, sr, use_tuple);
      disarm();
      ec = wec;
    }
  } else {
    res.body() = std::move(r.body);
    res.prepare_payload();
    count();
    arm(opt_.write_timeout);
    auto [wec, n] = co_await http::async_write(c_->stream, res, use_tuple);
    disarm();
    ec = wec;
  }
  log(x, r, method, bytes_out);
  co_return !ec && !c_->dog.timed_out();
}

// The request's log line, after its answer went out (or failed to).
template <class Stream>
void session<Stream>::log(const exchange& x, const response& r, std::string_view method,
                          std::size_t bytes_out) const {
  if (!opt_.log_requests || !svc_.log) return;
  const double seconds = std::chrono::duration<double>(steady::now() - x.start).count();
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
  if (x.auth.role) e.role = core::to_string(*x.auth.role);
  e.remote = c_->remote;
  e.error = r.error_code;
  svc_.log(to_json_line(e));
}

// Closes the connection: TLS close_notify when the stream is clean, then a lingering close
// when the client may still be sending. Tells the server last.
template <class Stream>
asio::awaitable<void> session<Stream>::close() {
  c_->enter(phase::closing);
  if constexpr (is_tls<Stream>) {
    if (!unread_input_) {
      arm(std::min<std::chrono::milliseconds>(opt_.write_timeout, std::chrono::seconds(1)));
      co_await c_->stream.async_shutdown(use_tuple);
      disarm();
    }
  }
  sys_error ignored;
  c_->lowest().shutdown(tcp::socket::shutdown_send, ignored);
  if (unread_input_) {
    // Lingering close: closing with unread input makes the kernel send a reset, which can
    // destroy the answer before the client reads it. Read and drop for a short while first.
    std::array<char, 16384> sink{};
    arm(std::min<std::chrono::milliseconds>(opt_.read_timeout, std::chrono::seconds(2)));
    std::uint64_t dropped = 0;
    while (!c_->dog.timed_out() && !c_->evict_now && dropped < 64U * 1024 * 1024) {
      auto [rec, n] = co_await c_->lowest().async_read_some(asio::buffer(sink), use_tuple);
      if (rec) break;
      dropped += n;
    }
    disarm();
  }
  c_->lowest().close(ignored);
  env_.ended(*c_);
}

template <class Stream>
asio::awaitable<void> serve(const session_env& env, std::shared_ptr<connection_of<Stream>> c) {
  session<Stream> s(env, std::move(c));
  co_await s.run();
}

}  // namespace

asio::awaitable<void> run_session(const session_env& env,
                                  std::shared_ptr<connection_of<plain_stream>> c) {
  return serve(env, std::move(c));
}

asio::awaitable<void> run_session(const session_env& env,
                                  std::shared_ptr<connection_of<tls_stream>> c) {
  return serve(env, std::move(c));
}

}  // namespace hashguard::api::detail
