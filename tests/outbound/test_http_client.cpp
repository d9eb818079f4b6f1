// outbound::http_client and send_with_retry over real sockets: fake_http_server for the answers
// a test shapes (slow, dropped, cut short, large), a small server of this file for what the fake
// cannot show (connections counted, TLS with a certificate made here).
#include "hashguard/outbound/http_client.hpp"

#include "fake_http_server.hpp"
#include "hg_catch.hpp"
#include "hg_tls.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

namespace ob = hashguard::outbound;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using hg_test::fake_request;
using hg_test::fake_response;
using hg_test::tls_files;

namespace {

ob::client_options fast_options() {
  ob::client_options o;
  o.connect_timeout = 2s;
  o.request_timeout = 3s;
  return o;
}

// A port nothing listens on: bound by the kernel, then released.
std::uint16_t closed_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = a.local_endpoint().port();
  a.close();
  return port;
}

// A blocking server on 127.0.0.1 that counts the connections it accepts and answers every
// request "ok" (optionally over TLS). `after_answer` says what it does with the connection.
class counting_server {
 public:
  enum class after_answer { keep, announce_close, close_silently };

  explicit counting_server(after_answer mode, const tls_files* tls = nullptr)
      : mode_(mode), acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    if (tls != nullptr) {
      ssl_ctx_.emplace(asio::ssl::context::tls_server);
      ssl_ctx_->use_certificate_chain_file(tls->cert);
      ssl_ctx_->use_private_key_file(tls->key, asio::ssl::context::pem);
    }
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~counting_server() {
    stop_ = true;
    beast::error_code ignored;
    tcp::socket wake(ioc_);
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ignored);
    thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int accepted() const { return accepted_.load(); }

 private:
  template <class Stream>
  void answer_all(Stream& stream, tcp::socket& socket) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(stream, buffer, req, ec);
      if (ec) return;
      http::response<http::string_body> res(http::status::ok, 11);
      res.body() = "ok " + std::string(req.target());
      res.keep_alive(mode_ != after_answer::announce_close);
      res.prepare_payload();
      http::write(stream, res, ec);
      if (ec || mode_ != after_answer::keep) {
        socket.close(ec);
        return;
      }
    }
  }

  void serve() {
    while (!stop_) {
      tcp::socket socket(ioc_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      ++accepted_;
      if (ssl_ctx_) {
        asio::ssl::stream<tcp::socket&> stream(socket, *ssl_ctx_);
        stream.handshake(asio::ssl::stream_base::server, ec);
        if (!ec) answer_all(stream, socket);
      } else {
        answer_all(socket, socket);
      }
    }
  }

  after_answer mode_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::optional<asio::ssl::context> ssl_ctx_;
  std::uint16_t port_{};
  std::atomic<int> accepted_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A fake that echoes the request back: method, target, selected headers and body.
fake_response echo(const fake_request& r) {
  fake_response out;
  out.content_type = "text/plain";
  out.headers = {{"X-Method", r.method},
                 {"X-Target", r.target},
                 {"X-Host", r.header("host")},
                 {"X-User-Agent", r.header("user-agent")},
                 {"X-Auth", r.header("authorization")},
                 {"X-Content-Type", r.header("content-type")},
                 {"X-Content-Length", r.header("content-length")}};
  out.body = r.body;
  return out;
}

// A wait_function that records the delays instead of sleeping.
struct recorded_waits {
  std::vector<std::chrono::milliseconds> delays;
  bool keep_going{true};
  ob::wait_function fn() {
    return [this](std::chrono::milliseconds d) {
      delays.push_back(d);
      return keep_going;
    };
  }
};

}  // namespace

TEST_CASE("http_client: GET and POST round trips carry method, target, headers and body") {
  hg_test::fake_http_server server(echo);
  ob::http_client client(fast_options());

  ob::request get;
  get.url = server.base_url() + "/v1/items?from=1&to=2#ignored";
  get.headers = {{"Authorization", "Basic dXNlcjpwYXNz"}};
  auto r = client.send(get);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("x-method") == "GET");
  CHECK(r->header("X-TARGET") == "/v1/items?from=1&to=2");
  CHECK(r->header("X-Host") == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(r->header("X-User-Agent") == "hashguard");
  CHECK(r->header("X-Auth") == "Basic dXNlcjpwYXNz");
  CHECK(r->header("X-Content-Length") == "");  // a GET without a body announces none
  CHECK(r->header("Content-Type") == "text/plain");
  CHECK_FALSE(r->header("X-Absent").has_value());
  CHECK(r->body.empty());

  ob::request post;
  post.method = "POST";
  post.url = server.base_url() + "/submit";
  post.content_type = "text/xml; charset=utf-8";
  post.body = "<report>\r\n\0binary</report>";
  post.body += std::string("\0\x01\xff", 3);
  auto p = client.send(post);
  REQUIRE(p);
  CHECK(p->header("X-Method") == "POST");
  CHECK(p->header("X-Content-Type") == "text/xml; charset=utf-8");
  CHECK(p->header("X-Content-Length") == std::to_string(post.body.size()));
  CHECK(p->body == post.body);

  ob::request empty_post;
  empty_post.method = "POST";
  empty_post.url = server.base_url();
  auto e = client.send(empty_post);
  REQUIRE(e);
  CHECK(e->header("X-Target") == "/");
  CHECK(e->header("X-Content-Length") == "0");

  // Any status is a response; a 3xx is not followed.
  hg_test::fake_http_server redirect([](const fake_request&) {
    fake_response out;
    out.status = 302;
    out.headers = {{"Location", "http://127.0.0.1:1/elsewhere"}};
    return out;
  });
  ob::request to_redirect;
  to_redirect.url = redirect.base_url() + "/old";
  auto red = client.send(to_redirect);
  REQUIRE(red);
  CHECK(red->status == 302);
  CHECK(redirect.requests_seen() == 1);
}

TEST_CASE("http_client: keep-alive reuses one connection, a closed one is replaced") {
  ob::request r;
  SECTION("kept when the server keeps it") {
    counting_server server(counting_server::after_answer::keep);
    ob::http_client client(fast_options());
    r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/a";
    for (int i = 0; i < 3; ++i) {
      auto answer = client.send(r);
      REQUIRE(answer);
      CHECK(answer->body == "ok /a");
    }
    CHECK(server.accepted() == 1);
  }
  SECTION("a new connection after Connection: close") {
    counting_server server(counting_server::after_answer::announce_close);
    ob::http_client client(fast_options());
    r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/b";
    REQUIRE(client.send(r));
    REQUIRE(client.send(r));
    CHECK(server.accepted() == 2);
  }
  SECTION("a kept connection the server closed while idle is not used again") {
    counting_server server(counting_server::after_answer::close_silently);
    ob::http_client client(fast_options());
    r.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/c";
    REQUIRE(client.send(r));
    std::this_thread::sleep_for(50ms);  // the server's FIN arrives
    auto second = client.send(r);
    REQUIRE(second);
    CHECK(second->body == "ok /c");
    CHECK(server.accepted() == 2);
  }
}

TEST_CASE("http_client: a slow server hits the request deadline") {
  hg_test::fake_http_server server([](const fake_request&) {
    fake_response out;
    out.delay = 3s;
    return out;
  });
  auto options = fast_options();
  options.request_timeout = 200ms;
  ob::http_client client(options);
  ob::request r;
  r.url = server.base_url() + "/slow";
  const auto start = std::chrono::steady_clock::now();
  auto answer = client.send(r);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(answer);
  CHECK(answer.error() == ob::errc::timeout);
  CHECK(hashguard::core::error_name(answer.error()) == "timeout");
  CHECK(took >= 150ms);
  CHECK(took < 2s);
}

TEST_CASE("http_client: dropped connections, truncated bodies and oversized answers") {
  std::mutex m;
  fake_response next;
  hg_test::fake_http_server server([&](const fake_request&) {
    std::lock_guard lock(m);
    return next;
  });
  auto set_next = [&](fake_response f) {
    std::lock_guard lock(m);
    next = std::move(f);
  };
  auto options = fast_options();
  options.max_response_bytes = 1000;
  ob::http_client client(options);
  ob::request r;
  r.url = server.base_url() + "/x";

  fake_response dropped;
  dropped.drop_connection = true;
  set_next(dropped);
  auto a = client.send(r);
  REQUIRE_FALSE(a);
  CHECK(a.error() == ob::errc::connect_failed);

  fake_response cut;
  cut.body = std::string(800, 'a');
  cut.truncate_body = true;
  set_next(cut);
  auto b = client.send(r);
  REQUIRE_FALSE(b);
  CHECK(b.error() == ob::errc::protocol_error);

  fake_response large;
  large.body = std::string(1001, 'b');
  set_next(large);
  auto c = client.send(r);
  REQUIRE_FALSE(c);
  CHECK(c.error() == ob::errc::response_too_large);

  fake_response exactly;
  exactly.body = std::string(1000, 'c');
  set_next(exactly);
  auto d = client.send(r);
  REQUIRE(d);
  CHECK(d->body.size() == 1000);

  fake_response huge_header;
  for (int i = 0; i < 4; ++i) {  // 80 KiB of fields (Beast caps one field's value at 64 KiB)
    huge_header.headers.emplace_back("X-Big-" + std::to_string(i), std::string(20 * 1024, 'h'));
  }
  set_next(huge_header);
  auto e = client.send(r);
  REQUIRE_FALSE(e);
  CHECK(e.error() == ob::errc::response_too_large);

  // The client recovers: the next request on a fresh connection succeeds.
  set_next(fake_response{});
  CHECK(client.send(r));
}

TEST_CASE("http_client: bad URLs and a closed port") {
  ob::http_client client(fast_options());
  for (const char* url :
       {"", "relative/path", "ftp://example.org/", "http://", "http:///path", "https://:443/",
        "http://user:pw@example.org/", "http://exa mple.org/", "http://example.org:0/",
        "http://example.org:65536/", "http://example.org:12a/", "http://[::1/",
        "http://example.org:/", "http://exam\xc3\xa9.org/"}) {
    ob::request r;
    r.url = url;
    auto answer = client.send(r);
    INFO(url);
    REQUIRE_FALSE(answer);
    CHECK(answer.error() == ob::errc::bad_url);
  }

  ob::request split;
  split.url = "http://127.0.0.1:1/";
  split.headers = {{"X-Inject", "a\r\nHost: evil"}};
  auto injected = client.send(split);
  REQUIRE_FALSE(injected);
  CHECK(injected.error() == boost::system::errc::invalid_argument);

  ob::request closed;
  closed.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
  auto refused = client.send(closed);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == ob::errc::connect_failed);
}

TEST_CASE("http_client: cancel() from another thread ends a send in progress and later ones") {
  hg_test::fake_http_server server([](const fake_request&) {
    fake_response out;
    out.delay = 5s;
    return out;
  });
  auto options = fast_options();
  options.request_timeout = 10s;
  ob::http_client client(options);
  ob::request r;
  r.url = server.base_url() + "/wait";
  std::thread canceller([&] {
    while (server.requests_seen() == 0) std::this_thread::sleep_for(5ms);
    client.cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  auto answer = client.send(r);
  const auto took = std::chrono::steady_clock::now() - start;
  canceller.join();
  REQUIRE_FALSE(answer);
  CHECK(answer.error() == ob::errc::cancelled);
  CHECK(took < 2s);
  auto later = client.send(r);
  REQUIRE_FALSE(later);
  CHECK(later.error() == ob::errc::cancelled);
  CHECK(server.requests_seen() == 1);
}

TEST_CASE("send_with_retry: 429 waits the Retry-After seconds or date, capped") {
  std::mutex m;
  std::vector<fake_response> script;  // answers in order; the last one repeats
  hg_test::fake_http_server server([&](const fake_request&) {
    std::lock_guard lock(m);
    auto out = script.front();
    if (script.size() > 1) script.erase(script.begin());
    return out;
  });
  auto busy = [](std::string retry_after) {
    fake_response out;
    out.status = 429;
    out.headers = {{"Retry-After", std::move(retry_after)}};
    return out;
  };
  auto set_script = [&](std::vector<fake_response> s) {
    std::lock_guard lock(m);
    script = std::move(s);
  };
  ob::http_client client(fast_options());
  ob::request r;
  r.url = server.base_url() + "/limited";
  ob::retry_policy policy;
  policy.max_retry_after = 10min;
  recorded_waits waits;

  set_script({busy("2"), busy(" 7 "), fake_response{}});
  auto a = ob::send_with_retry(client, r, policy, waits.fn());
  REQUIRE(a);
  CHECK(a->status == 200);
  REQUIRE(waits.delays.size() == 2);
  CHECK(waits.delays[0] == 2s);
  CHECK(waits.delays[1] == 7s);

  // An HTTP date 30 s from now (IMF-fixdate), one in the past, and the obsolete forms.
  char date[64];
  const std::time_t in_30s = std::time(nullptr) + 30;
  std::tm tm{};
  ::gmtime_r(&in_30s, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  // RFC 850's two-digit year, built by hand (strftime's %y draws a -Wformat-y2k warning).
  char rfc850[64];
  std::strftime(rfc850, sizeof rfc850, "%A, %d-%b-", &tm);
  char rest850[32];
  std::snprintf(rest850, sizeof rest850, "%02d %02d:%02d:%02d GMT", tm.tm_year % 100, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  const std::string rfc850_date = std::string(rfc850) + rest850;
  char asctime_form[64];
  std::strftime(asctime_form, sizeof asctime_form, "%a %b %e %H:%M:%S %Y", &tm);
  waits.delays.clear();
  set_script({busy(date), busy("Sun, 06 Nov 1994 08:49:37 GMT"), busy(rfc850_date),
              busy(asctime_form), fake_response{}});
  auto b = ob::send_with_retry(client, r, policy, waits.fn());
  REQUIRE(b);
  CHECK(b->status == 200);
  REQUIRE(waits.delays.size() == 4);
  CHECK(waits.delays[0] > 27s);
  CHECK(waits.delays[0] <= 30s);
  CHECK(waits.delays[1] == 0ms);
  CHECK(waits.delays[2] > 27s);
  CHECK(waits.delays[3] > 27s);

  // Capped at max_retry_after; an unreadable value falls back to the backoff.
  policy.max_retry_after = 90s;
  policy.base_delay = 100ms;
  waits.delays.clear();
  set_script({busy("100000000000000000000000"), busy("soon"), fake_response{}});
  auto c = ob::send_with_retry(client, r, policy, waits.fn());
  REQUIRE(c);
  REQUIRE(waits.delays.size() == 2);
  CHECK(waits.delays[0] == 90s);
  CHECK(waits.delays[1] <= 200ms);

  // After the last try the 429 itself is the answer.
  policy.max_attempts = 2;
  waits.delays.clear();
  set_script({busy("1")});
  auto d = ob::send_with_retry(client, r, policy, waits.fn());
  REQUIRE(d);
  CHECK(d->status == 429);
  CHECK(waits.delays.size() == 1);
}

TEST_CASE("send_with_retry: 5xx bursts, backoff bounds, non-retryable answers and stopping") {
  std::mutex m;
  int failures_left = 0;
  int failure_status = 503;
  hg_test::fake_http_server server([&](const fake_request&) {
    std::lock_guard lock(m);
    fake_response out;
    if (failures_left > 0) {
      --failures_left;
      out.status = failure_status;
    }
    return out;
  });
  auto set_failures = [&](int n, int status) {
    std::lock_guard lock(m);
    failures_left = n;
    failure_status = status;
  };
  ob::http_client client(fast_options());
  ob::request r;
  r.url = server.base_url() + "/flaky";
  ob::retry_policy policy;
  policy.max_attempts = 6;
  policy.base_delay = 100ms;
  policy.max_delay = 350ms;

  SECTION("a burst of 503, 500, 502 and 504 then success") {
    for (int status : {503, 500, 502, 504}) {
      recorded_waits waits;
      set_failures(3, status);
      const auto before = server.requests_seen();
      auto answer = ob::send_with_retry(client, r, policy, waits.fn());
      REQUIRE(answer);
      CHECK(answer->status == 200);
      CHECK(server.requests_seen() - before == 4);
      CHECK(waits.delays.size() == 3);
    }
  }
  SECTION("full-jitter bounds: uniform in 0 to min(max_delay, base * 2^retry)") {
    std::vector<std::chrono::milliseconds> ceiling{100ms, 200ms, 350ms, 350ms, 350ms};
    std::vector<std::chrono::milliseconds> largest(5, 0ms);
    for (int run = 0; run < 40; ++run) {
      recorded_waits waits;
      set_failures(100, 503);
      auto answer = ob::send_with_retry(client, r, policy, waits.fn());
      REQUIRE(answer);
      CHECK(answer->status == 503);  // the last 503 is returned as a response
      REQUIRE(waits.delays.size() == 5);
      for (std::size_t i = 0; i < 5; ++i) {
        CHECK(waits.delays[i] >= 0ms);
        CHECK(waits.delays[i] <= ceiling[i]);
        largest[i] = std::max(largest[i], waits.delays[i]);
      }
    }
    // Jitter, not a constant: over 40 runs the later waits spread beyond the first ceiling.
    CHECK(largest[2] > 100ms);
    CHECK(largest[4] > 100ms);
  }
  SECTION("a 400 and a 404 return at once") {
    for (int status : {400, 404}) {
      recorded_waits waits;
      set_failures(1, status);
      auto answer = ob::send_with_retry(client, r, policy, waits.fn());
      REQUIRE(answer);
      CHECK(answer->status == status);
      CHECK(waits.delays.empty());
    }
  }
  SECTION("a wait that answers false stops with the last outcome") {
    recorded_waits waits;
    waits.keep_going = false;
    set_failures(5, 503);
    auto answer = ob::send_with_retry(client, r, policy, waits.fn());
    REQUIRE(answer);
    CHECK(answer->status == 503);
    CHECK(waits.delays.size() == 1);
  }
  SECTION("connection errors are retried, bad URLs are not") {
    ob::request closed;
    closed.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
    policy.max_attempts = 3;
    recorded_waits waits;
    auto answer = ob::send_with_retry(client, closed, policy, waits.fn());
    REQUIRE_FALSE(answer);
    CHECK(answer.error() == ob::errc::connect_failed);
    CHECK(waits.delays.size() == 2);

    recorded_waits none;
    ob::request bad;
    bad.url = "gopher://x/";
    auto refused = ob::send_with_retry(client, bad, policy, none.fn());
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == ob::errc::bad_url);
    CHECK(none.delays.empty());
  }
}

TEST_CASE("http_client: https verifies the certificate against ca_file and the host name") {
  tls_files files("localhost", "DNS:localhost", "outbound-tls");
  counting_server server(counting_server::after_answer::keep, &files);
  const auto port = std::to_string(server.port());

  auto with_ca = fast_options();
  with_ca.ca_file = files.cert;
  ob::request r;
  r.url = "https://localhost:" + port + "/secure";
  {
    // (Scoped: the server answers one connection at a time and this one is kept alive.)
    ob::http_client trusting(with_ca);
    auto ok = trusting.send(r);
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(ok->body == "ok /secure");
    REQUIRE(trusting.send(r));  // kept alive over TLS
    CHECK(server.accepted() == 1);
  }

  // The system store does not know the self-signed certificate.
  ob::http_client system_store(fast_options());
  auto untrusted = system_store.send(r);
  REQUIRE_FALSE(untrusted);
  CHECK(untrusted.error() == ob::errc::tls_failed);

  // Trusted certificate, wrong name: it names localhost, not 127.0.0.1.
  ob::http_client wrong_name(with_ca);
  ob::request by_address;
  by_address.url = "https://127.0.0.1:" + port + "/secure";
  auto mismatch = wrong_name.send(by_address);
  REQUIRE_FALSE(mismatch);
  CHECK(mismatch.error() == ob::errc::tls_failed);

  // A missing ca_file is a TLS failure, not a crash.
  auto missing = fast_options();
  missing.ca_file = (files.dir / "absent.pem").string();
  ob::http_client no_file(missing);
  auto absent = no_file.send(r);
  REQUIRE_FALSE(absent);
  CHECK(absent.error() == ob::errc::tls_failed);
}
