// The helpers every area shares (area.hpp).
#include "area.hpp"

#include <charconv>
#include "hashguard/api/errors.hpp"

namespace hashguard::handlers::detail {

api::sync_handler db_route(const services& deps, db_handler f) {
  return [pool = deps.db, retry = deps.retry_after_s, f = std::move(f)](
             const api::request& req, const api::auth_context& who) -> api::response {
    auto lease = pool->take();
    if (!lease) return error_answer(lease.error(), retry);
    auto r = f(**lease, req, who);
    // A handler's 503 (the database went away mid-request) carries the configured Retry-After.
    if (api::wants_retry_after(r.status)) {
      std::erase_if(r.headers,
                    [](const api::header_field& h) { return api::iequals(h.name, "Retry-After"); });
      r.headers.push_back({"Retry-After", std::to_string(retry)});
    }
    return r;
  };
}

api::sync_handler db_route(const services& deps, db_function f) {
  return db_route(deps,
                  [&deps, f](hashdb::connection& conn, const api::request& req,
                             const api::auth_context& who) { return f(deps, conn, req, who); });
}

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
