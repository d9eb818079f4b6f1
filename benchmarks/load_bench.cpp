// load_bench: how fast is a real `hashguard serve` over HTTP, and what does HTTP cost against
// the same work done without it? (issue 6's benchmark)
//
// Set-up: 1 MP synthetic JPEGs (every 8th one's PDQ hash, 3 bits off, is listed, so scans
// match and record events), a PDQ list of --hashes random hashes (default 10M) and an MD5 list
// of --md5 (default a tenth of it, 1M), imported with `hashguard lists import` into the
// embedded PostgreSQL of a fresh data directory; then the built `hashguard serve` on it
// (request log on, scan threads = cores), driven by the in-repo load client (load_client.hpp:
// Boost.Asio keep-alive connections on loopback, sharing the machine's cores with the server).
//
// Phases, each ours against a peer from the same run:
//   1. POST /v1/scan, closed loop (the maximum), dihedral matching off (--match-dihedral=false)
//      vs `hashguard hash --threads=<cores>` over the same images (one process each, same
//      cores). Target: >= 85% of the CLI's images/s.
//   2. POST /v1/scan, open loop at 80% of phase 1's maximum: p50/p99/p99.9 measured from each
//      request's scheduled time. Target: p99 <= 50 ms.
//   3. POST /v1/match with one PDQ hash (a quarter have a listed neighbour within 31), closed
//      loop, vs match_bench's MIH measurement (the same mih_index over the same hashes, the
//      same queries, two threads, in this process after serve stopped). Target: >= 90%.
//   4. POST /v1/match with one MD5 (half listed), closed loop. Target: >= 20,000 requests/s.
//   5. POST /v1/scan, closed loop, dihedral matching on (serve's default; restarted): reported.
// Each phase prints requests/s (wall), latency percentiles, errors, and serve's CPU time per
// request (from /proc/PID/stat; the embedded PostgreSQL is a separate process, not counted).
//
// usage: load_bench [--quick] [--hashes=N] [--md5=N] [--images=N] [--seconds=S]
//                   [--connections=C] [--match-connections=C] [--client-threads=T]
//                   [--dir=PATH] [--keep] [--reuse] [--phases=scan,match,dihedral]
//                   [--serve-flag=--KEY=VALUE ...]
// --phases runs a subset: scan = phases 1 and 2, match = 3 and 4, dihedral = 5 (default all;
// the figures of a phase not run are 0 and its targets are reported as not measured).
// --reuse (implies --keep) reuses the lists that an earlier run with the same sizes imported
// into --dir, so iterating on serve at 10M hashes does not re-import them each time.
// --serve-flag passes a setting to both serve runs (e.g. --serve-flag=--http-io-threads=2).
// --quick: 20k PDQ + 2k MD5, 8 images, ~1 s per phase. The last line is one JSON object
// (DESIGN.md section 9); its "ok" is false when any request failed.
#include "bench_args.hpp"
#include "http_client.hpp"
#include "load_client.hpp"
#include "load_fixture.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/matcher/kernel.hpp"
#include "hashguard/matcher/mih.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace hashguard;
using namespace hashguard::bench;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::string_view ingest_key = "load-bench-ingest-key-7f3a9c21-01234";

struct config {
  bench_setup setup;
  double seconds{10};
  unsigned connections{8};
  unsigned match_connections{16};
  unsigned client_threads{1};
  std::vector<std::string> serve_flags;  ///< --serve-flag=...: passed to both serve runs
  bool quick{false};
  bool keep{false};
  bool reuse{false};  ///< --reuse: keep DIR and reuse its imported lists (see prepare())
  std::set<std::string> phases{"scan", "match", "dihedral"};  ///< --phases: what to run
  [[nodiscard]] bool runs(const std::string& phase) const { return phases.count(phase) != 0; }
};

struct report {
  std::vector<std::pair<std::string, std::string>> fields;
  void add(const std::string& key, double v) {
    std::ostringstream o;
    o << std::setprecision(6) << (std::isfinite(v) ? v : 0.0);
    fields.emplace_back(key, o.str());
  }
  void add_text(const std::string& key, const std::string& v) {
    fields.emplace_back(key, "\"" + v + "\"");
  }
  [[nodiscard]] std::string json() const {
    std::string o = "{";
    for (std::size_t i = 0; i < fields.size(); ++i) {
      o += (i ? ", \"" : "\"") + fields[i].first + "\": " + fields[i].second;
    }
    return o + "}";
  }
};

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct phase_result {
  load_result load;
  double serve_cpu_s{0};
  [[nodiscard]] double serve_cpu_ms_per_request() const {
    return load.completed ? 1e3 * serve_cpu_s / static_cast<double>(load.completed) : 0;
  }
};

std::string statuses_text(const load_result& r) {
  std::string s;
  for (const auto& [status, n] : r.statuses) {
    if (status >= 200 && status < 300) continue;
    s += " " + std::to_string(status) + "x" + std::to_string(n);
  }
  return s;
}

// serve's /metrics exposition ("" when it does not answer).
std::string metrics_text(const hg_test::serve_process& srv) {
  const auto r = hg_test::fetch(srv.port(), "GET", "/metrics");
  return r ? r->body : std::string();
}

phase_result run_phase(const std::string& label, const hg_test::serve_process& srv, load_options o,
                       const std::vector<std::string>& requests) {
  o.port = srv.port();
  const auto before = sample_process(srv.pid());
  phase_result p;
  p.load = run_load(o, requests);
  const auto after = sample_process(srv.pid());
  if (before && after) p.serve_cpu_s = after->cpu_s - before->cpu_s;
  const auto& r = p.load;
  std::cout << std::fixed << std::setprecision(1) << "  " << std::left << std::setw(46) << label
            << std::right << std::setw(9) << r.rps() << " req/s  p50 " << std::setprecision(2)
            << r.latency.percentile_ms(50) << " p99 " << r.latency.percentile_ms(99) << " p99.9 "
            << r.latency.percentile_ms(99.9) << " max " << r.latency.max_ms() << " ms | serve cpu "
            << std::setprecision(3) << p.serve_cpu_ms_per_request() << " ms/req, client cpu "
            << std::setprecision(1) << r.client_cpu_s << " s | errors " << r.errors()
            << statuses_text(r)
            << (r.transport_errors ? " transport " + std::to_string(r.transport_errors) : "")
            << (r.unfinished ? " unfinished " + std::to_string(r.unfinished) : "") << "\n"
            << std::flush;
  return p;
}

// The peer of /v1/match with one PDQ hash: match_bench's MIH measurement (the same index type
// and options serve's snapshot uses) over the same hashes and queries; single queries,
// `threads` threads, wall-clock and per-thread CPU rates.
struct peer_rate {
  double wall_qps{0};
  double cpu_qps{0};
};
peer_rate mih_rate(const matcher::mih_index& index, const std::vector<core::hash256>& queries,
                   unsigned threads, double seconds) {
  std::atomic<std::uint64_t> total{0};
  std::vector<double> cpu(threads, 0);
  const auto t0 = clock_type::now();
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<matcher::range_match> out;
      const double c0 = thread_cpu_s();
      std::uint64_t n = 0;
      std::size_t i = t * 37;
      while (std::chrono::duration<double>(clock_type::now() - t0).count() < seconds || n < 8) {
        out.clear();
        index.range(std::span<const core::hash256>(&queries[i % queries.size()], 1), 31, out);
        ++i;
        ++n;
      }
      cpu[t] = thread_cpu_s() - c0;
      total += n;
    });
  }
  for (auto& th : pool) th.join();
  const double wall = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double cpu_max = *std::max_element(cpu.begin(), cpu.end());
  const auto n = static_cast<double>(total.load());
  return {n / wall, cpu_max > 0 ? n / cpu_max : 0};
}

bool parse_args(int argc, char** argv, config& cfg) {
  bool md5_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view name) { return flag_value(argc, argv, i, name); };
    try {
      if (a == "--quick") {
        cfg.quick = true;
        cfg.setup.pdq_count = 20'000;
        cfg.setup.image_count = 8;
        cfg.seconds = 1.0;
        cfg.connections = 4;
        cfg.match_connections = 8;
      } else if (a == "--keep") {
        cfg.keep = true;
      } else if (a == "--reuse") {
        cfg.reuse = true;
        cfg.keep = true;
      } else if (parse_setup_flag(argc, argv, i, cfg.setup, md5_given)) {
        continue;
      } else if (auto v4 = value("--seconds")) {
        cfg.seconds = std::stod(*v4);
      } else if (auto v5 = value("--connections")) {
        cfg.connections = int_arg<unsigned>(*v5);
      } else if (auto v6 = value("--match-connections")) {
        cfg.match_connections = int_arg<unsigned>(*v6);
      } else if (auto v7 = value("--client-threads")) {
        cfg.client_threads = int_arg<unsigned>(*v7);
      } else if (auto v9 = value("--serve-flag")) {
        cfg.serve_flags.push_back(*v9);
      } else if (auto v10 = value("--phases")) {
        cfg.phases.clear();
        std::stringstream list(*v10);
        for (std::string name; std::getline(list, name, ',');) {
          if (name != "scan" && name != "match" && name != "dihedral") return false;
          cfg.phases.insert(name);
        }
      } else {
        return false;
      }
    } catch (const std::exception&) {
      return false;
    }
  }
  default_md5_count(cfg.setup, md5_given);
  return cfg.setup.pdq_count >= 1000 && cfg.setup.image_count >= 1 && cfg.seconds > 0 &&
         cfg.connections >= 1 && cfg.match_connections >= 1 && cfg.client_threads >= 1 &&
         !cfg.phases.empty();
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  cfg.setup.hashguard_bin = HG_HASHGUARD_BIN;
  if (!parse_args(argc, argv, cfg)) {
    std::cerr << "usage: load_bench [--quick] [--hashes=N] [--md5=N] [--images=N] [--seconds=S]\n"
                 "                  [--connections=C] [--match-connections=C] "
                 "[--client-threads=T]\n                  [--dir=PATH] [--keep] [--reuse] "
                 "[--phases=scan,match,dihedral]\n                  "
                 "[--serve-flag=--KEY=VALUE ...]\n";
    return 2;
  }
  cfg.setup.dir = open_work_dir(cfg.setup.dir, "hg-load-bench", cfg.reuse);
  const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  const std::string load_start = load_average();
  std::cout << "load_bench: hashguard serve over HTTP/1.1 keep-alive on loopback; " << cores
            << " CPUs; load average " << load_start << "\n  data directory " << cfg.setup.dir
            << "\n"
            << std::flush;

  report rep;
  bench_data data;
  std::string why;
  if (!prepare(cfg.setup, data, why, cfg.reuse)) {
    std::cerr << "load_bench: " << why << "\n";
    return 1;
  }
  std::size_t listed_images = 0;
  int min_quality = 100;
  for (const auto& img : data.images) {
    listed_images += img.listed ? 1 : 0;
    min_quality = std::min(min_quality, img.quality);
  }

  // Requests.
  std::vector<std::string> scans;
  for (const auto& img : data.images) {
    scans.push_back(make_request("POST", "/v1/scan", ingest_key, "image/jpeg", img.jpeg,
                                 "X-Zone: load-bench\r\n"));
  }
  std::vector<std::string> pdq_matches;
  for (const auto& q : data.pdq_queries) {
    pdq_matches.push_back(make_request("POST", "/v1/match", ingest_key, "application/json",
                                       R"({"pdq":")" + core::to_hex(q) + R"("})"));
  }
  std::vector<std::string> md5_matches;
  for (const auto& m : data.md5_queries) {
    md5_matches.push_back(make_request("POST", "/v1/match", ingest_key, "application/json",
                                       R"({"md5":")" + m + R"("})"));
  }

  load_options scan_opt;
  scan_opt.connections = cfg.connections;
  scan_opt.threads = cfg.client_threads;
  scan_opt.seconds = cfg.seconds;
  scan_opt.warmup_s = cfg.quick ? 0.3 : 1.0;
  scan_opt.marker = R"("verdict":"match")";
  load_options match_opt = scan_opt;
  match_opt.connections = cfg.match_connections;

  std::uint64_t errors = 0;
  bool ok = true;

  // ---- serve, dihedral matching off ----------------------------------------------------------
  auto t_start = clock_type::now();
  std::vector<std::string> flags_off = cfg.serve_flags;
  flags_off.emplace_back("--match-dihedral=false");
  const auto srv_off =
      start_serve(serve_argv(cfg.setup, std::string(ingest_key), flags_off),
                  cfg.setup.dir / "serve-dihedral-off.log", std::chrono::seconds(600), why);
  if (!srv_off) {
    std::cerr << "load_bench: serve: " << why << "\n";
    return 1;
  }
  hg_test::serve_process& srv = *srv_off;
  const double serve_start_s = std::chrono::duration<double>(clock_type::now() - t_start).count();
  const auto rss_loaded = sample_process(srv.pid());
  std::cout << "  serve (pid " << srv.pid() << ") ready in " << std::setprecision(1) << std::fixed
            << serve_start_s << " s (snapshot from PostgreSQL), rss "
            << (rss_loaded ? rss_loaded->rss_mb : 0) << " MB; " << listed_images << " of "
            << data.images.size() << " images listed, lowest PDQ quality " << min_quality << "\n\n"
            << std::flush;

  phase_result scan_off{};
  phase_result scan_80{};
  load_options open_opt = scan_opt;
  run_figures cli{};
  double cli_images = 0;
  double cli_ips = 0;
  double cli_cpu_ms = 0;
  if (cfg.runs("scan")) {
    const std::string metrics_before = metrics_text(srv);
    scan_off = run_phase("POST /v1/scan, max (dihedral off)", srv, scan_opt, scans);
    const std::string metrics_after = metrics_text(srv);
    errors += scan_off.load.errors();
    // Where a scan's time goes, from serve's own stage histograms over this phase.
    std::ostringstream stages;
    for (const char* stage : {"decode", "hash", "match", "store"}) {
      const std::string labels = std::string("stage=\"") + stage + "\"";
      const auto a = metric_totals(metrics_before, "hg_stage_duration_seconds", labels);
      const auto b = metric_totals(metrics_after, "hg_stage_duration_seconds", labels);
      const double n = b.count - a.count;
      const double mean_ms = n > 0 ? 1e3 * (b.sum - a.sum) / n : 0;
      stages << " " << stage << " " << std::setprecision(2) << mean_ms << " ms (" << n << ")";
      rep.add(std::string("scan_stage_") + stage + "_ms", mean_ms);
    }
    std::cout << "    serve's stage means:" << stages.str() << "\n";

    // The peer: the CLI over the same images, as many as the phase scanned (at least one pass).
    const auto target = static_cast<std::size_t>(scan_off.load.rps() * cfg.seconds);
    const std::size_t passes =
        std::max<std::size_t>(1, (target + data.images.size() - 1) / data.images.size());
    std::vector<std::string> hash_argv{cfg.setup.hashguard_bin, "hash",
                                       "--threads=" + std::to_string(cores), "--format=jsonl"};
    for (std::size_t p = 0; p < passes; ++p)
      hash_argv.push_back((cfg.setup.dir / "images").string());
    cli = run_command(hash_argv, cfg.setup.dir / "hash-cli.jsonl", cfg.setup.dir / "hash-cli.log");
    cli_images = static_cast<double>(passes * data.images.size());
    cli_ips = cli.wall_s > 0 ? cli_images / cli.wall_s : 0;
    cli_cpu_ms = cli_images > 0 ? 1e3 * cli.cpu_s / cli_images : 0;
    if (cli.exit_status != 0) {
      std::cerr << "load_bench: hashguard hash failed\n";
      ok = false;
    }
    std::cout << "  " << std::left << std::setw(46)
              << ("peer: hashguard hash --threads=" + std::to_string(cores)) << std::right
              << std::setw(9) << std::setprecision(1) << cli_ips << " images/s (" << cli_images
              << " images, " << std::setprecision(2) << cli.wall_s << " s wall, cpu "
              << std::setprecision(3) << cli_cpu_ms << " ms/image)\n";

    // p99 at 80% of the maximum.
    open_opt = scan_opt;
    open_opt.rate = 0.8 * scan_off.load.rps();
    open_opt.connections = std::max(cfg.connections * 2, 16U);
    if (open_opt.rate > 0) {
      std::ostringstream label;
      label << "POST /v1/scan, open loop " << std::fixed << std::setprecision(0) << open_opt.rate
            << " req/s (80%)";
      scan_80 = run_phase(label.str(), srv, open_opt, scans);
      errors += scan_80.load.errors();
      const auto& m = scan_80.load.latency_marked;
      const auto& u = scan_80.load.latency_unmarked;
      std::cout << std::setprecision(2)
                << "    scans answered \"match\" (event stored first): " << m.count() << ", p50 "
                << m.percentile_ms(50) << " p99 " << m.percentile_ms(99)
                << " ms; the others: " << u.count() << ", p50 " << u.percentile_ms(50) << " p99 "
                << u.percentile_ms(99) << " ms\n";
    } else {
      ok = false;
    }
  }

  phase_result match_pdq{};
  phase_result match_md5{};
  double match_stage_ms = 0;
  if (cfg.runs("match")) {
    const std::string before = metrics_text(srv);
    match_pdq = run_phase("POST /v1/match, one PDQ hash, max", srv, match_opt, pdq_matches);
    const std::string after = metrics_text(srv);
    errors += match_pdq.load.errors();
    // How long serve's own lookup took (its match stage), beside the whole request's CPU.
    const std::string labels = "stage=\"match\"";
    const auto a = metric_totals(before, "hg_stage_duration_seconds", labels);
    const auto b = metric_totals(after, "hg_stage_duration_seconds", labels);
    match_stage_ms = b.count > a.count ? 1e3 * (b.sum - a.sum) / (b.count - a.count) : 0;
    std::cout << "    serve's match stage mean " << std::setprecision(3) << match_stage_ms
              << " ms (wall, " << (b.count - a.count) << " lookups)\n";
    match_md5 = run_phase("POST /v1/match, one MD5, max", srv, match_opt, md5_matches);
    errors += match_md5.load.errors();
  }
  const auto rss_end_off = sample_process(srv.pid());
  const int exit_off = stop_serve(srv);
  if (exit_off != 0) {
    std::cerr << "load_bench: serve exited with " << exit_off << "\n";
    ok = false;
  }

  // ---- serve, dihedral matching on (the default) ------------------------------------------------
  double serve_restart_s = 0;
  phase_result scan_on{};
  if (cfg.runs("dihedral")) {
    t_start = clock_type::now();
    const auto srv_on =
        start_serve(serve_argv(cfg.setup, std::string(ingest_key), cfg.serve_flags),
                    cfg.setup.dir / "serve-dihedral-on.log", std::chrono::seconds(600), why);
    if (!srv_on) {
      std::cerr << "load_bench: serve: " << why << "\n";
      return 1;
    }
    serve_restart_s = std::chrono::duration<double>(clock_type::now() - t_start).count();
    std::cout << "  serve restarted with dihedral matching on in " << std::setprecision(1)
              << serve_restart_s << " s (snapshot from the disk cache)\n";
    scan_on = run_phase("POST /v1/scan, max (dihedral on)", *srv_on, scan_opt, scans);
    errors += scan_on.load.errors();
    if (stop_serve(*srv_on) != 0) ok = false;
  }

  // ---- the peer of /v1/match: match_bench's MIH over the same hashes ---------------------------
  peer_rate mih1{};
  peer_rate mih2{};
  if (cfg.runs("match")) {
    auto kernel = matcher::startup_kernel();
    if (!kernel) {
      std::cerr << "load_bench: no matcher kernel\n";
      return 1;
    }
    t_start = clock_type::now();
    const matcher::mih_index index(data.pdq_list, **kernel, matcher::mih_options{});
    const double mih_build_s = std::chrono::duration<double>(clock_type::now() - t_start).count();
    mih1 = mih_rate(index, data.pdq_queries, 1, cfg.seconds);
    mih2 = mih_rate(index, data.pdq_queries, 2, cfg.seconds);
    std::cout << "  " << std::left << std::setw(46) << "peer: match_bench MIH, 1 thread"
              << std::right << std::setw(9) << std::setprecision(1) << mih1.wall_qps
              << " q/s (cpu-time " << mih1.cpu_qps << " q/s)\n"
              << "  " << std::left << std::setw(46) << "peer: match_bench MIH, 2 threads"
              << std::right << std::setw(9) << mih2.wall_qps << " q/s (" << index.slot_count()
              << " slots, built in " << std::setprecision(1) << mih_build_s << " s)\n";
  }

  // ---- figures ---------------------------------------------------------------------------------
  const double scan_vs_hash = cli_ips > 0 ? scan_off.load.rps() / cli_ips : 0;
  const double scan_vs_hash_cpu = scan_off.serve_cpu_ms_per_request() > 0
                                      ? cli_cpu_ms / scan_off.serve_cpu_ms_per_request()
                                      : 0;
  const double match_vs_mih = mih2.wall_qps > 0 ? match_pdq.load.rps() / mih2.wall_qps : 0;
  // The same comparisons per CPU-second, which the other processes of a shared machine move
  // much less than wall-clock rates: serve's CPU per request against the peer's per query.
  const double mih_cpu_ms = mih1.cpu_qps > 0 ? 1e3 / mih1.cpu_qps : 0;
  const double match_vs_mih_cpu = match_pdq.serve_cpu_ms_per_request() > 0
                                      ? mih_cpu_ms / match_pdq.serve_cpu_ms_per_request()
                                      : 0;
  // What `cores` idle cores would answer if the CPU per request stayed as measured: with the
  // client on the same cores, and with serve alone.
  const auto capacity = [cores](const phase_result& p, bool with_client) {
    const double n = static_cast<double>(p.load.completed);
    const double cpu = p.serve_cpu_s + (with_client ? p.load.client_cpu_s : 0);
    return cpu > 0 ? static_cast<double>(cores) * n / cpu : 0;
  };
  const double md5_capacity = capacity(match_md5, true);
  const double md5_capacity_serve = capacity(match_md5, false);
  const double p99_80 = scan_80.load.latency.percentile_ms(99);
  const std::string load_end = load_average();
  auto verdict = [](bool met) { return met ? "met" : "MISSED"; };
  std::cout << "\nTargets (" << data.pdq_list.size() << " PDQ + " << cfg.setup.md5_count
            << " MD5 hashes, " << cores << " cores shared by client and server; load average "
            << load_start << " at start, " << load_end << " at end):\n"
            << std::setprecision(1)
            << "  /v1/scan vs hashguard hash (dihedral off): " << 100 * scan_vs_hash
            << "% of the CLI's images/s (target >= 85%: " << verdict(scan_vs_hash >= 0.85)
            << "); per CPU-second " << 100 * scan_vs_hash_cpu << "% ("
            << verdict(scan_vs_hash_cpu >= 0.85) << ")\n"
            << "  /v1/scan with dihedral matching on: " << scan_on.load.rps() << " req/s ("
            << (cli_ips > 0 ? 100 * scan_on.load.rps() / cli_ips : 0) << "% of the CLI)\n"
            << std::setprecision(2) << "  p99 at 80% of the maximum: " << p99_80
            << " ms (target <= 50 ms: " << verdict(p99_80 > 0 && p99_80 <= 50) << ")\n"
            << "    matching scans " << scan_80.load.latency_marked.percentile_ms(99)
            << " ms, the others " << scan_80.load.latency_unmarked.percentile_ms(99) << " ms\n"
            << std::setprecision(1)
            << "  /v1/match one PDQ vs MIH 2 threads: " << 100 * match_vs_mih
            << "% (target >= 90%: " << verdict(match_vs_mih >= 0.9) << "); per CPU: MIH "
            << std::setprecision(3) << mih_cpu_ms << " ms/query, serve "
            << match_pdq.serve_cpu_ms_per_request() << " ms/request: " << std::setprecision(1)
            << 100 * match_vs_mih_cpu << "% (" << verdict(match_vs_mih_cpu >= 0.9) << ")\n"
            << "  /v1/match one MD5: " << match_md5.load.rps()
            << " req/s (target >= 20,000: " << verdict(match_md5.load.rps() >= 20000)
            << "); CPU-bound capacity of " << cores << " idle cores: " << md5_capacity
            << " req/s with this client on them (" << verdict(md5_capacity >= 20000) << "), "
            << md5_capacity_serve << " serve alone\n"
            << "  scans answered \"match\": " << scan_off.load.marked << " of "
            << scan_off.load.completed << " (" << listed_images << " of " << data.images.size()
            << " images listed); errors in all phases: " << errors << "\n";
  if (errors != 0) ok = false;
  if (cfg.phases.size() != 3) {
    std::cout << "  (only --phases=";
    for (const auto& p : cfg.phases) std::cout << p << " ";
    std::cout << "ran: the other figures are 0, not measured)\n";
  }

  rep.add("pdq_hashes", static_cast<double>(data.pdq_list.size()));
  rep.add("md5_hashes", static_cast<double>(cfg.setup.md5_count));
  rep.add("images", static_cast<double>(data.images.size()));
  rep.add("cores", cores);
  rep.add("import_pdq_s", data.import_pdq_s);
  rep.add("import_md5_s", data.import_md5_s);
  rep.add("serve_start_s", serve_start_s);
  rep.add("serve_restart_cached_s", serve_restart_s);
  rep.add("serve_rss_mb", rss_end_off ? rss_end_off->rss_mb : 0);
  rep.add("scan_rps_dihedral_off", scan_off.load.rps());
  rep.add("scan_p50_ms_max_load", scan_off.load.latency.percentile_ms(50));
  rep.add("scan_p99_ms_max_load", scan_off.load.latency.percentile_ms(99));
  rep.add("scan_serve_cpu_ms_per_image", scan_off.serve_cpu_ms_per_request());
  rep.add("hash_cli_images_per_s", cli_ips);
  rep.add("hash_cli_cpu_ms_per_image", cli_cpu_ms);
  rep.add("scan_vs_hash_cli", scan_vs_hash);
  rep.add("scan_vs_hash_cli_cpu", scan_vs_hash_cpu);
  rep.add("scan_rps_dihedral_on", scan_on.load.rps());
  rep.add("scan_serve_cpu_ms_per_image_dihedral_on", scan_on.serve_cpu_ms_per_request());
  rep.add("scan_open_loop_rate_rps", open_opt.rate);
  rep.add("scan_open_loop_achieved_rps", scan_80.load.rps());
  rep.add("scan_p50_ms_at_80pct", scan_80.load.latency.percentile_ms(50));
  rep.add("scan_p99_ms_at_80pct", p99_80);
  rep.add("scan_p999_ms_at_80pct", scan_80.load.latency.percentile_ms(99.9));
  rep.add("scan_p99_ms_at_80pct_matching", scan_80.load.latency_marked.percentile_ms(99));
  rep.add("scan_p99_ms_at_80pct_not_matching", scan_80.load.latency_unmarked.percentile_ms(99));
  rep.add("match_pdq_rps", match_pdq.load.rps());
  rep.add("match_pdq_p99_ms", match_pdq.load.latency.percentile_ms(99));
  rep.add("match_pdq_serve_cpu_ms", match_pdq.serve_cpu_ms_per_request());
  rep.add("match_pdq_stage_ms", match_stage_ms);
  rep.add("mih_qps_1t", mih1.wall_qps);
  rep.add("mih_qps_cpu_1t", mih1.cpu_qps);
  rep.add("mih_qps_2t", mih2.wall_qps);
  rep.add("match_pdq_vs_mih_2t", match_vs_mih);
  rep.add("mih_cpu_ms_per_query", mih_cpu_ms);
  rep.add("match_pdq_vs_mih_cpu", match_vs_mih_cpu);
  rep.add("match_md5_rps", match_md5.load.rps());
  rep.add("match_md5_p99_ms", match_md5.load.latency.percentile_ms(99));
  rep.add("match_md5_serve_cpu_ms", match_md5.serve_cpu_ms_per_request());
  rep.add("match_md5_client_cpu_ms",
          match_md5.load.completed
              ? 1e3 * match_md5.load.client_cpu_s / static_cast<double>(match_md5.load.completed)
              : 0);
  rep.add("match_md5_cpu_capacity_rps", md5_capacity);
  rep.add("match_md5_cpu_capacity_serve_only_rps", md5_capacity_serve);
  rep.add("scan_matches", static_cast<double>(scan_off.load.marked));
  rep.add("errors", static_cast<double>(errors));
  rep.add_text("load_average_start", load_start);
  rep.add_text("load_average_end", load_end);
  rep.fields.emplace_back("ok", ok ? "true" : "false");

  close_work_dir(cfg.setup.dir, cfg.keep);
  std::cout << "\n" << rep.json() << std::endl;
  return ok ? 0 : 1;
}
