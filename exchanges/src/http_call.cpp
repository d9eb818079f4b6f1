#include "http_call.hpp"

#include <chrono>

namespace hashguard::exchanges::detail {

http_call::http_call(const outbound::client_options& options, const outbound::retry_policy& retry)
    : client_(options), retry_(retry) {}

core::result<outbound::response> http_call::send(const outbound::request& r) {
  if (cancelled_.load()) return make_error_code(errc::cancelled);
  const outbound::wait_function wait = [this](std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !wake_.wait_for(lock, d, [this] { return cancelled_.load(); });
  };
  auto answer = outbound::send_with_retry(client_, r, retry_, wait);
  if (cancelled_.load()) return make_error_code(errc::cancelled);
  if (!answer) return make_error_code(errc::unavailable);
  return answer;
}

void http_call::cancel() noexcept {
  {
    std::lock_guard lock(mu_);
    cancelled_.store(true);
  }
  wake_.notify_all();
  client_.cancel();
}

core::result<void> status_error(int status) {
  if (status >= 200 && status < 300) return {};
  if (status == 401 || status == 403) return make_error_code(errc::unauthorized);
  if (status == 429) return make_error_code(errc::rate_limited);
  if (status == 404) return make_error_code(errc::bad_config);
  return make_error_code(errc::unavailable);
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in(user);
  in += ':';
  in += password;
  std::string out = "Basic ";
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const auto byte = [&](std::size_t k) -> std::uint32_t {
      return k < in.size() ? static_cast<unsigned char>(in[k]) : 0U;
    };
    const std::uint32_t n = (byte(i) << 16U) | (byte(i + 1) << 8U) | byte(i + 2);
    out += table[(n >> 18U) & 63U];
    out += table[(n >> 12U) & 63U];
    out += i + 1 < in.size() ? table[(n >> 6U) & 63U] : '=';
    out += i + 2 < in.size() ? table[n & 63U] : '=';
  }
  return out;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hashguard::exchanges::detail
