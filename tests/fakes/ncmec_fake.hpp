// A fake NCMEC Hash Sharing API v2 server for the tests and benchmarks: the documented XML
// shapes (queryResult with images/videos, deleted entries, paging/next with start, size and
// max), Basic auth, feedback votes and their reasons. A window [from, to) holds the entries
// whose timestamp lies in it, served NOT in time order (as NCMEC does), paged by position
// in a stable order so any next link resumes. Knobs: fake_common.hpp.
//
// Thread-safety: handle() runs on the server's thread; every other member may be called from
// the test's thread (one mutex).
#pragma once

#include "fake_common.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hg_fakes {

struct ncmec_entry {
  std::int64_t member{1};
  std::string id;
  std::int64_t timestamp{};  ///< seconds since the epoch
  bool video{false};
  bool deleted{false};
  std::string classification{"A1"};
  std::vector<std::pair<std::string, std::string>> fingerprints;  ///< element name, text
  std::vector<std::string> disputed;  ///< fingerprint types voted down (negativeFeedback)
};

struct ncmec_vote {
  std::string member;
  std::string id;
  std::string type;  ///< "PDQ", "MD5", ...
  std::string body;  ///< the feedbackSubmission XML as received
};

class ncmec_fake {
 public:
  ncmec_fake(std::string user, std::string password);

  /// Adds or replaces (same member and id) entries.
  void upsert(std::vector<ncmec_entry> entries);
  /// Replaces the entry by a deletion record at `timestamp`.
  void remove(std::int64_t member, const std::string& id, std::int64_t timestamp);
  /// Serves `count` more entries, generated: member 1, id "g<i>", image, one PDQ (and MD5)
  /// each, timestamps first_timestamp + i * step. Costs no memory per entry.
  void generate(std::uint64_t count, std::int64_t first_timestamp, std::int64_t step);
  /// What generated entry `i` holds (for tests comparing a sync with the source).
  [[nodiscard]] static ncmec_entry generated(std::uint64_t i, std::int64_t first_timestamp,
                                             std::int64_t step);
  /// Whether generated entries carry their MD5 beside the PDQ (default true); false serves
  /// PDQ-only entries (the exchange benchmark's 1M PDQ entries, nothing unmatched beside them).
  void set_generated_md5(bool on);

  void set_knobs(const knobs& k);
  [[nodiscard]] std::vector<ncmec_vote> votes() const;
  /// The next `n` feedback votes (PUT .../feedback) answer 503 and are not recorded: the
  /// feedback failure knob, apart from the knobs' bursts, which hit every call.
  void fail_feedback(int n);
  [[nodiscard]] int entries_requests() const;

  /// The protocol: GET /v2/entries, GET /v2/feedback/TYPE/reasons, PUT .../feedback, GET
  /// /v2/status; 401 without the right Basic credentials.
  [[nodiscard]] hg_test::fake_response handle(const hg_test::fake_request& r);

 private:
  hg_test::fake_response entries(const hg_test::fake_request& r);
  std::string auth_;
  mutable std::mutex mu_;
  std::vector<ncmec_entry> entries_;
  std::uint64_t generated_{};
  std::int64_t generated_first_{};
  std::int64_t generated_step_{1};
  bool generated_md5_{true};
  knobs knobs_;
  int feedback_failures_{};
  std::vector<ncmec_vote> votes_;
  int entries_requests_{};
};

}  // namespace hg_fakes
