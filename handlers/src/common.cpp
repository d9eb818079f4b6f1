// The helpers every area shares (area.hpp).
#include "area.hpp"

#include "hashguard/api/errors.hpp"
#include "hashguard/core/parse.hpp"

namespace hashguard::handlers::detail {

api::response malformed(std::string_view message) {
  return api::response::error(api::errc::malformed, message);
}

api::response unprocessable(std::string_view message) {
  return api::response::error(api::errc::unprocessable, message);
}

std::optional<std::int64_t> id_param(const api::request& req, std::string_view name) {
  auto id = core::parse_int<std::int64_t>(req.param(name), 1);
  if (!id) return std::nullopt;
  return *id;
}

}  // namespace hashguard::handlers::detail
