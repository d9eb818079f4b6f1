#include "hashguard/exchanges/stopncii_wire.hpp"

#include "entry_rules.hpp"
#include "json_fields.hpp"

#include <boost/json.hpp>

namespace hashguard::exchanges::stopncii {
namespace {

std::string signal_of(std::string_view type) {
  if (type == "ImagePDQ") return "pdq";
  if (type == "VideoMD5") return "md5";
  return detail::ascii_lower(type);
}

// One hashRecord; false refuses the page.
bool read_record(const boost::json::value& v, std::vector<source_entry>& out) {
  if (!v.is_object()) return false;
  const auto& o = v.as_object();
  const auto type = detail::json_string(o, "signalType");
  const auto hash = detail::json_string(o, "hashValue");
  if (!type || !hash || type->empty()) return false;
  source_entry e;
  e.signal = signal_of(*type);
  auto value = detail::normalise_value(e.signal, *hash);
  if (!value || !detail::valid_source_id(*value)) return false;
  e.source_id = *value;
  e.value = std::move(*value);
  const auto status = detail::json_string(o, "hashStatus").value_or("");
  e.deleted = status == "Withdrawn" || status == "Deleted";
  if (const auto ts = detail::json_int(o, "lastModtimestamp");
      ts && *ts >= 0 && *ts < 253402300800) {
    e.updated_at = detail::iso_utc(*ts);
  }
  bool blocked = false;
  bool not_blocked = false;
  if (const auto* fb = o.if_contains("CSPFeedbacks"); fb != nullptr && fb->is_array()) {
    for (const auto& f : fb->as_array()) {
      if (!f.is_object()) continue;
      const auto& fo = f.as_object();
      const auto value_of = detail::json_string(fo, "feedbackValue").value_or("");
      blocked = blocked || value_of == "Blocked";
      not_blocked = not_blocked || value_of == "NotBlocked";
      if (const auto* tags = fo.if_contains("tags"); tags != nullptr && tags->is_array()) {
        for (const auto& t : tags->as_array()) {
          if (t.is_string()) detail::add_tag(e.tags, std::string_view(t.as_string()));
        }
      }
    }
  }
  e.opinion = blocked && not_blocked ? "disputed"
              : blocked              ? "positive"
              : not_blocked          ? "negative"
                                     : "";
  out.push_back(std::move(e));
  return true;
}

}  // namespace

outbound::request fetch_request(std::string_view base_url, const keys& k,
                                std::int64_t start_timestamp, int page_size,
                                std::string_view page_token) {
  outbound::request r;
  r.method = "GET";
  r.url = std::string(base_url) + "/FetchHashes?startTimestamp=" + std::to_string(start_timestamp) +
          "&pageSize=" + std::to_string(page_size);
  if (!page_token.empty()) r.url += "&nextPageToken=" + detail::query_escape(page_token);
  r.headers.push_back({"Ocp-Apim-Subscription-Key", k.subscription_key});
  r.headers.push_back({"x-functions-key", k.fetch_function_key});
  r.headers.push_back({"Accept", "application/json"});
  return r;
}

core::result<fetch_answer> parse_fetch_answer(std::string_view json) {
  const auto o = detail::json_object_of(json);
  if (!o) return errc::bad_page;
  fetch_answer a;
  const auto next_set = detail::json_int(*o, "nextSetTimestamp");
  if (!next_set || *next_set < 0) return errc::bad_page;
  a.next_set_timestamp = *next_set;
  a.has_more = detail::json_bool(*o, "hasMoreRecords").value_or(false);
  a.next_page_token = detail::json_string(*o, "nextPageToken").value_or("");
  if (a.next_page_token.size() > 2048) return errc::bad_page;
  if (a.has_more && a.next_page_token.empty()) return errc::bad_page;
  if (const auto* records = o->if_contains("hashRecords");
      records != nullptr && !records->is_null()) {
    if (!records->is_array()) return errc::bad_page;
    for (const auto& r : records->as_array()) {
      if (!read_record(r, a.entries)) return errc::bad_page;
    }
  }
  return a;
}

core::result<outbound::request> feedback_request(std::string_view base_url, const keys& k,
                                                 const feedback& f) {
  if (k.feedback_function_key.empty()) return errc::unsupported;
  boost::json::object item;
  item["hashValue"] = f.value;
  item["feedbackValue"] = f.positive ? "Blocked" : "NotBlocked";
  boost::json::array tags;
  if (!f.tag.empty()) tags.emplace_back(f.tag);
  item["tags"] = std::move(tags);
  boost::json::object body;
  body["count"] = 1;
  body["hashFeedbacks"] = boost::json::array{std::move(item)};
  outbound::request r;
  r.method = "POST";
  r.url = std::string(base_url) + "/SubmitFeedback";
  r.headers.push_back({"Ocp-Apim-Subscription-Key", k.subscription_key});
  r.headers.push_back({"x-functions-key", k.feedback_function_key});
  r.content_type = "application/json";
  r.body = boost::json::serialize(body);
  return r;
}

std::string encode_checkpoint(const checkpoint& c) {
  boost::json::object o;
  o["v"] = 1;
  o["start"] = c.start;
  if (!c.token.empty()) {
    o["token"] = c.token;
    o["token_at"] = c.token_at;
  }
  return boost::json::serialize(o);
}

core::result<checkpoint> decode_checkpoint(std::string_view text) {
  checkpoint c;
  if (text.empty()) return c;
  const auto o = detail::json_object_of(text);
  if (!o) return errc::bad_config;
  const auto start = detail::json_int(*o, "start");
  if (!start || *start < 0) return errc::bad_config;
  c.start = *start;
  c.token = detail::json_string(*o, "token").value_or("");
  c.token_at = detail::json_int(*o, "token_at").value_or(0);
  return c;
}

}  // namespace hashguard::exchanges::stopncii
