#include "stopncii_fake.hpp"

#include "hashguard/core/parse.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <tuple>

namespace hg_fakes {
namespace {

boost::json::object record_json(const stopncii_record& r) {
  boost::json::object o;
  o["lastModtimestamp"] = r.timestamp;
  o["signalType"] = r.signal_type;
  o["hashValue"] = r.hash;
  o["hashStatus"] = r.status;
  o["caseNumbers"] = boost::json::object{{"case-" + r.hash.substr(0, 8), r.status}};
  boost::json::array feedbacks;
  for (const auto& csp : r.blocked_by) {
    boost::json::array tags;
    for (const auto& t : r.tags) tags.emplace_back(t);
    feedbacks.push_back(
        boost::json::object{{"feedbackValue", "Blocked"}, {"tags", tags}, {"source", csp}});
  }
  o["CSPFeedbacks"] = std::move(feedbacks);
  return o;
}

}  // namespace

stopncii_fake::stopncii_fake(std::string subscription_key, std::string fetch_key,
                             std::string feedback_key)
    : subscription_key_(std::move(subscription_key)),
      fetch_key_(std::move(fetch_key)),
      feedback_key_(std::move(feedback_key)) {}

void stopncii_fake::upsert(std::vector<stopncii_record> records) {
  std::lock_guard lock(mu_);
  for (auto& r : records) {
    auto it = std::find_if(records_.begin(), records_.end(), [&](const stopncii_record& x) {
      return x.signal_type == r.signal_type && x.hash == r.hash;
    });
    if (it != records_.end()) {
      *it = std::move(r);
    } else {
      records_.push_back(std::move(r));
    }
  }
}

void stopncii_fake::withdraw(const std::string& hash, std::int64_t timestamp) {
  std::lock_guard lock(mu_);
  for (auto& r : records_) {
    if (r.hash == hash) {
      r.status = "Withdrawn";
      r.timestamp = timestamp;
    }
  }
}

void stopncii_fake::generate(std::uint64_t count, std::int64_t first_timestamp, std::int64_t step) {
  std::lock_guard lock(mu_);
  generated_ = count;
  generated_first_ = first_timestamp;
  generated_step_ = std::max<std::int64_t>(step, 1);
}

stopncii_record stopncii_fake::generated(std::uint64_t i, std::int64_t first_timestamp,
                                         std::int64_t step) {
  stopncii_record r;
  r.hash = generated_hex(i, 64);
  r.timestamp = first_timestamp + static_cast<std::int64_t>(i) * std::max<std::int64_t>(step, 1);
  return r;
}

void stopncii_fake::set_knobs(const knobs& k) {
  std::lock_guard lock(mu_);
  knobs_ = k;
}

void stopncii_fake::fail_feedback(int n) {
  std::lock_guard lock(mu_);
  feedback_failures_ = n;
}

std::vector<std::string> stopncii_fake::feedback_bodies() const {
  std::lock_guard lock(mu_);
  return feedback_;
}

hg_test::fake_response stopncii_fake::handle(const hg_test::fake_request& r) {
  std::lock_guard lock(mu_);
  const auto delay = knobs_.delay;
  auto out = [&]() -> hg_test::fake_response {
    if (auto failure = injected_failure(knobs_)) return *failure;
    const std::string path(path_of(r.target));
    const bool fetching = r.method == "GET" && path == "/v1/FetchHashes";
    const bool feeding = r.method == "POST" && path == "/v1/SubmitFeedback";
    if (!fetching && !feeding) return answer(404, R"({"error":"not found"})");
    if (header_of(r, "Ocp-Apim-Subscription-Key") != subscription_key_ ||
        header_of(r, "x-functions-key") != (fetching ? fetch_key_ : feedback_key_) ||
        credentials_expired(knobs_)) {
      return answer(
          401, R"({"statusCode":401,"message":"Access denied due to invalid subscription key."})");
    }
    if (fetching) return fetch(r);
    if (feedback_failures_ > 0) {
      --feedback_failures_;
      return answer(503, R"({"error":"feedback unavailable"})");
    }
    boost::system::error_code ec;
    auto body = boost::json::parse(r.body, ec);
    if (ec || !body.is_object() || !body.as_object().contains("hashFeedbacks")) {
      return answer(400, R"({"error":"bad feedback"})");
    }
    feedback_.push_back(r.body);
    return answer(200, R"({"status":"ok"})");
  }();
  out.delay = delay;
  return out;
}

hg_test::fake_response stopncii_fake::fetch(const hg_test::fake_request& r) {
  const auto start_text = query_param(r.target, "startTimestamp");
  const auto start = start_text ? hashguard::core::parse_int<std::int64_t>(*start_text, 0)
                                : hashguard::core::result<std::int64_t>(0);
  if (!start) return answer(400, R"({"error":"startTimestamp"})");
  std::int64_t offset = 0;
  if (const auto token = query_param(r.target, "nextPageToken")) {
    // The token is "o<offset>@<startTimestamp>": valid only for the run it came from.
    const auto at = token->find('@');
    const auto off = hashguard::core::parse_int<std::int64_t>(
        std::string_view(*token).substr(1, at == std::string::npos ? 0 : at - 1), 0);
    if (token->empty() || (*token)[0] != 'o' || at == std::string::npos || !off ||
        token->substr(at + 1) != std::to_string(*start)) {
      return answer(400, R"({"error":"invalid nextPageToken"})");
    }
    offset = *off;
  }
  std::vector<const stopncii_record*> run;
  for (const auto& rec : records_) {
    if (rec.timestamp > *start) run.push_back(&rec);
  }
  std::sort(run.begin(), run.end(), [](const stopncii_record* a, const stopncii_record* b) {
    return std::tie(a->timestamp, a->hash) < std::tie(b->timestamp, b->hash);
  });
  // Generated records after `start`: indices [lo, generated_), in time order after the seeded.
  std::uint64_t lo = 0;
  if (*start >= generated_first_) {
    lo = std::min(generated_,
                  static_cast<std::uint64_t>((*start - generated_first_) / generated_step_ + 1));
  }
  const auto total = static_cast<std::int64_t>(run.size() + (generated_ - lo));
  std::int64_t next_set = *start;
  for (const auto* rec : run) next_set = std::max(next_set, rec->timestamp);
  if (generated_ > lo) {
    next_set = std::max(
        next_set, generated_first_ + static_cast<std::int64_t>(generated_ - 1) * generated_step_);
  }
  const std::int64_t end = std::min(total, offset + knobs_.page_size);
  boost::json::array records;
  for (std::int64_t k = offset; k < end; ++k) {
    const auto uk = static_cast<std::size_t>(k);
    records.push_back(uk < run.size() ? record_json(*run[uk])
                                      : record_json(generated(lo + (uk - run.size()),
                                                              generated_first_, generated_step_)));
  }
  boost::json::object o;
  o["count"] = end - offset;
  o["nextSetTimestamp"] = next_set;
  o["hasMoreRecords"] = end < total;
  if (end < total) {
    o["nextPageToken"] = "o" + std::to_string(end) + "@" + std::to_string(*start);
  } else {
    o["nextPageToken"] = nullptr;
  }
  o["hashRecords"] = std::move(records);
  std::string body = boost::json::serialize(o);
  if (take_malformed(knobs_)) body.resize(body.size() / 2);
  return answer(200, std::move(body));
}

}  // namespace hg_fakes
