#include "hashguard/exchanges/peer_wire.hpp"

#include "entry_rules.hpp"
#include "json_fields.hpp"

#include <boost/json.hpp>

namespace hashguard::exchanges::peer {
namespace {

// One change; false refuses the page.
bool read_change(const boost::json::value& v, const std::string& signal,
                 std::vector<source_entry>& out) {
  if (!v.is_object()) return false;
  const auto& o = v.as_object();
  const auto entry = detail::json_int(o, "entry");
  const auto value = detail::json_string(o, "value");
  if (!entry || *entry < 1 || !value) return false;
  source_entry e;
  e.signal = signal;
  e.source_id = std::to_string(*entry);
  auto normal = detail::normalise_value(signal, *value);
  if (!normal) return false;
  e.value = std::move(*normal);
  e.deleted = detail::json_bool(o, "retired").value_or(false) ||
              detail::json_bool(o, "deleted").value_or(false);
  e.updated_at = detail::json_string(o, "added_at").value_or("");
  if (const auto* p = o.if_contains("provenance"); p != nullptr && p->is_object()) {
    const auto& po = p->as_object();
    if (const auto* tags = po.if_contains("tags"); tags != nullptr && tags->is_array()) {
      for (const auto& t : tags->as_array()) {
        if (t.is_string()) detail::add_tag(e.tags, std::string_view(t.as_string()));
      }
    }
    const auto opinion = detail::json_string(po, "opinion").value_or("");
    if (opinion == "positive" || opinion == "negative" || opinion == "disputed") {
      e.opinion = opinion;
    }
  }
  out.push_back(std::move(e));
  return true;
}

}  // namespace

outbound::request changes_request(std::string_view base_url, std::string_view list,
                                  std::string_view key, std::string_view cursor, int limit) {
  outbound::request r;
  r.method = "GET";
  r.url = std::string(base_url) + "/v1/lists/" + detail::query_escape(list) +
          "/changes?since=" + detail::query_escape(cursor.empty() ? "0" : cursor) +
          "&limit=" + std::to_string(limit);
  r.headers.push_back({"Authorization", "Bearer " + std::string(key)});
  r.headers.push_back({"Accept", "application/json"});
  return r;
}

core::result<page> parse_changes(std::string_view body) {
  const auto o = detail::json_object_of(body);
  if (!o) return errc::bad_page;
  const auto* list = o->if_contains("list");
  const auto* changes = o->if_contains("changes");
  const auto next = detail::json_string(*o, "next");
  const auto more = detail::json_bool(*o, "more");
  if (list == nullptr || !list->is_object() || changes == nullptr || !changes->is_array() ||
      !next || next->empty() || next->size() > 4096 || !more) {
    return errc::bad_page;
  }
  const auto signal = detail::json_string(list->as_object(), "signal");
  // The peer serves lists of its own signals; anything else is not a hashguard answer.
  if (!signal || !detail::is_hashguard_signal(*signal)) return errc::bad_page;
  page p;
  p.entries.reserve(changes->as_array().size());
  for (const auto& c : changes->as_array()) {
    if (!read_change(c, *signal, p.entries)) return errc::bad_page;
  }
  p.checkpoint = *next;
  p.more = *more;
  return p;
}

std::string error_message(std::string_view body) {
  const auto o = detail::json_object_of(body);
  if (!o) return {};
  const auto* e = o->if_contains("error");
  if (e == nullptr || !e->is_object()) return {};
  auto m = detail::json_string(e->as_object(), "message").value_or("");
  if (m.size() > 500) m.resize(500);
  return m;
}

}  // namespace hashguard::exchanges::peer
