// case_bench: a hot case (issue 15). One case holds N events (200,000; --quick 20,000), as many
// other events are spread over 1,000 other cases in between, and we time what reviewers and
// compliance read of it:
//   detail:        review_store::detail, the newest 100 events with their total and the files'
//                  URL aggregates (target: well under a second at 200,000), and an older page
//                  (before = the first page's next_before).
//   cybertipline:  the whole package (tar), built from aggregates, no event loaded.
//   cases export:  JSON of every case (the hot one among them).
//   events export: every event of the range (2N), paged by (occurred_at, id).
// Peer: the unbounded detail as it was before the change, on the same data: every event of the
// case with every hit, and each file's URLs as an array over all its events.
// Memory: this process's peak resident size (VmHWM) after ours, then after the peer (ours runs
// first, so the peer's growth is its own).
// The server is the embedded one in a temporary directory (HG_BENCH_DATABASE_URL overrides).
// The last line is one JSON object (DESIGN.md section 9).
#include "bench_postgres.hpp"

#include "hashguard/hashdb/audit.hpp"
#include "hashguard/hashdb/case_queries.hpp"
#include "hashguard/hashdb/export.hpp"
#include "hashguard/hashdb/migrations.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

using namespace hashguard;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// A field of /proc/self/status in MB (VmRSS, VmHWM).
double status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  }
  return -1;
}

// The hot case: case 1 gets the even events (contents 1..3 in turn, 5,000 URLs), the odd ones
// go to cases 2..1001. One list entry, one hit per event. Set-based, as a bulk load would be.
void seed(const std::string& url, int n_hot) {
  pqxx::connection pc(url);
  pqxx::work tx(pc);
  tx.exec0(
      "INSERT INTO hash_lists (name, source, signal, threshold, action)"
      " VALUES ('bench', 'ncmec', 'pdq', 31, 'block')");
  tx.exec0(
      "INSERT INTO hashes (list_id, value, external_id)"
      " SELECT id, decode(repeat('ab', 32), 'hex'), 'NC-1' FROM hash_lists");
  tx.exec0(
      "INSERT INTO cases (zone, first_seen, last_seen)"
      " SELECT 'zone-' || g, now(), now() FROM generate_series(1, 1001) g");
  tx.exec_params0(
      "INSERT INTO events (id, occurred_at, zone, source_url, request_id, node, sha256, pdq,"
      " pdq_quality, action, case_id)"
      " SELECT gen_random_uuid(), '2026-01-01'::timestamptz + g * interval '1 second',"
      "  'zone-' || c, 'https://cdn.example/' || (g / 2 % 5000) || '/img.jpg', 'r' || g, 'bench',"
      "  decode(lpad(to_hex(CASE WHEN c = 1 THEN 1 + g / 2 % 3 ELSE 100 + g END), 64, '0'),"
      "         'hex'),"
      "  decode(repeat('cd', 32), 'hex'), 90, 'block', c"
      " FROM generate_series(1, 2 * $1::integer) g, LATERAL (SELECT CASE WHEN g % 2 = 0 THEN 1"
      "  ELSE 2 + g % 1000 END AS c) k",
      n_hot);
  tx.exec0(
      "INSERT INTO event_hits (event_id, ordinal, list_id, entry_id, signal, distance, threshold,"
      " list_version, action, variant)"
      " SELECT e.id, 1, l.id, x.id, 'pdq', 4, 31, 1, 'block', 'rot90'"
      " FROM events e, hash_lists l JOIN hashes x ON x.list_id = l.id");
  tx.exec0(
      "INSERT INTO case_files (case_id, content, sha256, pdq, first_seen, last_seen, sightings)"
      " SELECT case_id, sha256, sha256, decode(repeat('cd', 32), 'hex'), min(occurred_at),"
      "  max(occurred_at), count(*)"
      " FROM events GROUP BY case_id, sha256");
  tx.exec0(
      "INSERT INTO case_entries (case_id, list_id, entry_id, zone)"
      " SELECT c.id, x.list_id, x.id, c.zone FROM cases c, hashes x");
  tx.exec0(
      "UPDATE cases c SET sightings = s.n, first_seen = s.lo, last_seen = s.hi"
      " FROM (SELECT case_id, count(*) AS n, min(occurred_at) AS lo, max(occurred_at) AS hi"
      "       FROM events GROUP BY case_id) s WHERE s.case_id = c.id");
  tx.commit();
  pqxx::nontransaction nt(pc);
  nt.exec0("VACUUM ANALYZE");
}

// The detail as it was read before the change (main's load_case), its three unbounded
// queries on the same data: each file's URLs as an array over all its events, every event of
// the case in time order, then all their hits (one query over an array of every id). The
// results are held until it returns, as the events were (main then also copied each row into
// an event_record, so its footprint was larger still). Returns the events read, 0 when no URL
// came back.
std::size_t unbounded_detail(pqxx::connection& pc, std::int64_t case_id) {
  pqxx::read_transaction tx(pc);
  const auto files = tx.exec_params(
      "SELECT f.content, ARRAY(SELECT u FROM (SELECT e.source_url AS u,"
      " min(e.occurred_at) AS t FROM events e WHERE e.case_id = f.case_id"
      " AND e.source_url <> ''"
      " AND coalesce(e.sha256, e.pdq, e.phash, e.md5, e.sha1) = f.content"
      " GROUP BY e.source_url ORDER BY t, u) s)"
      " FROM case_files f WHERE f.case_id = $1 ORDER BY f.first_seen, f.content",
      case_id);
  const auto events = tx.exec_params(
      "SELECT e.id::text, e.occurred_at::text, e.recorded_at::text, e.zone,"
      " coalesce(e.source_url, ''), coalesce(e.request_id, ''), coalesce(e.node, ''),"
      " e.md5, e.sha1, e.sha256, e.pdq, e.phash, e.pdq_quality, e.action, e.case_id,"
      " e.suppressed FROM events e WHERE e.case_id = $1 ORDER BY e.occurred_at, e.id",
      case_id);
  std::string ids = "{";
  for (const auto& r : events) {
    if (ids.size() > 1) ids += ',';
    ids += r[0].c_str();
  }
  ids += '}';
  const auto hits = tx.exec_params(
      "SELECT h.event_id::text, h.list_id, coalesce(l.name, ''), h.entry_id,"
      " coalesce(x.external_id, ''), h.signal, h.distance, h.threshold, h.list_version,"
      " h.action, h.variant FROM event_hits h LEFT JOIN hash_lists l ON l.id = h.list_id"
      " LEFT JOIN hashes x ON x.id = h.entry_id"
      " WHERE h.event_id = ANY($1::uuid[]) ORDER BY h.event_id, h.ordinal",
      ids);
  tx.commit();
  const bool urls = !files.empty() && std::string_view(files[0][1].c_str()).size() > 2;
  return urls && hits.size() == events.size() ? events.size() : 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

static int run(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    if (a == "--help") {
      std::cout << "usage: case_bench [--quick]\n"
                   "  one case of 200,000 events (--quick: 20,000) among as many others;\n"
                   "  HG_BENCH_DATABASE_URL names a server instead of the embedded one.\n"
                   "The last line is one JSON object.\n";
      return 0;
    }
  }
  const int n_hot = quick ? 20'000 : 200'000;
  const int runs = 5;

  auto db = bench::bench_database::open("case_bench");
  if (!db) return 1;
  auto conn = hashdb::connection::open(db->url());
  if (!conn || !hashdb::migrate(*conn)) {
    std::cerr << "case_bench: cannot open/migrate " << db->url() << "\n";
    return 1;
  }
  // Case reads and exports append audit rows, which the chain refuses without a key: a fixed
  // benchmark key (the database is thrown away afterwards).
  auto keys = std::make_shared<hashdb::audit_keyring>();
  keys->current.id = "bench";
  keys->current.bytes.fill(0x5a);
  conn->use_audit_keys(std::move(keys));
  std::cout << "case_bench" << (quick ? " --quick" : "") << ": PostgreSQL at " << db->url() << "\n";
  auto t0 = clock_type::now();
  seed(db->url(), n_hot);
  const double seed_ms = ms_since(t0);
  std::printf("seeded %d events in the hot case and %d in 1,000 others: %.1f s\n", n_hot, n_hot,
              seed_ms / 1e3);
  constexpr std::int64_t hot = 1;
  const double rss_start = status_mb("VmRSS");

  // --- ours ---------------------------------------------------------------------------------
  hashdb::review_store review(*conn);
  std::vector<double> first_ms, older_ms;
  std::string next;
  for (int i = 0; i < runs; ++i) {
    t0 = clock_type::now();
    auto d = review.detail(hot);
    first_ms.push_back(ms_since(t0));
    if (!d || d->events.size() != 100 || d->events_total != n_hot ||
        d->files.front().urls.size() != hashdb::urls_per_file) {
      std::cerr << "case_bench: wrong detail: " << conn->last_error() << "\n";
      return 1;
    }
    next = d->next_before;
    t0 = clock_type::now();
    auto older = review.detail(hot, {100, next});
    older_ms.push_back(ms_since(t0));
    if (!older || older->events.size() != 100) return 1;
  }
  hashdb::exporter ex(*conn);
  std::uint64_t bytes = 0;
  const hashdb::export_sink count = [&bytes](std::string_view c) { bytes += c.size(); };
  std::vector<double> package_ms;
  std::uint64_t package_bytes = 0;
  for (int i = 0; i < runs; ++i) {
    bytes = 0;
    t0 = clock_type::now();
    if (!ex.cybertipline(hot, {}, count, "bench")) return 1;
    package_ms.push_back(ms_since(t0));
    package_bytes = bytes;
  }
  const hashdb::export_range all{1'700'000'000'000'000, 1'900'000'000'000'000};
  bytes = 0;
  t0 = clock_type::now();
  auto cases = ex.cases(all, hashdb::export_format::json, count, "bench");
  const double cases_ms = ms_since(t0);
  const std::uint64_t cases_bytes = bytes;
  bytes = 0;
  t0 = clock_type::now();
  auto events = ex.events(all, hashdb::export_format::json, count, "bench");
  const double events_ms = ms_since(t0);
  if (!cases || cases->items != 1001 || !events ||
      events->items != static_cast<std::uint64_t>(2 * n_hot)) {
    std::cerr << "case_bench: wrong export: " << conn->last_error() << "\n";
    return 1;
  }
  const double hwm_ours = status_mb("VmHWM");
  std::printf(
      "ours: detail (newest 100 of %d, total, URL aggregates) %.1f ms median of %d, an older"
      " page %.1f ms\n"
      "      CyberTipline package %.1f ms (%llu bytes), cases export %.0f ms (%llu bytes, 1,001"
      " cases), events export %.0f ms (%d events, %.1f MB)\n"
      "      peak RSS %.1f MB (%.1f MB before)\n",
      n_hot, median(first_ms), runs, median(older_ms), median(package_ms),
      static_cast<unsigned long long>(package_bytes), cases_ms,
      static_cast<unsigned long long>(cases_bytes), events_ms, 2 * n_hot,
      static_cast<double>(bytes) / 1e6, hwm_ours, rss_start);

  // --- peer: the unbounded detail -------------------------------------------------------------
  std::vector<double> peer_ms;
  pqxx::connection pc(db->url());
  for (int i = 0; i < 3; ++i) {
    t0 = clock_type::now();
    if (unbounded_detail(pc, hot) != static_cast<std::size_t>(n_hot)) return 1;
    peer_ms.push_back(ms_since(t0));
  }
  const double hwm_peer = status_mb("VmHWM");
  std::printf(
      "peer, every event of the case with its hits (the detail before): %.1f ms median of 3,"
      " peak RSS %.1f MB\n",
      median(peer_ms), hwm_peer);

  std::printf(
      "{\"quick\":%s,\"hot_case_events\":%d,\"seed_s\":%.2f,\"detail_first_page_ms\":%.2f,"
      "\"detail_older_page_ms\":%.2f,\"cybertipline_package_ms\":%.2f,"
      "\"cybertipline_package_bytes\":%llu,\"cases_export_ms\":%.1f,\"events_export_ms\":%.1f,"
      "\"events_export_events\":%d,\"peak_rss_ours_mb\":%.1f,"
      "\"peer_unbounded_detail_ms\":%.1f,\"peak_rss_after_peer_mb\":%.1f}\n",
      quick ? "true" : "false", n_hot, seed_ms / 1e3, median(first_ms), median(older_ms),
      median(package_ms), static_cast<unsigned long long>(package_bytes), cases_ms, events_ms,
      2 * n_hot, hwm_ours, median(peer_ms), hwm_peer);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // run's database was stopped by its destructor while the exception left run.
    std::cerr << "case_bench: " << e.what() << "\n";
    return 1;
  }
}
