// The decisions feed for the cache layer (DESIGN.md section 3: GET /v1/decisions?since=):
// content that reviewers confirmed (block it) or dismissed and suppressed (answer no_match),
// in the order the decisions committed.
//
// Rows are written by the database itself (migration 4's triggers): when a case becomes
// confirmed, one `confirmed` item per file of the case (action block); when a case is dismissed
// as a false positive with suppression, one `dismissed` item per content that joined the
// suppression list (action none); when such a dismissal is reopened for review (cases.hpp),
// one `reopened` item per content whose suppression ended (action review: match it again). A
// content can appear more than once (confirmed, later dismissed): the latest item for it wins.
//
// Cursor: an opaque string. "" starts from the beginning; each page's `next` resumes after its
// last item (or equals the cursor given when there was nothing new). Monotonic: feed writers
// are serialised until they commit, so an item that commits later always sorts after every
// item a reader has already seen, and polling with `next` never skips or repeats one.
// Hashes are lowercase hex, "" when unknown (a content seen only through POST /v1/match);
// decided_at is ISO 8601 UTC with microseconds.
// A decision_feed borrows a connection (one per thread). Errors: errc::invalid_argument for a
// malformed cursor or a limit outside 1..1000; errc::unavailable and errc::query_failed as
// everywhere in hashdb.
#pragma once

#include "hashguard/core/vocabulary.hpp"
#include "hashguard/hashdb/database.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct content_decision {
  std::optional<std::int64_t> case_id;   ///< the case decided (nullopt: none recorded)
  std::string decision;                  ///< "confirmed", "dismissed" or "reopened"
  core::action act{core::action::none};  ///< block, none (dismissed) or review (reopened)
  std::string md5, sha1, sha256, pdq, phash;
  std::string decided_at;
};

struct decision_page {
  std::vector<content_decision> items;  ///< oldest first
  std::string next;                     ///< the cursor to pass next time
  bool more{false};                     ///< more items wait past this page
};

class decision_feed {
 public:
  explicit decision_feed(connection& c) noexcept : conn_(c) {}

  /// Items after `cursor`, at most `limit` (1..1000).
  [[nodiscard]] core::result<decision_page> since(std::string_view cursor, std::size_t limit);

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
