// trim_probe: why a padded copy is or is not found (benchmarks/eval, issue 16's diagnosis).
//
//   trim_probe < lines
//
// Each input line: "VARIANT ORIGINAL TOP BOTTOM LEFT RIGHT", the true bars the variant was made
// with (from the distortion's geometry). Prints one JSON object per line: the original's PDQ,
// the variant's untrimmed distance, the sides find_content found and the distance of their
// content, and the distance of the content inside the true bars (what a perfect detector
// gives), with each hash's quality. Not a benchmark (no timing); not run by the tests.
#include "hashguard/core/hex.hpp"
#include "hashguard/core/vocabulary.hpp"
#include "hashguard/scanner/decode.hpp"
#include "hashguard/scanner/pdq.hpp"
#include "hashguard/scanner/scan.hpp"
#include "hashguard/scanner/trim.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace hashguard;

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

// --profile FILE: per-row statistics of the top 48 rows (mean luma, mean neighbour difference,
// share of pixels equal to / within 1, 2 levels of the first row's most common value).
int profile(const std::string& path) {
  const auto bytes = read_all(path);
  auto image = scanner::decode(bytes);
  if (!image) return 1;
  const scanner::pixels_view v = image->frames.front().view();
  const auto luma = [&](std::uint32_t x, std::uint32_t y) {
    const std::uint8_t* p = v.data.data() + (std::size_t{y} * v.width + x) * v.channels;
    return v.channels == 1 ? int{p[0]} : (77 * p[0] + 150 * p[1] + 29 * p[2]) >> 8;
  };
  std::vector<int> histogram(256);
  for (std::uint32_t x = 0; x < v.width; ++x) ++histogram[static_cast<std::size_t>(luma(x, 0))];
  const auto mode =
      static_cast<int>(std::max_element(histogram.begin(), histogram.end()) - histogram.begin());
  for (std::uint32_t y = 0; y < std::min(48U, v.height); ++y) {
    double sum = 0, moves = 0, eq = 0, in1 = 0, in2 = 0;
    for (std::uint32_t x = 0; x < v.width; ++x) {
      const int a = luma(x, y);
      sum += a;
      if (x + 1 < v.width) moves += std::abs(a - luma(x + 1, y));
      eq += a == mode;
      in1 += std::abs(a - mode) <= 1;
      in2 += std::abs(a - mode) <= 2;
    }
    const double n = v.width;
    std::printf("%2u mean %6.2f act %5.2f eq %4.2f in1 %4.2f in2 %4.2f\n", y, sum / n, moves / n,
                eq / n, in1 / n, in2 / n);
  }
  return 0;
}

// --scan: one path a line on stdin; prints what `hashguard hash --format=jsonl --query-hashes`
// prints for it (the fields benchmarks/eval/analyse.py reads), through the same scanner
// options, without building the whole program.
void hashes(std::ostream& out, const char* name, const scanner::orientation_hashes& h,
            std::size_t from, const char* before = ",") {
  out << before << "\"" << name << "\":{";
  for (std::size_t d = from; d < h.size(); ++d) {
    out << (d == from ? "" : ",") << "\"" << core::dihedral_names[d] << "\":\""
        << core::to_hex(h[d]) << "\"";
  }
  out << "}";
}

int scan_lines() {
  scanner::scan_options options;
  options.orientations = true;
  options.trim = true;
  scanner::image_scanner scan(options);
  std::string path;
  while (std::getline(std::cin, path)) {
    const auto bytes = read_all(path);
    const auto r = scan.scan(bytes);
    if (!r) {
      std::cout << "{\"path\":\"" << path
                << "\",\"error\":{\"code\":\"failed\",\"message\":\"\"}}\n";
      continue;
    }
    std::cout << "{\"path\":\"" << path << "\",\"width\":" << r->width
              << ",\"height\":" << r->height << ",\"pdq\":\"" << core::to_hex(r->pdq.hash)
              << "\",\"quality\":" << r->pdq.quality;
    hashes(std::cout, "dihedral", r->pdq.dihedral, 1);
    std::cout << ",\"phash\":\"" << core::to_hex(r->phash) << "\",\"query\":{";
    hashes(std::cout, "orientations", r->orientations, 0, "");
    std::cout << ",\"trimmed\":[";
    for (std::size_t i = 0; i < r->trimmed.size(); ++i) {
      const auto& t = r->trimmed[i];
      std::cout << (i ? "," : "") << "{\"top\":" << t.sides.top << ",\"bottom\":" << t.sides.bottom
                << ",\"left\":" << t.sides.left << ",\"right\":" << t.sides.right << ",\"pdq\":\""
                << core::to_hex(t.pdq.hash) << "\",\"quality\":" << t.pdq.quality;
      hashes(std::cout, "dihedral", t.pdq.dihedral, 0);
      hashes(std::cout, "orientations", t.orientations, 0);
      std::cout << "}";
    }
    std::cout << "]}}\n";
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--profile") return profile(argv[2]);
  if (argc == 2 && std::string(argv[1]) == "--scan") return scan_lines();
  scanner::pdq_hasher pdq;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string variant, original;
    std::uint32_t t = 0, b = 0, l = 0, r = 0;
    if (!(in >> variant >> original >> t >> b >> l >> r)) continue;
    const auto vb = read_all(variant);
    const auto ob = read_all(original);
    auto vi = scanner::decode(vb);
    auto oi = scanner::decode(ob);
    if (!vi || !oi) {
      std::cout << "{\"variant\":\"" << variant << "\",\"error\":true}\n";
      continue;
    }
    const scanner::pixels_view v = vi->frames.front().view();
    const scanner::pixels_view o = oi->frames.front().view();
    const auto target = pdq.hash(o);
    const auto plain = pdq.hash(v);
    std::cout << "{\"variant\":\"" << variant << "\",\"w\":" << v.width << ",\"h\":" << v.height
              << ",\"q_orig\":" << target.quality
              << ",\"plain\":" << core::distance(plain.hash, target.hash) << ",\"truth\":[" << t
              << "," << b << "," << l << "," << r << "]";
    if (t + b < v.height && l + r < v.width) {
      const auto gt = pdq.hash(v, {l, t, v.width - l - r, v.height - t - b},
                               scanner::pdq_mode::fullres, nullptr);
      std::cout << ",\"truth_d\":" << core::distance(gt.hash, target.hash)
                << ",\"truth_q\":" << gt.quality;
    }
    if (const auto found = scanner::find_content(v)) {
      const auto& s = found->sides;
      const auto th = pdq.hash(v, found->content, scanner::pdq_mode::fullres, nullptr);
      std::cout << ",\"found\":[" << s.top << "," << s.bottom << "," << s.left << "," << s.right
                << "],\"found_d\":" << core::distance(th.hash, target.hash)
                << ",\"found_q\":" << th.quality;
    }
    // Every candidate (find_candidates): the best distance and which candidate gave it.
    int best = 256, best_at = -1, index = 0, best_q = 0;
    for (const auto& c : scanner::find_candidates(v)) {
      const auto ch = pdq.hash(v, c.content, scanner::pdq_mode::fullres, nullptr);
      const int dist = core::distance(ch.hash, target.hash);
      if (dist < best) best = dist, best_at = index, best_q = ch.quality;
      ++index;
    }
    std::cout << ",\"candidates\":" << index << ",\"cand_d\":" << best << ",\"cand_at\":" << best_at
              << ",\"cand_q\":" << best_q << "}\n";
  }
}
