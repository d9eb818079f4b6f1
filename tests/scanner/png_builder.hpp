// Builds small PNGs byte by byte (zlib for IDAT and the CRCs), so the tests control bit depth,
// colour type and ancillary chunks exactly.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace hg_test {

class png_builder {
 public:
  /// `samples`: rows of width * channels samples (16-bit values when depth is 16), row-major.
  static std::vector<std::uint8_t> build(std::uint32_t width, std::uint32_t height, int depth,
                                         int colour_type, const std::vector<unsigned>& samples,
                                         const std::vector<std::uint8_t>& extra_chunks = {}) {
    std::vector<std::uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<std::uint8_t> ihdr;
    put32(ihdr, width);
    put32(ihdr, height);
    ihdr.insert(ihdr.end(), {static_cast<std::uint8_t>(depth),
                             static_cast<std::uint8_t>(colour_type), 0, 0, 0});
    chunk(png, "IHDR", ihdr);
    png.insert(png.end(), extra_chunks.begin(), extra_chunks.end());
    const std::size_t per_row = samples.size() / height;
    std::vector<std::uint8_t> raw;
    for (std::uint32_t y = 0; y < height; ++y) {
      raw.push_back(0);  // filter: none
      if (depth < 8) {   // packed, first sample in the high bits
        unsigned acc = 0;
        int bits = 0;
        for (std::size_t i = 0; i < per_row; ++i) {
          acc = acc << depth | samples[y * per_row + i];
          bits += depth;
          if (bits == 8) {
            raw.push_back(static_cast<std::uint8_t>(acc));
            acc = 0;
            bits = 0;
          }
        }
        if (bits > 0) raw.push_back(static_cast<std::uint8_t>(acc << (8 - bits)));
        continue;
      }
      for (std::size_t i = 0; i < per_row; ++i) {
        const unsigned v = samples[y * per_row + i];
        if (depth == 16) raw.push_back(static_cast<std::uint8_t>(v >> 8));
        raw.push_back(static_cast<std::uint8_t>(v));
      }
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::vector<std::uint8_t> z(size);
    if (compress(z.data(), &size, raw.data(), static_cast<uLong>(raw.size())) != Z_OK) {
      throw std::runtime_error("compress failed");
    }
    z.resize(size);
    chunk(png, "IDAT", z);
    chunk(png, "IEND", {});
    return png;
  }

  /// A width x height 8-bit grey PNG whose rows all hold the same horizontal ramp, deflated
  /// row by row without building the raw image: large images (for budget and timing tests)
  /// in little memory and a small file.
  static std::vector<std::uint8_t> ramp(std::uint32_t width, std::uint32_t height) {
    std::vector<std::uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    std::vector<std::uint8_t> ihdr;
    put32(ihdr, width);
    put32(ihdr, height);
    ihdr.insert(ihdr.end(), {8, 0, 0, 0, 0});
    chunk(png, "IHDR", ihdr);
    std::vector<std::uint8_t> row(std::size_t{width} + 1, 0);  // filter byte 0, then samples
    for (std::uint32_t x = 0; x < width; ++x) row[x + 1] = static_cast<std::uint8_t>(x * 7U);
    z_stream z{};
    if (deflateInit(&z, 6) != Z_OK) throw std::runtime_error("deflateInit failed");
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> buffer(1U << 16U);
    for (std::uint32_t y = 0; y < height; ++y) {
      z.next_in = row.data();
      z.avail_in = static_cast<uInt>(row.size());
      const int flush = y + 1 == height ? Z_FINISH : Z_NO_FLUSH;
      int state = Z_OK;
      do {
        z.next_out = buffer.data();
        z.avail_out = static_cast<uInt>(buffer.size());
        state = deflate(&z, flush);
        out.insert(out.end(), buffer.data(), buffer.data() + (buffer.size() - z.avail_out));
      } while (z.avail_out == 0 || (flush == Z_FINISH && state != Z_STREAM_END));
    }
    deflateEnd(&z);
    chunk(png, "IDAT", out);
    chunk(png, "IEND", {});
    return png;
  }

  /// A gAMA chunk (gamma * 100000), to pass as extra_chunks.
  static std::vector<std::uint8_t> gama(std::uint32_t gamma_100000) {
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> body;
    put32(body, gamma_100000);
    chunk(out, "gAMA", body);
    return out;
  }

  static void chunk(std::vector<std::uint8_t>& out, const std::string& type,
                    const std::vector<std::uint8_t>& body) {
    put32(out, static_cast<std::uint32_t>(body.size()));
    const std::size_t start = out.size();
    out.insert(out.end(), type.begin(), type.end());
    out.insert(out.end(), body.begin(), body.end());
    const auto crc =
        crc32(crc32(0, nullptr, 0), out.data() + start, static_cast<uInt>(out.size() - start));
    put32(out, static_cast<std::uint32_t>(crc));
  }

  static void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(v >> shift));
  }
};

}  // namespace hg_test
