#include "threatexchange_fake.hpp"

#include "hashguard/core/parse.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <tuple>

namespace hg_fakes {
namespace {

constexpr std::int64_t delete_retention_seconds = std::int64_t{90} * 24 * 3600;

boost::json::object update_json(const te_update& u) {
  boost::json::object o;
  o["id"] = u.id;
  o["indicator"] = u.indicator;
  o["type"] = u.type;
  o["last_updated"] = u.last_updated;
  o["should_delete"] = u.should_delete;
  if (!u.should_delete) {
    boost::json::array tags;
    for (const auto& t : u.tags) tags.emplace_back(t);
    boost::json::object d{{"id", "d" + u.id},
                          {"owner", boost::json::object{{"id", "1000"}}},
                          {"status", u.status},
                          {"tags", tags},
                          {"reactions", boost::json::array{}}};
    o["descriptors"] = boost::json::object{{"data", boost::json::array{d}}};
  }
  return o;
}

hg_test::fake_response oauth_error() {
  return answer(400,
                R"({"error":{"message":"Error validating access token: Session has expired.",)"
                R"("type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"x"}})");
}

}  // namespace

threatexchange_fake::threatexchange_fake(std::string access_token, std::string privacy_group)
    : token_(std::move(access_token)), group_(std::move(privacy_group)) {}

void threatexchange_fake::upsert(std::vector<te_update> updates) {
  std::lock_guard lock(mu_);
  for (auto& u : updates) {
    auto it = std::find_if(updates_.begin(), updates_.end(),
                           [&](const te_update& x) { return x.id == u.id; });
    if (it != updates_.end()) {
      *it = std::move(u);
    } else {
      updates_.push_back(std::move(u));
    }
  }
}

void threatexchange_fake::remove(const std::string& id, std::int64_t last_updated) {
  std::lock_guard lock(mu_);
  for (auto& u : updates_) {
    if (u.id == id) {
      u.should_delete = true;
      u.last_updated = last_updated;
    }
  }
}

void threatexchange_fake::generate(std::uint64_t count, std::int64_t first_timestamp,
                                   std::int64_t step) {
  std::lock_guard lock(mu_);
  generated_ = count;
  generated_first_ = first_timestamp;
  generated_step_ = std::max<std::int64_t>(step, 1);
}

te_update threatexchange_fake::generated(std::uint64_t i, std::int64_t first_timestamp,
                                         std::int64_t step) {
  te_update u;
  u.id = "9" + std::to_string(i);
  u.indicator = generated_hex(i, 64);
  u.last_updated = first_timestamp + static_cast<std::int64_t>(i) * std::max<std::int64_t>(step, 1);
  return u;
}

void threatexchange_fake::set_knobs(const knobs& k) {
  std::lock_guard lock(mu_);
  knobs_ = k;
}

std::vector<std::int64_t> threatexchange_fake::start_times() const {
  std::lock_guard lock(mu_);
  return start_times_;
}

hg_test::fake_response threatexchange_fake::handle(const hg_test::fake_request& r) {
  std::lock_guard lock(mu_);
  const auto delay = knobs_.delay;
  auto out = [&]() -> hg_test::fake_response {
    if (auto failure = injected_failure(knobs_)) return *failure;
    const std::string path(path_of(r.target));
    if (r.method != "GET" || path != "/v21.0/" + group_ + "/threat_updates/") {
      return answer(
          404,
          R"({"error":{"message":"Unsupported get request.","type":"GraphMethodException","code":100}})");
    }
    if (query_param(r.target, "access_token").value_or("") != token_ ||
        credentials_expired(knobs_)) {
      return oauth_error();
    }
    return updates(r);
  }();
  out.delay = delay;
  return out;
}

hg_test::fake_response threatexchange_fake::updates(const hg_test::fake_request& r) {
  std::int64_t start = 0;
  if (const auto s = query_param(r.target, "start_time")) {
    const auto n = hashguard::core::parse_int<std::int64_t>(*s, 0);
    if (!n)
      return answer(
          400, R"({"error":{"message":"start_time","type":"GraphMethodException","code":100}})");
    start = *n;
    start_times_.push_back(start);
  } else {
    start_times_.push_back(-1);
  }
  std::int64_t offset = 0;
  if (const auto a = query_param(r.target, "after")) {
    const auto n = hashguard::core::parse_int<std::int64_t>(
        std::string_view(*a).substr(a->empty() ? 0 : 1), 0);
    if (a->empty() || (*a)[0] != 'C' || !n) {
      return answer(
          400, R"({"error":{"message":"bad cursor","type":"GraphMethodException","code":100}})");
    }
    offset = *n;
  }
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<const te_update*> run;
  for (const auto& u : updates_) {
    if (u.last_updated < start) continue;
    if (u.should_delete && u.last_updated < now - delete_retention_seconds) continue;
    run.push_back(&u);
  }
  std::sort(run.begin(), run.end(), [](const te_update* a, const te_update* b) {
    return std::tie(a->last_updated, a->id) < std::tie(b->last_updated, b->id);
  });
  std::uint64_t lo = 0;
  if (start > generated_first_) {
    lo = std::min(generated_,
                  static_cast<std::uint64_t>((start - generated_first_ + generated_step_ - 1) /
                                             generated_step_));
  }
  const auto total = static_cast<std::int64_t>(run.size() + (generated_ - lo));
  const std::int64_t end = std::min(total, offset + knobs_.page_size);
  boost::json::array data;
  for (std::int64_t k = offset; k < end; ++k) {
    const auto uk = static_cast<std::size_t>(k);
    data.push_back(uk < run.size() ? update_json(*run[uk])
                                   : update_json(generated(lo + (uk - run.size()), generated_first_,
                                                           generated_step_)));
  }
  boost::json::object o;
  o["data"] = std::move(data);
  boost::json::object paging{
      {"cursors", boost::json::object{{"before", "C" + std::to_string(offset)},
                                      {"after", "C" + std::to_string(end)}}}};
  if (end < total) {
    paging["next"] = "http://127.0.0.1/v21.0/" + group_ +
                     "/threat_updates/?access_token=" + token_ +
                     "&start_time=" + std::to_string(start) + "&after=C" + std::to_string(end);
  }
  o["paging"] = std::move(paging);
  std::string body = boost::json::serialize(o);
  if (take_malformed(knobs_)) body.resize(body.size() / 2);
  return answer(200, std::move(body));
}

}  // namespace hg_fakes
