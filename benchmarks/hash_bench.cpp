// hash_bench: how long does hashguard take to turn a JPEG into its hashes, decode and hash
// timed apart, one thread and all cores, against OpenCV img_hash's PHash in the same run?
//
// Images (made at start into /tmp/hashguard-hash-bench with ImageMagick, reused if present):
//   1 MP (1155x866), 3000x2000 and 4032x3024 JPEGs (quality 90, 4:2:0), upscaled from the
//   PDQ vector bridge-mods/aaa-orig.jpg; the 12 MP one is the vectors' exif-rotn-1.jpg (a real
//   12 MP camera JPEG) when ../shared/pdq-vectors has it.
// Per image: image_scanner::scan (exact fullres PDQ + 8 dihedrals, pHash, MD5/SHA-1/SHA-256)
// with its decode / hash / digest stage times; the PDQ core alone and pHash alone on the
// decoded pixels; images/s on one thread and on every core (one image_scanner per thread).
// Orientation hashes and trimming (match.orientations = exact, match.trim): the scan with them
// (bars looked for; none on the first three images) against the scan without, alternated, in
// thread CPU time (target: <= 25 % extra on the 1 MP and 12 MP JPEG); the 1 MP picture
// pillarboxed to 16:9 (black bars) shows the cost when bars are found and every candidate
// layout of them is hashed;
// the PDQ core with them; the bit-exact alternative's extra cost (7 more hashes).
// Peer: cv::imdecode + cv::img_hash::PHash::compute, one thread.
// Targets (one thread, exact fullres, decode included): 1 MP <= 6 ms, 12 MP <= 55 ms; the PDQ
// core alone on 12 MP <= 15 ms.
//
// usage: hash_bench [--quick] [--seconds S]
// --quick: the 1 MP image only, a fraction of a second per figure. The last line of output is
// one JSON object (DESIGN.md section 9).
#include "hashguard/scanner/decode.hpp"
#include "hashguard/scanner/pdq.hpp"
#include "hashguard/scanner/phash.hpp"
#include "hashguard/scanner/scan.hpp"

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/img_hash.hpp>
#include <opencv2/imgcodecs.hpp>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace hashguard;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

struct bench_image {
  std::string name;  // figure prefix: jpeg_1mp, jpeg_6mp, jpeg_12mp, jpeg_1mp_pillarbox
  unsigned width{};
  unsigned height{};
  fs::path path;
  std::vector<std::uint8_t> bytes;
  std::string extent{};  // padded with black bars to this frame ("WxH"), centred
};

double ms(std::chrono::nanoseconds d) {
  return static_cast<double>(d.count()) / 1e6;
}
double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// CPU time of the calling thread (ms): on a shared machine the wall clock also counts the
// time other processes held the core; this does not.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

std::vector<std::uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Makes the JPEG with ImageMagick unless a previous run left it.
bool prepare(bench_image& image, const fs::path& source) {
  if (!fs::exists(image.path)) {
    fs::create_directories(image.path.parent_path());
    std::ostringstream cmd;
    cmd << "convert '" << source.string() << "' -resize " << image.width << "x" << image.height
        << "!";
    if (!image.extent.empty()) {
      cmd << " -gravity center -background black -extent " << image.extent;
    }
    cmd << " -quality 90 -sampling-factor 2x2 '" << image.path.string() << "'";
    if (std::system(cmd.str().c_str()) != 0) return false;
  }
  image.bytes = read_file(image.path);
  return !image.bytes.empty();
}

// Median of samples (ms).
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// The image transposed and/or mirrored (rows axis, columns axis): the 8 orientations are the 8
// combinations. For the bit-exact alternative to the orientation hashes: hash each copy.
scanner::pixels reoriented(const scanner::pixels_view& in, bool transpose, bool mirror_rows,
                           bool mirror_cols) {
  scanner::pixels out{transpose ? in.height : in.width, transpose ? in.width : in.height,
                      in.channels, std::vector<std::uint8_t>(in.size_bytes())};
  const std::size_t ch = in.channels;
  for (std::uint32_t y = 0; y < in.height; ++y) {
    const std::uint32_t ry = mirror_rows ? in.height - 1 - y : y;
    for (std::uint32_t x = 0; x < in.width; ++x) {
      const std::uint32_t rx = mirror_cols ? in.width - 1 - x : x;
      const std::size_t to =
          transpose ? std::size_t{rx} * out.width + ry : std::size_t{ry} * out.width + rx;
      std::memcpy(&out.data[to * ch], &in.data[(std::size_t{y} * in.width + x) * ch], ch);
    }
  }
  return out;
}

struct figures {
  double decode_ms{}, hash_ms{}, digest_ms{}, total_ms{}, total_cpu_ms{};
  // match.orientations = exact: the scan with the 8 orientation hashes, in thread CPU time,
  // measured interleaved with the plain scan; the PDQ core with them; and the bit-exact
  // alternative (the 7 other orientations' pixels copied and hashed each).
  double oriented_cpu_ms{}, plain_cpu_ms{}, pdq_oriented_cpu_ms{}, bit_exact_extra_cpu_ms{};
  double pdq_ms{}, phash_ms{}, decode_cpu_ms{}, pdq_cpu_ms{};
  double images_per_s_1t{}, images_per_s_all{};
  double cv_decode_ms{}, cv_phash_ms{}, cv_images_per_s_1t{};
};

figures measure(const bench_image& image, double seconds, unsigned threads) {
  figures f;
  scanner::image_scanner scanner;
  // Warm-up: buffers sized, pages touched.
  if (!scanner.scan(image.bytes)) {
    std::cerr << "hash_bench: cannot scan " << image.path << "\n";
    std::exit(1);
  }

  // One thread, whole scans: stage medians and throughput.
  std::vector<double> decode, hash, digest, total, total_cpu;
  auto start = clock_type::now();
  while (seconds_since(start) < seconds || total.size() < 5) {
    const auto t = clock_type::now();
    const double cpu = thread_cpu_ms();
    const auto r = scanner.scan(image.bytes);
    total_cpu.push_back(thread_cpu_ms() - cpu);
    total.push_back(seconds_since(t) * 1e3);
    decode.push_back(ms(r->timings.decode));
    hash.push_back(ms(r->timings.hash));
    digest.push_back(ms(r->timings.digest));
  }
  f.images_per_s_1t = static_cast<double>(total.size()) / seconds_since(start);
  f.decode_ms = median(decode);
  f.hash_ms = median(hash);
  f.digest_ms = median(digest);
  f.total_ms = median(total);
  f.total_cpu_ms = median(total_cpu);

  // Plain scans and scans with the orientation hashes, alternated so that both see the same
  // machine; thread CPU time.
  scanner::scan_options with_orientations;
  with_orientations.orientations = true;
  with_orientations.trim = true;
  scanner::image_scanner oriented_scanner(with_orientations);
  if (!oriented_scanner.scan(image.bytes)) std::exit(1);
  std::vector<double> plain_cpu, oriented_cpu;
  start = clock_type::now();
  while (seconds_since(start) < seconds || plain_cpu.size() < 5) {
    double cpu = thread_cpu_ms();
    if (!scanner.scan(image.bytes)) std::exit(1);
    plain_cpu.push_back(thread_cpu_ms() - cpu);
    cpu = thread_cpu_ms();
    if (!oriented_scanner.scan(image.bytes)) std::exit(1);
    oriented_cpu.push_back(thread_cpu_ms() - cpu);
  }
  f.plain_cpu_ms = median(plain_cpu);
  f.oriented_cpu_ms = median(oriented_cpu);

  // Decoding alone, in thread CPU time (into a reused buffer, as the scanner does).
  scanner::decoder decoder;
  scanner::decoded_image decoded;
  std::vector<double> decode_cpu;
  start = clock_type::now();
  while (seconds_since(start) < seconds / 2 || decode_cpu.size() < 5) {
    const double cpu = thread_cpu_ms();
    if (!decoder.decode(image.bytes, decoded)) std::exit(1);
    decode_cpu.push_back(thread_cpu_ms() - cpu);
  }
  f.decode_cpu_ms = median(decode_cpu);

  // The PDQ core and pHash alone, on decoded pixels.
  const scanner::pixels_view view = decoded.frames.front().view();
  scanner::pdq_hasher pdq;
  scanner::phash_hasher phash;
  std::vector<double> pdq_ms, phash_ms, pdq_cpu;
  start = clock_type::now();
  while (seconds_since(start) < seconds / 2 || pdq_ms.size() < 5) {
    auto t = clock_type::now();
    const double cpu = thread_cpu_ms();
    const auto h = pdq.hash(view);
    pdq_cpu.push_back(thread_cpu_ms() - cpu);
    pdq_ms.push_back(seconds_since(t) * 1e3);
    t = clock_type::now();
    const auto p = phash.hash(view);
    phash_ms.push_back(seconds_since(t) * 1e3);
    if (h.quality < 0 || p.value == 1) std::cerr << "";  // keep the results alive
  }
  f.pdq_ms = median(pdq_ms);
  f.pdq_cpu_ms = median(pdq_cpu);
  f.phash_ms = median(phash_ms);

  // The PDQ core with the orientation hashes, and the bit-exact alternative's extra work.
  std::vector<double> pdq_oriented, bit_exact;
  scanner::orientation_hashes orientations{};
  start = clock_type::now();
  while (seconds_since(start) < seconds / 2 || pdq_oriented.size() < 5) {
    double cpu = thread_cpu_ms();
    (void)pdq.hash(view, scanner::pdq_mode::fullres, orientations);
    pdq_oriented.push_back(thread_cpu_ms() - cpu);
    if (bit_exact.size() < 3) {
      cpu = thread_cpu_ms();
      for (int o = 1; o < 8; ++o) {
        const auto copy = reoriented(view, (o & 4) != 0, (o & 2) != 0, (o & 1) != 0);
        (void)pdq.hash(copy.view());
      }
      bit_exact.push_back(thread_cpu_ms() - cpu);
    }
  }
  f.pdq_oriented_cpu_ms = median(pdq_oriented);
  f.bit_exact_extra_cpu_ms = median(bit_exact);

  // Every core: one scanner per thread, independent images.
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> done{0};
  std::vector<std::thread> workers;
  start = clock_type::now();
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      scanner::image_scanner own;
      while (!stop.load(std::memory_order_relaxed)) {
        if (own.scan(image.bytes)) done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  f.images_per_s_all = static_cast<double>(done.load()) / seconds_since(start);

  // Peer: OpenCV imdecode + img_hash PHash.
  const cv::Mat encoded(1, static_cast<int>(image.bytes.size()), CV_8UC1,
                        const_cast<std::uint8_t*>(image.bytes.data()));
  const auto peer = cv::img_hash::PHash::create();
  std::vector<double> cv_decode, cv_hash, cv_total;
  cv::Mat hash_out;
  start = clock_type::now();
  while (seconds_since(start) < seconds || cv_total.size() < 5) {
    const auto t0 = clock_type::now();
    const cv::Mat mat = cv::imdecode(encoded, cv::IMREAD_COLOR);
    const auto t1 = clock_type::now();
    peer->compute(mat, hash_out);
    const auto t2 = clock_type::now();
    cv_decode.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    cv_hash.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    cv_total.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
  }
  f.cv_images_per_s_1t = static_cast<double>(cv_total.size()) / seconds_since(start);
  f.cv_decode_ms = median(cv_decode);
  f.cv_phash_ms = median(cv_hash);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  double seconds = 2.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else {
      std::cerr << "usage: hash_bench [--quick] [--seconds S]\n";
      return 2;
    }
  }
  if (quick) seconds = 0.3;
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);

  const fs::path vectors = fs::path(HG_SOURCE_DIR) / "tests" / "data" / "pdq-vectors";
  const fs::path shared_12mp = fs::path(HG_SOURCE_DIR) / ".." / "shared" / "pdq-vectors" /
                               "images" / "reg-test-input" / "exif-rotn" / "exif-rotn-1.jpg";
  const fs::path source = vectors / "images" / "bridge-mods" / "aaa-orig.jpg";
  const fs::path dir = "/tmp/hashguard-hash-bench";

  std::vector<bench_image> images{{"jpeg_1mp", 1155, 866, dir / "bridge-1155x866.jpg", {}}};
  if (!quick) {
    images.push_back({"jpeg_6mp", 3000, 2000, dir / "bridge-3000x2000.jpg", {}});
    images.push_back({"jpeg_12mp", 4032, 3024, dir / "bridge-4032x3024.jpg", {}});
    // The 1 MP picture pillarboxed to 16:9: trimming's cost when it finds bars (every
    // candidate layout hashed with its orientations).
    images.push_back(
        {"jpeg_1mp_pillarbox", 1155, 866, dir / "bridge-1155x866-pillarbox.jpg", {}, "1540x866"});
  }
  for (bench_image& image : images) {
    bool ok = false;
    if (image.name == "jpeg_12mp" && fs::exists(shared_12mp)) {
      image.path = shared_12mp;
      image.bytes = read_file(shared_12mp);
      ok = !image.bytes.empty();
    } else {
      ok = prepare(image, source);
    }
    if (!ok) {
      std::cerr << "hash_bench: cannot make " << image.path << " (ImageMagick convert)\n";
      return 1;
    }
  }

  const unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  std::cout << "hash_bench: exact fullres PDQ (kernel "
            << scanner::to_string(scanner::pdq_hasher().kernel())
            << ") + 8 dihedrals, pHash, MD5/SHA-1/SHA-256; medians, " << threads
            << " cores; peer: OpenCV imdecode + img_hash PHash\n";
  std::ostringstream json;
  json << std::fixed << std::setprecision(2) << "{\"threads\":" << threads;
  for (const bench_image& image : images) {
    const figures f = measure(image, seconds, threads);
    std::cout << std::fixed << std::setprecision(2) << "\n== " << image.name << ": "
              << image.path.filename().string() << " (" << image.bytes.size() / 1024 << " KiB)\n"
              << "hashguard  scan " << f.total_ms << " ms (" << f.total_cpu_ms
              << " ms thread CPU time) = decode " << f.decode_ms << " + hash " << f.hash_ms
              << " + digests " << f.digest_ms << "; PDQ core alone " << f.pdq_ms
              << " ms, pHash alone " << f.phash_ms << " ms\n"
              << "           thread CPU time: decode alone " << f.decode_cpu_ms
              << " ms, PDQ core alone " << f.pdq_cpu_ms << " ms\n"
              << "hashguard  " << f.images_per_s_1t << " images/s on 1 thread, "
              << f.images_per_s_all << " on " << threads << "\n"
              << "orientations + trim (match.orientations=exact, match.trim): scan "
              << f.oriented_cpu_ms << " ms vs " << f.plain_cpu_ms
              << " ms thread CPU without, extra "
              << 100.0 * (f.oriented_cpu_ms - f.plain_cpu_ms) / f.plain_cpu_ms
              << " % (target <= 25 %); PDQ core " << f.pdq_oriented_cpu_ms << " ms vs "
              << f.pdq_cpu_ms << " ms; bit-exact alternative (7 more hashes of copies) +"
              << f.bit_exact_extra_cpu_ms << " ms\n"
              << "OpenCV     decode " << f.cv_decode_ms << " + PHash " << f.cv_phash_ms << " ms; "
              << f.cv_images_per_s_1t << " images/s on 1 thread (pHash only)\n";
    const std::string p = "\"" + image.name + "_";
    json << "," << p << "scan_ms\":" << f.total_ms << "," << p << "scan_cpu_ms\":" << f.total_cpu_ms
         << "," << p << "decode_ms\":" << f.decode_ms << "," << p << "hash_ms\":" << f.hash_ms
         << "," << p << "digest_ms\":" << f.digest_ms << "," << p
         << "decode_cpu_ms\":" << f.decode_cpu_ms << "," << p
         << "pdq_core_cpu_ms\":" << f.pdq_cpu_ms << "," << p << "pdq_core_ms\":" << f.pdq_ms << ","
         << p << "phash_ms\":" << f.phash_ms << "," << p
         << "images_per_s_1t\":" << f.images_per_s_1t << "," << p
         << "images_per_s_all_cores\":" << f.images_per_s_all << "," << p
         << "scan_plain_cpu_ms\":" << f.plain_cpu_ms << "," << p
         << "scan_orientations_cpu_ms\":" << f.oriented_cpu_ms << "," << p
         << "orientations_extra_percent\":"
         << 100.0 * (f.oriented_cpu_ms - f.plain_cpu_ms) / f.plain_cpu_ms << "," << p
         << "pdq_core_orientations_cpu_ms\":" << f.pdq_oriented_cpu_ms << "," << p
         << "bit_exact_orientations_extra_cpu_ms\":" << f.bit_exact_extra_cpu_ms << ",\"opencv_"
         << image.name << "_decode_ms\":" << f.cv_decode_ms << ",\"opencv_" << image.name
         << "_phash_ms\":" << f.cv_phash_ms << ",\"opencv_" << image.name
         << "_images_per_s_1t\":" << f.cv_images_per_s_1t;
  }
  json << "}";
  std::cout << "\n" << json.str() << "\n";
  return 0;
}
