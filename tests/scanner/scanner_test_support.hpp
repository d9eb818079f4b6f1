// Helpers for the scanner tests: files, the vectors' CSVs, and the decoded-pixels MD5 that the
// PDQ vectors define (8-bit R,G,B interleaved, grey expanded to R=G=B).
#pragma once

#include "hashguard/core/hex.hpp"
#include "hashguard/scanner/digest.hpp"
#include "hashguard/scanner/image.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace hg_test {

inline std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The PDQ vectors (tests/data/pdq-vectors, see its README).
inline std::filesystem::path vectors_dir() {
  return std::filesystem::path(HG_TEST_DATA) / "pdq-vectors";
}

/// Synthetic images made by tests/data/scanner/make-images.sh.
inline std::filesystem::path scanner_data_dir() {
  return std::filesystem::path(HG_TEST_DATA) / "scanner";
}

/// Rows of a CSV with a header line, as column -> value maps. No quoting (none is needed).
inline std::vector<std::map<std::string, std::string>> read_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    for (std::string cell; std::getline(s, cell, ',');) {
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();  // CRLF files
      cells.push_back(cell);
    }
    return cells;
  };
  std::string line;
  std::getline(in, line);
  const auto names = split(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto cells = split(line);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < names.size() && i < cells.size(); ++i) row[names[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

/// 8-bit RGB interleaved: grey expanded to R=G=B.
inline std::vector<std::uint8_t> to_rgb(const hashguard::scanner::pixels& p) {
  if (p.channels == 3) return p.data;
  std::vector<std::uint8_t> rgb;
  rgb.reserve(p.data.size() * 3);
  for (std::uint8_t v : p.data) rgb.insert(rgb.end(), {v, v, v});
  return rgb;
}

inline std::string rgb_md5(const hashguard::scanner::pixels& p) {
  const auto d = hashguard::scanner::digest(to_rgb(p));
  if (!d) throw std::runtime_error("md5 failed");
  return hashguard::core::to_hex(d->md5);
}

}  // namespace hg_test
