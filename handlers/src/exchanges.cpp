// The admin exchange routes: GET /v1/exchanges (every registered exchange), GET
// /v1/exchanges/{name} (one, with its fed lists) and POST /v1/exchanges/{name}/sync (a sync
// now on this node, audited before it starts).
//
// State comes from the database (hashdb::exchange_store), so every node answers the same
// whichever node synced: state (syncing / failing / ok / never), last success, last error,
// entries, consecutive failures, and lag (seconds since the last caught-up sync; null when
// there was none). Only a node that runs the exchange (its exchanges file names it) can sync
// it now (409 conflict otherwise); the audit row names the admin key.
#include "area.hpp"

#include "hashguard/api/errors.hpp"
#include "hashguard/api/json_io.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/errc.hpp"
#include "hashguard/hashdb/exchange_store.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

// What the admin page shows first: a sync holds the lease, the last batch failed, it caught
// up, or it never completed one.
std::string_view state_of(const hashdb::exchange_state& x) {
  if (!x.lease_holder.empty()) return "syncing";
  if (!x.last_error.empty()) return "failing";
  if (!x.last_success_at.empty()) return "ok";
  return "never";
}

json::value lag_of(const hashdb::exchange_state& x) {
  const auto at = core::parse_utc_time_us(x.last_success_at);
  if (!at) return nullptr;
  const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return std::max<std::int64_t>(0, (now_us - *at) / 1000000);
}

json::value text_or_null(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

json::object exchange_json(const hashdb::exchange_state& x) {
  json::array lists;
  for (const auto& l : x.lists) {
    lists.push_back(
        json::object{{"signal", core::to_string(l.sig)}, {"id", l.list_id}, {"name", l.list}});
  }
  return json::object{{"name", x.name},
                      {"kind", x.kind},
                      {"harm_type", core::to_string(x.harm)},
                      {"state", state_of(x)},
                      {"reshare", x.reshare},
                      {"feedback", x.feedback},
                      {"last_success_at", text_or_null(x.last_success_at)},
                      {"last_failure_at", text_or_null(x.last_failure_at)},
                      {"last_page_at", text_or_null(x.last_page_at)},
                      {"last_error", text_or_null(x.last_error)},
                      {"entries", x.entries},
                      {"added", x.added},
                      {"updated", x.updated},
                      {"deleted", x.deleted},
                      {"pages", x.pages},
                      {"failures", x.consecutive_failures},
                      {"lag_s", lag_of(x)},
                      {"syncing_node", text_or_null(x.lease_holder)},
                      {"lists", std::move(lists)}};
}

api::response get_exchanges(const services&, hashdb::connection& conn, const api::request&,
                            const api::auth_context&) {
  auto all = hashdb::exchange_store(conn).list();
  if (!all) return api::response::error(all.error());
  json::array out;
  for (const auto& x : *all) out.push_back(exchange_json(x));
  return api::json_response(200, json::object{{"exchanges", std::move(out)}});
}

api::response get_exchange(const services&, hashdb::connection& conn, const api::request& req,
                           const api::auth_context&) {
  const std::string name(req.param("name"));
  auto x = hashdb::exchange_store(conn).get(name);
  if (!x) {
    if (x.error() == hashdb::errc::not_found) {
      return api::response::error(api::errc::not_found, "no exchange named " + name);
    }
    return api::response::error(x.error());
  }
  return api::json_response(200, exchange_json(*x));
}

api::response sync_exchange(const services& deps, hashdb::connection& conn, const api::request& req,
                            const api::auth_context& who) {
  const std::string name(req.param("name"));
  auto x = hashdb::exchange_store(conn).get(name);
  if (!x) {
    if (x.error() == hashdb::errc::not_found) {
      return api::response::error(api::errc::not_found, "no exchange named " + name);
    }
    return api::response::error(x.error());
  }
  if (!deps.sync_exchange) {
    return api::response::error("conflict", "this node runs no exchange (exchanges.file)");
  }
  if (!deps.sync_exchange(name)) {
    return api::response::error("conflict",
                                "this node does not run exchange " + name + " (exchanges.file)");
  }
  // As the key routes do: the sync has started, so a failed audit row cannot undo it; the
  // caller hears 500, told it was started.
  hashdb::audit_log audit(conn);
  auto a = audit.append(who.key_id, "exchange.sync", "exchange:" + name,
                        json::serialize(json::object{{"kind", x->kind}}));
  if (!a) {
    return api::response::error(
        api::errc::internal,
        "the sync was started, but its audit row failed: " + std::string(a.error().message()));
  }
  return api::json_response(202,
                            json::object{{"exchange", exchange_json(*x)}, {"sync", "started"}});
}

}  // namespace

handler_list exchange_handlers(const services& deps) {
  return {{"GET", "/v1/exchanges", db_route(deps, get_exchanges)},
          {"GET", "/v1/exchanges/{name}", db_route(deps, get_exchange)},
          {"POST", "/v1/exchanges/{name}/sync", db_route(deps, sync_exchange)}};
}

}  // namespace hashguard::handlers::detail
