// hashdb_bench: how fast hash lists import and match events are recorded, against PostgreSQL.
//
//   import:  N PDQ hashes (1M; --quick 10k) through lists import (COPY -> staging -> INSERT ...
//            ON CONFLICT), target <= 10 s for 1M. Peer: the naive way, one prepared INSERT per
//            row in one transaction (on a sample of up to 100k rows).
//   events:  record_event with synchronous commit through the recorder (group commit) from T
//            threads, target >= 2,000 events/s. Peer: one transaction per event (no group
//            commit), one thread.
// The server is the embedded one in a temporary directory (HG_BENCH_DATABASE_URL overrides).
// The last line is one JSON object (DESIGN.md section 9).
#include "bench_args.hpp"

#include "hashguard/hashdb/cases.hpp"
#include "hashguard/hashdb/embedded_postgres.hpp"
#include "hashguard/hashdb/lists.hpp"
#include "hashguard/hashdb/migrations.hpp"
#include "hashguard/hashdb/recorder.hpp"
#include "hashguard/hashdb/snapshot_loader.hpp"

#include <pqxx/pqxx>

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace hashguard;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// CPU seconds of this process (all threads); PostgreSQL's own CPU is not in it.
double cpu_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string random_hex(std::mt19937_64& rng, int digits) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(digits), '0');
  for (auto& c : s) c = d[rng() & 15];
  return s;
}

hashdb::match_event make_event(std::mt19937_64& rng, int i) {
  hashdb::match_event e;
  e.zone = "zone-" + std::to_string(i % 50);
  e.request_id = "req-" + std::to_string(i) + "-" + random_hex(rng, 8);
  e.source_url = "https://cdn.example/img/" + std::to_string(i) + ".jpg";
  e.node = "bench";
  e.sha256 = random_hex(rng, 64);
  e.md5 = random_hex(rng, 32);
  e.pdq = random_hex(rng, 64);
  e.pdq_quality = 90;
  e.act = core::action::block;
  hashdb::event_hit h;
  h.list_id = 1;
  h.entry_id = static_cast<std::int64_t>(rng() % 1000);
  h.distance = 3;
  h.threshold = 31;
  h.list_version = 2;
  h.act = core::action::block;
  e.hits.push_back(h);
  return e;
}

long postmaster_of(const fs::path& dir) {
  if (dir.empty()) return 0;
  std::error_code ec;
  fs::path pidfile;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->path().filename() == "postmaster.pid") pidfile = it->path();
  }
  std::ifstream pf(pidfile);
  long postmaster = 0;
  if (!(pf >> postmaster)) return 0;
  return postmaster;
}

// CPU seconds used so far by each live child of the PostgreSQL server under `dir`, by pid, with
// its kind: "backend" (a client connection), "wal" (walwriter, checkpointer, background
// writer) or "other" (autovacuum workers and launchers...).
std::map<long, std::pair<std::string, double>> server_children(const fs::path& dir) {
  std::map<long, std::pair<std::string, double>> out;
  const long postmaster = postmaster_of(dir);
  if (postmaster == 0) return out;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream f(text.substr(close + 2));
    std::string state;
    long ppid = 0;
    f >> state >> ppid;
    if (ppid != postmaster) continue;
    double v[13] = {};
    for (int i = 0; i < 13 && f >> v[i]; ++i) {
    }
    std::ifstream cl(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(cl)), std::istreambuf_iterator<char>());
    std::string kind = "other";
    if (cmd.find("walwriter") != std::string::npos ||
        cmd.find("checkpointer") != std::string::npos ||
        cmd.find("background writer") != std::string::npos) {
      kind = "wal";
    } else if (cmd.find("[local]") != std::string::npos || cmd.find('(') != std::string::npos) {
      kind = "backend";  // "postgres: user db [local] ..." or "user db host(port) ..."
    }
    out[std::stol(name)] = {kind, (v[9] + v[10]) / tick};
  }
  return out;
}

// CPU seconds by kind that live children used between two server_children() snapshots.
std::map<std::string, double> cpu_by_kind(
    const std::map<long, std::pair<std::string, double>>& before,
    const std::map<long, std::pair<std::string, double>>& after) {
  std::map<std::string, double> out{{"backend", 0.0}, {"wal", 0.0}, {"other", 0.0}};
  for (const auto& [pid, kc] : after) {
    const auto it = before.find(pid);
    out[kc.first] += kc.second - (it == before.end() ? 0.0 : it->second.second);
  }
  return out;
}

// CPU seconds used so far by the PostgreSQL server whose data directory holds postmaster.pid
// under `dir` (the embedded one): the postmaster's own and reaped children's time, plus its
// live children's (the backends). -1 when it cannot be read (an external server).
double server_cpu(const fs::path& dir) {
  const long postmaster = postmaster_of(dir);
  if (postmaster == 0) return -1;
  std::error_code ec;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  // Fields after the command: state ppid ... utime(14) stime(15) cutime(16) cstime(17).
  const auto stat_of = [](const fs::path& p, long& ppid, double& own, double& children) {
    std::ifstream in(p);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) return false;
    std::istringstream f(text.substr(close + 2));
    std::string state;
    f >> state >> ppid;
    double v[20] = {};
    for (int i = 0; i < 13 && f >> v[i]; ++i) {
    }
    // v[0] = pgrp (field 5) ... utime is field 14 -> v[9], stime v[10], cutime v[11], cstime v[12]
    own = v[9] + v[10];
    children = v[11] + v[12];
    return true;
  };
  double total = 0;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    long ppid = 0;
    double own = 0;
    double children = 0;
    if (!stat_of(e.path() / "stat", ppid, own, children)) continue;
    if (std::stol(name) == postmaster) total += own + children;
    if (ppid == postmaster) total += own;
  }
  return total / tick;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") quick = true;
    if (std::string(argv[i]) == "--help") {
      std::cout
          << "usage: hashdb_bench [--quick] [--hashes=N] [--events=N] [--threads=N] [--lanes=N]"
             " [--events-only]\n"
             "  --quick        10k hashes, 400 events (the test run)\n"
             "  --hashes=N     PDQ hashes to import (default 1M); the events are recorded beside\n"
             "                 them\n"
             "  --events=N     match events to record (default 20,000) from --threads=N callers\n"
             "                 (default 64) through --lanes=N recorder connections (default 8)\n"
             "  --events-only  import 1,000 hashes only\n"
             "The embedded PostgreSQL starts in a temporary directory; HG_BENCH_DATABASE_URL\n"
             "names another server instead (HG_BENCH_SERVER_DIR: a directory holding its\n"
             "postmaster.pid, to measure its CPU). The last line is one JSON object.\n";
      return 0;
    }
  }
  std::size_t n_hashes = quick ? 10'000 : 1'000'000;
  const std::size_t n_peer_rows = quick ? 2'000 : 100'000;
  int threads = quick ? 8 : 64;
  int n_events = quick ? 400 : 20'000;
  bool events_only = false;
  std::size_t hashes_flag = 0;
  std::size_t lanes = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const std::string_view arg = a;
    if (arg.starts_with("--threads=")) threads = bench::int_arg<int>(arg.substr(10), 1);
    if (arg.starts_with("--events=")) n_events = bench::int_arg<int>(arg.substr(9), 0);
    if (a == "--events-only") events_only = true;
    if (arg.starts_with("--hashes=")) hashes_flag = bench::int_arg<std::size_t>(arg.substr(9));
    if (arg.starts_with("--lanes=")) lanes = bench::int_arg<std::size_t>(arg.substr(8), 1);
  }
  const int n_peer_events = quick ? 100 : 1'000;

  std::optional<hashdb::embedded_server> server;
  fs::path tmp;
  std::string url;
  fs::path server_dir;  // where server_cpu finds postmaster.pid
  if (const char* u = std::getenv("HG_BENCH_DATABASE_URL"); u != nullptr && *u != '\0') {
    url = u;
    if (const char* d = std::getenv("HG_BENCH_SERVER_DIR"); d != nullptr) server_dir = d;
  } else {
    std::string tmpl = "/tmp/hg-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    tmp = tmpl;
    hashdb::server_options so;
    so.data_dir = tmp;
    std::string why;
    auto s = hashdb::embedded_server::start(so, &why);
    if (!s) {
      std::cerr << "hashdb_bench: embedded server: " << why << "\n";
      return 1;
    }
    server.emplace(std::move(*s));
    url = server->url();
    server_dir = tmp;
  }
  auto conn = hashdb::connection::open(url);
  if (!conn || !hashdb::migrate(*conn)) {
    std::cerr << "hashdb_bench: cannot open/migrate " << url << "\n";
    return 1;
  }
  std::cout << "hashdb_bench" << (quick ? " --quick" : "") << ": PostgreSQL at " << url << "\n";
  if (hashes_flag != 0) n_hashes = hashes_flag;
  if (events_only) n_hashes = 1000;

  // --- import -------------------------------------------------------------------------------
  std::mt19937_64 rng(42);
  std::string text;
  text.reserve(n_hashes * 65);
  for (std::size_t i = 0; i < n_hashes; ++i) {
    text += random_hex(rng, 64);
    text += '\n';
  }
  hashdb::list_store lists(*conn);
  hashdb::list_spec spec;
  spec.name = "bench";
  spec.threshold = 31;
  spec.act = core::action::block;
  (void)lists.create(spec);
  std::istringstream in(text);
  auto t0 = clock_type::now();
  double c0 = cpu_now();
  double s0 = server_cpu(server_dir);
  auto report = lists.import("bench", in);
  const double import_s = seconds_since(t0);
  const double import_cpu_s = cpu_now() - c0;
  const double import_server_cpu_s = server_cpu(server_dir) - s0;
  if (!report || report->accepted != n_hashes) {
    std::cerr << "hashdb_bench: import failed: " << conn->last_error() << "\n";
    return 1;
  }
  std::istringstream again(text);
  t0 = clock_type::now();
  auto re = lists.import("bench", again);
  const double reimport_s = seconds_since(t0);
  if (!re || re->accepted != 0) return 1;

  // Peer: one prepared INSERT per row, one transaction.
  double peer_rows_per_s = 0;
  {
    pqxx::connection pc(url);
    pc.prepare("ins",
               "INSERT INTO hashes (list_id, value) VALUES ($1, decode($2, 'hex'))"
               " ON CONFLICT DO NOTHING");
    pqxx::work tx(pc);
    const auto list_id = tx.exec1("SELECT id FROM hash_lists WHERE name = 'bench'")[0].as<long>();
    std::mt19937_64 prng(7);
    t0 = clock_type::now();
    for (std::size_t i = 0; i < n_peer_rows; ++i)
      tx.exec_prepared("ins", list_id, random_hex(prng, 64));
    tx.commit();
    peer_rows_per_s = static_cast<double>(n_peer_rows) / seconds_since(t0);
  }
  const double import_rate = static_cast<double>(n_hashes) / import_s;
  std::printf(
      "import %zu PDQ hashes: %.2f s (%.0f hashes/s; CPU: this process %.2f s, PostgreSQL %.2f"
      " s), re-import (all duplicates) %.2f s\n",
      n_hashes, import_s, import_rate, import_cpu_s, import_server_cpu_s, reimport_s);
  {
    const auto sec = [](std::chrono::nanoseconds d) {
      return std::chrono::duration<double>(d).count();
    };
    std::printf(
        "  phases: parse + COPY to staging %.2f s, dedup INSERT %.2f s, counts %.2f s,"
        " commit %.2f s\n",
        sec(report->time.stage), sec(report->time.insert), sec(report->time.report),
        sec(report->time.commit));
  }
  std::printf("  peer, row-by-row INSERT: %.0f hashes/s (%.1f s for 1M extrapolated)\n",
              peer_rows_per_s, 1e6 / peer_rows_per_s);

  // --- snapshot: from PostgreSQL (writes the cache), then from the cache ------------------
  hashdb::snapshot_load_options so;
  so.database_url = url;
  so.cache_file =
      (tmp.empty() ? fs::temp_directory_path() / ("hg-bench-snap-" + std::to_string(::getpid()))
                   : tmp / "snapshot") /
      "snapshot.bin";
  hashdb::snapshot_loader loader(so);
  hashdb::snapshot_load_report from_db;
  hashdb::snapshot_load_report from_cache;
  t0 = clock_type::now();
  c0 = cpu_now();
  s0 = server_cpu(server_dir);
  auto snap_db = loader.load(&from_db);
  const double snap_db_s = seconds_since(t0);
  const double snap_db_cpu_s = cpu_now() - c0;
  const double snap_db_server_cpu_s = server_cpu(server_dir) - s0;
  snap_db = {};  // freed before the next load, as a restarted node would have it
  t0 = clock_type::now();
  c0 = cpu_now();
  auto snap_cache = loader.load(&from_cache);
  const double snap_cache_s = seconds_since(t0);
  const double snap_cache_cpu_s = cpu_now() - c0;
  if (from_db.source != hashdb::snapshot_source::database || !from_db.cache_written ||
      !snap_cache || from_cache.source != hashdb::snapshot_source::cache) {
    std::cerr << "hashdb_bench: snapshot load failed\n";
    return 1;
  }
  auto ms = [](std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); };
  std::printf(
      "snapshot of %zu entries: from PostgreSQL %.2f s (read %.2f + build %.2f + cache write"
      " %.2f; CPU: this process %.2f s, PostgreSQL %.2f s), from the disk cache %.2f s (map +"
      " checksums %.2f + matcher validation %.2f; %.2f s CPU)\n",
      from_db.entries, snap_db_s, ms(from_db.read_time), ms(from_db.build_time),
      ms(from_db.cache_write_time), snap_db_cpu_s, snap_db_server_cpu_s, snap_cache_s,
      ms(from_cache.read_time), ms(from_cache.build_time), snap_cache_cpu_s);
  {
    std::error_code ec;
    std::printf("  cache file %.0f MB\n",
                static_cast<double>(fs::file_size(so.cache_file, ec)) / 1e6);
  }
  snap_cache = {};
  {
    std::error_code ec;
    fs::remove_all(so.cache_file.parent_path(), ec);
  }

  // --- events -------------------------------------------------------------------------------
  // The import left up to gigabytes of dirty pages (10M hashes: ~2 GB of table and indexes):
  // a checkpoint first, so that the events are not measured beside the writeback of the import
  // (a checkpoint spread over the events phase and the full-page images after it) but beside
  // the table, as a node records events between list imports.
  double checkpoint_s = -1;
  try {
    pqxx::connection pc(url);
    pqxx::nontransaction tx(pc);
    t0 = clock_type::now();
    tx.exec0("CHECKPOINT");
    checkpoint_s = seconds_since(t0);
  } catch (const std::exception&) {
    // Not a superuser on an external server: measured without it.
  }
  std::printf("checkpoint before the events: %.2f s\n", checkpoint_s);
  std::vector<std::vector<hashdb::match_event>> per_thread(static_cast<std::size_t>(threads));
  for (int i = 0; i < n_events; ++i) {
    per_thread[static_cast<std::size_t>(i % threads)].push_back(make_event(rng, i));
  }
  hashdb::recorder_options ro;
  ro.database_url = url;
  ro.spool_path =
      (tmp.empty() ? fs::temp_directory_path() / ("hg-bench-spool-" + std::to_string(::getpid()))
                   : tmp / "spool") /
      "events.spool";
  ro.commit_deadline = std::chrono::milliseconds(2000);
  ro.lanes = lanes;
  double events_per_s = 0;
  double events_cpu_s = 0;
  double events_server_cpu_s = 0;
  std::map<std::string, double> by_kind{{"backend", 0.0}, {"wal", 0.0}, {"other", 0.0}};
  std::uint64_t spooled = 0;
  {
    auto rec = hashdb::event_recorder::start(ro);
    if (!rec) return 1;
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    t0 = clock_type::now();
    c0 = cpu_now();
    s0 = server_cpu(server_dir);
    const auto children0 = server_children(server_dir);
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (const auto& e : per_thread[static_cast<std::size_t>(t)]) {
          if (!(*rec)->record(e)) ++failures;
        }
      });
    }
    for (auto& w : workers) w.join();
    events_per_s = n_events / seconds_since(t0);
    events_cpu_s = cpu_now() - c0;
    events_server_cpu_s = s0 < 0 ? -1.0 : server_cpu(server_dir) - s0;
    by_kind = cpu_by_kind(children0, server_children(server_dir));
    spooled = (*rec)->stats().spooled;
    const auto st = (*rec)->stats();
    std::printf(
        "  %llu events in %llu group commits (%.1f per commit)\n",
        static_cast<unsigned long long>(st.committed), static_cast<unsigned long long>(st.batches),
        st.batches ? static_cast<double>(st.committed) / static_cast<double>(st.batches) : 0.0);
    if (failures != 0 || !(*rec)->wait_drained(std::chrono::seconds(60))) return 1;
  }
  {
    std::error_code ec;
    fs::remove_all(ro.spool_path.parent_path(), ec);
  }
  double peer_events_per_s = 0;
  {
    hashdb::case_store cases(*conn, {});
    t0 = clock_type::now();
    for (int i = 0; i < n_peer_events; ++i) {
      if (!cases.record(make_event(rng, n_events + i))) return 1;
    }
    peer_events_per_s = n_peer_events / seconds_since(t0);
  }
  std::string sync_commit;
  {
    pqxx::connection pc(url);
    pqxx::nontransaction tx(pc);
    sync_commit = tx.exec1("SHOW synchronous_commit")[0].as<std::string>();
  }
  std::printf(
      "record_event, %d threads, group commit, synchronous_commit=%s: %.0f events/s"
      " (%llu spooled; CPU: this process %.2f s = %.3f ms/event, PostgreSQL %.2f s = %.3f"
      " ms/event)\n",
      threads, sync_commit.c_str(), events_per_s, static_cast<unsigned long long>(spooled),
      events_cpu_s, 1e3 * events_cpu_s / n_events, events_server_cpu_s,
      events_server_cpu_s < 0 ? -1.0 : 1e3 * events_server_cpu_s / n_events);
  const auto per_event_ms = [&](double cpu_s) { return 1e3 * cpu_s / n_events; };
  const double backend_ms = per_event_ms(by_kind["backend"]);
  const double wal_ms = per_event_ms(by_kind["wal"]);
  std::printf(
      "  PostgreSQL CPU per event: client backends %.3f ms, WAL writer + checkpointer +"
      " background writer %.3f ms, the rest (autovacuum, exited processes) %.3f ms\n",
      backend_ms, wal_ms,
      events_server_cpu_s < 0 ? -1.0 : per_event_ms(events_server_cpu_s) - backend_ms - wal_ms);
  std::printf("  peer, one transaction per event, 1 thread: %.0f events/s\n", peer_events_per_s);

  double load[1] = {0};
  if (getloadavg(load, 1) < 1) load[0] = -1;
  std::printf(
      "{\"quick\":%s,\"import_hashes\":%zu,\"import_s\":%.3f,\"import_hashes_per_s\":%.0f,"
      "\"reimport_s\":%.3f,\"peer_row_insert_hashes_per_s\":%.0f,\"record_event_threads\":%d,"
      "\"record_event_per_s\":%.0f,\"peer_commit_each_event_per_s_1t\":%.0f,"
      "\"events_spooled\":%llu,\"snapshot_entries\":%zu,\"snapshot_from_db_s\":%.3f,"
      "\"snapshot_from_cache_s\":%.3f,\"snapshot_from_db_cpu_s\":%.3f,"
      "\"snapshot_from_cache_cpu_s\":%.3f,\"import_cpu_s\":%.3f,\"record_event_cpu_s\":%.3f,"
      "\"import_server_cpu_s\":%.3f,\"snapshot_from_db_server_cpu_s\":%.3f,"
      "\"record_event_server_cpu_s\":%.3f,\"record_event_cpu_ms_per_event\":%.4f,"
      "\"record_event_server_cpu_ms_per_event\":%.4f,"
      "\"record_event_backend_cpu_ms_per_event\":%.4f,\"checkpoint_before_events_s\":%.3f,"
      "\"load_avg_1m\":%.2f}\n",
      quick ? "true" : "false", n_hashes, import_s, import_rate, reimport_s, peer_rows_per_s,
      threads, events_per_s, peer_events_per_s, static_cast<unsigned long long>(spooled),
      from_db.entries, snap_db_s, snap_cache_s, snap_db_cpu_s, snap_cache_cpu_s, import_cpu_s,
      events_cpu_s, import_server_cpu_s, snap_db_server_cpu_s, events_server_cpu_s,
      1e3 * events_cpu_s / n_events,
      events_server_cpu_s < 0 ? -1.0 : 1e3 * events_server_cpu_s / n_events, backend_ms,
      checkpoint_s, load[0]);
  conn.value() = std::move(*hashdb::connection::open(url));  // release before the server stops
  server.reset();
  if (!tmp.empty()) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
  }
  return 0;
}
