// A fake StopNCII.org API server for the tests and benchmarks: GET /v1/FetchHashes (records
// changed after startTimestamp, in (lastModtimestamp, hash) order, paged by nextPageToken, with
// nextSetTimestamp the latest lastModtimestamp of the run) and POST /v1/SubmitFeedback, each
// checking Ocp-Apim-Subscription-Key and its own x-functions-key (401 otherwise). Knobs:
// fake_common.hpp. Thread-safety: as ncmec_fake.
#pragma once

#include "fake_common.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace hg_fakes {

struct stopncii_record {
  std::string signal_type{"ImagePDQ"};  ///< ImagePDQ, VideoMD5, ...
  std::string hash;
  std::int64_t timestamp{};             ///< lastModtimestamp
  std::string status{"Active"};         ///< Active, Received, Withdrawn, Deleted
  std::vector<std::string> blocked_by;  ///< CSPs whose feedback is Blocked
  std::vector<std::string> tags;
};

class stopncii_fake {
 public:
  stopncii_fake(std::string subscription_key, std::string fetch_key, std::string feedback_key);

  /// Adds or replaces (same signal type and hash) records.
  void upsert(std::vector<stopncii_record> records);
  /// Marks a record Withdrawn at `timestamp`.
  void withdraw(const std::string& hash, std::int64_t timestamp);
  /// Serves `count` generated ImagePDQ records, timestamps first + i * step (no memory each).
  void generate(std::uint64_t count, std::int64_t first_timestamp, std::int64_t step);
  [[nodiscard]] static stopncii_record generated(std::uint64_t i, std::int64_t first_timestamp,
                                                 std::int64_t step);

  void set_knobs(const knobs& k);
  /// The SubmitFeedback bodies received (accepted ones only).
  [[nodiscard]] std::vector<std::string> feedback_bodies() const;
  /// The next `n` SubmitFeedback calls answer 503 (and are not recorded): the feedback failure
  /// knob, apart from the knobs' bursts, which hit every call.
  void fail_feedback(int n);

  [[nodiscard]] hg_test::fake_response handle(const hg_test::fake_request& r);

 private:
  hg_test::fake_response fetch(const hg_test::fake_request& r);
  std::string subscription_key_;
  std::string fetch_key_;
  std::string feedback_key_;
  mutable std::mutex mu_;
  std::vector<stopncii_record> records_;
  std::uint64_t generated_{};
  std::int64_t generated_first_{};
  std::int64_t generated_step_{1};
  knobs knobs_;
  std::vector<std::string> feedback_;
  int feedback_failures_{};
};

}  // namespace hg_fakes
