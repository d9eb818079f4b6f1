// What load_bench and soak_bench set up around the load client (benchmarks only): child
// processes (`hashguard serve`, `hashguard lists`, `hashguard hash`), /proc figures of a
// process, synthetic 1 MP JPEGs and synthetic hash-list files.
//
// Children get PR_SET_PDEATHSIG(SIGTERM), so a benchmark that dies does not leave a serve (and
// its embedded PostgreSQL) behind. Nothing here is thread-safe.
#pragma once

#include "serve_process.hpp"

#include "hashguard/core/hash.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace hashguard::bench {

/// Resident memory, open descriptors, CPU time and threads of a live process (/proc/PID).
struct proc_sample {
  double rss_mb{0};        ///< VmRSS of /proc/PID/status
  std::size_t fds{0};      ///< entries of /proc/PID/fd
  double cpu_s{0};         ///< utime + stime of /proc/PID/stat
  std::size_t threads{0};  ///< Threads of /proc/PID/status
};
[[nodiscard]] std::optional<proc_sample> sample_process(pid_t pid);

/// Wall and CPU time of a finished child (CPU from wait4's rusage: the child and its own
/// children that it waited for).
struct run_figures {
  int exit_status{-1};  ///< exit code, or -1 when it was killed by a signal
  double wall_s{0};
  double cpu_s{0};
};
/// Runs argv[0] (a path) with stdout and stderr sent to the given files (empty: /dev/null).
run_figures run_command(const std::vector<std::string>& argv, const std::filesystem::path& out,
                        const std::filesystem::path& err);

/// Starts `hashguard serve` (argv) as the tests do (hg_test::serve_process, tests/support),
/// with its stderr in `log` and this benchmark's own HG_* environment passed on, and waits (up
/// to `timeout` in all) for its "listening on" line, then for GET /readyz to answer 200.
/// nullptr (with `why`) on failure; the child is stopped. Unlike the children of
/// run_command(), serve outlives a benchmark that crashes (the destructor kills it otherwise).
[[nodiscard]] std::unique_ptr<hg_test::serve_process> start_serve(
    const std::vector<std::string>& argv, const std::filesystem::path& log,
    std::chrono::seconds timeout, std::string& why);
/// SIGTERM, then waits up to a minute (SIGKILL after it). Returns the exit code (-1 when a
/// signal ended it).
int stop_serve(hg_test::serve_process& srv);

/// A synthetic photograph-like picture (smooth random fields, shapes, a little noise) as a
/// JPEG (quality 90, 4:2:0), different for every seed. Empty on an encoder failure.
[[nodiscard]] std::string make_jpeg(unsigned width, unsigned height, std::uint64_t seed);

/// Uniform random 256-bit hashes.
[[nodiscard]] std::vector<core::hash256> random_hashes(std::size_t n, std::mt19937_64& rng);
/// `h` with `bits` distinct random bits flipped (Hamming distance exactly `bits`).
[[nodiscard]] core::hash256 flip_bits(core::hash256 h, int bits, std::mt19937_64& rng);

/// Lower-case hex of 16 bytes made from two words.
[[nodiscard]] std::string hex16(std::uint64_t a, std::uint64_t b);

/// `uptime`'s three load averages as text ("1.23 0.98 0.77").
[[nodiscard]] std::string load_average();

}  // namespace hashguard::bench

namespace hashguard::bench {

/// One synthetic test image and what the scanner makes of it.
struct bench_image {
  std::string jpeg;
  core::hash256 pdq;
  int quality{0};
  std::string md5;     ///< hex
  bool listed{false};  ///< its PDQ hash (a few bits flipped) is in the PDQ list
};

/// The data set both benchmarks load into a fresh `hashguard serve`.
struct bench_setup {
  std::string hashguard_bin;  ///< the built binary (HG_HASHGUARD_BIN)
  std::filesystem::path dir;  ///< data directory (embedded PostgreSQL, lists, images, logs)
  std::size_t pdq_count{10'000'000};
  std::size_t md5_count{1'000'000};
  std::size_t image_count{64};
  unsigned image_width{1155};  ///< 1155 x 866 = 1.0 MP
  unsigned image_height{866};
  unsigned listed_every{8};  ///< every Nth image's PDQ is listed (so scans match)
  std::uint64_t seed{20261128};
};

/// What prepare() produced.
struct bench_data {
  std::vector<bench_image> images;
  std::vector<core::hash256> pdq_list;     ///< every PDQ hash imported (the peer's index)
  std::vector<core::hash256> pdq_queries;  ///< 256 queries, a quarter with a listed neighbour
  std::vector<std::string> md5_queries;    ///< hex; half of them listed
  double generate_s{0};
  double import_pdq_s{0};
  double import_md5_s{0};
};

/// Makes the images (also written to DIR/images/ for `hashguard hash`), the lists, and imports
/// them with `hashguard lists import` into the embedded PostgreSQL of DIR/data. Progress goes
/// to stdout. False (with `why`) on any failure.
/// With `reuse`, a directory that a previous run prepared with the same sizes and seed (and
/// kept) is used as it is: the same data is generated in memory (it is deterministic) but
/// nothing is written or imported, which saves minutes at 10M hashes when iterating.
bool prepare(const bench_setup& setup, bench_data& data, std::string& why, bool reuse = false);

/// The benchmark's working directory: `dir`, or /var/tmp/<prefix>-PID when empty. Emptied
/// first unless `reuse`; created. Returns the path used.
std::filesystem::path open_work_dir(std::filesystem::path dir, const std::string& prefix,
                                    bool reuse);
/// Removes the working directory unless `keep`.
void close_work_dir(const std::filesystem::path& dir, bool keep);

/// The data arguments both load benchmarks take, at argv[i]: --hashes=N, --md5=N, --images=N,
/// --dir=PATH. True when argv[i] was one of them (i moves past a separate value); a bad number
/// throws std::invalid_argument (bench_args.hpp). `md5_given` records
/// whether --md5 came, for default_md5_count().
bool parse_setup_flag(int argc, char** argv, int& i, bench_setup& setup, bool& md5_given);
/// After the arguments: without --md5, the MD5 list is a tenth of the PDQ list (at least 1,000).
void default_md5_count(bench_setup& setup, bool md5_given);

/// The value of a `--name=value` or `--name value` argument at argv[i] (for the second form,
/// i moves to the value); nullopt when argv[i] is another argument.
[[nodiscard]] std::optional<std::string> flag_value(int argc, char** argv, int& i,
                                                    std::string_view name);

/// `hashguard serve` arguments for the prepared data directory (any port, the given ingest
/// key), plus `extra` flags.
[[nodiscard]] std::vector<std::string> serve_argv(const bench_setup& setup,
                                                  const std::string& ingest_key,
                                                  const std::vector<std::string>& extra);

/// Mean seconds per observation of a Prometheus histogram series in a /metrics text, e.g.
/// series "hg_stage_duration_seconds" with labels "stage=\"hash\""; also its count. Sums and
/// counts are cumulative: pass the text before and after a run to get that run's mean.
struct histogram_totals {
  double sum{0};
  double count{0};
};
[[nodiscard]] histogram_totals metric_totals(const std::string& metrics_text,
                                             const std::string& series, const std::string& labels);

}  // namespace hashguard::bench
