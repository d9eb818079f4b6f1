// http_client: one connection at a time, driven by asynchronous Beast operations run to
// completion on the client's own io_context, so that every step has a deadline (tcp_stream
// expires_at) and cancel() from another thread can abort it (a handler posted to that context).
#include "hashguard/outbound/http_client.hpp"

#include "url.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <poll.h>

#include <atomic>
#include <optional>
#include <utility>

namespace hashguard::outbound {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

class outbound_category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.outbound"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::bad_url: return "not an absolute http:// or https:// URL with a host";
      case errc::resolve_failed: return "the host name did not resolve";
      case errc::connect_failed: return "no connection to the server";
      case errc::tls_failed: return "TLS handshake or certificate verification failed";
      case errc::timeout: return "the connect or request deadline passed";
      case errc::response_too_large: return "the response exceeded its size cap";
      case errc::protocol_error: return "the answer is not well-formed HTTP/1.1";
      case errc::cancelled: return "the request was cancelled";
    }
    return "unknown outbound error";
  }
  const char* code_name(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::bad_url: return "bad_url";
      case errc::resolve_failed: return "resolve_failed";
      case errc::connect_failed: return "connect_failed";
      case errc::tls_failed: return "tls_failed";
      case errc::timeout: return "timeout";
      case errc::response_too_large: return "response_too_large";
      case errc::protocol_error: return "protocol_error";
      case errc::cancelled: return "cancelled";
    }
    return "unknown";
  }
};

// Over 64 KiB of status line and header fields is errc::response_too_large.
constexpr std::uint32_t header_cap = 64 * 1024;

bool ieq(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A header value may not split the request (CR, LF) or carry NUL.
bool is_field_value(std::string_view s) noexcept {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// Beast's answer to a read or write, as the contract's codes. `phase_error` is what a plain
// transport failure means in that phase (connect_failed for socket errors, tls_failed during
// the handshake).
core::error_code map_error(const beast::error_code& ec, errc phase_error) {
  if (ec == beast::error::timeout) return errc::timeout;
  if (ec == http::error::body_limit || ec == http::error::header_limit ||
      ec == http::error::buffer_overflow) {
    return errc::response_too_large;
  }
  // end_of_stream: closed before the first byte of an answer, a lost connection. Any other
  // parse error (partial_message included: a body cut short) is a malformed answer.
  if (ec == http::error::end_of_stream) return errc::connect_failed;
  if (ec.category() == http::make_error_code(http::error::partial_message).category()) {
    return errc::protocol_error;
  }
  if (ec == ssl::error::stream_truncated) return errc::protocol_error;
  return phase_error;
}

}  // namespace

const core::named_category& outbound_category() noexcept {
  static const outbound_category_impl category;
  return category;
}

std::optional<std::string_view> response::header(std::string_view name) const noexcept {
  for (const auto& h : headers) {
    if (ieq(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

struct http_client::impl {
  client_options options;
  asio::io_context ioc;
  tcp::resolver resolver{ioc};
  std::optional<ssl::context> tls_context;
  std::atomic<bool> cancelled{false};

  // The kept connection: exactly one of the two streams is set while connected.
  std::string connection_key;  // "scheme://host:port" of the kept connection
  std::optional<beast::tcp_stream> plain;
  std::optional<ssl::stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  explicit impl(client_options o) : options(std::move(o)) {}

  beast::tcp_stream& lowest() { return secure ? secure->next_layer() : *plain; }
  bool connected() const { return plain.has_value() || secure.has_value(); }

  void close() {
    if (connected()) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().socket().close(ignored);
    }
    secure.reset();
    plain.reset();
    connection_key.clear();
    buffer.clear();
  }

  // Runs the io_context until the operations started before it have completed.
  void run() {
    ioc.restart();
    ioc.run();
  }

  // Called on the client's thread (inside run()) after cancel(): aborts what is in flight.
  void abort_io() {
    resolver.cancel();
    if (connected()) lowest().cancel();
  }

  // A kept connection the server has closed (or written to unasked) since the last answer is
  // not reused: a readable idle socket means EOF, a reset or stray bytes.
  bool kept_connection_usable() {
    if (!connected()) return false;
    pollfd p{};
    p.fd = lowest().socket().native_handle();
    p.events = POLLIN;
    return ::poll(&p, 1, 0) == 0;
  }

  core::result<ssl::context*> context() {
    if (tls_context) return &*tls_context;
    ssl::context ctx(ssl::context::tls_client);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
      return core::error_code(errc::tls_failed);
    }
    ctx.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (options.ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.load_verify_file(options.ca_file, ec);
    }
    if (ec) return core::error_code(errc::tls_failed);
    tls_context.emplace(std::move(ctx));
    return &*tls_context;
  }

  core::result<void> connect(const detail::parsed_url& url, steady::time_point deadline) {
    close();
    // Resolve (an address literal needs none). The resolver has no deadline of its own: a timer
    // cancels it.
    tcp::resolver::results_type endpoints;
    beast::error_code addr_ec;
    auto address = asio::ip::make_address(url.host, addr_ec);
    const auto port = static_cast<unsigned short>(std::stoi(url.port));
    if (!addr_ec) {
      endpoints =
          tcp::resolver::results_type::create(tcp::endpoint(address, port), url.host, url.port);
    } else {
      beast::error_code resolve_ec = asio::error::would_block;
      bool timed_out = false;
      asio::steady_timer timer(ioc, deadline);
      timer.async_wait([&](beast::error_code ec) {
        if (!ec) {
          timed_out = true;
          resolver.cancel();
        }
      });
      resolver.async_resolve(url.host, url.port,
                             [&](beast::error_code ec, tcp::resolver::results_type r) {
                               resolve_ec = ec;
                               endpoints = std::move(r);
                               timer.cancel();
                             });
      run();
      if (cancelled) return core::error_code(errc::cancelled);
      if (timed_out) return core::error_code(errc::timeout);
      if (resolve_ec || endpoints.empty()) return core::error_code(errc::resolve_failed);
    }

    beast::tcp_stream* stream = nullptr;
    if (url.tls) {
      auto ctx = context();
      if (!ctx) return ctx.error();
      secure.emplace(ioc, **ctx);
      stream = &secure->next_layer();
    } else {
      plain.emplace(ioc);
      stream = &*plain;
    }
    beast::error_code ec = asio::error::would_block;
    stream->expires_at(deadline);
    stream->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (cancelled) return close(), core::error_code(errc::cancelled);
    if (ec) return close(), map_error(ec, errc::connect_failed);

    if (url.tls) {
      SSL* ssl_handle = secure->native_handle();
      // SNI carries a host name only, never an address literal (RFC 6066 section 3).
      if (addr_ec && SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                              const_cast<char*>(url.host.c_str())) != 1) {
        return close(), core::error_code(errc::tls_failed);
      }
      secure->set_verify_callback(ssl::host_name_verification(url.host));
      ec = asio::error::would_block;
      stream->expires_at(deadline);
      secure->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
      run();
      if (cancelled) return close(), core::error_code(errc::cancelled);
      if (ec) return close(), map_error(ec, errc::tls_failed);
    }
    connection_key = url.connection_key();
    return {};
  }

  // Writes `req` on the kept connection and reads the whole answer.
  template <class Stream>
  core::result<response> exchange(Stream& stream, http::request<http::string_body>& req,
                                  steady::time_point deadline) {
    beast::error_code ec = asio::error::would_block;
    lowest().expires_at(deadline);
    http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (cancelled) return core::error_code(errc::cancelled);
    if (ec) return map_error(ec, errc::connect_failed);

    const bool head = req.method() == http::verb::head;
    for (;;) {
      http::response_parser<http::string_body> parser;
      parser.header_limit(header_cap);
      parser.body_limit(options.max_response_bytes);
      if (head) parser.skip(true);
      ec = asio::error::would_block;
      lowest().expires_at(deadline);
      http::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) { ec = e; });
      run();
      if (cancelled) return core::error_code(errc::cancelled);
      if (ec == ssl::error::stream_truncated && parser.is_header_done() && parser.need_eof() &&
          !parser.is_done()) {
        // A TLS peer that closes without close_notify ends a body delimited by the close.
        parser.put_eof(ec);
      }
      if (ec) return map_error(ec, errc::connect_failed);
      auto message = parser.release();
      const int status = static_cast<int>(message.result_int());
      if (status >= 100 && status < 200 && status != 101) continue;  // interim answers

      response out;
      out.status = status;
      for (const auto& field : message) {
        out.headers.push_back(
            header_field{std::string(field.name_string()), std::string(field.value())});
      }
      out.body = std::move(message.body());
      if (!message.keep_alive() || status == 101) close();
      return out;
    }
  }

  core::result<response> send(const request& r) {
    if (cancelled) return core::error_code(errc::cancelled);
    auto url = detail::parse_url(r.url);
    if (!url) return url.error();
    if (!is_token(r.method))
      return core::error_code(boost::system::errc::invalid_argument,
                              boost::system::generic_category());
    for (const auto& h : r.headers) {
      if (!is_token(h.name) || !is_field_value(h.value)) {
        return core::error_code(boost::system::errc::invalid_argument,
                                boost::system::generic_category());
      }
    }
    if (!is_field_value(r.content_type) || !is_field_value(options.user_agent)) {
      return core::error_code(boost::system::errc::invalid_argument,
                              boost::system::generic_category());
    }

    http::request<http::string_body> req;
    req.version(11);
    const auto verb = http::string_to_verb(r.method);
    if (verb == http::verb::unknown) {
      req.method_string(r.method);
    } else {
      req.method(verb);
    }
    req.target(url->target);
    bool has_user_agent = false;
    for (const auto& h : r.headers) {
      if (ieq(h.name, "Host")) continue;
      if (ieq(h.name, "User-Agent")) has_user_agent = true;
      req.insert(h.name, h.value);
    }
    req.set(http::field::host, url->host_header);
    if (!has_user_agent && !options.user_agent.empty()) {
      req.set(http::field::user_agent, options.user_agent);
    }
    if (!r.content_type.empty()) req.set(http::field::content_type, r.content_type);
    req.body() = r.body;
    if (!r.body.empty() || verb != http::verb::get) req.prepare_payload();
    req.keep_alive(true);

    const bool reuse = connection_key == url->connection_key() && kept_connection_usable();
    if (!reuse) {
      auto connected = connect(*url, steady::now() + options.connect_timeout);
      if (!connected) return connected.error();
    }
    const auto deadline = steady::now() + options.request_timeout;
    auto answer = secure ? exchange(*secure, req, deadline) : exchange(*plain, req, deadline);
    if (!answer) close();
    if (cancelled) {
      close();
      return core::error_code(errc::cancelled);
    }
    return answer;
  }
};

http_client::http_client(client_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

http_client::~http_client() = default;

core::result<response> http_client::send(const request& r) {
  return impl_->send(r);
}

void http_client::cancel() noexcept {
  impl_->cancelled = true;
  try {
    asio::post(impl_->ioc, [i = impl_.get()] { i->abort_io(); });
  } catch (...) {
    // Posting can only fail on allocation; the flag alone still stops the next step.
  }
}

}  // namespace hashguard::outbound
