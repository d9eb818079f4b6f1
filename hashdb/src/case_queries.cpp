#include "hashguard/hashdb/case_queries.hpp"

#include "case_queries_internal.hpp"
#include "pg.hpp"

namespace hashguard::hashdb {
namespace detail {

std::string event_select_columns() {
  return "e.id::text, " + iso_of("e.occurred_at") + ", " + iso_of("e.recorded_at") +
         ", e.zone, coalesce(e.source_url, ''), coalesce(e.request_id, ''),"
         " coalesce(e.node, ''), e.md5, e.sha1, e.sha256, e.pdq, e.phash, e.pdq_quality,"
         " e.action, e.case_id, e.suppressed";
}

event_record event_from_row(const pqxx::row& r) {
  event_record e;
  e.id = r[0].as<std::string>();
  e.occurred_at = r[1].as<std::string>();
  e.recorded_at = r[2].as<std::string>();
  e.zone = r[3].as<std::string>();
  e.source_url = r[4].as<std::string>();
  e.request_id = r[5].as<std::string>();
  e.node = r[6].as<std::string>();
  e.md5 = bytea_hex(r[7]);
  e.sha1 = bytea_hex(r[8]);
  e.sha256 = bytea_hex(r[9]);
  e.pdq = bytea_hex(r[10]);
  e.phash = bytea_hex(r[11]);
  if (!r[12].is_null()) e.pdq_quality = r[12].as<int>();
  e.action = r[13].as<std::string>();
  if (!r[14].is_null()) e.case_id = r[14].as<std::int64_t>();
  e.suppressed = r[15].as<bool>();
  return e;
}

void attach_hits(pqxx::transaction_base& tx, std::vector<event_record>& events) {
  if (events.empty()) return;
  std::string ids = "{";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) ids += ',';
    ids += events[i].id;
  }
  ids += '}';
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < events.size(); ++i) index.emplace(events[i].id, i);
  const auto rows = tx.exec_params(
      "SELECT h.event_id::text, h.list_id, coalesce(l.name, ''), h.entry_id,"
      " coalesce(x.external_id, ''), h.signal, h.distance, h.threshold, h.list_version,"
      " h.action, h.variant"
      " FROM event_hits h LEFT JOIN hash_lists l ON l.id = h.list_id"
      " LEFT JOIN hashes x ON x.id = h.entry_id"
      " WHERE h.event_id = ANY($1::uuid[]) ORDER BY h.event_id, h.ordinal",
      ids);
  for (const auto& r : rows) {
    hit_record h;
    h.list_id = r[1].as<std::int64_t>();
    h.list_name = r[2].as<std::string>();
    h.entry_id = r[3].as<std::int64_t>();
    h.external_id = r[4].as<std::string>();
    h.signal = r[5].as<std::string>();
    h.distance = r[6].as<int>();
    h.threshold = r[7].as<int>();
    h.list_version = r[8].as<std::int64_t>();
    h.action = r[9].as<std::string>();
    h.variant = r[10].as<std::string>();
    events[index.at(r[0].as<std::string>())].hits.push_back(std::move(h));
  }
}

std::vector<std::string> split_ids(const std::string& joined) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < joined.size()) {
    auto comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    if (comma > start) out.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

case_detail load_case(pqxx::transaction_base& tx, std::int64_t case_id) {
  const auto c =
      tx.exec_params("SELECT " + case_select_columns() + " FROM cases c WHERE c.id = $1", case_id);
  if (c.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(case_id)};
  case_detail d;
  d.summary = case_from_row(c[0]);

  for (const auto& r : tx.exec_params(
           "SELECT f.content, f.md5, f.sha1, f.sha256, f.pdq, f.phash, " + iso_of("f.first_seen") +
               ", " + iso_of("f.last_seen") +
               ", f.sightings, coalesce(f.viewed_by, ''), coalesce(" + iso_of("f.viewed_at") +
               ", ''), f.viewed_at IS NOT NULL,"
               " EXISTS (SELECT 1 FROM evidence v WHERE v.case_id = f.case_id"
               "         AND v.content = f.content),"
               " ARRAY(SELECT u FROM (SELECT e.source_url AS u, min(e.occurred_at) AS t"
               "   FROM events e WHERE e.case_id = f.case_id AND e.source_url <> ''"
               "    AND coalesce(e.sha256, e.pdq, e.phash, e.md5, e.sha1) = f.content"
               "   GROUP BY e.source_url ORDER BY t, u) s)"
               " FROM case_files f WHERE f.case_id = $1 ORDER BY f.first_seen, f.content",
           case_id)) {
    file_record f;
    f.content = bytea_hex(r[0]);
    f.md5 = bytea_hex(r[1]);
    f.sha1 = bytea_hex(r[2]);
    f.sha256 = bytea_hex(r[3]);
    f.pdq = bytea_hex(r[4]);
    f.phash = bytea_hex(r[5]);
    f.first_seen = r[6].as<std::string>();
    f.last_seen = r[7].as<std::string>();
    f.sightings = r[8].as<std::int64_t>();
    f.viewed_by = r[9].as<std::string>();
    f.viewed_at = r[10].as<std::string>();
    f.viewed_by_esp = r[11].as<bool>();
    f.evidence_preserved = r[12].as<bool>();
    auto urls = r[13].as_array();
    for (auto item = urls.get_next(); item.first != pqxx::array_parser::juncture::done;
         item = urls.get_next()) {
      if (item.first == pqxx::array_parser::juncture::string_value) f.urls.push_back(item.second);
    }
    d.files.push_back(std::move(f));
  }

  for (const auto& r :
       tx.exec_params("SELECT " + event_select_columns() +
                          " FROM events e WHERE e.case_id = $1 ORDER BY e.occurred_at, e.id",
                      case_id)) {
    d.events.push_back(event_from_row(r));
  }
  attach_hits(tx, d.events);

  for (const auto& r :
       tx.exec_params("SELECT id, reviewer_key_id, decision, classification, note, " +
                          iso_of("decided_at") + " FROM decisions WHERE case_id = $1 ORDER BY id",
                      case_id)) {
    d.decisions.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::string>(),
                           opt_text(r[3]), r[4].as<std::string>(), r[5].as<std::string>()});
  }
  for (const auto& r :
       tx.exec_params("SELECT id, report_id, file_ids, " + iso_of("submitted_at") + ", " +
                          iso_of("finished_at") + ", environment, responses, " +
                          iso_of("recorded_at") + " FROM reports WHERE case_id = $1 ORDER BY id",
                      case_id)) {
    d.reports.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(),
                         split_ids(r[2].as<std::string>()), r[3].as<std::string>(), opt_text(r[4]),
                         r[5].as<std::string>(), r[6].as<std::string>(), r[7].as<std::string>()});
  }
  d.confirmations = tx.exec_params1(
                          "SELECT count(DISTINCT reviewer_key_id) FROM decisions"
                          " WHERE case_id = $1 AND decision = 'confirmed'",
                          case_id)[0]
                        .as<int>();
  return d;
}

}  // namespace detail

namespace {

bool known_status(const std::string& s) {
  return s == "open" || s == "disputed" || s == "confirmed" || s == "false_positive" ||
         s == "escalated" || s == "reported";
}

}  // namespace

core::result<queue_page> review_store::queue(const queue_filter& f) {
  if (f.limit == 0 || f.limit > 500 || (f.status && !known_status(*f.status))) {
    return errc::invalid_argument;
  }
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    // $1 zone, $2 list, $3 from, $4 to (microseconds); the status filter ($5) is applied to the
    // page and the total, not to the per-status counts.
    const std::string where =
        " WHERE ($1::text IS NULL OR c.zone = $1)"
        " AND ($2::bigint IS NULL OR EXISTS (SELECT 1 FROM case_entries ce"
        "      WHERE ce.case_id = c.id AND ce.list_id = $2))"
        " AND ($3::bigint IS NULL OR c.last_seen >= 'epoch'::timestamptz"
        "      + $3 * interval '1 microsecond')"
        " AND ($4::bigint IS NULL OR c.last_seen < 'epoch'::timestamptz"
        "      + $4 * interval '1 microsecond')";
    const char* zone = f.zone ? f.zone->c_str() : nullptr;
    const char* status = f.status ? f.status->c_str() : nullptr;
    queue_page page;
    for (const auto& r :
         tx.exec_params("SELECT c.status, count(*) FROM cases c" + where + " GROUP BY c.status",
                        zone, f.list_id, f.from_us, f.to_us)) {
      page.by_status[r[0].as<std::string>()] = r[1].as<std::int64_t>();
    }
    page.total = tx.exec_params1("SELECT count(*) FROM cases c" + where +
                                     " AND ($5::text IS NULL OR c.status = $5)",
                                 zone, f.list_id, f.from_us, f.to_us, status)[0]
                     .as<std::int64_t>();
    for (const auto& r : tx.exec_params(
             "SELECT " + hashdb::detail::case_select_columns() + " FROM cases c" + where +
                 " AND ($5::text IS NULL OR c.status = $5) ORDER BY c.id DESC LIMIT $6 OFFSET $7",
             zone, f.list_id, f.from_us, f.to_us, status, static_cast<std::int64_t>(f.limit),
             static_cast<std::int64_t>(f.offset))) {
      page.cases.push_back(hashdb::detail::case_from_row(r));
    }
    return page;
  });
}

core::result<case_detail> review_store::detail(std::int64_t case_id) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::read_transaction tx(pc);
    return hashdb::detail::load_case(tx, case_id);
  });
}

}  // namespace hashguard::hashdb
