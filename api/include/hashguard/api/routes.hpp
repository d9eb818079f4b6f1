// The route table of DESIGN.md section 5 (every route, its role and where it runs), the
// built-in routes that need no other module (/healthz, /readyz, /metrics, /v1/openapi.json),
// and the OpenAPI document kept in the repository (api/openapi.json, embedded at build time).
//
// The app builds its table as: add_design_routes (every route answers 501 not_implemented
// until wired), add_builtin_routes, then route_table::add for each real handler (same method +
// pattern replaces the placeholder).
#pragma once

#include "hashguard/api/metrics.hpp"
#include "hashguard/api/router.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::api {

/// Every route of DESIGN.md section 5 with its role, run_on and body class (the /ui/ static
/// files aside, which web/ serves).
[[nodiscard]] const std::vector<route_spec>& design_routes();

/// Adds every design route with a handler answering 501 {"error":{"code":"not_implemented"}}.
void add_design_routes(route_table& table);

/// Readiness: snapshot loaded and spool writable (a database outage does not make a node
/// unready). `reason` says what is missing when not ready.
struct readiness {
  bool ready{false};
  std::string reason;
};

struct builtin_deps {
  metrics* stats{nullptr};           ///< for /metrics; must outlive the table
  std::function<readiness()> ready;  ///< for /readyz; empty: never ready
  int retry_after_s{1};              ///< Retry-After of a not-ready answer
};

/// /healthz (always 200 while the process serves), /readyz (200 or 503 not_ready with
/// Retry-After), /metrics (text/plain; version=0.0.4), GET /v1/openapi.json.
void add_builtin_routes(route_table& table, builtin_deps deps);

/// The embedded OpenAPI 3 document (api/openapi.json at build time).
[[nodiscard]] std::string_view openapi_document() noexcept;

}  // namespace hashguard::api
