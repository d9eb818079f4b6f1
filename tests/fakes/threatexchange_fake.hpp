// A fake Meta ThreatExchange Graph API for the tests and benchmarks: GET
// /v21.0/GROUP/threat_updates/ (updates with last_updated >= start_time in (last_updated, id)
// order, paged by an `after` cursor, a paging.next link that carries the access token as the
// real one does; deletion records older than 90 days are no longer served). A wrong or expired
// access token answers 400 OAuthException code 190, as the Graph API does. Knobs:
// fake_common.hpp. Thread-safety: as ncmec_fake.
#pragma once

#include "fake_common.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace hg_fakes {

struct te_update {
  std::string id;
  std::string indicator;
  std::string type{"HASH_PDQ"};
  std::int64_t last_updated{};
  bool should_delete{false};
  std::string status{"MALICIOUS"};
  std::vector<std::string> tags;
};

class threatexchange_fake {
 public:
  threatexchange_fake(std::string access_token, std::string privacy_group);

  /// Adds or replaces (same id) updates.
  void upsert(std::vector<te_update> updates);
  /// Turns the indicator into a deletion record at `last_updated`.
  void remove(const std::string& id, std::int64_t last_updated);
  /// Serves `count` generated HASH_PDQ updates, last_updated first + i * step.
  void generate(std::uint64_t count, std::int64_t first_timestamp, std::int64_t step);
  [[nodiscard]] static te_update generated(std::uint64_t i, std::int64_t first_timestamp,
                                           std::int64_t step);

  void set_knobs(const knobs& k);
  /// The start_time of every threat_updates request, in order (-1 when absent).
  [[nodiscard]] std::vector<std::int64_t> start_times() const;

  [[nodiscard]] hg_test::fake_response handle(const hg_test::fake_request& r);

 private:
  hg_test::fake_response updates(const hg_test::fake_request& r);
  std::string token_;
  std::string group_;
  mutable std::mutex mu_;
  std::vector<te_update> updates_;
  std::uint64_t generated_{};
  std::int64_t generated_first_{};
  std::int64_t generated_step_{1};
  knobs knobs_;
  std::vector<std::int64_t> start_times_;
};

}  // namespace hg_fakes
