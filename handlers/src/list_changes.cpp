// GET /v1/lists/{id}/changes?since=CURSOR&limit=N (role exchange): a list's change feed for
// another hashguard that follows it (hashdb/list_changes.hpp has the ordering guarantee).
//
// A key of role exchange names the lists it may read; any other list, and a list that does not
// exist, answer the same 404 (a scoped key learns nothing about lists outside its scope). A
// list fed by an exchange whose reshare is off answers 403 forbidden, naming that exchange.
// Pages are not audited one by one: a follower reads every interval, and the key's creation
// (audited) is what granted the access.
#include "area.hpp"

#include "hashguard/api/errors.hpp"
#include "hashguard/api/json_io.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/hashdb/errc.hpp"
#include "hashguard/hashdb/list_changes.hpp"
#include "hashguard/hashdb/lists.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

constexpr std::size_t default_limit = 1000;
constexpr std::size_t max_limit = 10000;

json::object change_json(const hashdb::list_change& c) {
  json::array tags;
  for (const auto& t : c.tags) tags.emplace_back(t);
  json::object o{{"entry", c.entry},
                 {"value", c.value},
                 {"retired", c.retired},
                 {"deleted", c.deleted},
                 {"external_id", c.external_id},
                 {"added_at", c.added_at}};
  if (!c.exchange.empty()) {
    o["provenance"] = json::object{{"exchange", c.exchange},     {"source_id", c.source_id},
                                   {"tags", std::move(tags)},    {"opinion", c.opinion},
                                   {"first_seen", c.first_seen}, {"last_seen", c.last_seen}};
  } else {
    o["provenance"] = nullptr;
  }
  return o;
}

api::response get_changes(const services&, hashdb::connection& conn, const api::request& req,
                          const api::auth_context& who) {
  const auto not_here = [] {
    return api::response::error(api::errc::not_found, "no such list for this key");
  };
  // The {id} segment: a numeric id or a name; the key's scope holds names.
  std::string name(req.param("id"));
  if (const auto id = core::parse_int<std::int64_t>(name, 1)) {
    hashdb::list_store lists(conn);
    auto l = lists.get(*id);
    if (!l) {
      return l.error() == hashdb::errc::not_found ? not_here() : api::response::error(l.error());
    }
    name = l->name;
  }
  if (std::find(who.lists.begin(), who.lists.end(), name) == who.lists.end()) return not_here();

  hashdb::change_cursor since;
  if (auto s = req.query_param("since")) {
    auto parsed = hashdb::parse_change_cursor(*s);
    if (!parsed)
      return malformed("since must be 0 or a cursor XID.ID a previous page gave as next");
    since = *parsed;
  }
  std::size_t limit = default_limit;
  if (auto l = req.query_param("limit")) {
    auto parsed = core::parse_int<std::size_t>(*l, 1, max_limit);
    if (!parsed) return malformed("limit must be an integer in 1..10000");
    limit = *parsed;
  }
  auto page = hashdb::read_list_changes(conn, name, since, limit);
  if (!page) {
    return page.error() == hashdb::errc::not_found ? not_here()
                                                   : api::response::error(page.error());
  }
  if (!page->withheld_by.empty()) {
    return api::response::error(api::errc::forbidden, "list " + name + " is fed by exchange " +
                                                          page->withheld_by +
                                                          ", whose reshare setting is off");
  }
  json::array changes;
  for (const auto& c : page->changes) changes.push_back(change_json(c));
  const auto& l = page->list;
  return api::json_response(200,
                            json::object{{"list", json::object{{"id", l.id},
                                                               {"name", l.name},
                                                               {"signal", core::to_string(l.sig)},
                                                               {"version", l.version},
                                                               {"enabled", l.enabled},
                                                               {"retired", l.retired}}},
                                         {"changes", std::move(changes)},
                                         {"next", hashdb::to_string(page->next)},
                                         {"more", page->more}});
}

}  // namespace

handler_list list_change_handlers(const services& deps) {
  return {{"GET", "/v1/lists/{id}/changes", db_route(deps, get_changes)}};
}

}  // namespace hashguard::handlers::detail
