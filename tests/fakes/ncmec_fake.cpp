#include "ncmec_fake.hpp"

#include "hashguard/core/parse.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

namespace hg_fakes {
namespace {

std::string iso(std::int64_t s) {
  const std::chrono::sys_seconds tp{std::chrono::seconds(s)};
  const auto day = std::chrono::floor<std::chrono::days>(tp);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{tp - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string escape_query(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == ':') {
      out += "%3A";
    } else {
      out += c;
    }
  }
  return out;
}

void write_entry(std::string& xml, const ncmec_entry& e) {
  const char* tag =
      e.video ? (e.deleted ? "deletedVideo" : "video") : (e.deleted ? "deletedImage" : "image");
  xml += "<";
  xml += tag;
  xml += "><member id=\"" + std::to_string(e.member) + "\">Member " + std::to_string(e.member) +
         "</member><timestamp>" + iso(e.timestamp) + "</timestamp><id>" + e.id + "</id>";
  if (!e.deleted) {
    if (!e.classification.empty())
      xml += "<classification>" + e.classification + "</classification>";
    xml += "<fingerprints>";
    for (const auto& [type, text] : e.fingerprints)
      xml += "<" + type + ">" + text + "</" + type + ">";
    xml += "</fingerprints>";
    if (!e.disputed.empty()) {
      xml += "<feedback>";
      for (const auto& t : e.disputed) {
        xml +=
            "<negativeFeedback type=\"" + t +
            "\"><reasons><reason guid=\"01234567-abcd-0123-4567-012345678900\" name=\"Not "
            "CSAM\" type=\"" +
            t +
            "\"/><members><member id=\"9\">Other</member></members></reasons></negativeFeedback>";
      }
      xml += "</feedback>";
    }
  }
  xml += "</";
  xml += tag;
  xml += ">";
}

std::optional<std::int64_t> time_param(const std::string& target, const char* name) {
  const auto v = query_param(target, name);
  if (!v) return std::nullopt;
  const auto us = hashguard::core::parse_utc_time_us(*v);
  if (!us) return std::nullopt;
  return *us / 1000000;
}

std::optional<std::int64_t> int_param(const std::string& target, const char* name) {
  const auto v = query_param(target, name);
  if (!v) return std::nullopt;
  const auto n = hashguard::core::parse_int<std::int64_t>(*v, 0);
  if (!n) return std::nullopt;
  return *n;
}

}  // namespace

ncmec_fake::ncmec_fake(std::string user, std::string password)
    : auth_(basic_auth(user, password)) {}

void ncmec_fake::upsert(std::vector<ncmec_entry> entries) {
  std::lock_guard lock(mu_);
  for (auto& e : entries) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const ncmec_entry& x) {
      return x.member == e.member && x.id == e.id;
    });
    if (it != entries_.end()) {
      *it = std::move(e);
    } else {
      entries_.push_back(std::move(e));
    }
  }
}

void ncmec_fake::remove(std::int64_t member, const std::string& id, std::int64_t timestamp) {
  ncmec_entry e;
  e.member = member;
  e.id = id;
  e.timestamp = timestamp;
  e.deleted = true;
  upsert({e});
}

void ncmec_fake::generate(std::uint64_t count, std::int64_t first_timestamp, std::int64_t step) {
  std::lock_guard lock(mu_);
  generated_ = count;
  generated_first_ = first_timestamp;
  generated_step_ = std::max<std::int64_t>(step, 1);
}

ncmec_entry ncmec_fake::generated(std::uint64_t i, std::int64_t first_timestamp,
                                  std::int64_t step) {
  ncmec_entry e;
  e.member = 1;
  e.id = "g" + std::to_string(i);
  e.timestamp = first_timestamp + static_cast<std::int64_t>(i) * std::max<std::int64_t>(step, 1);
  e.fingerprints = {{"pdq", generated_hex(i, 64)}, {"md5", generated_hex(i + (1ULL << 40U), 32)}};
  return e;
}

void ncmec_fake::set_generated_md5(bool on) {
  std::lock_guard lock(mu_);
  generated_md5_ = on;
}

void ncmec_fake::set_knobs(const knobs& k) {
  std::lock_guard lock(mu_);
  knobs_ = k;
}

void ncmec_fake::fail_feedback(int n) {
  std::lock_guard lock(mu_);
  feedback_failures_ = n;
}

std::vector<ncmec_vote> ncmec_fake::votes() const {
  std::lock_guard lock(mu_);
  return votes_;
}

int ncmec_fake::entries_requests() const {
  std::lock_guard lock(mu_);
  return entries_requests_;
}

hg_test::fake_response ncmec_fake::handle(const hg_test::fake_request& r) {
  std::lock_guard lock(mu_);
  const auto delay = knobs_.delay;
  auto out = [&]() -> hg_test::fake_response {
    if (auto failure = injected_failure(knobs_)) return *failure;
    if (header_of(r, "Authorization") != auth_ || credentials_expired(knobs_)) {
      auto a = answer(401, "", "text/plain");
      a.headers.emplace_back("WWW-Authenticate", "Basic realm=\"hashsharing\"");
      return a;
    }
    const std::string path(path_of(r.target));
    if (r.method == "GET" && path == "/v2/entries") return entries(r);
    if (r.method == "GET" && path.starts_with("/v2/feedback/") && path.ends_with("/reasons")) {
      const auto type = path.substr(13, path.size() - 13 - 8);
      return answer(
          200,
          R"(<?xml version="1.0" encoding="UTF-8"?><availableFeedbackReasons xmlns="https://hashsharing.ncmec.org/hashsharing/v2">)"
          R"(<reason guid="01234567-abcd-0123-4567-012345678900" name="Not CSAM" type=")" +
              type + R"("/></availableFeedbackReasons>)",
          "application/xml");
    }
    if (r.method == "PUT" && path.starts_with("/v2/entries/") && path.ends_with("/feedback")) {
      // /v2/entries/MEMBER/ID/TYPE/feedback
      std::vector<std::string> parts;
      std::string_view rest = std::string_view(path).substr(12);
      while (!rest.empty()) {
        const auto slash = rest.find('/');
        parts.emplace_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
      }
      if (parts.size() != 4) return answer(404, "", "text/plain");
      if (feedback_failures_ > 0) {
        --feedback_failures_;
        return answer(503, "", "text/plain");
      }
      votes_.push_back({parts[0], parts[1], parts[2], r.body});
      return answer(
          200,
          R"(<?xml version="1.0" encoding="UTF-8"?><submissionResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2"/>)",
          "application/xml");
    }
    if (r.method == "GET" && path == "/v2/status") {
      return answer(
          200,
          R"(<status xmlns="https://hashsharing.ncmec.org/hashsharing/v2"><ipAddress>127.0.0.1</ipAddress>)"
          R"(<username>test</username><member id="1">Test Member</member></status>)",
          "application/xml");
    }
    return answer(404, "", "text/plain");
  }();
  out.delay = delay;
  return out;
}

hg_test::fake_response ncmec_fake::entries(const hg_test::fake_request& r) {
  ++entries_requests_;
  const auto from = time_param(r.target, "from");
  const auto to = time_param(r.target, "to");
  if (!from || !to || *to < *from) return answer(400, "", "text/plain");
  const auto size = int_param(r.target, "size").value_or(knobs_.page_size);
  const auto start = int_param(r.target, "start").value_or(1);
  if (size <= 0 || start <= 0) return answer(400, "", "text/plain");

  // The window's seeded entries in a stable order that is not time order (by a hash of the
  // id), then the generated ones newest first.
  std::vector<const ncmec_entry*> seeded;
  for (const auto& e : entries_) {
    if (e.timestamp >= *from && e.timestamp < *to) seeded.push_back(&e);
  }
  std::sort(seeded.begin(), seeded.end(), [](const ncmec_entry* a, const ncmec_entry* b) {
    const auto ha = std::hash<std::string>{}(a->id) ^ static_cast<std::size_t>(a->member);
    const auto hb = std::hash<std::string>{}(b->id) ^ static_cast<std::size_t>(b->member);
    return ha != hb ? ha < hb : a->id < b->id;
  });
  // Generated entry i has timestamp first + i*step: those in [from, to) are a range [lo, hi).
  auto index_at = [&](std::int64_t t) -> std::uint64_t {
    if (t <= generated_first_) return 0;
    const auto i =
        static_cast<std::uint64_t>((t - generated_first_ + generated_step_ - 1) / generated_step_);
    return std::min(i, generated_);
  };
  const std::uint64_t lo = index_at(*from);
  const std::uint64_t hi = index_at(*to);
  const auto total = static_cast<std::int64_t>(seeded.size() + (hi - lo));

  std::string xml =
      R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?><queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">)";
  std::string images;
  std::string videos;
  const std::int64_t first = start - 1;
  const std::int64_t last = std::min(total, first + size);
  for (std::int64_t k = first; k < last; ++k) {
    const auto uk = static_cast<std::size_t>(k);
    if (uk < seeded.size()) {
      write_entry(seeded[uk]->video ? videos : images, *seeded[uk]);
    } else {
      const auto i = hi - 1 - (static_cast<std::uint64_t>(uk - seeded.size()));
      auto e = generated(i, generated_first_, generated_step_);
      if (!generated_md5_) e.fingerprints.resize(1);  // the PDQ only
      write_entry(images, e);
    }
  }
  xml += "<images count=\"" + std::to_string(last - first) + "\">" + images + "</images>";
  xml += "<videos>" + videos + "</videos>";
  if (last < total) {
    xml += "<paging><next>/v2/entries?from=" + escape_query(iso(*from).insert(19, ".000")) +
           "&amp;to=" + escape_query(iso(*to).insert(19, ".000")) +
           "&amp;start=" + std::to_string(last + 1) + "&amp;size=" + std::to_string(size) +
           "&amp;max=" + std::to_string(total) + "</next></paging>";
  }
  xml += "</queryResult>";
  if (take_malformed(knobs_)) xml.resize(xml.size() / 2);
  return answer(200, std::move(xml), "application/xml");
}

}  // namespace hg_fakes
