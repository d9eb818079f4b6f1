#include "load_fixture.hpp"

#include "bench_args.hpp"
#include "http_client.hpp"
#include "load_client.hpp"

#include "hashguard/core/hex.hpp"
#include "hashguard/scanner/scan.hpp"

#include <turbojpeg.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <span>
#include <sstream>
#include <thread>

namespace hashguard::bench {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

double tv_s(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

// fork + exec with stdout/stderr redirected; the child dies with us (PR_SET_PDEATHSIG).
pid_t spawn(const std::vector<std::string>& argv, int out_fd, int err_fd) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);
  if (out_fd >= 0) ::dup2(out_fd, 1);
  if (err_fd >= 0) ::dup2(err_fd, 2);
  ::execv(args[0], args.data());
  ::_exit(127);
}

int open_output(const fs::path& p) {
  return ::open(p.empty() ? "/dev/null" : p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                0644);
}

}  // namespace

std::optional<proc_sample> sample_process(pid_t pid) {
  const fs::path dir = fs::path("/proc") / std::to_string(pid);
  proc_sample s;
  {
    std::ifstream in(dir / "status");
    if (!in) return std::nullopt;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VmRSS:", 0) == 0) s.rss_mb = std::stod(line.substr(6)) / 1024.0;
      if (line.rfind("Threads:", 0) == 0) s.threads = std::stoul(line.substr(8));
    }
  }
  {
    std::ifstream in(dir / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces): state is field 3, utime 14,
    // stime 15.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(text.substr(close + 2));
    std::vector<std::string> f;
    for (std::string x; rest >> x;) f.push_back(x);
    if (f.size() < 13) return std::nullopt;
    const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  }
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir / "fd", ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    ++s.fds;
  }
  return s;
}

run_figures run_command(const std::vector<std::string>& argv, const fs::path& out,
                        const fs::path& err) {
  run_figures r;
  const int out_fd = open_output(out);
  const int err_fd = open_output(err);
  const auto t0 = clock_type::now();
  const pid_t pid = spawn(argv, out_fd, err_fd);
  ::close(out_fd);
  ::close(err_fd);
  if (pid < 0) return r;
  int status = 0;
  rusage u{};
  while (::wait4(pid, &status, 0, &u) < 0 && errno == EINTR) {
  }
  r.wall_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  r.cpu_s = tv_s(u.ru_utime) + tv_s(u.ru_stime);
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// ---- serve ----------------------------------------------------------------------------------

std::unique_ptr<hg_test::serve_process> start_serve(const std::vector<std::string>& argv,
                                                    const fs::path& log,
                                                    std::chrono::seconds timeout,
                                                    std::string& why) {
  // hg_test::spawn_process passes no HG_* variable on unless asked: a benchmark's own (an
  // HG_FORCE_KERNEL to compare kernels, say) reaches serve as before.
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("HG_")) env.emplace_back(*e);
  }
  const auto deadline = clock_type::now() + timeout;
  std::unique_ptr<hg_test::serve_process> srv;
  try {
    srv = std::make_unique<hg_test::serve_process>(argv, env, log.string(), timeout);
  } catch (const std::exception& e) {
    why = std::string(e.what()) + " (see " + log.string() + ")";
    return nullptr;
  }
  while (clock_type::now() < deadline) {
    const auto ready = hg_test::fetch(srv->port(), "GET", "/readyz");
    if (ready && ready->status == 200) return srv;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  why = "/readyz did not answer 200 in time (see " + log.string() + ")";
  (void)stop_serve(*srv);
  return nullptr;
}

int stop_serve(hg_test::serve_process& srv) {
  const auto st = srv.stop(SIGTERM, std::chrono::seconds(60));
  return st.exited ? st.code : -1;
}

// ---- synthetic data --------------------------------------------------------------------------

std::string make_jpeg(unsigned width, unsigned height, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0F, 1.0F);
  const std::size_t w = width;
  const std::size_t h = height;
  std::vector<unsigned char> rgb(w * h * 3);
  // A few low-frequency waves per channel (sky, walls), then ellipses and bars (objects),
  // then mild noise (sensor grain): structure a perceptual hash can see, unique per seed.
  struct wave {
    float fx, fy, phase, amp;
  };
  std::array<std::vector<wave>, 3> waves;
  for (auto& ch : waves) {
    for (int i = 0; i < 4; ++i) {
      ch.push_back({(u(rng) - 0.5F) * 12.0F, (u(rng) - 0.5F) * 12.0F, u(rng) * 6.283F,
                    20.0F + 40.0F * u(rng)});
    }
  }
  std::array<float, 3> base{60 + 120 * u(rng), 60 + 120 * u(rng), 60 + 120 * u(rng)};
  std::vector<float> row(w * 3);
  for (std::size_t y = 0; y < h; ++y) {
    const float fy = static_cast<float>(y) / static_cast<float>(h);
    for (std::size_t x = 0; x < w; ++x) {
      const float fx = static_cast<float>(x) / static_cast<float>(w);
      for (std::size_t c = 0; c < 3; ++c) {
        float v = base[c];
        for (const auto& wv : waves[c]) v += wv.amp * std::sin(wv.fx * fx + wv.fy * fy + wv.phase);
        rgb[(y * w + x) * 3 + c] = static_cast<unsigned char>(std::clamp(v, 0.0F, 255.0F));
      }
    }
  }
  const int shapes = 12 + static_cast<int>(rng() % 12);
  for (int s = 0; s < shapes; ++s) {
    const float cx = u(rng) * static_cast<float>(w);
    const float cy = u(rng) * static_cast<float>(h);
    const float rx = (0.03F + 0.2F * u(rng)) * static_cast<float>(w);
    const float ry = (0.03F + 0.2F * u(rng)) * static_cast<float>(h);
    const bool bar = (rng() & 1) != 0;
    const std::array<float, 3> color{255 * u(rng), 255 * u(rng), 255 * u(rng)};
    const float alpha = 0.5F + 0.5F * u(rng);
    const auto y0 = static_cast<std::size_t>(std::max(0.0F, cy - ry));
    const auto y1 = static_cast<std::size_t>(std::min(static_cast<float>(h), cy + ry));
    const auto x0 = static_cast<std::size_t>(std::max(0.0F, cx - rx));
    const auto x1 = static_cast<std::size_t>(std::min(static_cast<float>(w), cx + rx));
    for (std::size_t y = y0; y < y1; ++y) {
      for (std::size_t x = x0; x < x1; ++x) {
        const float dx = (static_cast<float>(x) - cx) / rx;
        const float dy = (static_cast<float>(y) - cy) / ry;
        if (!bar && dx * dx + dy * dy > 1.0F) continue;
        for (std::size_t c = 0; c < 3; ++c) {
          auto& p = rgb[(y * w + x) * 3 + c];
          p = static_cast<unsigned char>(
              std::clamp((1 - alpha) * static_cast<float>(p) + alpha * color[c], 0.0F, 255.0F));
        }
      }
    }
  }
  for (auto& p : rgb) {
    const int n = static_cast<int>(rng() % 7) - 3;
    p = static_cast<unsigned char>(std::clamp(static_cast<int>(p) + n, 0, 255));
  }
  tjhandle tj = tjInitCompress();
  if (tj == nullptr) return {};
  unsigned char* jpeg = nullptr;
  unsigned long size = 0;  // NOLINT(google-runtime-int): TurboJPEG's type
  const int rc = tjCompress2(tj, rgb.data(), static_cast<int>(width), 0, static_cast<int>(height),
                             TJPF_RGB, &jpeg, &size, TJSAMP_420, 90, TJFLAG_FASTDCT);
  std::string out;
  if (rc == 0) out.assign(reinterpret_cast<const char*>(jpeg), size);  // NOLINT
  tjFree(jpeg);
  tjDestroy(tj);
  return out;
}

std::vector<core::hash256> random_hashes(std::size_t n, std::mt19937_64& rng) {
  std::vector<core::hash256> v(n);
  for (auto& h : v) h = core::hash256{{rng(), rng(), rng(), rng()}};
  return v;
}

core::hash256 flip_bits(core::hash256 h, int bits, std::mt19937_64& rng) {
  std::set<unsigned> chosen;
  while (chosen.size() < static_cast<std::size_t>(bits)) {
    chosen.insert(static_cast<unsigned>(rng() % 256));
  }
  for (unsigned k : chosen) h.words[k / 64] ^= std::uint64_t{1} << (k % 64);
  return h;
}

std::string hex16(std::uint64_t a, std::uint64_t b) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),  // NOLINT
                static_cast<unsigned long long>(b));                                    // NOLINT
  return {buf, 32};
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// ---- the data set ----------------------------------------------------------------------------

namespace {

// A list file in hashguard's own format, which creates the list on import.
bool write_list_file(const fs::path& path, std::string_view name, std::string_view signal,
                     int threshold, std::size_t count,
                     const std::function<void(std::FILE*)>& rows) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f,
               "# hashguard-list v1\n# name: %.*s\n# source: load-bench\n# signal: %.*s\n"
               "# threshold: %d\n# action: review\n# dihedral: true\n# version: 1\n"
               "# entries: %zu\nhash\n",
               static_cast<int>(name.size()), name.data(), static_cast<int>(signal.size()),
               signal.data(), threshold, count);
  rows(f);
  return std::fclose(f) == 0;
}

bool import_list(const bench_setup& setup, const fs::path& file, std::string_view name,
                 double& seconds, std::string& why) {
  const fs::path log = setup.dir / ("import-" + std::string(name) + ".log");
  const auto r = run_command(
      {setup.hashguard_bin, "lists", "import", std::string(name), file.string(), "--format",
       "hashguard", "--json", "--data-dir=" + (setup.dir / "data").string()},
      log, log);
  seconds = r.wall_s;
  if (r.exit_status != 0) {
    why = "hashguard lists import " + std::string(name) + " failed (see " + log.string() + ")";
    return false;
  }
  std::cout << "  imported " << name << " in " << r.wall_s << " s (CLI cpu " << r.cpu_s
            << " s; PostgreSQL's own CPU not included)\n"
            << std::flush;
  fs::remove(file);
  return true;
}

}  // namespace

namespace {

// What a prepared directory was made from: reused only when every figure matches.
std::string prepared_stamp(const bench_setup& setup) {
  return "pdq=" + std::to_string(setup.pdq_count) + " md5=" + std::to_string(setup.md5_count) +
         " images=" + std::to_string(setup.image_count) +
         " size=" + std::to_string(setup.image_width) + "x" + std::to_string(setup.image_height) +
         " listed_every=" + std::to_string(setup.listed_every) +
         " seed=" + std::to_string(setup.seed) + "\n";
}

}  // namespace

bool prepare(const bench_setup& setup, bench_data& data, std::string& why, bool reuse) {
  const fs::path stamp_file = setup.dir / "prepared.txt";
  std::string old_stamp;
  if (reuse) {
    std::ifstream in(stamp_file);
    std::getline(in, old_stamp);
    old_stamp.push_back('\n');
  }
  const bool reusable = reuse && old_stamp == prepared_stamp(setup);
  if (!reusable) {
    std::error_code ec;
    fs::remove(stamp_file, ec);
  }
  const auto t0 = clock_type::now();
  fs::create_directories(setup.dir / "images");
  std::mt19937_64 rng(setup.seed);

  // Images, hashed in-process exactly as serve will hash them.
  scanner::image_scanner scanner;
  data.images.clear();
  for (std::size_t i = 0; i < setup.image_count; ++i) {
    bench_image img;
    img.jpeg = make_jpeg(setup.image_width, setup.image_height, setup.seed * 1000 + i);
    if (img.jpeg.empty()) {
      why = "JPEG encoder failed";
      return false;
    }
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(img.jpeg.data());  // NOLINT
    auto r = scanner.scan(std::span<const std::uint8_t>(bytes, img.jpeg.size()));
    if (!r) {
      why = "cannot scan a generated image";
      return false;
    }
    img.pdq = r->pdq.hash;
    img.quality = r->pdq.quality;
    img.md5 = core::to_hex(std::span<const std::uint8_t>(r->digest.md5));
    img.listed = setup.listed_every > 0 && i % setup.listed_every == 0;
    char name[32];
    std::snprintf(name, sizeof name, "img-%04zu.jpg", i);
    std::ofstream(setup.dir / "images" / name, std::ios::binary) << img.jpeg;
    data.images.push_back(std::move(img));
  }

  // PDQ list: random hashes, with near-duplicates of a quarter of the /v1/match queries
  // (distances 0..31) and of the listed images (3 bits: a re-encoded copy) planted at spread
  // positions.
  data.pdq_list = random_hashes(setup.pdq_count, rng);
  data.pdq_queries = random_hashes(256, rng);
  std::vector<core::hash256> plants;
  for (std::size_t q = 0; q < data.pdq_queries.size(); q += 4) {
    plants.push_back(flip_bits(data.pdq_queries[q], static_cast<int>((q / 4) % 32), rng));
  }
  for (const auto& img : data.images) {
    if (img.listed) plants.push_back(flip_bits(img.pdq, 3, rng));
  }
  if (plants.size() > data.pdq_list.size()) {
    why = "the PDQ list is smaller than the planted hashes";
    return false;
  }
  const std::size_t stride = data.pdq_list.size() / plants.size();
  for (std::size_t k = 0; k < plants.size(); ++k) data.pdq_list[k * stride] = plants[k];

  // MD5 list: random digests; half of the /v1/match MD5 queries are listed.
  std::vector<std::string> md5_rows;
  md5_rows.reserve(setup.md5_count);
  for (std::size_t i = 0; i < setup.md5_count; ++i) md5_rows.push_back(hex16(rng(), rng()));
  data.md5_queries.clear();
  for (std::size_t i = 0; i < 256; ++i) {
    data.md5_queries.push_back(i % 2 == 0 ? md5_rows[(i * 7919) % md5_rows.size()]
                                          : hex16(rng(), rng()));
  }
  const fs::path pdq_file = setup.dir / "pdq-list.txt";
  const fs::path md5_file = setup.dir / "md5-list.txt";
  const auto write_pdq = [&](std::FILE* f) {
    std::string line;
    for (const auto& h : data.pdq_list) {
      line = core::to_hex(h);
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), f);
    }
  };
  const auto write_md5 = [&](std::FILE* f) {
    for (const auto& m : md5_rows) std::fprintf(f, "%s\n", m.c_str());
  };
  const bool written =
      reusable ||
      (write_list_file(pdq_file, "bench-pdq", "pdq", 31, data.pdq_list.size(), write_pdq) &&
       write_list_file(md5_file, "bench-md5", "md5", 0, md5_rows.size(), write_md5));
  if (!written) {
    why = "cannot write the list files in " + setup.dir.string();
    return false;
  }
  data.generate_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::cout << "  generated " << data.images.size() << " JPEGs (" << setup.image_width << "x"
            << setup.image_height << "), " << data.pdq_list.size() << " PDQ and " << md5_rows.size()
            << " MD5 hashes in " << data.generate_s << " s\n"
            << std::flush;
  if (reusable) {
    std::cout << "  reusing the lists imported by an earlier run (" << stamp_file.string() << ")\n"
              << std::flush;
    return true;
  }
  if (!import_list(setup, pdq_file, "bench-pdq", data.import_pdq_s, why) ||
      !import_list(setup, md5_file, "bench-md5", data.import_md5_s, why)) {
    return false;
  }
  std::ofstream(stamp_file) << prepared_stamp(setup);
  return true;
}

fs::path open_work_dir(fs::path dir, const std::string& prefix, bool reuse) {
  if (dir.empty()) dir = fs::path("/var/tmp") / (prefix + "-" + std::to_string(::getpid()));
  if (!reuse) fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void close_work_dir(const fs::path& dir, bool keep) {
  if (keep) return;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

bool parse_setup_flag(int argc, char** argv, int& i, bench_setup& setup, bool& md5_given) {
  if (auto v = flag_value(argc, argv, i, "--hashes")) {
    setup.pdq_count = int_arg<std::size_t>(*v);
  } else if (auto v2 = flag_value(argc, argv, i, "--md5")) {
    setup.md5_count = int_arg<std::size_t>(*v2);
    md5_given = true;
  } else if (auto v3 = flag_value(argc, argv, i, "--images")) {
    setup.image_count = int_arg<std::size_t>(*v3);
  } else if (auto v4 = flag_value(argc, argv, i, "--dir")) {
    setup.dir = *v4;
  } else {
    return false;
  }
  return true;
}

void default_md5_count(bench_setup& setup, bool md5_given) {
  if (!md5_given) setup.md5_count = std::max<std::size_t>(1000, setup.pdq_count / 10);
}

std::optional<std::string> flag_value(int argc, char** argv, int& i, std::string_view name) {
  const std::string_view a = argv[i];
  if (a.size() > name.size() && a.substr(0, name.size()) == name && a[name.size()] == '=') {
    return std::string(a.substr(name.size() + 1));
  }
  if (a == name && i + 1 < argc) return std::string(argv[++i]);
  return std::nullopt;
}

std::vector<std::string> serve_argv(const bench_setup& setup, const std::string& ingest_key,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> argv{setup.hashguard_bin, "serve", "--http-port=0",
                                "--data-dir=" + (setup.dir / "data").string(),
                                "--auth-keys=ingest:" + ingest_key,
                                // One key sends the whole load: its rate limit (on by default)
                                // would measure the limiter, not the server.
                                "--auth-rate-limit-per-s=0", "--node-name=load-bench"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

histogram_totals metric_totals(const std::string& text, const std::string& series,
                               const std::string& labels) {
  histogram_totals t;
  auto value_of = [&](const std::string& name) {
    const std::string key = name + "{" + labels + "} ";
    const auto at = text.find(key);
    return at == std::string::npos ? 0.0 : std::strtod(text.c_str() + at + key.size(), nullptr);
  };
  t.sum = value_of(series + "_sum");
  t.count = value_of(series + "_count");
  return t;
}

}  // namespace hashguard::bench
