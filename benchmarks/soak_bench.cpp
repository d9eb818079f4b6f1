// soak_bench: does `hashguard serve` stay flat under sustained load? (issue 8's soak)
//
// The same set-up as load_bench (synthetic 1 MP JPEGs, every 8th listed; a PDQ list of
// --hashes and an MD5 list of a tenth of it, imported into a fresh embedded PostgreSQL), serve
// with its defaults (dihedral matching on, request log on), then a mixed workload cycling
// through POST /v1/scan (each image; listed ones record events), POST /v1/match with one PDQ
// hash and with one MD5:
//   1. calibration: the mix's maximum, closed loop, for --calibrate-seconds;
//   2. the soak: open loop at --load (0.7) of that maximum for --minutes (10), in one-minute
//      segments. After calibration (the baseline: every buffer has seen peak load) and after
//      each segment (its connections closed, 300 ms to settle) it prints serve's resident
//      memory (VmRSS of /proc/PID/status), open descriptors (/proc/PID/fd), threads and CPU.
// It fails (exit 1, "ok": false) when, from the baseline to the end, VmRSS grew by more than
// max(--rss-tolerance-mb (16), --rss-tolerance-pct (5) % of the baseline), the descriptors by
// more than --fd-tolerance (8), or any request failed (a wrong status or a broken connection;
// requests still unanswered when a segment's 5 s grace ran out, because the server fell behind
// the schedule while other processes held the CPUs, are reported apart). The embedded PostgreSQL is
// a separate process and is not measured.
//
// usage: soak_bench [--quick] [--minutes=M] [--load=F] [--hashes=N] [--md5=N] [--images=N]
//                   [--connections=C] [--calibrate-seconds=S] [--rss-tolerance-mb=X]
//                   [--rss-tolerance-pct=P] [--fd-tolerance=K] [--dir=PATH] [--keep]
// --quick: 20k hashes, 8 images, four 2.5 s segments (~10 s of soak). The last line is one
// JSON object (DESIGN.md section 9).
#include "bench_args.hpp"
#include "load_client.hpp"
#include "load_fixture.hpp"

#include "hashguard/core/hex.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace hashguard;
using namespace hashguard::bench;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view ingest_key = "soak-bench-ingest-key-5be01d77-01234";

struct config {
  bench_setup setup;
  double minutes{10};
  double segment_s{60};
  double load{0.7};
  double calibrate_s{10};
  unsigned connections{8};
  double rss_tolerance_mb{16};
  double rss_tolerance_pct{5};
  std::size_t fd_tolerance{8};
  bool quick{false};
  bool keep{false};
};

bool parse_args(int argc, char** argv, config& cfg) {
  bool md5_given = false;
  cfg.setup.pdq_count = 1'000'000;
  cfg.setup.image_count = 32;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view name) { return flag_value(argc, argv, i, name); };
    try {
      if (a == "--quick") {
        cfg.quick = true;
        cfg.setup.pdq_count = 20'000;
        cfg.setup.image_count = 8;
        cfg.minutes = 10.0 / 60.0;
        cfg.segment_s = 2.5;
        cfg.calibrate_s = 1.5;
        cfg.connections = 4;
      } else if (a == "--keep") {
        cfg.keep = true;
      } else if (auto v = value("--minutes")) {
        cfg.minutes = std::stod(*v);
      } else if (auto v1 = value("--load")) {
        cfg.load = std::stod(*v1);
      } else if (parse_setup_flag(argc, argv, i, cfg.setup, md5_given)) {
        continue;
      } else if (auto v5 = value("--connections")) {
        cfg.connections = int_arg<unsigned>(*v5);
      } else if (auto v6 = value("--calibrate-seconds")) {
        cfg.calibrate_s = std::stod(*v6);
      } else if (auto v7 = value("--rss-tolerance-mb")) {
        cfg.rss_tolerance_mb = std::stod(*v7);
      } else if (auto v8 = value("--rss-tolerance-pct")) {
        cfg.rss_tolerance_pct = std::stod(*v8);
      } else if (auto v9 = value("--fd-tolerance")) {
        cfg.fd_tolerance = int_arg<decltype(cfg.fd_tolerance)>(*v9);
      } else {
        return false;
      }
    } catch (const std::exception&) {
      return false;
    }
  }
  default_md5_count(cfg.setup, md5_given);
  return cfg.minutes > 0 && cfg.load > 0 && cfg.load <= 1 && cfg.calibrate_s > 0 &&
         cfg.connections >= 1 && cfg.setup.pdq_count >= 1000 && cfg.setup.image_count >= 1;
}

void print_sample(const std::string& label, const proc_sample& s) {
  std::cout << "  " << std::left << std::setw(22) << label << std::right << std::fixed << " rss "
            << std::setprecision(1) << std::setw(8) << s.rss_mb << " MB  fds " << std::setw(4)
            << s.fds << "  threads " << std::setw(3) << s.threads << "  cpu "
            << std::setprecision(1) << s.cpu_s << " s";
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  cfg.setup.hashguard_bin = HG_HASHGUARD_BIN;
  if (!parse_args(argc, argv, cfg)) {
    std::cerr << "usage: soak_bench [--quick] [--minutes=M] [--load=F] [--hashes=N] [--md5=N]\n"
                 "                  [--images=N] [--connections=C] [--calibrate-seconds=S]\n"
                 "                  [--rss-tolerance-mb=X] [--rss-tolerance-pct=P] "
                 "[--fd-tolerance=K]\n                  [--dir=PATH] [--keep]\n";
    return 2;
  }
  cfg.setup.dir = open_work_dir(cfg.setup.dir, "hg-soak-bench", false);
  const std::string load_start = load_average();
  std::cout << "soak_bench: " << cfg.minutes << " min at " << 100 * cfg.load
            << "% of the measured maximum; load average " << load_start << "\n  data directory "
            << cfg.setup.dir << "\n"
            << std::flush;

  bench_data data;
  std::string why;
  if (!prepare(cfg.setup, data, why)) {
    std::cerr << "soak_bench: " << why << "\n";
    return 1;
  }
  // The mix: scan, PDQ match, MD5 match, in turn.
  std::vector<std::string> mix;
  for (std::size_t i = 0; i < data.images.size(); ++i) {
    mix.push_back(make_request("POST", "/v1/scan", ingest_key, "image/jpeg", data.images[i].jpeg,
                               "X-Zone: soak-bench\r\n"));
    mix.push_back(make_request(
        "POST", "/v1/match", ingest_key, "application/json",
        R"({"pdq":")" + core::to_hex(data.pdq_queries[i % data.pdq_queries.size()]) + R"("})"));
    mix.push_back(
        make_request("POST", "/v1/match", ingest_key, "application/json",
                     R"({"md5":")" + data.md5_queries[i % data.md5_queries.size()] + R"("})"));
  }

  const auto srv_child = start_serve(serve_argv(cfg.setup, std::string(ingest_key), {}),
                                     cfg.setup.dir / "serve.log", std::chrono::seconds(600), why);
  if (!srv_child) {
    std::cerr << "soak_bench: serve: " << why << "\n";
    return 1;
  }
  hg_test::serve_process& srv = *srv_child;
  const auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); };
  const auto loaded = sample_process(srv.pid());
  if (loaded) {
    print_sample("serve ready", *loaded);
    std::cout << "\n";
  }

  // Calibration runs with the soak's connection count, so the baseline has already seen as many
  // requests in flight as the soak can have (serve's memory high-water mark grows with them).
  load_options opt;
  opt.port = srv.port();
  opt.connections = std::max(cfg.connections * 2, 16U);
  opt.seconds = cfg.calibrate_s;
  opt.warmup_s = cfg.quick ? 0.3 : 1.0;
  const load_result calib = run_load(opt, mix);
  // Failures are wrong answers and broken connections; requests the server had not answered
  // when a segment's grace ran out (it fell behind the schedule, e.g. while other processes
  // held the CPUs) are counted apart and do not fail the soak.
  const auto failures = [](const load_result& r) {
    return (r.completed - r.ok) + r.transport_errors;
  };
  std::uint64_t errors = failures(calib);
  std::uint64_t behind = calib.unfinished;
  const double max_rps = calib.rps();
  const double rate = cfg.load * max_rps;
  std::cout << std::fixed << std::setprecision(1) << "  calibration: maximum " << max_rps
            << " req/s of the mix (p99 " << std::setprecision(2) << calib.latency.percentile_ms(99)
            << " ms, failed " << failures(calib) << "); soak rate " << std::setprecision(1) << rate
            << " req/s\n";
  settle();
  const auto start = sample_process(srv.pid());
  if (!start || rate <= 0) {
    std::cerr << "soak_bench: serve is gone or answered nothing\n";
    return 1;
  }
  print_sample("start (baseline)", *start);
  std::cout << "\n" << std::flush;

  opt.rate = rate;
  opt.warmup_s = 0;
  const double total_s = cfg.minutes * 60;
  const auto segments = static_cast<int>(std::max(1.0, std::round(total_s / cfg.segment_s)));
  latency_histogram all;
  std::uint64_t completed = 0;
  double soaked_s = 0;
  proc_sample end = *start;
  proc_sample peak = *start;
  for (int s = 0; s < segments; ++s) {
    opt.seconds = total_s / segments;
    const load_result r = run_load(opt, mix);
    settle();
    const auto now = sample_process(srv.pid());
    if (!now) {
      std::cerr << "soak_bench: serve died during the soak\n";
      return 1;
    }
    end = *now;
    peak.rss_mb = std::max(peak.rss_mb, now->rss_mb);
    peak.fds = std::max(peak.fds, now->fds);
    errors += failures(r);
    behind += r.unfinished;
    completed += r.completed;
    soaked_s += r.window_s;
    all.merge(r.latency);
    std::ostringstream label;
    label << "after " << std::setprecision(1) << soaked_s / 60 << " min";
    print_sample(label.str(), *now);
    std::cout << std::setprecision(1) << " | " << r.rps() << " req/s, p99 " << std::setprecision(2)
              << r.latency.percentile_ms(99) << " ms, failed " << failures(r)
              << ", unanswered in time " << r.unfinished << "\n"
              << std::flush;
  }
  const double rss_growth = end.rss_mb - start->rss_mb;
  const double rss_allowed =
      std::max(cfg.rss_tolerance_mb, cfg.rss_tolerance_pct / 100.0 * start->rss_mb);
  const auto fd_growth = static_cast<double>(end.fds) - static_cast<double>(start->fds);
  const bool rss_ok = rss_growth <= rss_allowed;
  const double achieved = soaked_s > 0 ? static_cast<double>(completed) / soaked_s : 0;
  const bool fd_ok = fd_growth <= static_cast<double>(cfg.fd_tolerance);
  const int exit_code = stop_serve(srv);
  const bool ok = rss_ok && fd_ok && errors == 0 && exit_code == 0;
  const std::string load_end = load_average();
  std::cout << std::setprecision(1) << "\n  start: rss " << start->rss_mb << " MB, fds "
            << start->fds << "; end: rss " << end.rss_mb << " MB, fds " << end.fds << "; peak rss "
            << peak.rss_mb << " MB\n  rss growth " << rss_growth << " MB (allowed " << rss_allowed
            << ": " << (rss_ok ? "flat" : "GREW") << "), fd growth " << fd_growth << " (allowed "
            << cfg.fd_tolerance << ": " << (fd_ok ? "flat" : "GREW") << ")\n  " << completed
            << " requests in " << soaked_s << " s (" << achieved << " req/s), p50 "
            << std::setprecision(2) << all.percentile_ms(50) << " ms, p99 " << all.percentile_ms(99)
            << " ms, p99.9 " << all.percentile_ms(99.9) << " ms; failed " << errors
            << ", unanswered in time " << behind << "; serve exit " << exit_code
            << "; load average " << load_end << "\n";

  close_work_dir(cfg.setup.dir, cfg.keep);
  std::ostringstream j;
  j << std::setprecision(6) << "{\"minutes\": " << soaked_s / 60
    << ", \"pdq_hashes\": " << data.pdq_list.size() << ", \"md5_hashes\": " << cfg.setup.md5_count
    << ", \"max_rps\": " << max_rps << ", \"soak_rate_rps\": " << rate
    << ", \"soak_achieved_rps\": " << achieved << ", \"p50_ms\": " << all.percentile_ms(50)
    << ", \"p99_ms\": " << all.percentile_ms(99) << ", \"p999_ms\": " << all.percentile_ms(99.9)
    << ", \"rss_start_mb\": " << start->rss_mb << ", \"rss_end_mb\": " << end.rss_mb
    << ", \"rss_peak_mb\": " << peak.rss_mb << ", \"rss_growth_mb\": " << rss_growth
    << ", \"rss_allowed_mb\": " << rss_allowed << ", \"fds_start\": " << start->fds
    << ", \"fds_end\": " << end.fds << ", \"fd_growth\": " << fd_growth
    << ", \"serve_cpu_s\": " << end.cpu_s - start->cpu_s << ", \"errors\": " << errors
    << ", \"unanswered_in_time\": " << behind << ", \"load_average_start\": \"" << load_start
    << "\", \"load_average_end\": \"" << load_end << "\", \"ok\": " << (ok ? "true" : "false")
    << "}";
  std::cout << "\n" << j.str() << std::endl;
  return ok ? 0 : 1;
}
