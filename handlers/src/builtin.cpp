// The built-in routes: /healthz (200 while the process serves), /readyz (200, or 503
// not_ready with Retry-After and the reason), /metrics (the Prometheus text of deps.stats) and
// GET /v1/openapi.json (the embedded document).
#include "area.hpp"

#include "hashguard/api/errors.hpp"
#include "hashguard/handlers/routes.hpp"

namespace hashguard::handlers::detail {

handler_list builtin_handlers(const services& deps) {
  handler_list out;
  out.push_back({"GET", "/healthz", [](const api::request&, const api::auth_context&) {
                   return api::response::json(200, R"({"status":"ok"})");
                 }});
  out.push_back({"GET", "/readyz",
                 [ready = deps.ready, retry = deps.retry_after_s](const api::request&,
                                                                  const api::auth_context&) {
                   readiness r;
                   if (ready) r = ready();
                   if (!r.ready) {
                     return api::response::error(api::errc::not_ready,
                                                 r.reason.empty() ? "not ready" : r.reason, retry);
                   }
                   return api::response::json(200, R"({"status":"ready"})");
                 }});
  out.push_back(
      {"GET", "/metrics", [stats = deps.stats](const api::request&, const api::auth_context&) {
         return api::response::text(200, stats != nullptr ? stats->render() : std::string{},
                                    "text/plain; version=0.0.4; charset=utf-8");
       }});
  out.push_back({"GET", "/v1/openapi.json", [](const api::request&, const api::auth_context&) {
                   return api::response::json(200, std::string(openapi_document()));
                 }});
  return out;
}

}  // namespace hashguard::handlers::detail
