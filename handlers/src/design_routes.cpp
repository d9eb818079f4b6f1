// The design table and the one registration (routes.hpp).
#include "hashguard/handlers/routes.hpp"

#include "area.hpp"

#include "hashguard/api/errors.hpp"

#include <set>
#include <utility>

namespace hashguard::handlers {
namespace {

using api::body_class;
using api::run_on;
using core::role;

api::route_spec spec(std::string method, std::string pattern, std::optional<role> r, run_on where,
                     body_class body, std::string summary) {
  return api::route_spec{std::move(method), std::move(pattern), r, where, body, std::move(summary)};
}

class handlers_category_impl final : public core::named_category {
 public:
  const char* name() const noexcept override { return "hashguard.handlers"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::unrouted_handler: return "a handler has no row in the design table";
      case errc::unhandled_route: return "a row of the design table has no handler";
    }
    return "unknown handlers error";
  }
  const char* code_name(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::unrouted_handler: return "unrouted_handler";
      case errc::unhandled_route: return "unhandled_route";
    }
    return "unknown";
  }
};

}  // namespace

const core::named_category& handlers_category() noexcept {
  static const handlers_category_impl instance;
  return instance;
}

const std::vector<api::route_spec>& design_routes() {
  // DESIGN.md section 5, one row per (method, path). Routes that decode and hash run on the
  // scan pool (videos on their own small video pool, each in a sandboxed decoder process);
  // everything that may touch PostgreSQL runs on the database pool; /v1/match
  // (hashes given as hex: one lookup in the in-memory snapshot, about 0.1 ms at 10M hashes,
  // less than two thread hops would cost) and /v1/index run on the I/O thread.
  static const std::vector<api::route_spec> table{
      spec("POST", "/v1/scan", role::ingest, run_on::scan, body_class::image,
           "scan an image: verdict, action, hits, hashes, event id"),
      spec("POST", "/v1/scan/video", role::ingest, run_on::video, body_class::video,
           "scan a video in a sandboxed decoder: verdict, action, hits (file digests, frame PDQ "
           "against image lists), event id"),
      spec("POST", "/v1/hash", role::ingest, run_on::scan, body_class::image,
           "hash an image, no matching, no event"),
      spec("POST", "/v1/match", role::ingest, run_on::io, body_class::json,
           "match hashes given as hex"),
      spec("GET", "/v1/decisions", role::ingest, run_on::db, body_class::none,
           "confirmed and dismissed content since a cursor"),
      spec("GET", "/v1/lists", role::admin, run_on::db, body_class::none, "list hash lists"),
      spec("POST", "/v1/lists", role::admin, run_on::db, body_class::json, "create a hash list"),
      spec("PATCH", "/v1/lists/{id}", role::admin, run_on::db, body_class::json,
           "enable/disable a list, set its threshold, review band or action"),
      spec("DELETE", "/v1/lists/{id}", role::admin, run_on::db, body_class::none,
           "retire a hash list"),
      spec("POST", "/v1/lists/{id}/hashes", role::admin, run_on::db, body_class::import,
           "import hashes with a line-level report"),
      spec("GET", "/v1/lists/{id}/export", role::admin, run_on::db, body_class::none,
           "export a hash list"),
      spec("POST", "/v1/lists/{id}/entries/{entry}/disable", role::admin, run_on::db,
           body_class::json, "disable one list entry for good (audited, with a reason)"),
      spec("POST", "/v1/lists/{id}/entries/{entry}/quarantine", role::admin, run_on::db,
           body_class::json, "quarantine one list entry: it acts as review at most (audited)"),
      spec("POST", "/v1/lists/{id}/entries/{entry}/restore", role::admin, run_on::db,
           body_class::json, "restore a quarantined list entry (audited)"),
      spec("GET", "/v1/lists/{id}/changes", role::exchange, run_on::db, body_class::none,
           "a list's entries added, retired or deleted since a cursor, with provenance (another "
           "hashguard following it; keys scoped to named lists)"),
      spec("GET", "/v1/exchanges", role::admin, run_on::db, body_class::none,
           "every exchange: state, last success, last error, entries, lag, failures"),
      spec("GET", "/v1/exchanges/{name}", role::admin, run_on::db, body_class::none,
           "one exchange's state and fed lists"),
      spec("POST", "/v1/exchanges/{name}/sync", role::admin, run_on::db, body_class::none,
           "sync an exchange now on this node (audited)"),
      spec("GET", "/v1/floods", role::admin, run_on::db, body_class::none,
           "list entries flood detection flagged"),
      spec("GET", "/v1/keys", role::admin, run_on::db, body_class::none,
           "list API keys (never their secrets)"),
      spec("POST", "/v1/keys", role::admin, run_on::db, body_class::json,
           "create an API key with a role and capabilities (the secret is shown once)"),
      spec("DELETE", "/v1/keys/{id}", role::admin, run_on::db, body_class::none,
           "revoke an API key"),
      spec("GET", "/v1/index", role::admin, run_on::io, body_class::none,
           "snapshot version, sizes, kernel, build time"),
      spec("GET", "/v1/cases", role::reviewer, run_on::db, body_class::none,
           "the review queue, with filters and paging"),
      spec("GET", "/v1/cases/{id}", role::reviewer, run_on::db, body_class::none, "one case"),
      spec("POST", "/v1/cases/{id}/decision", role::reviewer, run_on::db, body_class::json,
           "decide a case: confirmed, false_positive, escalated"),
      spec("POST", "/v1/cases/{id}/reopen", role::reviewer, run_on::db, body_class::json,
           "ask to reopen a decided case (audited; enough requests reopen it)"),
      spec("POST", "/v1/cases/{id}/ruling", role::admin, run_on::db, body_class::json,
           "decide a disputed case: confirmed or false_positive"),
      spec("POST", "/v1/cases/{id}/files/{content}/reveal", role::reviewer, run_on::db,
           body_class::json,
           "reveal preserved evidence (audited): the original (marks the file viewed) or a "
           "blurred preview"),
      spec("POST", "/v1/cases/{id}/report", role::compliance, run_on::db, body_class::json,
           "record a CyberTipline submission (starts the preservation clock)"),
      spec("POST", "/v1/cases/{id}/cybertipline", role::compliance, run_on::db, body_class::json,
           "queue the case's CyberTipline filing job (202 with the job)"),
      spec("GET", "/v1/cases/{id}/cybertipline", role::compliance, run_on::db, body_class::none,
           "the case's filing job: state, step, errors, retries and every ISPWS exchange"),
      spec("GET", "/v1/cases/{id}/cybertipline/preview", role::compliance, run_on::db,
           body_class::none, "the <report> (or a <fileDetails>) a filing would send (audited)"),
      spec("GET", "/v1/cybertipline/queue", role::compliance, run_on::db, body_class::none,
           "confirmed csam cases not yet reported, oldest confirmation first"),
      spec("POST", "/v1/reporting/check", role::admin, run_on::db, body_class::none,
           "check the ISPWS credentials now (GET /status)"),
      spec("GET", "/v1/exports/cases", role::compliance, run_on::db, body_class::none,
           "cases for a date range as CSV or JSON, streamed"),
      spec("GET", "/v1/exports/events", role::compliance, run_on::db, body_class::none,
           "events for a date range as CSV or JSON, streamed"),
      spec("GET", "/v1/exports/aggregate", role::compliance, run_on::db, body_class::none,
           "counts per period and list"),
      spec("GET", "/v1/exports/cases/{id}/cybertipline", role::compliance, run_on::db,
           body_class::none, "a CyberTipline-style package for one case"),
      spec("GET", "/v1/cases/{id}/compliance", role::compliance, run_on::db, body_class::none,
           "one case read-only for compliance: uploaders, holds, destruction requests (audited)"),
      spec("POST", "/v1/cases/{id}/hold", role::compliance, run_on::db, body_class::json,
           "set a case's legal hold with a reason and an optional end (audited)"),
      spec("POST", "/v1/cases/{id}/hold/lift", role::compliance, run_on::db, body_class::json,
           "lift a case's legal hold with a reason (never the report hold; audited)"),
      spec("POST", "/v1/cases/{id}/destruction", role::compliance, run_on::db, body_class::json,
           "record a law-enforcement request to destroy a case's evidence (18 U.S.C. 2258B(c))"),
      spec("POST", "/v1/cases/{id}/destruction/approve", role::admin, run_on::db, body_class::json,
           "approve a pending destruction request with another key: destroys the evidence"),
      spec("GET", "/v1/exports/audit", role::compliance, run_on::db, body_class::none,
           "the audit rows a filter selects as CSV or JSON, streamed"),
      spec("GET", "/v1/audit", role::compliance, run_on::db, body_class::none,
           "the audit trail, filtered by actor, action, case and dates"),
      spec("GET", "/v1/audit/verify", role::compliance, run_on::db, body_class::none,
           "check the audit log's hash chain"),
      spec("GET", "/healthz", std::nullopt, run_on::io, body_class::none, "liveness"),
      spec("GET", "/readyz", std::nullopt, run_on::io, body_class::none,
           "readiness: snapshot loaded and spool writable"),
      spec("GET", "/metrics", std::nullopt, run_on::io, body_class::none, "Prometheus text format"),
      spec("GET", "/v1/openapi.json", std::nullopt, run_on::io, body_class::none,
           "this API's OpenAPI 3 document"),
      spec("GET", "/ui", std::nullopt, run_on::io, body_class::none, "redirect to /ui/"),
      spec("GET", "/ui/", std::nullopt, run_on::io, body_class::none, "the web UI"),
      spec("GET", "/ui/{file}", std::nullopt, run_on::io, body_class::none, "a file of the web UI"),
  };
  return table;
}

const api::route_spec* design_row(std::string_view method, std::string_view pattern) noexcept {
  for (const auto& s : design_routes()) {
    if (s.method == method && s.pattern == pattern) return &s;
  }
  return nullptr;
}

core::result<void> register_routes(api::route_table& table, const services& deps,
                                   std::string* problem) {
  detail::handler_list all;
  for (auto* area : {detail::ingest_handlers, detail::list_handlers, detail::list_change_handlers,
                     detail::exchange_handlers, detail::key_handlers,
                     detail::decision_feed_handlers, detail::case_handlers,
                     detail::evidence_handlers, detail::compliance_handlers, detail::hold_handlers,
                     detail::filing_handlers, detail::builtin_handlers, detail::ui_handlers}) {
    for (auto& h : area(deps)) all.push_back(std::move(h));
  }
  std::set<std::pair<std::string_view, std::string_view>> served;
  for (auto& h : all) {
    const api::route_spec* row = design_row(h.method, h.pattern);
    if (row == nullptr) {
      if (problem) *problem = std::string(h.method) + " " + std::string(h.pattern);
      return core::error_code(errc::unrouted_handler);
    }
    served.emplace(row->method, row->pattern);
    table.add(*row, std::move(h.handler));
  }
  for (const auto& row : design_routes()) {
    if (!served.contains({row.method, row.pattern})) {
      if (problem) *problem = row.method + " " + row.pattern;
      return core::error_code(errc::unhandled_route);
    }
  }
  return {};
}

void add_builtin_routes(api::route_table& table, builtin_deps b) {
  services deps;
  deps.stats = b.stats;
  deps.ready = std::move(b.ready);
  deps.retry_after_s = b.retry_after_s;
  deps.ui_dir = std::move(b.ui_dir);
  for (auto* area : {detail::builtin_handlers, detail::ui_handlers}) {
    for (auto& h : area(deps)) table.add(*design_row(h.method, h.pattern), std::move(h.handler));
  }
}

void add_placeholder_routes(api::route_table& table) {
  for (const auto& s : design_routes()) {
    table.add(s, api::sync_handler([](const api::request& req, const api::auth_context&) {
                return api::response::error(
                    api::errc::not_implemented,
                    req.method + " " + req.path + " is not wired on this build");
              }));
  }
}

}  // namespace hashguard::handlers
