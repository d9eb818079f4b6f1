// The exchange store: the PostgreSQL side of hash lists that follow an outside source
// (tables exchanges, exchange_lists, exchange_unmatched and the provenance columns of hashes).
//
// An exchange feeds one list per signal it delivers (register_exchange() creates missing lists,
// with the exchange's harm type and the configured threshold and action). apply_page() applies
// one page of the source's changes to those lists and stores the page's checkpoint in ONE
// transaction, so a crash between pages resumes from the last stored checkpoint with nothing
// lost or doubled:
//   - adds and updates upsert the entry with its provenance (exchange, source id, tags,
//     opinion, first and last seen); an update whose value changed replaces the old row;
//     a disabled (retired) entry stays disabled;
//   - deletions DELETE the row (not retire it): the next snapshot, and its cache file, no
//     longer hold it;
//   - entries of a signal hashguard does not match, or that the exchange feeds no list with,
//     are kept in exchange_unmatched and never loaded into a matcher;
//   - the page is staged with COPY (a first sync of millions of entries streams);
//   - a `restart` page starts a new generation: entries of this exchange not delivered again
//     before the page with more == false are deleted then.
// List versions do not move per page: finish_batch() moves every fed list's version once per
// sync batch (when pages changed something), so nodes rebuild their snapshot once per batch.
//
// Exactly one node syncs an exchange at a time: acquire_lease() takes a lease row (holder,
// expiry); apply_page() and finish_batch() refuse (errc::conflict) unless the caller still holds
// it, and each apply extends it, so a node that lost its lease (stalled past the expiry) can
// never apply a page another node also applies.
//
// An exchange_store borrows a connection (one per thread). Errors: hashdb::errc values.
#pragma once

#include "hashguard/core/vocabulary.hpp"
#include "hashguard/hashdb/database.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

/// The list an exchange feeds with one signal, and how that list matches.
struct exchange_feed {
  core::signal sig{core::signal::pdq};
  std::string list;  ///< the list's name; created when missing
  int threshold{0};
  core::action act{core::action::review};
};

/// An exchange's settings as registered from the configuration.
struct exchange_spec {
  std::string name;  ///< [A-Za-z0-9][A-Za-z0-9._-]{0,63}
  std::string kind;  ///< "ncmec", "stopncii", "threatexchange", "hashguard", "folder", ...
  core::harm_type harm{core::harm_type::csam};
  bool reshare{false};  ///< its lists are served to peers (GET /v1/lists/{id}/changes)
  bool feedback{false};
  bool auto_quarantine{false};
  std::vector<exchange_feed> feeds;
};

/// One entry of a page, as exchanges::source_entry states it (hashdb does not depend on the
/// exchanges module).
struct exchange_entry {
  std::string source_id;  ///< 1..1024 bytes
  std::string signal;     ///< a core::signal name, or the source's own ([a-z0-9_]{1,32})
  std::string value;      ///< lowercase hex of the signal's length for core signals
  bool deleted{false};
  std::vector<std::string> tags;  ///< at most 32, each at most 128 bytes
  std::string opinion;
};

struct exchange_page {
  std::vector<exchange_entry> entries;
  std::string checkpoint;  ///< at most 4096 bytes
  bool more{false};
  bool restart{false};
};

/// What apply_page() changed.
struct page_outcome {
  std::uint64_t added{};      ///< new entries (matchable or not)
  std::uint64_t updated{};    ///< entries delivered again (provenance refreshed)
  std::uint64_t deleted{};    ///< rows deleted (deletions, replaced values, re-fetch leftovers)
  std::uint64_t unmatched{};  ///< entries of this page kept in exchange_unmatched
};

struct exchange_state {
  std::int64_t id{};
  std::string name;
  std::string kind;
  core::harm_type harm{core::harm_type::csam};
  bool reshare{false};
  bool feedback{false};
  bool auto_quarantine{false};
  std::string checkpoint;
  std::int64_t generation{};
  bool refetching{false};
  bool dirty{false};
  std::int64_t entries{};
  std::int64_t added{};
  std::int64_t updated{};
  std::int64_t deleted{};
  std::int64_t pages{};
  std::string last_page_at;  ///< ISO 8601 UTC, "" when never
  std::string last_success_at;
  std::string last_failure_at;
  std::string last_error;
  int consecutive_failures{};
  std::string lease_holder;  ///< "" when nobody holds it (or it expired)
  struct fed_list {
    core::signal sig{core::signal::pdq};
    std::int64_t list_id{};
    std::string list;
  };
  std::vector<fed_list> lists;
};

class exchange_store {
 public:
  exchange_store(connection& c) noexcept : conn_(c) {}

  /// Creates or updates the exchange's row and its fed lists (created when missing, with the
  /// exchange's harm type; threshold, action and harm type set on existing ones; signals no
  /// longer fed are unlinked, their lists kept). A changed kind resets the checkpoint.
  /// errc::invalid_argument (name, kind, threshold), errc::conflict (a fed list is retired, or
  /// is of another signal).
  [[nodiscard]] core::result<exchange_state> register_exchange(const exchange_spec& spec);
  [[nodiscard]] core::result<exchange_state> get(std::string_view name);
  /// Every registered exchange, ordered by name.
  [[nodiscard]] core::result<std::vector<exchange_state>> list();

  /// Takes or renews the exchange's lease for `holder` until now + ttl. False when another
  /// holder's lease has not expired. errc::not_found for an unknown exchange.
  [[nodiscard]] core::result<bool> acquire_lease(std::string_view name, std::string_view holder,
                                                 std::chrono::seconds ttl);
  /// Gives the lease up (no-op unless `holder` holds it).
  [[nodiscard]] core::result<void> release_lease(std::string_view name, std::string_view holder);

  /// Applies `page` fetched from checkpoint `from` and stores page.checkpoint, in one
  /// transaction (see above); extends the lease by `ttl`. errc::conflict when `holder` does not
  /// hold the lease or the stored checkpoint is no longer `from` (another sync moved it);
  /// errc::invalid_argument when an entry is invalid (nothing is applied).
  [[nodiscard]] core::result<page_outcome> apply_page(std::string_view name,
                                                      std::string_view holder,
                                                      std::string_view from,
                                                      const exchange_page& page,
                                                      std::chrono::seconds ttl);

  /// Ends a sync batch: when pages changed something since the last batch, moves every fed
  /// list's version once (nodes rebuild their snapshot); records success (error empty) or the
  /// failure and its reason. errc::conflict when `holder` does not hold the lease.
  [[nodiscard]] core::result<exchange_state> finish_batch(std::string_view name,
                                                          std::string_view holder,
                                                          std::string_view error);

 private:
  connection& conn_;
};

}  // namespace hashguard::hashdb
