// Test-only helpers for the PDQ vectors (tests/data/pdq-vectors): decode a vector image the way
// the vectors' README says the reference's decoder did (lossless PNG through libpng's png_image
// API with alpha dropped, JPEG through TurboJPEG with default flags, CMYK converted as djpeg
// does, WebP through OpenCV), MD5 of the decoded RGB, and the expected CSV rows.
// The scanner's own decoders are tested elsewhere; these keep the hashing tests independent.
#pragma once

#include "hashguard/scanner/image.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hashguard::test {

/// tests/data/pdq-vectors
[[nodiscard]] std::filesystem::path vectors_dir();

/// Decoded pixels: channels 1 for grey files (grey PNG, grey JPEG), else 3 (RGB).
/// nullopt with `error` set when the file cannot be decoded.
[[nodiscard]] std::optional<scanner::pixels> decode_vector_image(const std::filesystem::path& file,
                                                                 std::string& error);

/// MD5 (lowercase hex) of the pixels as interleaved 8-bit R,G,B (grey expanded), as the
/// vectors' decoded_rgb_md5 column.
[[nodiscard]] std::string rgb_md5(const scanner::pixels_view& image);

struct vector_row {
  std::string file;
  unsigned width{};
  unsigned height{};
  unsigned channels{};
  std::string pdq;
  int quality{};
  std::vector<std::string> dihedral;  ///< rot90 .. flipminus1 (7)
  std::string decoded_rgb_md5;
};

/// Parses expected/<name> (a CSV with the header row described in the vectors' README).
[[nodiscard]] std::vector<vector_row> read_vector_csv(const std::string& name);

/// Reads a whole file.
[[nodiscard]] std::vector<unsigned char> read_file(const std::filesystem::path& file);

}  // namespace hashguard::test
