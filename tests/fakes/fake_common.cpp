#include "fake_common.hpp"

#include <cctype>

namespace hg_fakes {

std::optional<hg_test::fake_response> injected_failure(knobs& k) {
  if (k.rate_limit_next > 0) {
    --k.rate_limit_next;
    auto r = answer(429, R"({"error":"too many requests"})");
    r.headers.emplace_back("Retry-After", std::to_string(k.retry_after_seconds));
    return r;
  }
  if (k.server_error_next > 0) {
    --k.server_error_next;
    return answer(k.server_error_status, R"({"error":"unavailable"})");
  }
  return std::nullopt;
}

bool credentials_expired(knobs& k) {
  if (k.expire_after < 0) return false;
  if (k.expire_after == 0) return true;
  --k.expire_after;
  return false;
}

bool take_malformed(knobs& k) {
  if (k.malformed_next <= 0) return false;
  --k.malformed_next;
  return true;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      std::string out;
      const auto v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '%' && i + 2 < v.size() &&
            std::isxdigit(static_cast<unsigned char>(v[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(v[i + 2]))) {
          out += static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16));
          i += 2;
        } else {
          out += v[i] == '+' ? ' ' : v[i];
        }
      }
      return out;
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string header_of(const hg_test::fake_request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) return v;
  }
  return "";
}

std::string basic_auth(std::string_view user, std::string_view password) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = std::string(user) + ":" + std::string(password);
  std::string out = "Basic ";
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16U;
    if (i + 1 < in.size())
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8U;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += table[(n >> 18U) & 63U];
    out += table[(n >> 12U) & 63U];
    out += i + 1 < in.size() ? table[(n >> 6U) & 63U] : '=';
    out += i + 2 < in.size() ? table[n & 63U] : '=';
  }
  return out;
}

std::string generated_hex(std::uint64_t i, std::size_t digits) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  std::uint64_t x = i * 0x9E3779B97F4A7C15ULL + 1;
  while (out.size() < digits) {
    // splitmix64: a different well-mixed word for every step
    x += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = x;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    for (int b = 0; b < 16 && out.size() < digits; ++b)
      out += hex[(z >> (4U * static_cast<unsigned>(b))) & 15U];
  }
  return out;
}

hg_test::fake_response answer(int status, std::string body, std::string content_type) {
  hg_test::fake_response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

}  // namespace hg_fakes
