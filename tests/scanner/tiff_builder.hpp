// Builds small little-endian TIFFs byte by byte: data blocks where the test puts them and IFD
// entries exactly as given, so the tests control the strip layout (and can make it hostile).
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace hg_test {

class tiff_builder {
 public:
  static constexpr std::uint16_t type_short = 3;
  static constexpr std::uint16_t type_long = 4;

  /// Appends `data` to the file (after the 8-byte header and earlier blocks); its offset.
  std::uint32_t append(const std::vector<std::uint8_t>& data) {
    const auto at = static_cast<std::uint32_t>(file_.size());
    file_.insert(file_.end(), data.begin(), data.end());
    return at;
  }

  /// An IFD entry; values wider than the 4-byte value field are stored after the IFD.
  tiff_builder& entry(std::uint16_t tag, std::uint16_t type, std::vector<std::uint32_t> values) {
    entries_.push_back({tag, type, std::move(values)});
    return *this;
  }

  /// The file: header, appended blocks, the IFD (entries sorted by tag), then long values.
  [[nodiscard]] std::vector<std::uint8_t> build() const {
    std::vector<std::uint8_t> out = file_;
    if (out.size() % 2 != 0) out.push_back(0);
    auto sorted = entries_;
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.tag < b.tag; });
    const auto ifd = static_cast<std::uint32_t>(out.size());
    put32(out, 4, ifd);
    std::size_t extra = ifd + 2 + 12 * sorted.size() + 4;
    out.resize(extra);
    put16(out, ifd, static_cast<std::uint32_t>(sorted.size()));
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      const auto& e = sorted[i];
      const std::size_t at = ifd + 2 + 12 * i;
      const std::size_t width = e.type == type_short ? 2 : 4;
      put16(out, at, e.tag);
      put16(out, at + 2, e.type);
      put32(out, at + 4, static_cast<std::uint32_t>(e.values.size()));
      std::size_t to = at + 8;
      if (e.values.size() * width > 4) {
        put32(out, at + 8, static_cast<std::uint32_t>(out.size()));
        to = out.size();
        out.resize(out.size() + e.values.size() * width);
      }
      for (const std::uint32_t v : e.values) {
        if (width == 2) {
          put16(out, to, v);
        } else {
          put32(out, to, v);
        }
        to += width;
      }
    }
    return out;
  }

  /// `raw` as one zlib stream (TIFF Compression 8).
  static std::vector<std::uint8_t> deflate(const std::vector<std::uint8_t>& raw) {
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::vector<std::uint8_t> out(size);
    if (compress2(out.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK) {
      throw std::runtime_error("compress2 failed");
    }
    out.resize(size);
    return out;
  }

 private:
  struct field {
    std::uint16_t tag;
    std::uint16_t type;
    std::vector<std::uint32_t> values;
  };

  static void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
    b[at] = static_cast<std::uint8_t>(v);
    b[at + 1] = static_cast<std::uint8_t>(v >> 8);
  }
  static void put32(std::vector<std::uint8_t>& b, std::size_t at, std::uint32_t v) {
    put16(b, at, v & 0xFFFF);
    put16(b, at + 2, v >> 16);
  }

  std::vector<std::uint8_t> file_{'I', 'I', 42, 0, 0, 0, 0, 0};
  std::vector<field> entries_;
};

}  // namespace hg_test
