#include "hashguard/exchanges/ncmec_wire.hpp"

#include "entry_rules.hpp"
#include "json_fields.hpp"
#include "xml_reader.hpp"

#include "hashguard/core/parse.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <optional>

namespace hashguard::exchanges::ncmec {
namespace {

constexpr environment_info environment_table[] = {
    {"industry", "https://report.cybertip.org/hashsharing"},
    {"industry_exploitative", "https://report.cybertip.org/exploitative-hashsharing"},
    {"law_enforcement", "https://lesp.ncmec.org/csam-hashsharing"},
    {"ngo", "https://hashsharing.ncmec.org/npo"},
    {"exploitative", "https://hashsharing.ncmec.org/exploitative"},
    {"ngo_generative_ai", "https://hashsharing.ncmec.org/generative-ai-csam"},
    {"ngo_generative_ai_exploitative", "https://hashsharing.ncmec.org/generative-ai-exploitative"},
    {"test_industry", "https://exttest.cybertip.org/hashsharing"},
    {"test_industry_exploitative", "https://exttest.cybertip.org/exploitative-hashsharing"},
    {"test_law_enforcement", "https://betalesp.ncmec.org/csam-hashsharing"},
    {"test_ngo", "https://hashsharing-test.ncmec.org/npo"},
    {"test_exploitative", "https://hashsharing-test.ncmec.org/exploitative"},
    {"test_ngo_generative_ai", "https://hashsharing-test.ncmec.org/generative-ai-csam"},
    {"test_ngo_generative_ai_exploitative",
     "https://hashsharing-test.ncmec.org/generative-ai-exploitative"},
};

// The fingerprint element name as a signal: lower case, '-' as '_'.
std::string signal_of(std::string_view element) {
  std::string s = detail::ascii_lower(element);
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

// One <image>, <video>, <deletedImage> or <deletedVideo> while it is read.
struct entry_in_progress {
  bool deleted{false};
  std::string id;
  std::string member;
  std::string timestamp;
  std::string classification;
  std::vector<std::pair<std::string, std::string>> fingerprints;  // signal, text
  std::vector<std::string> disputed;                              // signals voted down
};

std::optional<std::int64_t> query_int(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == key) {
      auto v = core::parse_int<std::int64_t>(pair.substr(eq + 1), 0);
      if (v) return *v;
      return std::nullopt;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

class entries_reader {
 public:
  explicit entries_reader(const parse_options& o) : options_(o) {}

  bool start(const detail::xml_element& e) {
    const std::string_view n = e.name;
    switch (e.depth) {
      case 1: return n == "queryResult";
      case 2:
        section_ = n == "images"   ? section::images
                   : n == "videos" ? section::videos
                   : n == "paging" ? section::paging
                                   : section::other;
        return true;
      case 3:
        if (section_ == section::images || section_ == section::videos) {
          const bool images = section_ == section::images;
          if (n != (images ? "image" : "video") &&
              n != (images ? "deletedImage" : "deletedVideo")) {
            return false;
          }
          current_ = entry_in_progress{};
          current_->deleted = n.starts_with("deleted");
        }
        return true;
      case 4:
        if (current_ && n == "member") current_->member = detail::trim(e.attribute("id"));
        if (current_) in_fingerprints_ = n == "fingerprints", in_feedback_ = n == "feedback";
        return true;
      case 5:
        if (current_ && in_feedback_ && n == "negativeFeedback") {
          current_->disputed.push_back(signal_of(e.attribute("type")));
        }
        return true;
      default: return true;
    }
  }

  bool end(std::string_view n, std::size_t depth, std::string_view text) {
    if (depth == 3 && current_) {
      ++read_entries_;
      const bool ok = finish(*current_);
      current_.reset();
      return ok;
    }
    if (depth == 3 && section_ == section::paging && n == "next") {
      answer_.next = detail::trim(text);
      return answer_.next.empty() || valid_next(answer_.next);
    }
    if (depth == 4 && current_) {
      if (n == "id") current_->id = detail::trim(text);
      if (n == "timestamp") current_->timestamp = detail::trim(text);
      if (n == "classification") current_->classification = detail::trim(text);
      if (n == "fingerprints") in_fingerprints_ = false;
      if (n == "feedback") in_feedback_ = false;
      return true;
    }
    if (depth == 5 && current_ && in_fingerprints_) {
      const auto value = detail::trim(text);
      if (value.empty()) return true;  // given by reference (href) only
      auto sig = signal_of(n);
      for (const auto& [s, v] : current_->fingerprints) {
        if (s == sig) return true;  // the first of a repeated type stands
      }
      current_->fingerprints.emplace_back(std::move(sig), std::string(value));
    }
    return true;
  }

  entries_answer take() {
    answer_.estimated_total = read_entries_;
    if (!answer_.next.empty()) {
      const auto q = std::string_view(answer_.next).substr(answer_.next.find('?') + 1);
      const auto start = query_int(q, "start");
      const auto max = query_int(q, "max");
      if (start && max && *max >= *start) answer_.estimated_total += *max - *start + 1;
    }
    return std::move(answer_);
  }

 private:
  enum class section { other, images, videos, paging };

  bool finish(entry_in_progress& e) {
    const auto member = core::parse_int<std::int64_t>(e.member, 0);
    if (!member || !detail::valid_source_id(e.id)) return false;
    if (!options_.only_member_ids.empty() &&
        std::find(options_.only_member_ids.begin(), options_.only_member_ids.end(), *member) ==
            options_.only_member_ids.end()) {
      return true;
    }
    std::string source_id = std::to_string(*member) + "-" + e.id;
    if (!detail::valid_source_id(source_id)) return false;
    const std::string updated_at = detail::parse_iso_utc(e.timestamp) ? e.timestamp : std::string();
    if (e.deleted) {
      for (const auto type : known_fingerprint_types) {
        source_entry out;
        out.source_id = source_id;
        out.signal = type;
        out.deleted = true;
        out.updated_at = updated_at;
        answer_.entries.push_back(std::move(out));
      }
      return true;
    }
    for (auto& [sig, text] : e.fingerprints) {
      auto value = detail::normalise_value(sig, text);
      if (!value) {
        // A type hashguard matches must be right; another's oddity is stored as text, and
        // one that is not even printable text refuses the page too.
        return false;
      }
      source_entry out;
      out.source_id = source_id;
      out.signal = sig;
      out.value = std::move(*value);
      detail::add_tag(out.tags, e.classification);
      detail::add_tag(out.tags, "ncmec_member:" + std::to_string(*member));
      out.opinion = std::find(e.disputed.begin(), e.disputed.end(), sig) != e.disputed.end()
                        ? "disputed"
                        : "positive";
      out.updated_at = updated_at;
      answer_.entries.push_back(std::move(out));
    }
    return true;
  }

  const parse_options& options_;
  entries_answer answer_;
  section section_{section::other};
  std::optional<entry_in_progress> current_;
  bool in_fingerprints_{false};
  bool in_feedback_{false};
  std::int64_t read_entries_{};
};

std::optional<std::string> feedback_type(std::string_view signal) {
  for (const auto type : known_fingerprint_types) {
    if (type == signal) {
      std::string t(type);
      for (char& c : t) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
      return t;
    }
  }
  return std::nullopt;
}

}  // namespace

std::span<const environment_info> environments() noexcept {
  return environment_table;
}

std::optional<std::string_view> environment_base_url(std::string_view name) noexcept {
  for (const auto& e : environment_table) {
    if (e.name == name) return e.base_url;
  }
  return std::nullopt;
}

bool valid_next(std::string_view next) noexcept {
  if (!next.starts_with("/v2/entries?") || next.size() > 2048) return false;
  return std::all_of(next.begin(), next.end(),
                     [](char c) { return c > ' ' && c < 0x7f && c != '#' && c != '\\'; });
}

core::result<entries_answer> parse_entries(std::string_view xml, const parse_options& options) {
  entries_reader reader(options);
  detail::xml_handler h;
  h.start = [&](const detail::xml_element& e) { return reader.start(e); };
  h.end = [&](std::string_view n, std::size_t d, std::string_view t) {
    return reader.end(n, d, t);
  };
  if (!detail::read_xml(xml, h)) return errc::bad_page;
  return reader.take();
}

std::string entries_url(std::string_view base_url, std::int64_t from, std::int64_t to) {
  // NCMEC documents yyyy-MM-dd'T'HH:mm:ss.SSSZ.
  auto stamp = [](std::int64_t t) {
    std::string s = detail::iso_utc(t);
    s.insert(s.size() - 1, ".000");
    return detail::query_escape(s);
  };
  return std::string(base_url) + "/v2/entries?from=" + stamp(from) + "&to=" + stamp(to);
}

std::string next_url(std::string_view base_url, std::string_view next) {
  return std::string(base_url) + std::string(next);
}

core::result<std::string> feedback_url(std::string_view base_url, std::string_view source_id,
                                       std::string_view signal) {
  const auto dash = source_id.find('-');
  if (dash == std::string_view::npos) return errc::bad_config;
  const auto member = source_id.substr(0, dash);
  const auto id = source_id.substr(dash + 1);
  const auto type = feedback_type(signal);
  if (!core::parse_int<std::int64_t>(member, 0) || id.empty() || !type) return errc::bad_config;
  return std::string(base_url) + "/v2/entries/" + std::string(member) + "/" +
         detail::query_escape(id) + "/" + *type + "/feedback";
}

std::string feedback_body(bool positive, std::string_view reason_guid) {
  std::string body = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                     R"(<feedbackSubmission xmlns="https://hashsharing.ncmec.org/hashsharing/v2">)";
  if (positive) {
    body += "<affirmative/>";
  } else {
    // A guid is hex and dashes; anything else is left out rather than escaped into the XML.
    const bool clean = std::all_of(reason_guid.begin(), reason_guid.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-';
    });
    body += "<negative><reasonIds><guid>";
    if (clean) body += reason_guid;
    body += "</guid></reasonIds></negative>";
  }
  body += "</feedbackSubmission>";
  return body;
}

core::result<std::string> feedback_reasons_url(std::string_view base_url, std::string_view signal) {
  const auto type = feedback_type(signal);
  if (!type) return errc::bad_config;
  return std::string(base_url) + "/v2/feedback/" + *type + "/reasons";
}

core::result<std::vector<feedback_reason>> parse_feedback_reasons(std::string_view xml) {
  std::vector<feedback_reason> out;
  detail::xml_handler h;
  h.start = [&](const detail::xml_element& e) {
    if (e.depth == 1) return e.name == "availableFeedbackReasons";
    if (e.depth == 2 && e.name == "reason") {
      feedback_reason r{std::string(detail::trim(e.attribute("guid"))),
                        std::string(detail::trim(e.attribute("name")))};
      if (r.guid.empty() || r.guid.size() > 64) return false;
      out.push_back(std::move(r));
    }
    return out.size() <= 1000;
  };
  if (!detail::read_xml(xml, h)) return errc::bad_page;
  return out;
}

std::string encode_checkpoint(const checkpoint& c) {
  boost::json::object o;
  o["v"] = 1;
  o["from"] = c.from;
  o["to"] = c.to;
  o["span"] = c.span;
  if (!c.next.empty()) {
    o["next"] = c.next;
    o["next_at"] = c.next_at;
  }
  return boost::json::serialize(o);
}

core::result<checkpoint> decode_checkpoint(std::string_view text) {
  checkpoint c;
  if (text.empty()) return c;
  const auto o = detail::json_object_of(text);
  if (!o) return errc::bad_config;
  const auto from = detail::json_int(*o, "from");
  const auto to = detail::json_int(*o, "to");
  const auto span = detail::json_int(*o, "span");
  if (!from || !to || !span || *from < 0 || *to < 0 || *span < 0) return errc::bad_config;
  c.from = *from;
  c.to = *to;
  c.span = *span;
  if (const auto next = detail::json_string(*o, "next")) {
    if (!valid_next(*next) || c.to == 0) return errc::bad_config;
    c.next = *next;
    c.next_at = detail::json_int(*o, "next_at").value_or(0);
  }
  return c;
}

}  // namespace hashguard::exchanges::ncmec
