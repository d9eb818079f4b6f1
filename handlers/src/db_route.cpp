// The one database-route helper (area.hpp): a connection of the pool for each request, the
// status table's answer when there is none, and the configured Retry-After on every 503.
#include "area.hpp"

#include "hashguard/api/errors.hpp"

#include <algorithm>
#include <string>

namespace hashguard::handlers::detail {

api::sync_handler db_route(const services& deps, db_handler f) {
  return [pool = deps.db, retry = deps.retry_after_s, f = std::move(f)](
             const api::request& req, const api::auth_context& who) -> api::response {
    auto lease = pool->take();
    if (!lease) return api::response::error(lease.error(), retry);
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

}  // namespace hashguard::handlers::detail
