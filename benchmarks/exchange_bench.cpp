// exchange_bench: how fast does a hash list follow an exchange, and what does following it cost
// the scans? (issue 18's benchmark)
//
// Everything runs on this machine: one embedded PostgreSQL (a database per phase), the in-repo
// fake NCMEC Hash Sharing server (tests/fakes/ncmec_fake.hpp, generating its entries lazily,
// --page entries per page) in this process, and the built `hashguard serve` nodes.
//
// Phases, each with its figures beside the issue's targets:
//   1. peer: two serve nodes on one database; `hashguard lists import` of the same --entries PDQ
//      hashes from a file (hashguard format); the time until both nodes' snapshots hold them.
//   2. first sync: two serve nodes on a fresh database follow the fake (exchanges file, one PDQ
//      feed, interval 1 s); the time from starting them until both nodes' snapshots hold the
//      --entries entries. Target <= 60 s (1M entries). Then an incremental sync of --changes
//      changes at the source (half new entries, a quarter deletions, a quarter new values),
//      stamped now: the time until both nodes' snapshots show them. Target <= 5 s.
//   3. load: two fresh nodes whose exchange is held back (the fake refuses the credentials);
//      POST /v1/scan closed loop against node A (its idle maximum), then open loop at 50 % of it
//      (idle p99); then the fake lets the sync through and the same open loop runs during the
//      whole first sync and both snapshot swaps. Target: p99 <= 2x idle, no failed request.
//   4. crash: one node follows a fresh fake of --crash-entries entries and is SIGKILLed at a
//      random point --kills times (after half of them the source adds, deletes and changes
//      entries); then it runs to the end. The list must equal the source exactly: every live
//      source entry once with its current value, nothing else.
//
// usage: exchange_bench [--quick] [--entries=N] [--changes=N] [--crash-entries=N] [--kills=N]
//                       [--page=N] [--images=N] [--seconds=S] [--connections=C] [--dir=PATH]
//                       [--keep] [--phases=peer,sync,load,crash] [--seed=N]
// --quick: 20,000 entries, 100 changes, 3 kills of a 5,000-entry sync, small images, ~1 s load
// windows. The last line is one JSON object (DESIGN.md section 9); its "ok" is false when a
// request failed or a check did not hold.
#include "bench_args.hpp"
#include "bench_postgres.hpp"
#include "fake_http_server.hpp"
#include "http_client.hpp"
#include "load_client.hpp"
#include "load_fixture.hpp"
#include "ncmec_fake.hpp"

#include "hashguard/hashdb/database.hpp"

#include <pqxx/pqxx>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

using namespace hashguard;
using namespace hashguard::bench;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view ingest_key = "exchange-bench-ingest-key-5c1e9a07-01";
constexpr std::string_view fake_user = "bench-esp";
constexpr std::string_view fake_password = "bench-pa55-word";

struct config {
  std::uint64_t entries{1'000'000};
  std::uint64_t changes{1'000};
  std::uint64_t crash_entries{200'000};
  unsigned kills{20};
  int page{1000};
  unsigned images{16};
  unsigned image_width{1155};
  unsigned image_height{866};
  double seconds{10};
  unsigned connections{8};
  fs::path dir;
  bool keep{false};
  bool quick{false};
  std::uint64_t seed{20261207};
  std::set<std::string> phases{"peer", "sync", "load", "crash"};
  [[nodiscard]] bool runs(const std::string& p) const { return phases.count(p) != 0; }
};

struct report {
  std::vector<std::pair<std::string, std::string>> fields;
  void add(const std::string& key, double v) {
    std::ostringstream o;
    o << std::setprecision(6) << (std::isfinite(v) ? v : 0.0);
    fields.emplace_back(key, o.str());
  }
  void add_bool(const std::string& key, bool v) { fields.emplace_back(key, v ? "true" : "false"); }
  [[nodiscard]] std::string json() const {
    std::string o = "{";
    for (std::size_t i = 0; i < fields.size(); ++i) {
      o += (i ? ", \"" : "\"") + fields[i].first + "\": " + fields[i].second;
    }
    return o + "}";
  }
};

double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- the nodes -------------------------------------------------------------------------------

struct node {
  std::string name;
  std::unique_ptr<hg_test::serve_process> proc;
};

std::vector<std::string> node_argv(const std::string& db_url, const fs::path& dir,
                                   const std::string& name, const fs::path& exchanges) {
  std::vector<std::string> argv{HG_HASHGUARD_BIN,
                                "serve",
                                "--http-port=0",
                                "--database-url=" + db_url,
                                "--data-dir=" + (dir / name).string(),
                                "--node-name=" + name,
                                "--auth-keys=ingest:" + std::string(ingest_key),
                                "--auth-rate-limit-per-s=0",
                                "--snapshot-poll-ms=200",
                                "--http-log-requests=false"};
  if (!exchanges.empty()) argv.push_back("--exchanges-file=" + exchanges.string());
  return argv;
}

bool start_nodes(std::vector<node>& nodes, const std::string& db_url, const fs::path& dir,
                 const std::vector<std::string>& names, const fs::path& exchanges,
                 std::string& why) {
  for (const auto& name : names) {
    auto p = start_serve(node_argv(db_url, dir, name, exchanges), dir / (name + ".log"), 300s, why);
    if (!p) return false;
    nodes.push_back({name, std::move(p)});
  }
  return true;
}

void stop_nodes(std::vector<node>& nodes) {
  for (auto& n : nodes) (void)stop_serve(*n.proc);
  nodes.clear();
}

// The node's published snapshot's PDQ entries (-1 when /metrics does not answer).
double snapshot_pdq(const hg_test::serve_process& p) {
  const auto r = hg_test::fetch(p.port(), "GET", "/metrics");
  if (!r || r->status != 200) return -1;
  return hg_test::metric_value(r->body, R"(hg_snapshot_entries{signal="pdq"})").value_or(-1);
}

// Waits until every node's snapshot holds `want` PDQ entries; the seconds it took from `t0`,
// or a negative value after `limit`.
double wait_snapshots(const std::vector<node>& nodes, double want, clock_type::time_point t0,
                      std::chrono::seconds limit) {
  while (clock_type::now() - t0 < limit) {
    bool all = true;
    for (const auto& n : nodes) all = all && snapshot_pdq(*n.proc) == want;
    if (all) return since(t0);
    std::this_thread::sleep_for(50ms);
  }
  return -1;
}

bool matches(const hg_test::serve_process& p, const std::string& pdq) {
  const std::string body = R"({"pdq":")" + pdq + R"("})";
  const auto r = hg_test::exchange(p.port(), "POST", "/v1/match", ingest_key, body,
                                   {{"Content-Type", "application/json"}});
  return r && r->status == 200 && r->body.find("\"hits\":[]") == std::string::npos;
}

// ---- the source ------------------------------------------------------------------------------

// The fake NCMEC server on a local port, and the exchanges file that follows it.
struct source {
  hg_fakes::ncmec_fake fake{std::string(fake_user), std::string(fake_password)};
  hg_test::fake_http_server server{
      [this](const hg_test::fake_request& r) { return fake.handle(r); }};
  std::int64_t first_timestamp{};

  source(std::uint64_t entries, int page) {
    // One entry a second, ending ten minutes ago: a first sync walks its windows to now.
    first_timestamp = unix_now() - static_cast<std::int64_t>(entries) - 600;
    fake.generate(entries, first_timestamp, 1);
    fake.set_generated_md5(false);
    hg_fakes::knobs k;
    k.page_size = page;
    fake.set_knobs(k);
  }
  void hold(bool refuse, int page) {
    hg_fakes::knobs k;
    k.page_size = page;
    k.expire_after = refuse ? 0 : -1;
    fake.set_knobs(k);
  }

  // The exchanges file (and its secret) in `dir`.
  fs::path write_config(const fs::path& dir, const std::string& list) const {
    const fs::path secret = dir / "ncmec.secret";
    std::ofstream(secret) << fake_password << "\n";
    const fs::path conf = dir / "exchanges.conf";
    std::ofstream out(conf);
    out << "[exchange ncmec-bench]\nkind = ncmec\ncredential_file = " << secret.string()
        << "\nsetting.base_url = " << server.base_url() << "\nsetting.username = " << fake_user
        << "\nsetting.start_time = " << first_timestamp
        << "\nsetting.settle_s = 1\ninterval_s = 1\nfeed.pdq = " << list
        << " threshold=31 action=review\n";
    return conf;
  }
};

std::string source_id(const std::string& id) {
  return "1-" + id;
}

// The changes an incremental sync (or the crash test) applies at the source: `n` changes,
// half new entries "n<round>-<k>", a quarter deletions and a quarter new values of generated
// entries, stamped `at`. `live` (source id -> value) is updated to match.
struct change_set {
  std::vector<std::string> added_values;
  std::vector<std::string> changed_values;
  std::vector<std::string> deleted_values;
};
change_set apply_changes(hg_fakes::ncmec_fake& fake, std::uint64_t n, std::uint64_t generated,
                         std::int64_t first_timestamp, std::int64_t at, int round,
                         std::mt19937_64& rng, std::unordered_map<std::string, std::string>* live) {
  change_set out;
  std::vector<hg_fakes::ncmec_entry> entries;
  const std::uint64_t round_base = static_cast<std::uint64_t>(round) * std::uint64_t{1'000'000};
  const std::uint64_t adds = n / 2;
  const std::uint64_t deletions = n / 4;
  const std::uint64_t updates = n - adds - deletions;
  for (std::uint64_t k = 0; k < adds; ++k) {
    hg_fakes::ncmec_entry e;
    e.id = "n" + std::to_string(round) + "-" + std::to_string(k);
    e.timestamp = at;
    const auto v = hg_fakes::generated_hex((std::uint64_t{1} << 50U) + round_base + k, 64);
    e.fingerprints = {{"pdq", v}};
    out.added_values.push_back(v);
    if (live) (*live)[source_id(e.id)] = v;
    entries.push_back(std::move(e));
  }
  // Distinct generated entries: every fourth from a random start, so none is hit twice.
  std::uint64_t i = rng() % std::max<std::uint64_t>(generated / 4, 1);
  const std::uint64_t stride = std::max<std::uint64_t>(generated / (deletions + updates + 1), 1);
  for (std::uint64_t k = 0; k < deletions + updates && i < generated; ++k, i += stride) {
    auto e = hg_fakes::ncmec_fake::generated(i, first_timestamp, 1);
    const std::string old_value = e.fingerprints.front().second;
    e.fingerprints.resize(1);
    e.timestamp = at;
    if (k < deletions) {
      e.deleted = true;
      e.fingerprints.clear();
      out.deleted_values.push_back(old_value);
      if (live) live->erase(source_id(e.id));
    } else {
      const auto v = hg_fakes::generated_hex((std::uint64_t{1} << 51U) + round_base + i, 64);
      e.fingerprints = {{"pdq", v}};
      out.changed_values.push_back(v);
      if (live) (*live)[source_id(e.id)] = v;
    }
    entries.push_back(std::move(e));
  }
  fake.upsert(std::move(entries));
  return out;
}

// ---- the phases ------------------------------------------------------------------------------

std::string fresh_database(const bench_database& db, const std::string& name, std::string& why) {
  if (!hashdb::create_database(db.url(), name)) {
    why = "cannot create database " + name;
    return {};
  }
  return hashdb::url_with_database(db.url(), name);
}

bool write_list_file(const fs::path& path, std::uint64_t entries) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f,
               "# hashguard-list v1\n# name: import-pdq\n# source: exchange-bench\n"
               "# signal: pdq\n# threshold: 31\n# action: review\n# dihedral: true\n"
               "# version: 1\n# entries: %llu\nhash\n",
               static_cast<unsigned long long>(entries));
  for (std::uint64_t i = 0; i < entries; ++i) {
    const auto e = hg_fakes::ncmec_fake::generated(i, 0, 1);
    std::fprintf(f, "%s\n", e.fingerprints.front().second.c_str());
  }
  return std::fclose(f) == 0;
}

struct peer_figures {
  double import_s{-1};
  double visible_s{-1};
};

bool run_peer(const config& cfg, const bench_database& db, peer_figures& out, std::string& why) {
  const std::string url = fresh_database(db, "xb_import", why);
  if (url.empty()) return false;
  const fs::path file = cfg.dir / "import.hgl";
  if (!write_list_file(file, cfg.entries)) {
    why = "cannot write " + file.string();
    return false;
  }
  std::vector<node> nodes;
  if (!start_nodes(nodes, url, cfg.dir, {"import-a", "import-b"}, {}, why)) return false;
  const auto t0 = clock_type::now();
  const auto r = run_command({HG_HASHGUARD_BIN, "lists", "import", "import-pdq", file.string(),
                              "--format", "hashguard", "--database-url=" + url},
                             cfg.dir / "import.log", cfg.dir / "import.log");
  out.import_s = since(t0);
  if (r.exit_status != 0) {
    why = "hashguard lists import failed (see " + (cfg.dir / "import.log").string() + ")";
    stop_nodes(nodes);
    return false;
  }
  out.visible_s = wait_snapshots(nodes, static_cast<double>(cfg.entries), t0, 600s);
  stop_nodes(nodes);
  fs::remove(file);
  std::cout << "  peer: lists import " << out.import_s << " s (CLI cpu " << r.cpu_s
            << " s); in both nodes' snapshots after " << out.visible_s << " s\n"
            << std::flush;
  if (out.visible_s < 0) why = "the imported list never reached both nodes' snapshots";
  return out.visible_s >= 0;
}

struct sync_figures {
  double first_s{-1};
  double incremental_s{-1};
  std::int64_t pages{};
  bool incremental_matches{false};
};

bool run_sync(const config& cfg, const bench_database& db, sync_figures& out, std::string& why) {
  const std::string url = fresh_database(db, "xb_sync", why);
  if (url.empty()) return false;
  source src(cfg.entries, cfg.page);
  const fs::path dir = cfg.dir / "sync";
  fs::create_directories(dir);
  const fs::path conf = src.write_config(dir, "ncmec-pdq");
  std::vector<node> nodes;
  const auto t0 = clock_type::now();
  if (!start_nodes(nodes, url, dir, {"sync-a", "sync-b"}, conf, why)) return false;
  out.first_s = wait_snapshots(nodes, static_cast<double>(cfg.entries), t0, 900s);
  {
    pqxx::connection pc(url);
    out.pages = pqxx::nontransaction(pc)
                    .exec1("SELECT pages FROM exchanges WHERE name = 'ncmec-bench'")[0]
                    .as<std::int64_t>();
  }
  std::cout << "  first sync of " << cfg.entries << " entries (" << out.pages
            << " pages): in both nodes' snapshots " << out.first_s << " s after they started\n"
            << std::flush;
  if (out.first_s < 0) {
    why = "the first sync never reached both nodes' snapshots";
    stop_nodes(nodes);
    return false;
  }
  // The incremental sync: changes stamped now, after a second so the nodes are idle again.
  std::this_thread::sleep_for(1500ms);
  std::mt19937_64 rng(cfg.seed);
  const auto t1 = clock_type::now();
  const auto changes = apply_changes(src.fake, cfg.changes, cfg.entries, src.first_timestamp,
                                     unix_now(), 1, rng, nullptr);
  const double want = static_cast<double>(cfg.entries + changes.added_values.size() -
                                          changes.deleted_values.size());
  out.incremental_s = wait_snapshots(nodes, want, t1, 120s);
  out.incremental_matches = true;
  for (const auto& n : nodes) {
    out.incremental_matches = out.incremental_matches &&
                              matches(*n.proc, changes.added_values.back()) &&
                              matches(*n.proc, changes.changed_values.back()) &&
                              !matches(*n.proc, changes.deleted_values.back());
  }
  std::cout << "  incremental sync of " << cfg.changes << " changes: in both nodes' snapshots "
            << out.incremental_s << " s after the source changed (interval 1 s, settle 1 s); "
            << (out.incremental_matches ? "added, changed and deleted entries match as they should"
                                        : "MATCHING DOES NOT SHOW THE CHANGES")
            << "\n"
            << std::flush;
  stop_nodes(nodes);
  return true;
}

struct load_figures {
  double max_rps{0};
  double rate{0};
  double idle_p50{0}, idle_p99{0}, idle_p999{0};
  double sync_p50{0}, sync_p99{0}, sync_p999{0};
  std::uint64_t idle_errors{0}, sync_errors{0}, sync_requests{0};
  double sync_s{-1};
  bool covered{false};  ///< the loaded window lasted until both swaps were done
};

void print_phase(const std::string& label, const load_result& r) {
  std::cout << "  " << label << ": " << std::fixed << std::setprecision(1) << r.rps()
            << " req/s, p50 " << std::setprecision(2) << r.latency.percentile_ms(50) << " ms, p99 "
            << r.latency.percentile_ms(99) << " ms, p99.9 " << r.latency.percentile_ms(99.9)
            << " ms, errors " << r.errors() << " of " << r.completed << "\n"
            << std::defaultfloat << std::flush;
}

bool run_load_phase(const config& cfg, const bench_database& db, double expected_sync_s,
                    load_figures& out, std::string& why) {
  const std::string url = fresh_database(db, "xb_load", why);
  if (url.empty()) return false;
  std::vector<std::string> requests;
  for (unsigned i = 0; i < cfg.images; ++i) {
    const auto jpeg = make_jpeg(cfg.image_width, cfg.image_height, cfg.seed + i);
    if (jpeg.empty()) {
      why = "cannot make the test images";
      return false;
    }
    requests.push_back(make_request("POST", "/v1/scan", ingest_key, "image/jpeg", jpeg));
  }
  source src(cfg.entries, cfg.page);
  src.hold(true, cfg.page);  // the syncs fail (401) until the idle figures are taken
  const fs::path dir = cfg.dir / "load";
  fs::create_directories(dir);
  const fs::path conf = src.write_config(dir, "ncmec-pdq");
  std::vector<node> nodes;
  if (!start_nodes(nodes, url, dir, {"load-a", "load-b"}, conf, why)) return false;
  const auto& target = *nodes.front().proc;

  load_options o;
  o.port = target.port();
  o.connections = cfg.connections;
  o.seconds = cfg.seconds;
  o.warmup_s = cfg.quick ? 0.3 : 1.0;
  const auto max = run_load(o, requests);
  print_phase("POST /v1/scan, closed loop, idle (the maximum)", max);
  out.max_rps = max.rps();
  out.rate = 0.5 * out.max_rps;
  o.rate = out.rate;
  const auto idle = run_load(o, requests);
  print_phase("POST /v1/scan, open loop at 50 %, idle", idle);
  out.idle_p50 = idle.latency.percentile_ms(50);
  out.idle_p99 = idle.latency.percentile_ms(99);
  out.idle_p999 = idle.latency.percentile_ms(99.9);
  out.idle_errors = idle.errors() + max.errors();

  // The same open loop while the first sync runs and both nodes swap their snapshots.
  // Generous: on a loaded machine (the test command runs beside other tests) the sync can take
  // twice its estimate, and a window that ends first measures nothing of the swaps.
  o.seconds = std::max(cfg.seconds, expected_sync_s * 3 + (cfg.quick ? 6 : 10));
  o.warmup_s = 0;
  std::atomic<double> sync_s{-1};
  const auto t0 = clock_type::now();
  src.hold(false, cfg.page);
  std::thread watch([&] {
    sync_s = wait_snapshots(nodes, static_cast<double>(cfg.entries), t0,
                            std::chrono::seconds(static_cast<long>(o.seconds) + 120));
  });
  const auto during = run_load(o, requests);
  const double window_end = since(t0);
  watch.join();
  out.sync_s = sync_s;
  out.covered = out.sync_s >= 0 && out.sync_s <= window_end;
  print_phase("POST /v1/scan, open loop at 50 %, during the sync and swaps", during);
  std::cout << "  the sync reached both snapshots after " << out.sync_s << " s, the load window "
            << window_end << " s" << (out.covered ? "" : " (NOT COVERED)") << "\n"
            << std::flush;
  out.sync_p50 = during.latency.percentile_ms(50);
  out.sync_p99 = during.latency.percentile_ms(99);
  out.sync_p999 = during.latency.percentile_ms(99.9);
  out.sync_errors = during.errors();
  out.sync_requests = during.completed;
  stop_nodes(nodes);
  return true;
}

struct crash_figures {
  unsigned kills{0};
  unsigned kills_mid_sync{0};
  double total_s{0};
  std::uint64_t expected{0};
  std::uint64_t rows{0};
  std::uint64_t wrong{0};  ///< rows not in the source, with another value, or doubled
  std::uint64_t missing{0};
  bool exact{false};
};

bool run_crash(const config& cfg, const bench_database& db, crash_figures& out, std::string& why) {
  const std::string url = fresh_database(db, "xb_crash", why);
  if (url.empty()) return false;
  source src(cfg.crash_entries, cfg.page);
  const fs::path dir = cfg.dir / "crash";
  fs::create_directories(dir);
  const fs::path conf = src.write_config(dir, "crash-pdq");
  std::unordered_map<std::string, std::string> live;
  live.reserve(cfg.crash_entries + cfg.changes);
  for (std::uint64_t i = 0; i < cfg.crash_entries; ++i) {
    live.emplace(source_id("g" + std::to_string(i)), hg_fakes::generated_hex(i, 64));
  }
  std::mt19937_64 rng(cfg.seed + 7);
  const auto argv = node_argv(url, dir, "crash", conf);
  pqxx::connection pc(url);
  auto pages = [&] {
    try {
      const auto r =
          pqxx::nontransaction(pc).exec("SELECT pages FROM exchanges WHERE name = 'ncmec-bench'");
      return r.empty() ? std::int64_t{0} : r[0][0].as<std::int64_t>();
    } catch (const std::exception&) {
      return std::int64_t{-1};
    }
  };
  auto caught_up = [&] {
    const auto r = pqxx::nontransaction(pc).exec(
        "SELECT last_success_at IS NOT NULL FROM exchanges WHERE name = 'ncmec-bench'");
    return !r.empty() && r[0][0].as<bool>();
  };
  const auto t0 = clock_type::now();
  // Each life: serve starts, the sync applies at least one page, then a random 0..800 ms more
  // (mid-page, mid-commit, mid-snapshot-build), then SIGKILL.
  std::uniform_int_distribution<int> extra_ms(0, 800);
  for (unsigned k = 0; k < cfg.kills; ++k) {
    if (k == cfg.kills / 2) {
      (void)apply_changes(src.fake, cfg.changes, cfg.crash_entries, src.first_timestamp, unix_now(),
                          2, rng, &live);
    }
    const auto before = pages();
    try {
      hg_test::serve_process p(argv, {}, (dir / "crash.log").string(), 120s);
      const auto life = clock_type::now();
      while (pages() <= before && !caught_up() && clock_type::now() - life < 60s) {
        std::this_thread::sleep_for(20ms);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms(rng)));
      p.signal(SIGKILL);
      (void)p.wait(30s);
    } catch (const std::exception& e) {
      why = std::string("serve did not start: ") + e.what();
      return false;
    }
    ++out.kills;
    const auto after = pages();
    // Mid-sync: pages were applied in this life and the source was not exhausted yet.
    if (after > before && !caught_up()) ++out.kills_mid_sync;
  }
  // The last life runs to the end.
  std::vector<node> nodes;
  if (!start_nodes(nodes, url, dir, {"crash"}, conf, why)) return false;
  const double live_count = static_cast<double>(live.size());
  const double done = wait_snapshots(nodes, live_count, t0, 900s);
  stop_nodes(nodes);
  out.total_s = since(t0);
  if (done < 0) {
    why = "the crashed sync never reached the source's entry count";
    // Still compare: the figures say what is wrong.
  }
  out.expected = live.size();
  std::unordered_map<std::string, bool> seen;
  seen.reserve(live.size());
  pqxx::nontransaction tx(pc);
  for (const auto& row :
       tx.exec("SELECT h.source_id, encode(h.value, 'hex') FROM hashes h"
               " JOIN hash_lists l ON l.id = h.list_id WHERE l.name = 'crash-pdq'")) {
    const auto sid = row[0].as<std::string>();
    const auto value = row[1].as<std::string>();
    ++out.rows;
    const auto it = live.find(sid);
    if (it == live.end() || it->second != value || seen.count(sid) != 0) {
      ++out.wrong;
      continue;
    }
    seen[sid] = true;
  }
  out.missing = out.expected - seen.size();
  out.exact = out.wrong == 0 && out.missing == 0 && out.rows == out.expected;
  std::cout << "  crash: " << out.kills << " SIGKILLs (" << out.kills_mid_sync
            << " with pages applied mid-sync), then to the end in " << out.total_s
            << " s: " << out.rows << " rows for " << out.expected << " live source entries, "
            << out.wrong << " wrong or doubled, " << out.missing << " missing: "
            << (out.exact ? "the list equals the source" : "THE LIST DIFFERS FROM THE SOURCE")
            << "\n"
            << std::flush;
  return done >= 0;
}

bool parse_args(int argc, char** argv, config& cfg) {
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      std::optional<std::string> v;
      if (a == "--quick") {
        cfg.quick = true;
        cfg.entries = 20'000;
        cfg.changes = 100;
        cfg.crash_entries = 5'000;
        cfg.kills = 3;
        cfg.page = 500;
        cfg.images = 4;
        cfg.image_width = 480;
        cfg.image_height = 360;
        cfg.seconds = 1;
      } else if ((v = flag_value(argc, argv, i, "--entries"))) {
        cfg.entries = int_arg<std::uint64_t>(*v, 10, 100'000'000);
      } else if ((v = flag_value(argc, argv, i, "--changes"))) {
        cfg.changes = int_arg<std::uint64_t>(*v, 4, 1'000'000);
      } else if ((v = flag_value(argc, argv, i, "--crash-entries"))) {
        cfg.crash_entries = int_arg<std::uint64_t>(*v, 10, 100'000'000);
      } else if ((v = flag_value(argc, argv, i, "--kills"))) {
        cfg.kills = int_arg<unsigned>(*v, 0, 1000);
      } else if ((v = flag_value(argc, argv, i, "--page"))) {
        cfg.page = int_arg<int>(*v, 1, 100'000);
      } else if ((v = flag_value(argc, argv, i, "--images"))) {
        cfg.images = int_arg<unsigned>(*v, 1, 1000);
      } else if ((v = flag_value(argc, argv, i, "--seconds"))) {
        cfg.seconds = int_arg<unsigned>(*v, 1, 3600);
      } else if ((v = flag_value(argc, argv, i, "--connections"))) {
        cfg.connections = int_arg<unsigned>(*v, 1, 1024);
      } else if ((v = flag_value(argc, argv, i, "--seed"))) {
        cfg.seed = int_arg<std::uint64_t>(*v);
      } else if ((v = flag_value(argc, argv, i, "--dir"))) {
        cfg.dir = *v;
      } else if ((v = flag_value(argc, argv, i, "--phases"))) {
        cfg.phases.clear();
        std::stringstream in(*v);
        for (std::string p; std::getline(in, p, ',');) {
          if (p != "peer" && p != "sync" && p != "load" && p != "crash") return false;
          cfg.phases.insert(p);
        }
      } else if (a == "--keep") {
        cfg.keep = true;
      } else {
        return false;
      }
    }
  } catch (const std::invalid_argument& e) {
    std::cerr << "exchange_bench: " << e.what() << "\n";
    return false;
  }
  return cfg.changes <= cfg.crash_entries && cfg.changes <= cfg.entries;
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  if (!parse_args(argc, argv, cfg)) {
    std::cerr << "usage: exchange_bench [--quick] [--entries=N] [--changes=N] [--crash-entries=N]"
                 " [--kills=N]\n                      [--page=N] [--images=N] [--seconds=S]"
                 " [--connections=C] [--dir=PATH]\n                      [--keep]"
                 " [--phases=peer,sync,load,crash] [--seed=N]\n";
    return 2;
  }
  cfg.dir = open_work_dir(cfg.dir, "hg-exchange-bench", false);
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  std::cout << "exchange_bench: " << cfg.entries << " PDQ entries from the fake NCMEC server ("
            << cfg.page << " a page), two serve nodes on one embedded PostgreSQL; " << cores
            << " CPUs; load average " << load_average() << "\n  working directory " << cfg.dir
            << "\n"
            << std::flush;
  auto db = bench_database::open("exchange_bench");
  if (!db) return 1;

  report rep;
  bool ok = true;
  std::string why;
  auto failed = [&](const std::string& phase) {
    std::cerr << "exchange_bench: " << phase << ": " << why << "\n";
    why.clear();
    ok = false;
  };
  rep.add("entries", static_cast<double>(cfg.entries));
  rep.add("page_entries", cfg.page);

  peer_figures peer;
  if (cfg.runs("peer") && !run_peer(cfg, *db, peer, why)) failed("peer");
  sync_figures sync;
  if (cfg.runs("sync") && !run_sync(cfg, *db, sync, why)) failed("sync");
  load_figures load;
  if (cfg.runs("load") &&
      !run_load_phase(cfg, *db, sync.first_s > 0 ? sync.first_s : 30, load, why)) {
    failed("load");
  }
  crash_figures crash;
  if (cfg.runs("crash") && !run_crash(cfg, *db, crash, why)) failed("crash");

  // The targets (issue 18), for 1M entries; --quick checks only what holds at any size.
  const bool full = cfg.entries >= 1'000'000;
  std::cout << "\ntargets:\n";
  if (cfg.runs("sync")) {
    std::cout << "  first sync to both snapshots: " << sync.first_s << " s (target <= 60 s"
              << (full ? "" : " at 1M") << "; peer lists import " << peer.import_s
              << " s, in both snapshots " << peer.visible_s << " s)\n"
              << "  incremental sync of " << cfg.changes
              << " changes visible: " << sync.incremental_s << " s (target <= 5 s)\n";
    ok = ok && sync.incremental_matches;
  }
  if (cfg.runs("load")) {
    const double ratio = load.idle_p99 > 0 ? load.sync_p99 / load.idle_p99 : 0;
    std::cout << "  scan p99 during the sync: " << load.sync_p99 << " ms = " << ratio << "x idle "
              << load.idle_p99 << " ms (target <= 2x), failed requests " << load.sync_errors
              << " (target 0)\n";
    rep.add("scan_max_rps", load.max_rps);
    rep.add("scan_open_rate_rps", load.rate);
    rep.add("scan_idle_p50_ms", load.idle_p50);
    rep.add("scan_idle_p99_ms", load.idle_p99);
    rep.add("scan_idle_p999_ms", load.idle_p999);
    rep.add("scan_sync_p50_ms", load.sync_p50);
    rep.add("scan_sync_p99_ms", load.sync_p99);
    rep.add("scan_sync_p999_ms", load.sync_p999);
    rep.add("scan_sync_p99_over_idle", ratio);
    rep.add("scan_sync_requests", static_cast<double>(load.sync_requests));
    rep.add("scan_sync_failed", static_cast<double>(load.sync_errors));
    rep.add("sync_under_load_s", load.sync_s);
    rep.add_bool("load_window_covered_sync", load.covered);
    ok = ok && load.sync_errors == 0 && load.idle_errors == 0 && load.covered;
  }
  if (cfg.runs("crash")) {
    std::cout << "  crash test: " << crash.kills << " kills, list "
              << (crash.exact ? "equals" : "DIFFERS FROM") << " the source (target: equal)\n";
    rep.add("crash_kills", crash.kills);
    rep.add("crash_kills_mid_sync", crash.kills_mid_sync);
    rep.add("crash_entries", static_cast<double>(crash.expected));
    rep.add("crash_wrong_rows", static_cast<double>(crash.wrong));
    rep.add("crash_missing_rows", static_cast<double>(crash.missing));
    rep.add_bool("crash_exact", crash.exact);
    ok = ok && crash.exact;
  }
  rep.add("first_sync_s", sync.first_s);
  rep.add("first_sync_pages", static_cast<double>(sync.pages));
  rep.add("incremental_changes", static_cast<double>(cfg.changes));
  rep.add("incremental_sync_s", sync.incremental_s);
  rep.add("peer_lists_import_s", peer.import_s);
  rep.add("peer_lists_import_visible_s", peer.visible_s);
  db->stop();
  close_work_dir(cfg.dir, cfg.keep);
  rep.add_bool("ok", ok);
  std::cout << rep.json() << "\n";
  return ok ? 0 : 1;
}
