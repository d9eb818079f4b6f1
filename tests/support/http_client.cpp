#include "http_client.hpp"

#include "hashguard/core/parse.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace hg_test {

struct client::tls_state {
  SSL_CTX* ctx{nullptr};
  SSL* ssl{nullptr};
  ~tls_state() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

std::string make_request(std::string_view method, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         std::optional<std::string_view> body) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    out.append(k).append(": ").append(v).append("\r\n");
    std::string lower = k;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-length" || lower == "transfer-encoding") has_length = true;
  }
  if (body && !has_length) out.append("Content-Length: " + std::to_string(body->size()) + "\r\n");
  out.append("\r\n");
  if (body) out.append(*body);
  return out;
}

client::client(std::uint16_t port, bool tls) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect failed");
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (tls) {
    tls_ = std::make_unique<tls_state>();
    tls_->ctx = SSL_CTX_new(TLS_client_method());
    tls_->ssl = SSL_new(tls_->ctx);
    SSL_set_fd(tls_->ssl, fd_);
    if (SSL_connect(tls_->ssl) != 1) {
      ::close(fd_);
      fd_ = -1;
      throw std::runtime_error("TLS handshake failed");
    }
  }
}

client::~client() {
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
}

bool client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = 0;
    if (tls_) {
      n = SSL_write(tls_->ssl, bytes.data(), static_cast<int>(bytes.size()));
    } else {
      n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    }
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void client::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

std::size_t client::fill(std::chrono::steady_clock::time_point deadline) {
  char tmp[16384];
  while (true) {
    if (!(tls_ && SSL_pending(tls_->ssl) > 0)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return 0;
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return 0;
    }
    ssize_t n = 0;
    if (tls_) {
      n = SSL_read(tls_->ssl, tmp, sizeof tmp);
      if (n <= 0 && SSL_get_error(tls_->ssl, static_cast<int>(n)) == SSL_ERROR_WANT_READ) {
        continue;
      }
    } else {
      n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
    }
    if (n <= 0) return 0;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n);
  }
}

std::optional<http_response> client::read_response(std::chrono::milliseconds timeout,
                                                   bool keep_interim) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::size_t end = buf_.find("\r\n\r\n");
    while (end == std::string::npos) {
      if (fill(deadline) == 0) return std::nullopt;
      end = buf_.find("\r\n\r\n");
    }
    http_response r;
    const std::string head = buf_.substr(0, end);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
    const auto status =
        hashguard::core::parse_int<int>(std::string_view(status_line).substr(9, 3), 100, 599);
    if (!status) return std::nullopt;
    r.status = *status;
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      const std::string line = head.substr(pos, e - pos);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(value.begin());
        r.headers[name] = value;
      }
      pos = e + 2;
    }
    buf_.erase(0, end + 4);
    if (r.status >= 100 && r.status < 200) {
      if (keep_interim) return r;
      continue;
    }
    std::size_t length = 0;
    if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
      const auto n = hashguard::core::parse_int<std::size_t>(it->second);
      if (!n) return std::nullopt;
      length = *n;
    }
    while (buf_.size() < length) {
      if (fill(deadline) == 0) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }
}

bool client::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::size_t before = buf_.size();
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char tmp[4096];
    ssize_t n = 0;
    if (tls_) {
      n = SSL_read(tls_->ssl, tmp, sizeof tmp);
    } else {
      n = ::recv(fd_, tmp, sizeof tmp, 0);
    }
    if (n <= 0) return buf_.size() == before;
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
  return false;
}

std::optional<http_response> fetch(std::uint16_t port, std::string_view method,
                                   std::string_view target, std::string_view key,
                                   std::optional<std::string_view> body, bool tls) {
  client c(port, tls);
  std::vector<std::pair<std::string, std::string>> headers{{"Connection", "close"}};
  if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + std::string(key));
  if (!c.send(make_request(method, target, headers, body))) return std::nullopt;
  return c.read_response();
}

std::optional<http_response> exchange(
    std::uint16_t port, std::string_view method, std::string_view target, std::string_view key,
    std::optional<std::string_view> body,
    const std::vector<std::pair<std::string, std::string>>& headers,
    std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, std::string>> all = headers;
  if (!key.empty()) all.emplace_back("Authorization", "Bearer " + std::string(key));
  try {
    client c(port);
    if (!c.send(make_request(method, target, all, body))) return std::nullopt;
    return c.read_response(timeout);
  } catch (const std::exception&) {
    return std::nullopt;  // no connection: no answer
  }
}

std::optional<double> metric_value(std::string_view exposition, std::string_view series) {
  std::size_t at = 0;
  while (at < exposition.size()) {
    auto end = exposition.find('\n', at);
    if (end == std::string_view::npos) end = exposition.size();
    const std::string_view line = exposition.substr(at, end - at);
    at = end + 1;
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      return std::stod(std::string(line.substr(series.size() + 1)));
    }
  }
  return std::nullopt;
}

}  // namespace hg_test
