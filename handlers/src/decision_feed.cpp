// GET /v1/decisions?since=&limit= (role ingest): the cache layer's feed of confirmed and
// dismissed content (hashdb/decision_feed.hpp).
#include "area.hpp"

#include "hashguard/api/json_io.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/hashdb/decision_feed.hpp"
#include "hashguard/hashdb/errc.hpp"

#include <boost/json.hpp>

namespace hashguard::handlers::detail {
namespace {

namespace json = boost::json;

json::value hex_or_null(const std::string& hex) {
  return hex.empty() ? json::value(nullptr) : json::value(hex);
}

// GET /v1/decisions?since=&limit= (role ingest): the cache layer's feed (decision_feed.hpp).
api::response get_decisions(hashdb::connection& conn, const api::request& req,
                            const api::auth_context&) {
  auto limit = api::int_query(req, "limit", 100, 1, 1000);
  if (!limit) return malformed("limit must be 1..1000");
  const std::string since = req.query_param("since").value_or("");
  hashdb::decision_feed feed(conn);
  auto page = feed.since(since, static_cast<std::size_t>(*limit));
  if (!page) {
    if (page.error() == hashdb::errc::invalid_argument) {
      return malformed("since must be empty or the `next` of an earlier answer");
    }
    return api::response::error(page.error());
  }
  json::array items;
  for (const auto& d : page->items) {
    // Confirmed content blocks; reopened content matches again (under review); only dismissed
    // content is no_match.
    const bool matches = d.decision != "dismissed";
    items.push_back(json::object{
        {"case_id", d.case_id ? json::value(*d.case_id) : json::value(nullptr)},
        {"decision", d.decision},
        {"verdict", core::to_string(matches ? core::verdict::match : core::verdict::no_match)},
        {"action", core::to_string(d.act)},
        {"sha256", hex_or_null(d.sha256)},
        {"md5", hex_or_null(d.md5)},
        {"sha1", hex_or_null(d.sha1)},
        {"pdq", hex_or_null(d.pdq)},
        {"phash", hex_or_null(d.phash)},
        {"decided_at", d.decided_at}});
  }
  json::object out{{"items", std::move(items)}, {"next", page->next}, {"more", page->more}};
  return api::json_response(200, out);
}

}  // namespace

handler_list decision_feed_handlers(const services& deps) {
  return {{"GET", "/v1/decisions", db_route(deps, get_decisions)}};
}

}  // namespace hashguard::handlers::detail
