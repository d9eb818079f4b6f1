#include "hashguard/api/routes.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace hashguard::api {
namespace {

using core::role;

route_spec spec(std::string method, std::string pattern, std::optional<role> r, run_on where,
                body_class body, std::string summary) {
  return route_spec{std::move(method), std::move(pattern), r, where, body, std::move(summary)};
}

}  // namespace

const std::vector<route_spec>& design_routes() {
  // DESIGN.md section 5, one row per (method, path). Routes that decode and hash run on the
  // scan pool; everything that may touch PostgreSQL runs on the database pool; /v1/match
  // (hashes given as hex: one lookup in the in-memory snapshot, about 0.1 ms at 10M hashes,
  // less than two thread hops would cost) and /v1/index run on the I/O thread.
  static const std::vector<route_spec> table{
      spec("POST", "/v1/scan", role::ingest, run_on::scan, body_class::image,
           "scan an image: verdict, action, hits, hashes, event id"),
      spec("POST", "/v1/hash", role::ingest, run_on::scan, body_class::image,
           "hash an image, no matching, no event"),
      spec("POST", "/v1/match", role::ingest, run_on::io, body_class::json,
           "match hashes given as hex"),
      spec("GET", "/v1/decisions", role::ingest, run_on::db, body_class::none,
           "confirmed and dismissed content since a cursor"),
      spec("GET", "/v1/lists", role::admin, run_on::db, body_class::none, "list hash lists"),
      spec("POST", "/v1/lists", role::admin, run_on::db, body_class::json, "create a hash list"),
      spec("PATCH", "/v1/lists/{id}", role::admin, run_on::db, body_class::json,
           "enable/disable a list, set its threshold or action"),
      spec("DELETE", "/v1/lists/{id}", role::admin, run_on::db, body_class::none,
           "retire a hash list"),
      spec("POST", "/v1/lists/{id}/hashes", role::admin, run_on::db, body_class::import,
           "import hashes with a line-level report"),
      spec("GET", "/v1/lists/{id}/export", role::admin, run_on::db, body_class::none,
           "export a hash list"),
      spec("GET", "/v1/index", role::admin, run_on::io, body_class::none,
           "snapshot version, sizes, kernel, build time"),
      spec("GET", "/v1/cases", role::reviewer, run_on::db, body_class::none,
           "the review queue, with filters and paging"),
      spec("GET", "/v1/cases/{id}", role::reviewer, run_on::db, body_class::none, "one case"),
      spec("POST", "/v1/cases/{id}/decision", role::reviewer, run_on::db, body_class::json,
           "decide a case: confirmed, false_positive, escalated"),
      spec("POST", "/v1/cases/{id}/files/{content}/reveal", role::reviewer, run_on::db,
           body_class::json, "reveal preserved evidence (audited; marks the file viewed)"),
      spec("POST", "/v1/cases/{id}/report", role::compliance, run_on::db, body_class::json,
           "record a CyberTipline submission (starts the preservation clock)"),
      spec("GET", "/v1/exports/cases", role::compliance, run_on::db, body_class::none,
           "cases for a date range as CSV or JSON, streamed"),
      spec("GET", "/v1/exports/events", role::compliance, run_on::db, body_class::none,
           "events for a date range as CSV or JSON, streamed"),
      spec("GET", "/v1/exports/aggregate", role::compliance, run_on::db, body_class::none,
           "counts per period and list"),
      spec("GET", "/v1/exports/cases/{id}/cybertipline", role::compliance, run_on::db,
           body_class::none, "a CyberTipline-style package for one case"),
      spec("GET", "/v1/audit", role::compliance, run_on::db, body_class::none, "the audit trail"),
      spec("GET", "/v1/audit/verify", role::compliance, run_on::db, body_class::none,
           "check the audit log's hash chain"),
      spec("GET", "/healthz", std::nullopt, run_on::io, body_class::none, "liveness"),
      spec("GET", "/readyz", std::nullopt, run_on::io, body_class::none,
           "readiness: snapshot loaded and spool writable"),
      spec("GET", "/metrics", std::nullopt, run_on::io, body_class::none, "Prometheus text format"),
      spec("GET", "/v1/openapi.json", std::nullopt, run_on::io, body_class::none,
           "this API's OpenAPI 3 document"),
  };
  return table;
}

void add_design_routes(route_table& table) {
  for (const auto& s : design_routes()) {
    table.add(s, sync_handler([](const request& req, const auth_context&) {
                return response::error(errc::not_implemented,
                                       req.method + " " + req.path + " is not wired on this build");
              }));
  }
}

void add_builtin_routes(route_table& table, builtin_deps deps) {
  auto find_spec = [](std::string_view pattern) {
    for (const auto& s : design_routes()) {
      if (s.method == "GET" && s.pattern == pattern) return s;
    }
    return route_spec{"GET", std::string(pattern), std::nullopt, run_on::io, body_class::none, ""};
  };
  table.add(find_spec("/healthz"), sync_handler([](const request&, const auth_context&) {
              return response::json(200, R"({"status":"ok"})");
            }));
  table.add(find_spec("/readyz"), sync_handler([ready = deps.ready, retry = deps.retry_after_s](
                                                   const request&, const auth_context&) {
              readiness r;
              if (ready) r = ready();
              if (!r.ready) {
                return response::error(errc::not_ready, r.reason.empty() ? "not ready" : r.reason,
                                       retry);
              }
              return response::json(200, R"({"status":"ready"})");
            }));
  table.add(find_spec("/metrics"),
            sync_handler([stats = deps.stats](const request&, const auth_context&) {
              return response::text(200, stats != nullptr ? stats->render() : std::string{},
                                    "text/plain; version=0.0.4; charset=utf-8");
            }));
  table.add(find_spec("/v1/openapi.json"), sync_handler([](const request&, const auth_context&) {
              return response::json(200, std::string(openapi_document()));
            }));
}

}  // namespace hashguard::api
