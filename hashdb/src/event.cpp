#include "hashguard/hashdb/event.hpp"

#include "crypto.hpp"
#include "hashguard/core/parse.hpp"
#include "hashguard/core/text.hpp"

#include <boost/json.hpp>

#include <chrono>

namespace hashguard::hashdb {
namespace json = boost::json;
namespace {

bool hex_of_length(std::string_view s, std::size_t n) {
  if (s.empty()) return true;
  if (s.size() != n) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool uuid_form(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string get_string(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

template <class Enum>
Enum get_enum(const json::object& o, std::string_view key,
              std::optional<Enum> (*parse)(std::string_view), bool& ok) {
  auto v = parse(get_string(o, key));
  if (!v) {
    ok = false;
    return Enum{};
  }
  return *v;
}

std::optional<core::dihedral> parse_dihedral(std::string_view t) {
  return core::parse_name<core::dihedral>(t, core::dihedral_names);
}
std::optional<core::signal> parse_sig(std::string_view t) {
  return core::parse_signal(t);
}
std::optional<core::action> parse_act(std::string_view t) {
  return core::parse_action(t);
}

}  // namespace

std::string new_uuid() {
  std::uint8_t b[16]{};
  detail::random_bytes(b, sizeof b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(digits[b[i] >> 4]);
    out.push_back(digits[b[i] & 15]);
  }
  return out;
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::result<void> validate(const match_event& e) {
  if (!uuid_form(e.id) || e.zone.empty() || e.zone.size() > 255 || e.hits.empty() ||
      e.request_id.size() > 255 || !hex_of_length(e.md5, 32) || !hex_of_length(e.sha1, 40) ||
      !hex_of_length(e.sha256, 64) || !hex_of_length(e.pdq, 64) || !hex_of_length(e.phash, 16) ||
      (e.pdq_quality && (*e.pdq_quality < 0 || *e.pdq_quality > 100))) {
    return errc::invalid_argument;
  }
  const uploader_info& u = e.uploader;
  if (u.account.size() > max_uploader_account_bytes || !core::printable_utf8(u.account) ||
      u.at_us < 0) {
    return errc::invalid_argument;
  }
  if (!u.ip.empty()) {
    auto canonical = core::parse_ip_address(u.ip);
    if (!canonical || *canonical != u.ip) return errc::invalid_argument;
  }
  return {};
}

std::string to_json(const match_event& e) {
  json::object o;
  o["id"] = e.id;
  o["occurred_us"] = e.occurred_us;
  o["zone"] = e.zone;
  o["source_url"] = e.source_url;
  o["source_url_truncated"] = e.source_url_truncated;
  o["request_id"] = e.request_id;
  o["node"] = e.node;
  o["md5"] = e.md5;
  o["sha1"] = e.sha1;
  o["sha256"] = e.sha256;
  o["pdq"] = e.pdq;
  if (e.pdq_quality) {
    o["pdq_quality"] = *e.pdq_quality;
  } else {
    o["pdq_quality"] = nullptr;
  }
  o["phash"] = e.phash;
  o["action"] = std::string(core::to_string(e.act));
  json::array hits;
  for (const event_hit& h : e.hits) {
    json::object j;
    j["list_id"] = h.list_id;
    j["entry_id"] = h.entry_id;
    j["signal"] = std::string(core::to_string(h.sig));
    j["distance"] = h.distance;
    j["threshold"] = h.threshold;
    j["list_version"] = h.list_version;
    j["action"] = std::string(core::to_string(h.act));
    j["variant"] = std::string(core::to_string(h.variant));
    hits.push_back(std::move(j));
  }
  o["hits"] = std::move(hits);
  if (!e.uploader.empty()) {
    o["uploader"] = json::object{
        {"account", e.uploader.account}, {"ip", e.uploader.ip}, {"at_us", e.uploader.at_us}};
  }
  if (e.answered) o["answered"] = true;
  return json::serialize(o);
}

core::result<match_event> event_from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return errc::invalid_argument;
  const json::object& o = v.as_object();
  match_event e;
  bool ok = true;
  try {
    e.id = get_string(o, "id");
    e.occurred_us = json::value_to<std::int64_t>(o.at("occurred_us"));
    e.zone = get_string(o, "zone");
    e.source_url = get_string(o, "source_url");
    // Absent in spool records written before the flag existed: not truncated.
    if (const auto* t = o.if_contains("source_url_truncated"); t != nullptr && t->is_bool()) {
      e.source_url_truncated = t->as_bool();
    }
    if (const auto* a = o.if_contains("answered"); a != nullptr && a->is_bool()) {
      e.answered = a->as_bool();
    }
    // Absent in events without uploader headers (and in spool records from before them).
    if (const auto* u = o.if_contains("uploader"); u != nullptr && u->is_object()) {
      const json::object& uo = u->as_object();
      e.uploader.account = get_string(uo, "account");
      e.uploader.ip = get_string(uo, "ip");
      e.uploader.at_us = json::value_to<std::int64_t>(uo.at("at_us"));
    }
    e.request_id = get_string(o, "request_id");
    e.node = get_string(o, "node");
    e.md5 = get_string(o, "md5");
    e.sha1 = get_string(o, "sha1");
    e.sha256 = get_string(o, "sha256");
    e.pdq = get_string(o, "pdq");
    e.phash = get_string(o, "phash");
    if (const auto* q = o.if_contains("pdq_quality"); q != nullptr && !q->is_null()) {
      e.pdq_quality = json::value_to<int>(*q);
    }
    e.act = get_enum<core::action>(o, "action", parse_act, ok);
    for (const json::value& hv : o.at("hits").as_array()) {
      const json::object& h = hv.as_object();
      event_hit hit;
      hit.list_id = json::value_to<std::int64_t>(h.at("list_id"));
      hit.entry_id = json::value_to<std::int64_t>(h.at("entry_id"));
      hit.sig = get_enum<core::signal>(h, "signal", parse_sig, ok);
      hit.distance = json::value_to<int>(h.at("distance"));
      hit.threshold = json::value_to<int>(h.at("threshold"));
      hit.list_version = json::value_to<std::int64_t>(h.at("list_version"));
      hit.act = get_enum<core::action>(h, "action", parse_act, ok);
      hit.variant = get_enum<core::dihedral>(h, "variant", parse_dihedral, ok);
      e.hits.push_back(hit);
    }
  } catch (const std::exception&) {
    return errc::invalid_argument;
  }
  if (!ok) return errc::invalid_argument;
  return e;
}

}  // namespace hashguard::hashdb
