// The helpers every area shares (area.hpp).
#include "area.hpp"

#include <charconv>
#include "hashguard/api/errors.hpp"

namespace hashguard::handlers::detail {

api::response error_answer(const core::error_code& ec, int retry_after_s) {
  return api::response::error(ec, retry_after_s);
}

api::response malformed(std::string_view message) {
  return api::response::error(api::errc::malformed, message);
}

api::response unprocessable(std::string_view message) {
  return api::response::error(api::errc::unprocessable, message);
}

std::optional<std::int64_t> id_param(const api::request& req, std::string_view name) {
  const std::string_view text = req.param(name);
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id < 1) return std::nullopt;
  return id;
}

}  // namespace hashguard::handlers::detail
