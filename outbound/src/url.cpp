#include "url.hpp"

#include "hashguard/outbound/http_client.hpp"

namespace hashguard::outbound::detail {
namespace {

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

bool host_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

bool ipv6_char(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
}

}  // namespace

core::result<parsed_url> parse_url(std::string_view url) {
  const core::error_code bad = errc::bad_url;
  for (char ch : url) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return bad;
  }
  parsed_url out;
  if (starts_with_nocase(url, "https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (starts_with_nocase(url, "http://")) {
    url.remove_prefix(7);
  } else {
    return bad;
  }
  const auto authority_end = url.find_first_of("/?#");
  std::string_view authority = url.substr(0, authority_end);
  std::string_view rest =
      authority_end == std::string_view::npos ? std::string_view{} : url.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return bad;  // no credentials in URLs

  std::string_view port;
  bool ipv6 = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad;
    for (char c : authority.substr(1, close - 1)) out.host += lower(c);
    for (char c : out.host) {
      if (!ipv6_char(c)) return bad;
    }
    ipv6 = true;
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad;
      port = after.substr(1);
      if (port.empty()) return bad;
    }
  } else {
    const auto colon = authority.find(':');
    for (char c : authority.substr(0, colon)) out.host += lower(c);
    for (char c : out.host) {
      if (!host_char(c)) return bad;
    }
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad;
    }
  }
  if (out.host.empty()) return bad;

  const char* default_port = out.tls ? "443" : "80";
  if (port.empty()) {
    out.port = default_port;
  } else {
    if (port.size() > 5) return bad;
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return bad;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return bad;
    out.port = std::to_string(value);
  }

  out.host_header = ipv6 ? "[" + out.host + "]" : out.host;
  if (out.port != default_port) out.host_header += ":" + out.port;

  rest = rest.substr(0, rest.find('#'));
  if (rest.empty()) {
    out.target = "/";
  } else if (rest.front() == '?') {
    out.target = "/" + std::string(rest);
  } else {
    out.target = std::string(rest);
  }
  return out;
}

}  // namespace hashguard::outbound::detail
