// Every route hashguard serves: the design table (DESIGN.md section 5) and the one function
// that wires a handler to each of its rows.
//
// The design table is the only place where a route's role, placement (I/O thread, scan pool,
// database pool), body class and summary are written. register_routes() takes every handler
// of this module (ingest, lists, decisions, cases, compliance, evidence, the UI and the
// built-in /healthz, /readyz, /metrics, /v1/openapi.json), looks its row up and adds it to the
// table with that row's spec. A handler without a row, or a row without a handler, is a
// start-up error (errc::unrouted_handler / errc::unhandled_route, the route in `problem`).
//
// Thread-safety: the table and the handlers are read-only once registered; every handler may
// run on many threads at once.
#pragma once

#include "hashguard/api/router.hpp"
#include "hashguard/core/error.hpp"
#include "hashguard/handlers/services.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::handlers {

enum class errc {
  unrouted_handler = 1,  ///< a handler whose (method, pattern) has no design row
  unhandled_route,       ///< a design row that no handler serves
};
const core::named_category& handlers_category() noexcept;
HG_DECLARE_ERRC(errc, handlers_category)

/// Every route of DESIGN.md section 5, the /ui/ files included, one row per (method, pattern).
[[nodiscard]] const std::vector<api::route_spec>& design_routes();

/// The design row of (method, pattern); null when there is none.
[[nodiscard]] const api::route_spec* design_row(std::string_view method,
                                                std::string_view pattern) noexcept;

/// Adds every handler with its design row's spec. The handlers refer to `deps` itself (not a
/// copy): it must outlive the table, like everything it points at. On an error the table holds what
/// was added before it and `problem` (when given) names the route.
[[nodiscard]] core::result<void> register_routes(api::route_table& table, const services& deps,
                                                 std::string* problem = nullptr);

/// Adds every design row with a handler answering 501 not_implemented (tests, fuzzing and
/// benchmarks of the transport build tables from it).
void add_placeholder_routes(api::route_table& table);

/// The built-in routes (/healthz, /readyz, /metrics, /v1/openapi.json) and the embedded UI's
/// alone, with their design rows: for tests and benchmarks of the transport.
struct builtin_deps {
  api::metrics* stats{nullptr};      ///< must outlive the table
  std::function<readiness()> ready;  ///< empty: never ready
  int retry_after_s{1};
  std::string ui_dir{};  ///< empty: the embedded web/ files (`{}`: may be left out, hit.hpp)
};
void add_builtin_routes(api::route_table& table, builtin_deps deps);

/// The embedded OpenAPI 3 document (handlers/openapi.json at build time).
[[nodiscard]] std::string_view openapi_document() noexcept;

}  // namespace hashguard::handlers

HG_REGISTER_ERRC(hashguard::handlers::errc)
