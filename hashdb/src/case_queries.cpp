#include "hashguard/hashdb/case_queries.hpp"

#include "case_queries_internal.hpp"
#include "pg.hpp"

#include "hashguard/core/hex.hpp"

namespace hashguard::hashdb {
namespace detail {

std::string event_select_columns() {
  return "e.id::text, " + iso_of("e.occurred_at") + ", " + iso_of("e.recorded_at") +
         ", e.zone, coalesce(e.source_url, ''), coalesce(e.request_id, ''),"
         " coalesce(e.node, ''), e.md5, e.sha1, e.sha256, e.pdq, e.phash, e.pdq_quality,"
         " e.action, e.case_id, e.suppressed, e.source_url_truncated, e.uploader_account,"
         " host(e.uploader_ip), " +
         iso_of("e.uploader_at");
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
  e.source_url_truncated = r[16].as<bool>();
  e.uploader_account = r[17].is_null() ? std::string() : r[17].as<std::string>();
  e.uploader_ip = r[18].is_null() ? std::string() : r[18].as<std::string>();
  e.uploader_at = r[19].is_null() ? std::string() : r[19].as<std::string>();
  return e;
}

namespace {

// The hit whose columns start at `first`: list_id, list name, entry_id, external id, signal,
// distance, threshold, list_version, action, variant, exchange, source id.
hit_record hit_from(const pqxx::row& r, int first) {
  hit_record h;
  h.list_id = r[first].as<std::int64_t>();
  h.list_name = r[first + 1].as<std::string>();
  h.entry_id = r[first + 2].as<std::int64_t>();
  h.external_id = r[first + 3].as<std::string>();
  h.signal = r[first + 4].as<std::string>();
  h.distance = r[first + 5].as<int>();
  h.threshold = r[first + 6].as<int>();
  h.list_version = r[first + 7].as<std::int64_t>();
  h.action = r[first + 8].as<std::string>();
  h.variant = r[first + 9].as<std::string>();
  h.exchange = r[first + 10].as<std::string>();
  h.source_id = r[first + 11].as<std::string>();
  return h;
}

}  // namespace

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
      " h.action, h.variant, coalesce(h.exchange, ''), coalesce(h.source_id, '')"
      " FROM event_hits h LEFT JOIN hash_lists l ON l.id = h.list_id"
      " LEFT JOIN hashes x ON x.id = h.entry_id"
      " WHERE h.event_id = ANY($1::uuid[]) ORDER BY h.event_id, h.ordinal",
      ids);
  for (const auto& r : rows) {
    events[index.at(r[0].as<std::string>())].hits.push_back(hit_from(r, 1));
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

namespace {

// The content key of an event (the one hg_record_events files it under), for `events e`.
constexpr const char* event_content = "coalesce(e.sha256, e.pdq, e.phash, e.md5, e.sha1)";

// An event id as PostgreSQL writes it (8-4-4-4-12 lowercase hex): anything else never names
// an event, and is refused before it reaches a uuid cast.
bool is_event_id(std::string_view id) {
  if (id.size() != 36) return false;
  for (const std::size_t dash : {8U, 13U, 18U, 23U}) {
    if (id[dash] != '-') return false;
  }
  return core::is_canonical_hex(id.substr(0, 8), 8) && core::is_canonical_hex(id.substr(9, 4), 4) &&
         core::is_canonical_hex(id.substr(14, 4), 4) &&
         core::is_canonical_hex(id.substr(19, 4), 4) && core::is_canonical_hex(id.substr(24), 12);
}

std::vector<std::string> text_array(const pqxx::field& f) {
  std::vector<std::string> out;
  auto a = f.as_array();
  for (auto item = a.get_next(); item.first != pqxx::array_parser::juncture::done;
       item = a.get_next()) {
    if (item.first == pqxx::array_parser::juncture::string_value) out.push_back(item.second);
  }
  return out;
}

// A case's files by their content key, for the aggregates that come back per content.
class file_index {
 public:
  explicit file_index(case_detail& d) : d_(d) {
    for (std::size_t i = 0; i < d.files.size(); ++i) at_.emplace(d.files[i].content, i);
  }
  /// The file of a content column (bytea); nullptr for content that is not one of the case's
  /// files (an event recorded without its file row).
  file_record* find(const pqxx::field& content) {
    const auto it = at_.find(bytea_hex(content));
    return it == at_.end() ? nullptr : &d_.files[it->second];
  }

 private:
  case_detail& d_;
  std::map<std::string, std::size_t> at_;
};

void load_files(pqxx::transaction_base& tx, std::int64_t case_id, case_detail& d) {
  // first_seen, last_seen and sightings are counters hg_record_events keeps on the file.
  for (const auto& r : tx.exec_params(
           "SELECT f.content, f.md5, f.sha1, f.sha256, f.pdq, f.phash, " + iso_of("f.first_seen") +
               ", " + iso_of("f.last_seen") +
               ", f.sightings, coalesce(f.viewed_by, ''), coalesce(" + iso_of("f.viewed_at") +
               ", ''), f.viewed_at IS NOT NULL,"
               " EXISTS (SELECT 1 FROM evidence v WHERE v.case_id = f.case_id"
               "         AND v.content = f.content)"
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
    d.files.push_back(std::move(f));
  }
}

// One pass over the case's events: per file, its distinct URLs (the urls_per_file most
// recently seen, the URL of its first sighting, the count), and the case's distinct URLs.
void load_urls(pqxx::transaction_base& tx, std::int64_t case_id, case_detail& d,
               file_index& files) {
  const auto rows = tx.exec_params(
      std::string("WITH u AS MATERIALIZED (SELECT ") + event_content +
          " AS content, e.source_url AS url,"
          "   min(e.occurred_at) AS first_at, max(e.occurred_at) AS last_at"
          "   FROM events e WHERE e.case_id = $1 AND e.source_url <> '' GROUP BY 1, 2),"
          " ranked AS (SELECT content, url, first_at,"
          "   row_number() OVER (PARTITION BY content ORDER BY last_at DESC, url) AS rn,"
          "   row_number() OVER (PARTITION BY content ORDER BY first_at, url) AS first_rn"
          "   FROM u)"
          " SELECT content,"
          "   array_agg(url ORDER BY rn) FILTER (WHERE rn <= $2),"
          "   min(url) FILTER (WHERE first_rn = 1), count(*),"
          "   (SELECT count(*) FROM (SELECT DISTINCT url FROM u) d)"
          " FROM ranked GROUP BY content",
      case_id, static_cast<std::int64_t>(urls_per_file));
  for (const auto& r : rows) {
    d.urls_total = r[4].as<std::int64_t>();
    if (file_record* f = files.find(r[0])) {
      f->urls = text_array(r[1]);
      f->first_url = r[2].as<std::string>();
      f->urls_total = r[3].as<std::int64_t>();
    }
  }
}

// Per file, its distinct hits: the matches_per_file seen most often and their count. Reads
// every hit of the case (a join over its events): the CyberTipline package only.
void load_file_matches(pqxx::transaction_base& tx, std::int64_t case_id, file_index& files) {
  const auto rows = tx.exec_params(
      std::string("SELECT m.content, m.list_id, coalesce(l.name, ''), m.entry_id,"
                  " coalesce(x.external_id, ''), m.signal, m.distance, m.threshold,"
                  " m.list_version, m.action, m.variant, coalesce(m.exchange, ''),"
                  " coalesce(m.source_id, ''), m.n, ") +
          iso_of("m.first_at") + ", " + iso_of("m.last_at") +
          ", m.total FROM (SELECT g.*, count(*) OVER (PARTITION BY g.content) AS total,"
          "   row_number() OVER (PARTITION BY g.content ORDER BY g.n DESC, g.first_at,"
          "     g.list_id, g.entry_id, g.signal, g.distance, g.variant, g.list_version) AS rn"
          "   FROM (SELECT " +
          event_content +
          " AS content, h.list_id, h.entry_id, h.signal, h.distance, h.threshold,"
          "     h.list_version, h.action, h.variant, h.exchange, h.source_id, count(*) AS n,"
          "     min(e.occurred_at) AS first_at, max(e.occurred_at) AS last_at"
          "     FROM events e JOIN event_hits h ON h.event_id = e.id WHERE e.case_id = $1"
          "     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) g) m"
          " LEFT JOIN hash_lists l ON l.id = m.list_id LEFT JOIN hashes x ON x.id = m.entry_id"
          " WHERE m.rn <= $2 ORDER BY m.content, m.rn",
      case_id, static_cast<std::int64_t>(matches_per_file));
  for (const auto& r : rows) {
    if (file_record* f = files.find(r[0])) {
      f->matches.push_back({hit_from(r, 1), r[13].as<std::int64_t>(), r[14].as<std::string>(),
                            r[15].as<std::string>()});
      f->matches_total = r[16].as<std::int64_t>();
    }
  }
}

// The page of events: newest first, `limit` of them (one more is read to know whether an older
// page exists), after the `before` event when given. Keyset paging on (occurred_at, id) over
// events_case_time: a page costs the same however deep it is.
void load_events(pqxx::transaction_base& tx, std::int64_t case_id, const event_page& page,
                 case_detail& d) {
  d.events_total = tx.exec_params1("SELECT count(*) FROM events WHERE case_id = $1", case_id)[0]
                       .as<std::int64_t>();
  if (page.limit == 0) return;
  const auto limit = static_cast<std::int64_t>(page.limit);
  const std::string select = "SELECT " + event_select_columns() + " FROM events e";
  const std::string order = " ORDER BY e.occurred_at DESC, e.id DESC LIMIT $2";
  pqxx::result rows;
  if (page.before) {
    const auto at =
        tx.exec_params("SELECT occurred_at FROM events WHERE id = $1::uuid AND case_id = $2",
                       *page.before, case_id);
    if (at.empty()) throw abort_with{errc::invalid_argument, "before is not an event of the case"};
    rows = tx.exec_params(select +
                              " WHERE e.case_id = $1 AND (e.occurred_at, e.id) <"
                              " ($3::timestamptz, $4::uuid)" +
                              order,
                          case_id, limit + 1, at[0][0].as<std::string>(), *page.before);
  } else {
    rows = tx.exec_params(select + " WHERE e.case_id = $1" + order, case_id, limit + 1);
  }
  for (const auto& r : rows) {
    if (d.events.size() == page.limit) {
      d.next_before = d.events.back().id;
      break;
    }
    d.events.push_back(event_from_row(r));
  }
  attach_hits(tx, d.events);
}

// The uploaders the case's events named (X-Uploader-* headers): one reported person per
// account (events without an account form one person of their own), each with its distinct
// (IP, time) upload events, first seen first; at most uploaders_per_case persons and
// upload_events_per_uploader events each, with the totals so a cut is visible.
void load_uploaders(pqxx::transaction_base& tx, std::int64_t case_id, case_detail& d) {
  const auto rows = tx.exec_params(
      "WITH u AS (SELECT coalesce(uploader_account, '') AS account,"
      "                  coalesce(host(uploader_ip), '') AS ip, uploader_at AS at,"
      "                  min(occurred_at) AS first, count(*) AS n"
      "             FROM events WHERE case_id = $1 AND (uploader_account IS NOT NULL"
      "              OR uploader_ip IS NOT NULL OR uploader_at IS NOT NULL)"
      "            GROUP BY 1, 2, 3),"
      " a AS (SELECT account, min(first) AS first, count(*) AS events,"
      "              row_number() OVER (ORDER BY min(first), account) AS rank"
      "         FROM u GROUP BY account)"
      " SELECT a.account, a.events, u.ip, " +
          iso_of("u.at") +
          ", u.n FROM a JOIN LATERAL (SELECT * FROM u WHERE u.account = a.account"
          "   ORDER BY u.first, u.ip LIMIT $3) u ON true"
          " WHERE a.rank <= $2 ORDER BY a.rank, u.first, u.ip",
      case_id, static_cast<std::int64_t>(uploaders_per_case),
      static_cast<std::int64_t>(upload_events_per_uploader));
  for (const auto& r : rows) {
    const std::string account = r[0].as<std::string>();
    if (d.uploaders.empty() || d.uploaders.back().account != account) {
      uploader_record u;
      u.account = account;
      u.events_total = r[1].as<std::int64_t>();
      d.uploaders.push_back(std::move(u));
    }
    upload_event ev;
    ev.ip = r[2].as<std::string>();
    ev.at = r[3].is_null() ? std::string() : r[3].as<std::string>();
    ev.sightings = r[4].as<std::int64_t>();
    d.uploaders.back().events.push_back(std::move(ev));
  }
  d.uploaders_total = tx.exec_params1(
                            "SELECT count(DISTINCT coalesce(uploader_account, '')) FROM events"
                            " WHERE case_id = $1 AND (uploader_account IS NOT NULL"
                            " OR uploader_ip IS NOT NULL OR uploader_at IS NOT NULL)",
                            case_id)[0]
                          .as<std::int64_t>();
}

}  // namespace

case_detail load_case(pqxx::transaction_base& tx, std::int64_t case_id, const detail_options& o) {
  if (o.events.limit > max_event_page || (o.events.before && !is_event_id(*o.events.before))) {
    throw abort_with{errc::invalid_argument, "bad event page"};
  }
  const auto c =
      tx.exec_params("SELECT " + case_select_columns() + " FROM cases c WHERE c.id = $1", case_id);
  if (c.empty()) throw abort_with{errc::not_found, "no case " + std::to_string(case_id)};
  case_detail d;
  d.summary = case_from_row(c[0]);

  load_files(tx, case_id, d);
  file_index files(d);
  load_urls(tx, case_id, d, files);
  if (o.file_matches) load_file_matches(tx, case_id, files);

  for (const auto& r : tx.exec_params(
           "SELECT ce.list_id, coalesce(l.name, ''), ce.entry_id, coalesce(x.external_id, ''),"
           " coalesce(ce.exchange, ''), coalesce(ce.source_id, '')"
           " FROM case_entries ce LEFT JOIN hash_lists l ON l.id = ce.list_id"
           " LEFT JOIN hashes x ON x.id = ce.entry_id"
           " WHERE ce.case_id = $1 ORDER BY ce.list_id, ce.entry_id",
           case_id)) {
    d.entries.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::int64_t>(),
                         r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>()});
  }

  load_events(tx, case_id, o.events, d);
  if (o.uploaders) load_uploaders(tx, case_id, d);

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
  for (const auto& r : tx.exec_params(
           "SELECT round, exchange, source_id, signal, positive, status, attempts, last_error, " +
               iso_of("created_at") + ", " + iso_of("sent_at") +
               ", CASE WHEN status = 'pending' THEN " + iso_of("next_attempt_at") +
               " END FROM exchange_feedback WHERE case_id = $1 ORDER BY id",
           case_id)) {
    d.feedback.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                          r[3].as<std::string>(), r[4].as<bool>(), r[5].as<std::string>(),
                          r[6].as<int>(), r[7].as<std::string>(), r[8].as<std::string>(),
                          opt_text(r[9]), opt_text(r[10])});
  }
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

core::result<case_detail> review_store::detail(std::int64_t case_id, const event_page& page) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    // One snapshot: the page, its total and the aggregates agree with each other.
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(pc);
    return hashdb::detail::load_case(tx, case_id, {page, false});
  });
}

core::result<case_detail> review_store::compliance_detail(std::int64_t case_id,
                                                          const event_page& page) {
  return guarded(conn_, [&](pqxx::connection& pc) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(pc);
    return hashdb::detail::load_case(tx, case_id, {page, false, true});
  });
}

}  // namespace hashguard::hashdb
