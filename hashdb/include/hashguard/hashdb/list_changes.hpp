// A list's change feed: the entries added, changed, retired or deleted since a position, in the
// order they were committed, for another hashguard that follows the list
// (GET /v1/lists/{id}/changes; migration 0015 keeps the stamps and tombstones it reads).
//
// Positions ("cursors") are (transaction id, entry id) pairs, written "XID.ID" ("0" is the
// start). A page holds only rows of transactions older than the oldest one still running, in
// cursor order, so a row can never later commit behind a cursor already given out: a follower
// that stores `next` and asks again from it misses nothing and gets nothing twice, whatever
// imports, syncs and retirements commit meanwhile (an entry changed again simply comes again,
// later, in its new state). A long transaction holds the feed back until it ends.
//
// Reshare: a list fed by an exchange whose `reshare` setting is off (NCMEC and StopNCII
// always) is withheld as a whole (change_page::withheld_by names the exchange); entries another
// such exchange delivered into a list are left out of every page.
//
// Borrows a connection (one per thread). Errors: hashdb::errc (not_found: no such list).
#pragma once

#include "hashguard/hashdb/database.hpp"
#include "hashguard/hashdb/lists.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::hashdb {

struct change_cursor {
  std::uint64_t xid{};  ///< the committing transaction (a PostgreSQL xid8)
  std::int64_t id{};    ///< the entry id within it
  friend bool operator==(const change_cursor&, const change_cursor&) = default;
};

/// "XID.ID"; the start is "0".
[[nodiscard]] std::string to_string(const change_cursor& c);
/// "0", or "XID.ID" with both parts decimal integers; nullopt otherwise.
[[nodiscard]] std::optional<change_cursor> parse_change_cursor(std::string_view text);

/// One change of one entry: its state now.
struct list_change {
  std::int64_t entry{};  ///< the entry id (stable: the follower's source id for it)
  std::string value;     ///< lowercase hex
  bool retired{false};   ///< disabled for good here: gone for a follower
  bool deleted{false};   ///< deleted here (its exchange withdrew it): gone for a follower
  std::string external_id;
  std::string added_at;  ///< ISO 8601 UTC; for a deletion, when it was deleted
  // Provenance: the exchange that delivered it here ("" for an imported entry) and what that
  // source said about it.
  std::string exchange;
  std::string source_id;
  std::vector<std::string> tags;
  std::string opinion;
  std::string first_seen;  ///< "" when not from an exchange
  std::string last_seen;
};

struct change_page {
  hash_list list;
  /// Non-empty: the list is fed by this exchange, whose reshare is off; `changes` is empty.
  std::string withheld_by;
  std::vector<list_change> changes;
  change_cursor next;  ///< where the next page starts (== since when the page is empty)
  bool more{false};    ///< the page is full: ask again from `next` now
};

/// Up to `limit` (1..10000) changes of list `list` (its name) after `since`.
/// errc::not_found for an unknown list, errc::invalid_argument for a limit out of range.
[[nodiscard]] core::result<change_page> read_list_changes(connection& conn, std::string_view list,
                                                          const change_cursor& since,
                                                          std::size_t limit);

}  // namespace hashguard::hashdb
