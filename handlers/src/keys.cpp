// The key routes (role admin): GET /v1/keys lists every key (never a secret: only the SHA-256
// is stored), POST /v1/keys makes one and shows its secret once, DELETE /v1/keys/{id} revokes
// one. Each writes an audit row naming the admin key that acted; a grant of a capability
// (match_details) and an exchange key's lists are in the create row's detail. After a change the
// node reloads its keys at once (deps.keys_changed); other nodes within one auth.refresh_ms.
#include "area.hpp"

#include "hashguard/api/errors.hpp"
#include "hashguard/api/json_io.hpp"
#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/keys.hpp"

#include <boost/json.hpp>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

json::array capabilities_json(core::capability_set caps) {
  json::array out;
  for (const auto name : core::names_of(caps)) out.emplace_back(name);
  return out;
}

json::array lists_json(const std::vector<std::string>& lists) {
  json::array out;
  for (const auto& l : lists) out.emplace_back(l);
  return out;
}

json::object key_json(const hashdb::api_key_info& k) {
  return json::object{
      {"id", k.id},
      {"name", k.name},
      {"role", core::to_string(k.role)},
      {"capabilities", capabilities_json(k.capabilities)},
      {"lists", lists_json(k.lists)},
      {"prefix", k.prefix},
      {"created_at", k.created_at},
      {"revoked_at", k.revoked_at ? json::value(*k.revoked_at) : json::value(nullptr)}};
}

/// The audit row of a key action. A change has committed already (key_store runs its own
/// transaction), so a failed row cannot undo it: the caller hears 500, told the change was made.
std::optional<api::response> audit_key(hashdb::connection& conn, const api::auth_context& who,
                                       std::string_view action, std::string_view subject,
                                       const json::object& detail) {
  hashdb::audit_log audit(conn);
  auto a = audit.append(who.key_id, action, subject, json::serialize(detail));
  if (a) return std::nullopt;
  return api::response::error(api::errc::internal, std::string(action) +
                                                       " was made, but its audit row failed: " +
                                                       std::string(a.error().message()));
}

api::response get_keys(const services&, hashdb::connection& conn, const api::request&,
                       const api::auth_context& who) {
  hashdb::key_store keys(conn);
  auto all = keys.list();
  if (!all) return api::response::error(all.error());
  json::array arr;
  for (const auto& k : *all) arr.push_back(key_json(k));
  if (auto failed = audit_key(conn, who, "key.list", "keys", {{"count", all->size()}})) {
    return *failed;
  }
  return api::json_response(200, json::object{{"keys", std::move(arr)}});
}

api::response create_key(const services& deps, hashdb::connection& conn, const api::request& req,
                         const api::auth_context& who) {
  auto body = api::parse_json_object(req);
  if (!body) return api::response::error(body.error());
  const auto* name = body->if_contains("name");
  if (name == nullptr || !name->is_string() || name->as_string().empty() ||
      name->as_string().size() > 128) {
    return malformed("name (a string of 1 to 128 characters) is required");
  }
  const auto* role_v = body->if_contains("role");
  const auto role = role_v != nullptr && role_v->is_string() ? core::parse_role(role_v->as_string())
                                                             : std::nullopt;
  if (!role) return malformed("role must be one of ingest, reviewer, compliance, admin, exchange");
  // Role exchange: the lists (names) whose change feed the key may read; required for it,
  // refused for every other role.
  std::vector<std::string> lists;
  if (const auto* l = body->if_contains("lists")) {
    if (!l->is_array()) return malformed("lists must be an array of list names");
    for (const auto& item : l->as_array()) {
      if (!item.is_string()) return malformed("lists must be an array of list names");
      lists.emplace_back(item.as_string());
    }
  }
  if ((*role == core::role::exchange) != !lists.empty()) {
    return unprocessable("lists (list names) are required for role exchange, and only for it");
  }
  core::capability_set caps;
  if (const auto* c = body->if_contains("capabilities")) {
    if (!c->is_array()) return malformed("capabilities must be an array of names");
    for (const auto& item : c->as_array()) {
      const auto cap = item.is_string() ? core::parse_capability(item.as_string()) : std::nullopt;
      if (!cap) return malformed("unknown capability (known: match_details)");
      caps.add(*cap);
    }
  }
  hashdb::key_store keys(conn);
  auto made = keys.create(std::string_view(name->as_string()), *role, caps, std::move(lists));
  if (!made) return api::response::error(made.error());
  if (deps.keys_changed) deps.keys_changed();
  json::object shown = key_json(made->info);
  if (auto failed =
          audit_key(conn, who, "key.create", "key:" + std::to_string(made->info.id), shown)) {
    return *failed;
  }
  shown["secret"] = made->secret;  // shown once, never stored, never audited
  auto r = api::json_response(201, shown);
  r.headers.push_back({"Location", "/v1/keys/" + std::to_string(made->info.id)});
  return r;
}

api::response revoke_key(const services& deps, hashdb::connection& conn, const api::request& req,
                         const api::auth_context& who) {
  const auto id = id_param(req);
  if (!id) return malformed("the key id must be a positive integer");
  hashdb::key_store keys(conn);
  auto revoked = keys.revoke(*id);
  if (!revoked) return api::response::error(revoked.error());
  if (deps.keys_changed) deps.keys_changed();
  const json::object shown = key_json(*revoked);
  if (auto failed = audit_key(conn, who, "key.revoke", "key:" + std::to_string(*id), shown)) {
    return *failed;
  }
  return api::json_response(200, shown);
}

}  // namespace

handler_list key_handlers(const services& deps) {
  return {{"GET", "/v1/keys", db_route(deps, get_keys)},
          {"POST", "/v1/keys", db_route(deps, create_key)},
          {"DELETE", "/v1/keys/{id}", db_route(deps, revoke_key)}};
}

}  // namespace hashguard::handlers::detail
