#include "hashguard/hashdb/list_changes.hpp"

#include "pg.hpp"

#include "hashguard/core/parse.hpp"

namespace hashguard::hashdb {
namespace {

constexpr std::size_t max_limit = 10000;

// One query, so pg_current_snapshot() is the snapshot the rows are read with: every row of a
// transaction older than its xmin is visible in it, and no such transaction can still commit.
// Entries and tombstones share one id sequence, so (xid, id) orders both.
constexpr const char* changes_sql =
    "WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)"
    " SELECT u.xid::text, u.id, u.value, u.retired, u.deleted, u.external_id, u.at, u.exchange,"
    "        u.source_id, u.tags, u.opinion, u.first_seen, u.last_seen FROM ("
    "  (SELECT h.change_xid AS xid, h.id, encode(h.value, 'hex') AS value,"
    "          h.retired_at IS NOT NULL AS retired, false AS deleted,"
    "          coalesce(h.external_id, '') AS external_id,"
    "          to_char(h.added_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS at,"
    "          coalesce(x.name, '') AS exchange, coalesce(h.source_id, '') AS source_id,"
    "          coalesce(array_to_string(h.tags, chr(31)), '') AS tags,"
    "          coalesce(h.opinion, '') AS opinion,"
    "          coalesce(to_char(h.first_seen AT TIME ZONE 'UTC',"
    "                           'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') AS first_seen,"
    "          coalesce(to_char(h.last_seen AT TIME ZONE 'UTC',"
    "                           'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') AS last_seen"
    "     FROM hashes h LEFT JOIN exchanges x ON x.id = h.exchange_id"
    "    WHERE h.list_id = $1 AND (h.change_xid, h.id) > ($2::xid8, $3::bigint)"
    "      AND h.change_xid < (SELECT xmin FROM horizon)"
    "      AND (h.exchange_id IS NULL OR x.reshare)"
    "    ORDER BY h.change_xid, h.id LIMIT $4)"
    "  UNION ALL"
    "  (SELECT t.change_xid, t.id, encode(t.value, 'hex'), false, true, '',"
    "          to_char(t.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "          coalesce(x.name, ''), '', '', '', '', ''"
    "     FROM hash_tombstones t LEFT JOIN exchanges x ON x.id = t.exchange_id"
    "    WHERE t.list_id = $1 AND (t.change_xid, t.id) > ($2::xid8, $3::bigint)"
    "      AND t.change_xid < (SELECT xmin FROM horizon)"
    "      AND (t.exchange_id IS NULL OR x.reshare)"
    "    ORDER BY t.change_xid, t.id LIMIT $4)"
    " ) u ORDER BY u.xid, u.id LIMIT $4";

std::vector<std::string> split_tags(const std::string& joined) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < joined.size()) {
    const auto end = joined.find('\x1f', start);
    out.push_back(joined.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string to_string(const change_cursor& c) {
  if (c.xid == 0 && c.id == 0) return "0";
  return std::to_string(c.xid) + "." + std::to_string(c.id);
}

std::optional<change_cursor> parse_change_cursor(std::string_view text) {
  if (text == "0") return change_cursor{};
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto xid = core::parse_int<std::uint64_t>(text.substr(0, dot));
  const auto id = core::parse_int<std::int64_t>(text.substr(dot + 1), 0);
  if (!xid || !id) return std::nullopt;
  return change_cursor{*xid, *id};
}

core::result<change_page> read_list_changes(connection& conn, std::string_view list,
                                            const change_cursor& since, std::size_t limit) {
  if (limit < 1 || limit > max_limit) return errc::invalid_argument;
  list_store lists(conn);
  auto found = lists.get(list);
  if (!found) return found.error();
  return guarded(conn, [&](pqxx::connection& pc) {
    change_page page;
    page.list = std::move(*found);
    page.next = since;
    pqxx::read_transaction tx(pc);
    const auto withheld = tx.exec_params(
        "SELECT x.name FROM exchange_lists el JOIN exchanges x ON x.id = el.exchange_id"
        " WHERE el.list_id = $1 AND NOT x.reshare ORDER BY x.name LIMIT 1",
        page.list.id);
    if (!withheld.empty()) {
      page.withheld_by = withheld[0][0].as<std::string>();
      return page;
    }
    const auto rows = tx.exec_params(changes_sql, page.list.id, std::to_string(since.xid), since.id,
                                     static_cast<std::int64_t>(limit));
    for (const auto& r : rows) {
      list_change c;
      c.entry = r[1].as<std::int64_t>();
      c.value = r[2].as<std::string>();
      c.retired = r[3].as<bool>();
      c.deleted = r[4].as<bool>();
      c.external_id = r[5].as<std::string>();
      c.added_at = r[6].as<std::string>();
      c.exchange = r[7].as<std::string>();
      c.source_id = r[8].as<std::string>();
      c.tags = split_tags(r[9].as<std::string>());
      c.opinion = r[10].as<std::string>();
      c.first_seen = r[11].as<std::string>();
      c.last_seen = r[12].as<std::string>();
      page.next = change_cursor{r[0].as<std::uint64_t>(), c.entry};
      page.changes.push_back(std::move(c));
    }
    page.more = page.changes.size() == limit;
    return page;
  });
}

}  // namespace hashguard::hashdb
