#include "hashguard/exchanges/threatexchange_wire.hpp"

#include "entry_rules.hpp"
#include "json_fields.hpp"

#include <boost/json.hpp>

namespace hashguard::exchanges::threatexchange {
namespace {

constexpr std::string_view fields =
    "id,indicator,type,last_updated,should_delete,"
    "descriptors{id,reactions,owner{id},tags,status}";

std::string signal_of(std::string_view type) {
  if (type == "HASH_PDQ") return "pdq";
  if (type == "HASH_MD5" || type == "HASH_VIDEO_MD5" || type == "HASH_PHOTO_MD5") return "md5";
  if (type == "HASH_SHA1") return "sha1";
  if (type == "HASH_SHA256" || type == "HASH_VIDEO_SHA256") return "sha256";
  std::string s = detail::ascii_lower(type);
  if (s.starts_with("hash_") && s.size() > 5) s.erase(0, 5);
  return s;
}

// Tags come as ["a", "b"] or as {"data": [{"text": "a"}, ...]}.
void read_tags(const boost::json::value* tags, std::vector<std::string>& out) {
  if (tags == nullptr) return;
  const boost::json::array* list = tags->if_array();
  if (list == nullptr && tags->is_object()) {
    if (const auto* data = tags->as_object().if_contains("data")) list = data->if_array();
  }
  if (list == nullptr) return;
  for (const auto& t : *list) {
    if (t.is_string()) {
      detail::add_tag(out, std::string_view(t.as_string()));
    } else if (t.is_object()) {
      if (const auto text = detail::json_string(t.as_object(), "text")) detail::add_tag(out, *text);
    }
  }
}

// One update; false refuses the page.
bool read_update(const boost::json::value& v, updates_answer& a) {
  if (!v.is_object()) return false;
  const auto& o = v.as_object();
  const auto id = detail::json_id(o.if_contains("id"));
  const auto type = detail::json_string(o, "type");
  if (!id || !detail::valid_source_id(*id) || !type || type->empty()) return false;
  source_entry e;
  e.source_id = *id;
  e.signal = signal_of(*type);
  const boost::json::array* descriptors = nullptr;
  if (const auto* d = o.if_contains("descriptors"); d != nullptr && d->is_object()) {
    if (const auto* data = d->as_object().if_contains("data")) descriptors = data->if_array();
  }
  // An update without descriptors is a tombstone too (python-threatexchange issue 834).
  e.deleted = detail::json_bool(o, "should_delete").value_or(false) || descriptors == nullptr ||
              descriptors->empty();
  const auto updated = detail::json_int(o, "last_updated");
  if (updated && (*updated < 0 || *updated >= 253402300800)) return false;
  if (updated) {
    e.updated_at = detail::iso_utc(*updated);
    a.max_last_updated = std::max(a.max_last_updated, *updated);
  }
  const auto indicator = detail::json_string(o, "indicator");
  if (!e.deleted) {
    if (!indicator || !updated) return false;
    auto value = detail::normalise_value(e.signal, *indicator);
    if (!value) return false;
    e.value = std::move(*value);
    bool positive = false;
    bool negative = false;
    bool disagreed = false;
    for (const auto& d : *descriptors) {
      if (!d.is_object()) continue;
      const auto& dobj = d.as_object();
      const auto status = detail::json_string(dobj, "status").value_or("");
      positive = positive || status == "MALICIOUS";
      negative = negative || status == "NON_MALICIOUS";
      read_tags(dobj.if_contains("tags"), e.tags);
      if (const auto* r = dobj.if_contains("reactions"); r != nullptr && r->is_array()) {
        for (const auto& reaction : r->as_array()) {
          if (reaction.is_object() &&
              detail::json_string(reaction.as_object(), "key").value_or("") ==
                  "DISAGREE_WITH_TAGS") {
            disagreed = true;
          }
        }
      }
    }
    e.opinion = positive && (negative || disagreed) ? "disputed"
                : positive                          ? "positive"
                : negative                          ? "negative"
                                                    : "";
  } else if (indicator) {
    // A tombstone's value is informative only: kept when it is valid, never a reason to refuse.
    if (auto value = detail::normalise_value(e.signal, *indicator)) e.value = std::move(*value);
  }
  a.entries.push_back(std::move(e));
  return true;
}

}  // namespace

outbound::request updates_request(std::string_view base_url, std::string_view access_token,
                                  std::string_view privacy_group, std::int64_t start_time,
                                  std::string_view after, int page_size, std::string_view types) {
  outbound::request r;
  r.method = "GET";
  r.url = std::string(base_url) + "/" + detail::query_escape(privacy_group) +
          "/threat_updates/?access_token=" + detail::query_escape(access_token) +
          "&limit=" + std::to_string(page_size) + "&fields=" + detail::query_escape(fields);
  if (start_time > 0) r.url += "&start_time=" + std::to_string(start_time);
  if (!types.empty()) r.url += "&types=" + detail::query_escape(types);
  if (!after.empty()) r.url += "&after=" + detail::query_escape(after);
  r.headers.push_back({"Accept", "application/json"});
  return r;
}

core::result<updates_answer> parse_updates(std::string_view json) {
  const auto o = detail::json_object_of(json);
  if (!o) return errc::bad_page;
  const auto* data = o->if_contains("data");
  if (data == nullptr || !data->is_array()) return errc::bad_page;
  updates_answer a;
  for (const auto& u : data->as_array()) {
    if (!read_update(u, a)) return errc::bad_page;
  }
  if (const auto* paging = o->if_contains("paging"); paging != nullptr && paging->is_object()) {
    const auto& p = paging->as_object();
    if (p.if_contains("next") != nullptr && !p.at("next").is_null()) {
      const auto* cursors = p.if_contains("cursors");
      if (cursors == nullptr || !cursors->is_object()) return errc::bad_page;
      const auto after = detail::json_string(cursors->as_object(), "after");
      if (!after || after->empty() || after->size() > 2048) return errc::bad_page;
      a.after = *after;
    }
  }
  return a;
}

bool is_token_error(int status, std::string_view body) {
  if (status == 401 || status == 403) return true;
  if (status != 400) return false;
  const auto o = detail::json_object_of(body);
  if (!o) return false;
  const auto* err = o->if_contains("error");
  if (err == nullptr || !err->is_object()) return false;
  return detail::json_string(err->as_object(), "type").value_or("") == "OAuthException" ||
         detail::json_int(err->as_object(), "code").value_or(0) == 190;
}

std::string encode_checkpoint(const checkpoint& c) {
  boost::json::object o;
  o["v"] = 1;
  o["start"] = c.start;
  o["high"] = c.high;
  o["fetched_at"] = c.fetched_at;
  if (!c.after.empty()) o["after"] = c.after;
  return boost::json::serialize(o);
}

core::result<checkpoint> decode_checkpoint(std::string_view text) {
  checkpoint c;
  if (text.empty()) return c;
  const auto o = detail::json_object_of(text);
  if (!o) return errc::bad_config;
  const auto start = detail::json_int(*o, "start");
  const auto high = detail::json_int(*o, "high");
  const auto at = detail::json_int(*o, "fetched_at");
  if (!start || !high || !at || *start < 0 || *high < 0 || *at < 0) return errc::bad_config;
  c.start = *start;
  c.high = *high;
  c.fetched_at = *at;
  c.after = detail::json_string(*o, "after").value_or("");
  return c;
}

}  // namespace hashguard::exchanges::threatexchange
