// fake_http_server: asynchronous Beast sessions on one io_context run by one thread, so several
// connections stay open at once (keep-alive) while the handler still runs one request at a time.
#include "fake_http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <cctype>
#include <exception>
#include <stdexcept>
#include <thread>

namespace hg_test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Requests up to this size reach the handler (uploads of several MB included).
constexpr std::uint64_t max_request_body = std::uint64_t{512} << 20;

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string_view fake_request::path() const noexcept {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::optional<std::string> fake_request::query(std::string_view name) const {
  std::string_view t = target;
  const auto q = t.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = t.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

std::string fake_request::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (ieq(n, name)) return v;
  }
  return {};
}

struct fake_http_server::impl {
  handler handle;
  std::atomic<std::uint64_t> seen{0};
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::uint16_t port{};
  std::thread thread;

  // One connection: read a request, hand it to the handler, answer (after a delay, or not at
  // all), and read the next while the client keeps the connection.
  struct session : std::enable_shared_from_this<session> {
    impl& owner;
    tcp::socket socket;
    beast::flat_buffer buffer;
    std::optional<http::request_parser<http::string_body>> parser;
    asio::steady_timer timer;
    fake_response answer;
    bool keep_alive{true};
    std::string raw;  // a truncated answer, written as bytes
    std::optional<http::response<http::string_body>> message;

    session(impl& o, tcp::socket s) : owner(o), socket(std::move(s)), timer(o.ioc) {}

    void read() {
      parser.emplace();
      parser->body_limit(max_request_body);
      http::async_read(socket, buffer, *parser,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->close();
                         self->handle_request();
                       });
    }

    void handle_request() {
      auto req = parser->release();
      fake_request r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      for (const auto& f : req) {
        r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      }
      r.body = std::move(req.body());
      keep_alive = req.keep_alive();
      ++owner.seen;
      try {
        answer = owner.handle(r);
      } catch (const std::exception& e) {
        answer = fake_response{};
        answer.status = 500;
        answer.content_type = "text/plain";
        answer.body = std::string("fake handler threw: ") + e.what();
      }
      if (answer.delay.count() > 0) {
        timer.expires_after(answer.delay);
        timer.async_wait([self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->close();
          self->respond();
        });
      } else {
        respond();
      }
    }

    void respond() {
      if (answer.drop_connection) return close();
      if (answer.truncate_body) {
        raw = "HTTP/1.1 " + std::to_string(answer.status) + " Fake\r\n";
        for (const auto& [n, v] : answer.headers) raw += n + ": " + v + "\r\n";
        if (!answer.content_type.empty()) raw += "Content-Type: " + answer.content_type + "\r\n";
        raw += "Content-Length: " + std::to_string(answer.body.size()) + "\r\n\r\n";
        raw += answer.body.substr(0, answer.body.size() / 2);
        asio::async_write(
            socket, asio::buffer(raw),
            [self = shared_from_this()](beast::error_code, std::size_t) { self->close(); });
        return;
      }
      message.emplace(static_cast<http::status>(answer.status), 11);
      try {
        for (const auto& [n, v] : answer.headers) message->insert(n, v);
        if (!answer.content_type.empty()) {
          message->set(http::field::content_type, answer.content_type);
        }
      } catch (const std::exception& e) {  // a field Beast refuses (over 64 KiB): say so
        message.emplace(http::status::internal_server_error, 11);
        message->set(http::field::content_type, "text/plain");
        answer.body = std::string("fake answer not writable: ") + e.what();
      }
      message->body() = std::move(answer.body);
      message->keep_alive(keep_alive);
      message->prepare_payload();
      http::async_write(socket, *message,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec || !self->keep_alive) return self->close();
                          self->read();
                        });
    }

    void close() {
      beast::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    }
  };

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      std::make_shared<session>(*this, std::move(s))->read();
      accept();
    });
  }
};

fake_http_server::fake_http_server(handler h) : impl_(std::make_unique<impl>()) {
  impl_->handle = std::move(h);
  const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), 0);
  beast::error_code ec;
  impl_->acceptor.open(at.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(at, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("fake_http_server: cannot listen: " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread([i = impl_.get()] { i->ioc.run(); });
}

fake_http_server::~fake_http_server() {
  // stop() takes effect between handlers: one in progress finishes, a pending delay does not.
  impl_->ioc.stop();
  impl_->thread.join();
}

std::uint16_t fake_http_server::port() const noexcept {
  return impl_->port;
}

std::string fake_http_server::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

std::uint64_t fake_http_server::requests_seen() const noexcept {
  return impl_->seen.load();
}

}  // namespace hg_test
