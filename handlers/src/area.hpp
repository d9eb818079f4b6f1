// Inside handlers/: what every area file (ingest, lists, decisions, cases, evidence,
// compliance, builtin, ui) gives register_routes(), and the helpers all of them share.
//
// An area names each of its handlers by (method, pattern) only; the route's role, placement,
// body class and summary come from the design table (routes.hpp), never from here.
#pragma once

#include "hashguard/api/http.hpp"
#include "hashguard/api/router.hpp"
#include "hashguard/handlers/services.hpp"
#include "hashguard/hashdb/database.hpp"

#include <functional>
#include <string_view>
#include <vector>

namespace hashguard::handlers::detail {

struct handler_entry {
  std::string_view method;
  std::string_view pattern;
  api::sync_handler handler;
};
using handler_list = std::vector<handler_entry>;

handler_list ingest_handlers(const services& deps);
handler_list list_handlers(const services& deps);
handler_list key_handlers(const services& deps);
handler_list list_change_handlers(const services& deps);
handler_list exchange_handlers(const services& deps);
handler_list decision_feed_handlers(const services& deps);
handler_list case_handlers(const services& deps);
handler_list evidence_handlers(const services& deps);
handler_list compliance_handlers(const services& deps);
handler_list filing_handlers(const services& deps);
handler_list hold_handlers(const services& deps);  // holds.cpp
handler_list builtin_handlers(const services& deps);
handler_list ui_handlers(const services& deps);

/// A handler that needs PostgreSQL, given a connection of the pool for this one request.
using db_handler = std::function<api::response(hashdb::connection&, const api::request&,
                                               const api::auth_context&)>;

/// A database handler that reads the services (the form every area's named handlers take).
using db_function = api::response (*)(const services&, hashdb::connection&, const api::request&,
                                      const api::auth_context&);

/// The one database-route helper: takes a connection from deps.db, runs `f`, and turns a pool
/// failure into the status table's answer (503 database_unavailable with Retry-After, or 503
/// overloaded). Handlers answer their own errors with api::response::error(ec, retry_after).
[[nodiscard]] api::sync_handler db_route(const services& deps, db_handler f);
/// db_route for a named handler, given `deps` (which must outlive the table).
[[nodiscard]] api::sync_handler db_route(const services& deps, db_function f);

/// 400 malformed / 422 unprocessable with a message naming the bad input.
[[nodiscard]] api::response malformed(std::string_view message);
[[nodiscard]] api::response unprocessable(std::string_view message);

/// The positive integer path parameter `name` ({id}); nullopt when absent or not one.
[[nodiscard]] std::optional<std::int64_t> id_param(const api::request& req,
                                                   std::string_view name = "id");

}  // namespace hashguard::handlers::detail
