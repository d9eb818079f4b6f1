#include "hashguard/hashdb/decision_feed.hpp"

#include "pg.hpp"

#include "hashguard/core/parse.hpp"

namespace hashguard::hashdb {
namespace {

// The cursor is the id of the last item seen, as decimal text. Callers treat it as opaque so
// that it can change form later; "" is the beginning.
std::optional<std::int64_t> parse_cursor(std::string_view cursor) {
  if (cursor.empty()) return 0;
  const auto v = core::parse_int<std::int64_t>(cursor, 0);
  if (!v) return std::nullopt;
  return *v;
}

}  // namespace

core::result<decision_page> decision_feed::since(std::string_view cursor, std::size_t limit) {
  const auto after = parse_cursor(cursor);
  if (!after || limit < 1 || limit > 1000) return errc::invalid_argument;
  return guarded(conn_, [&](pqxx::connection& pc) {
    conn_.impl().prepare(
        "decision_feed_since",
        "SELECT id, case_id, decision, action, md5, sha1, sha256, pdq, phash,"
        " to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        " FROM decision_feed WHERE id > $1 ORDER BY id LIMIT $2");
    pqxx::read_transaction tx(pc);
    // One row past the page tells whether more are waiting.
    const auto rows =
        tx.exec_prepared("decision_feed_since", *after, static_cast<std::int64_t>(limit) + 1);
    decision_page page;
    std::int64_t last = *after;
    for (const auto& r : rows) {
      if (page.items.size() == limit) {
        page.more = true;
        break;
      }
      content_decision d;
      last = r[0].as<std::int64_t>();
      if (!r[1].is_null()) d.case_id = r[1].as<std::int64_t>();
      d.decision = r[2].as<std::string>();
      d.act = core::parse_action(r[3].as<std::string>()).value_or(core::action::none);
      d.md5 = bytea_hex(r[4]);
      d.sha1 = bytea_hex(r[5]);
      d.sha256 = bytea_hex(r[6]);
      d.pdq = bytea_hex(r[7]);
      d.phash = bytea_hex(r[8]);
      d.decided_at = r[9].as<std::string>();
      page.items.push_back(std::move(d));
    }
    page.next = std::to_string(last);
    return page;
  });
}

}  // namespace hashguard::hashdb
