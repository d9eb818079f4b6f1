// match_bench: how fast does hashguard find every PDQ hash within distance 31 among N hashes?
//
// N random 256-bit hashes with planted near-duplicates (at 0..31 and, as decoys, 32..40 from
// the query images' hashes). For each index: build time, resident memory, single queries/s,
// images/s (one pass answering the 8 dihedral variants of an image), one thread and two
// (independent queries per thread), and recall against the linear scan. Indices: linear with
// each kernel this CPU runs, MIH, and FAISS IndexBinaryFlat / IndexBinaryMultiHash from the
// same run. Also the single-thread sequential read bandwidth of the buffer holding the hashes,
// and each linear scan's GB/s as a fraction of it.
//
// usage: match_bench [--quick] [--sizes N,N,...] [--seconds S] [--no-faiss] [--no-linear]
//                    [--mih-slots M]
// Default sizes 1000000,10000000 (several minutes, ~3 GB of memory); --quick: 20000, seconds.
// The last line of output is one JSON object (DESIGN.md section 9).
#include "bench_args.hpp"

#include "hashguard/core/hash.hpp"
#include "hashguard/matcher/kernel.hpp"
#include "hashguard/matcher/linear.hpp"
#include "hashguard/matcher/mih.hpp"

#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHash.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace match_bench {
// match_bench_read.cpp (built with -mavx2), match_bench_read_avx512.cpp (-mavx512f): the
// widest loads the CPU has, so the bandwidth figure is a ceiling for every kernel.
std::uint64_t read_all_avx2(const std::uint64_t* p, std::size_t words);
std::uint64_t read_all_avx512(const std::uint64_t* p, std::size_t words);
}  // namespace match_bench

using namespace hashguard;
using namespace hashguard::matcher;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr int radius = 31;
constexpr std::size_t image_count = 256;  // query images, 8 variants each
constexpr std::size_t recall_images = 32;

struct config {
  std::vector<std::size_t> sizes{1000000, 10000000};
  double seconds{1.0};
  bool quick{false};
  bool faiss{true};
  bool linear{true};
  std::uint32_t mih_slots{0};
};

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// CPU time of the calling thread: on a shared machine it shows the work apart from waiting.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU time of the whole process (index builds may use several threads).
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double rss_mb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

std::string size_label(std::size_t n) {
  if (n % 1000000 == 0) return std::to_string(n / 1000000) + "m";
  if (n % 1000 == 0) return std::to_string(n / 1000) + "k";
  return std::to_string(n);
}

core::hash256 flip(core::hash256 h, int bits, std::mt19937_64& rng) {
  std::set<unsigned> chosen;
  while (chosen.size() < static_cast<std::size_t>(bits))
    chosen.insert(static_cast<unsigned>(rng() % 256));
  for (unsigned k : chosen) h.words[k / 64] ^= std::uint64_t{1} << (k % 64);
  return h;
}

struct dataset {
  std::vector<core::hash256> hashes;
  std::vector<std::array<core::hash256, 8>> images;  // 8 variants per query image
};

dataset make_dataset(std::size_t n, std::uint64_t seed) {
  dataset d;
  std::mt19937_64 rng(seed);
  d.hashes.resize(n);
  for (auto& h : d.hashes) h = {{rng(), rng(), rng(), rng()}};
  d.images.resize(image_count);
  for (auto& img : d.images) {
    for (auto& v : img) v = {{rng(), rng(), rng(), rng()}};
  }
  if (n < 1000) return d;
  // Plant near-duplicates of the original orientation at 0..31 (matches) and 32..40 (decoys),
  // and one of a random other variant (a rotated copy in the list).
  const int planted[] = {0, 4, 9, 16, 23, 28, 31, 32, 36, 40};
  for (const auto& img : d.images) {
    for (int dist : planted) d.hashes[rng() % n] = flip(img[0], dist, rng);
    d.hashes[rng() % n] = flip(img[1 + rng() % 7], static_cast<int>(rng() % 32), rng);
  }
  return d;
}

// Runs `one(i)` for i = 0, 1, 2... (wrapping over `count` items) on `threads` threads for at
// least `seconds` and at least `min_calls` calls per thread. Returns calls per wall-clock
// second, and calls per CPU second of the threads (what the figure would be on an idle
// machine: this one is shared).
struct rate {
  double wall{};
  double cpu{};
};
rate throughput(std::size_t count, int threads, double seconds, std::size_t min_calls,
                const std::function<void(std::size_t)>& one) {
  std::atomic<std::size_t> total{0};
  std::vector<double> cpu(static_cast<std::size_t>(threads));
  const auto start = clock_type::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      omp_set_num_threads(1);  // FAISS: one OpenMP thread per benchmark thread
      std::size_t calls = 0;
      std::size_t i = static_cast<std::size_t>(t) * (count / static_cast<std::size_t>(threads));
      const auto t0 = clock_type::now();
      const double c0 = cpu_seconds();
      while (calls < min_calls || since(t0) < seconds) {
        one(i % count);
        ++i;
        ++calls;
      }
      cpu[static_cast<std::size_t>(t)] = cpu_seconds() - c0;
      total += calls;
    });
  }
  for (auto& th : pool) th.join();
  const double wall = since(start);
  const double cpu_max = *std::max_element(cpu.begin(), cpu.end());
  const auto calls = static_cast<double>(total.load());
  return {calls / wall, cpu_max > 0 ? calls / cpu_max : 0};
}

// One single-thread sequential read of the whole buffer; returns its wall-clock seconds.
double read_pass(const std::uint64_t* p, std::size_t words) {
  static volatile std::uint64_t sink = 0;
  const auto t0 = clock_type::now();
  std::uint64_t x = 0;
  if ((cpu_features() & feature_avx512_vpopcntdq) != 0) {
    x = match_bench::read_all_avx512(p, words);
  } else if ((cpu_features() & feature_avx2) != 0) {
    x = match_bench::read_all_avx2(p, words);
  } else {
    std::uint64_t a[8] = {};
    std::size_t i = 0;
    for (; i + 8 <= words; i += 8) {
      for (std::size_t k = 0; k < 8; ++k) a[k] ^= p[i + k];
    }
    for (; i < words; ++i) a[0] ^= p[i];
    x = a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
  }
  const double s = since(t0);
  sink = sink ^ x;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

using pair_set = std::set<std::pair<std::uint32_t, std::uint32_t>>;  // (query, entry)

// Recall of `got` against `truth`; also counts false positives.
double recall(const pair_set& truth, const pair_set& got, std::size_t& false_positives) {
  std::size_t found = 0;
  false_positives = 0;
  for (const auto& p : got) {
    if (truth.count(p) != 0) {
      ++found;
    } else {
      ++false_positives;
    }
  }
  return truth.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(truth.size());
}

struct report {
  std::vector<std::pair<std::string, double>> figures;
  void add(const std::string& key, double v) { figures.emplace_back(key, v); }
  std::string json() const {
    std::ostringstream o;
    o << std::setprecision(6) << "{";
    for (std::size_t i = 0; i < figures.size(); ++i) {
      o << (i ? "," : "") << "\"" << figures[i].first << "\":" << figures[i].second;
    }
    o << "}";
    return o.str();
  }
};

std::vector<core::hash256> recall_queries(const dataset& d) {
  std::vector<core::hash256> q;
  for (std::size_t i = 0; i < recall_images; ++i)
    q.insert(q.end(), d.images[i].begin(), d.images[i].end());
  return q;
}

pair_set to_pairs(const std::vector<range_match>& m) {
  pair_set s;
  for (const auto& x : m) s.emplace(x.query, x.index);
  return s;
}

void run_size(std::size_t n, const config& cfg, report& rep) {
  const std::string L = size_label(n);
  std::cout << "\n== N = " << n << " random 256-bit hashes, radius " << radius << " ("
            << image_count << " query images x 8 variants, near-duplicates planted)\n";
  const dataset d = make_dataset(n, 42 + n);
  const auto rq = recall_queries(d);
  const std::size_t min_calls = cfg.quick ? 3 : 5;
  const double base_rss = rss_mb();

  pair_set truth;
  bool have_truth = false;
  std::cout << std::fixed << std::setprecision(1);
  // ---- linear, each kernel ---------------------------------------------------------------
  for (const kernel* k : kernels()) {
    if (!cfg.linear && k != *startup_kernel()) continue;  // the truth still needs one scan
    if (!can_run(*k, cpu_features())) {
      std::cout << "linear " << k->name << ": CPU cannot run it\n";
      continue;
    }
    const std::string name = k->name;
    const auto t0 = clock_type::now();
    const linear_index256 index(d.hashes, *k);
    const double build_s = since(t0);
    const double mem = rss_mb() - base_rss;
    const double bytes = static_cast<double>(index.storage_bytes());
    const double budget = name == "scalar" ? cfg.seconds / 2 : cfg.seconds;
    std::vector<range_match> out;
    const auto single = [&](std::size_t i) {
      std::vector<range_match> o;
      index.range(std::span<const core::hash256>(&d.images[i][0], 1), radius, o);
    };
    const auto image = [&](std::size_t i) {
      std::vector<range_match> o;
      index.range(d.images[i], radius, o);
    };
    // Scan rate against read bandwidth, paired: each round reads the index's own buffer once
    // and then scans it for one query, back to back, so both see the same machine load (this
    // machine is shared); the fraction is the median over the rounds.
    std::vector<double> fractions;
    double best_read = 0;
    double best_scan = 0;
    const int rounds = cfg.quick ? 3 : 9;
    for (int round = 0; round < rounds; ++round) {
      const double t_read = read_pass(index.words(), index.size() * 4);
      const auto ts = clock_type::now();
      single(static_cast<std::size_t>(round) % image_count);
      const double t_scan = since(ts);
      fractions.push_back(t_read / t_scan);
      best_read = std::max(best_read, bytes / t_read / 1e9);
      best_scan = std::max(best_scan, bytes / t_scan / 1e9);
    }
    const double fraction = median(fractions);
    const rate r1 = throughput(image_count, 1, budget, min_calls, single);
    const double qps1 = r1.wall;
    const double ips1 = throughput(image_count, 1, budget, min_calls, image).wall;
    const double qps2 = throughput(image_count, 2, budget, min_calls, single).wall;
    const double ips2 = throughput(image_count, 2, budget, min_calls, image).wall;
    index.range(rq, radius, out);
    const pair_set got = to_pairs(out);
    if (!have_truth) {
      truth = got;
      have_truth = true;
    }
    std::size_t fp = 0;
    const double rec = recall(truth, got, fp);
    std::cout << "linear " << std::left << std::setw(17) << name << std::right << " build "
              << std::setprecision(2) << build_s << " s, rss +" << std::setprecision(0) << mem
              << " MB | scan " << std::setprecision(1) << best_scan << " GB/s vs read " << best_read
              << " GB/s of the same buffer: " << std::setprecision(0) << 100 * fraction
              << "% (paired median) | 1t: " << std::setprecision(1) << qps1 << " q/s (cpu-time "
              << r1.cpu << "), " << ips1 << " images/s | 2t: " << qps2 << " q/s, " << ips2
              << " images/s | recall " << std::setprecision(4) << rec
              << (fp ? " (false positives!)" : "") << "\n";
    const std::string p = "linear_" + name + "_";
    rep.add(p + "qps_" + L + "_1t", qps1);
    rep.add(p + "qps_cpu_" + L + "_1t", r1.cpu);
    rep.add(p + "qps_" + L + "_2t", qps2);
    rep.add(p + "images_per_s_" + L + "_1t", ips1);
    rep.add(p + "images_per_s_" + L + "_2t", ips2);
    rep.add(p + "scan_gbps_" + L + "_1t", best_scan);
    rep.add(p + "read_bw_gbps_" + L, best_read);
    rep.add(p + "bw_fraction_" + L + "_1t", fraction);
    rep.add(p + "build_s_" + L, build_s);
    rep.add(p + "rss_mb_" + L, mem);
    rep.add(p + "recall_" + L, rec);
  }

  // ---- MIH -----------------------------------------------------------------------------------
  {
    const kernel& k = **startup_kernel();
    const auto t0 = clock_type::now();
    const double c0 = process_cpu_seconds();
    mih_options options;
    options.slots = cfg.mih_slots;
    const mih_index index(d.hashes, k, options);
    const double build_s = since(t0);
    const double build_cpu_s = process_cpu_seconds() - c0;
    const double mem = rss_mb() - base_rss;
    const double extra_mb = static_cast<double>(index.table_bytes()) / 1048576.0;
    std::atomic<int> fallbacks{0};
    const auto single = [&](std::size_t i) {
      std::vector<range_match> o;
      search_stats st;
      index.range(std::span<const core::hash256>(&d.images[i][0], 1), radius, o, &st);
      if (st.path != search_path::mih) ++fallbacks;
    };
    const auto image = [&](std::size_t i) {
      std::vector<range_match> o;
      index.range(d.images[i], radius, o);
    };
    const rate r1 = throughput(image_count, 1, cfg.seconds, min_calls, single);
    const double qps1 = r1.wall;
    const double ips1 = throughput(image_count, 1, cfg.seconds, min_calls, image).wall;
    const double qps2 = throughput(image_count, 2, cfg.seconds, min_calls, single).wall;
    const double ips2 = throughput(image_count, 2, cfg.seconds, min_calls, image).wall;
    std::vector<range_match> out;
    search_stats st;
    index.range(rq, radius, out, &st);
    std::size_t fp = 0;
    const double rec = recall(truth, to_pairs(out), fp);
    std::cout << "MIH (" << index.slot_count() << " slots, " << k.name << ")"
              << "  build " << std::setprecision(2) << build_s << " s (cpu " << build_cpu_s
              << " s), tables " << std::setprecision(0) << extra_mb
              << " MB beyond the hashes, rss +" << mem << " MB | 1t: " << std::setprecision(1)
              << qps1 << " q/s (cpu-time " << r1.cpu << " q/s), " << ips1
              << " images/s | 2t: " << qps2 << " q/s, " << ips2 << " images/s | recall "
              << std::setprecision(4) << rec << (fp ? " (false positives!)" : "")
              << (fallbacks ? " (linear fallback ran!)" : "") << " | probes/candidates per query "
              << std::setprecision(0)
              << static_cast<double>(st.probes) / static_cast<double>(rq.size()) << "/"
              << static_cast<double>(st.candidates) / static_cast<double>(rq.size()) << "\n";
    rep.add("mih_qps_" + L + "_1t", qps1);
    rep.add("mih_qps_cpu_" + L + "_1t", r1.cpu);
    rep.add("mih_qps_" + L + "_2t", qps2);
    rep.add("mih_images_per_s_" + L + "_1t", ips1);
    rep.add("mih_images_per_s_" + L + "_2t", ips2);
    rep.add("mih_build_s_" + L, build_s);
    rep.add("mih_build_cpu_s_" + L, build_cpu_s);
    rep.add("mih_tables_mb_" + L, extra_mb);
    rep.add("mih_rss_mb_" + L, mem);
    rep.add("mih_recall_" + L, rec);
    rep.add("mih_slots_" + L, index.slot_count());
    rep.add("mih_path_ok_" + L, fallbacks == 0 && st.path == search_path::mih ? 1 : 0);
  }

  // ---- FAISS ---------------------------------------------------------------------------------
  // Codes: the hashes' bytes in memory order (Hamming distance does not depend on the order).
  const auto codes = [](const core::hash256* h) {
    return reinterpret_cast<const std::uint8_t*>(h);
  };
  const auto faiss_run = [&](const faiss::IndexBinary& index, const std::string& key,
                             const std::string& label, double build_s, double mem) {
    // FAISS range_search is strict (distance < radius): ask for radius + 1.
    const auto single = [&](std::size_t i) {
      faiss::RangeSearchResult res(1);
      index.range_search(1, codes(&d.images[i][0]), radius + 1, &res);
    };
    const auto image = [&](std::size_t i) {
      faiss::RangeSearchResult res(8);
      index.range_search(8, codes(d.images[i].data()), radius + 1, &res);
    };
    const double budget = cfg.seconds;
    const rate r1 = throughput(image_count, 1, budget, 2, single);
    const double qps1 = r1.wall;
    const double ips1 = throughput(image_count, 1, budget, 2, image).wall;
    const double qps2 = throughput(image_count, 2, budget, 2, single).wall;
    const double ips2 = throughput(image_count, 2, budget, 2, image).wall;
    omp_set_num_threads(1);
    faiss::RangeSearchResult res(static_cast<faiss::IndexBinary::idx_t>(rq.size()));
    index.range_search(static_cast<faiss::IndexBinary::idx_t>(rq.size()), codes(rq.data()),
                       radius + 1, &res);
    pair_set got;
    for (std::size_t q = 0; q < rq.size(); ++q) {
      for (std::size_t j = res.lims[q]; j < res.lims[q + 1]; ++j) {
        got.emplace(static_cast<std::uint32_t>(q), static_cast<std::uint32_t>(res.labels[j]));
      }
    }
    std::size_t fp = 0;
    const double rec = recall(truth, got, fp);
    std::cout << label << "  build " << std::setprecision(2) << build_s << " s, rss +"
              << std::setprecision(0) << mem << " MB | 1t: " << std::setprecision(1) << qps1
              << " q/s (cpu-time " << r1.cpu << " q/s), " << ips1 << " images/s | 2t: " << qps2
              << " q/s, " << ips2 << " images/s | recall " << std::setprecision(4) << rec
              << (fp ? " (false positives!)" : "") << "\n";
    rep.add(key + "_qps_" + L + "_1t", qps1);
    rep.add(key + "_qps_cpu_" + L + "_1t", r1.cpu);
    rep.add(key + "_qps_" + L + "_2t", qps2);
    rep.add(key + "_images_per_s_" + L + "_1t", ips1);
    rep.add(key + "_images_per_s_" + L + "_2t", ips2);
    rep.add(key + "_build_s_" + L, build_s);
    rep.add(key + "_rss_mb_" + L, mem);
    rep.add(key + "_recall_" + L, rec);
  };
  if (!cfg.faiss) return;
  omp_set_num_threads(1);
  {
    const auto t0 = clock_type::now();
    faiss::IndexBinaryFlat flat(256);
    flat.add(static_cast<faiss::IndexBinary::idx_t>(n), codes(d.hashes.data()));
    const double build_s = since(t0);
    faiss_run(flat, "faiss_flat", "FAISS IndexBinaryFlat", build_s, rss_mb() - base_rss);
  }
  {
    // 16 tables of 16 bits with 1 flip: exact for radius 31 (pigeonhole), the reference's
    // layout.
    const auto t0 = clock_type::now();
    faiss::IndexBinaryMultiHash multi(256, 16, 16);
    multi.nflip = 1;
    multi.add(static_cast<faiss::IndexBinary::idx_t>(n), codes(d.hashes.data()));
    const double build_s = since(t0);
    faiss_run(multi, "faiss_multihash", "FAISS IndexBinaryMultiHash (16 x 16 bits, nflip 1)",
              build_s, rss_mb() - base_rss);
  }
}

}  // namespace

int main(int argc, char** argv) {
  config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      cfg.quick = true;
      cfg.sizes = {20000};
      cfg.seconds = 0.05;
    } else if (a == "--sizes" && i + 1 < argc) {
      cfg.sizes.clear();
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');)
        cfg.sizes.push_back(bench::int_arg<std::size_t>(item));
    } else if (a == "--no-faiss") {
      cfg.faiss = false;
    } else if (a == "--no-linear") {
      cfg.linear = false;
    } else if (a == "--mih-slots" && i + 1 < argc) {
      cfg.mih_slots = bench::int_arg<std::uint32_t>(argv[++i]);
    } else if (a == "--seconds" && i + 1 < argc) {
      cfg.seconds = std::stod(argv[++i]);
    } else {
      std::cerr << "usage: match_bench [--quick] [--sizes N,N,...] [--seconds S] [--no-faiss] "
                   "[--no-linear]\n                   [--mih-slots M]\n";
      return 2;
    }
  }
  auto active = startup_kernel();
  if (!active) {
    std::cerr << "match_bench: " << core::error_name(active.error()) << " (HG_FORCE_KERNEL)\n";
    return 1;
  }
  std::cout << "match_bench: exact Hamming range search, radius " << radius << "; active kernel "
            << (*active)->name << "; " << std::thread::hardware_concurrency() << " CPUs\n"
            << "note: Debian's libfaiss is built for baseline x86-64, without the popcount "
               "instruction (its Hamming distances use a software popcount)\n";
  report rep;
  for (std::size_t n : cfg.sizes) run_size(n, cfg, rep);
  std::cout << "\n" << rep.json() << "\n";
  return 0;
}
