// The TIFF precheck: the strips or tiles of the first IFD, checked before libtiff reads
// them. It bounds the work a file can demand to what its image size needs: a file may
// not list more strips than its height needs, point two strips at the same bytes, or carry a
// deflate strip that inflates to more than its strip holds (a 1x1 image with 100,000 strips
// all naming one 1 MB stream of zeros once cost 100,000 x 1 GB of inflating).
#include "decode_internal.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <limits>
#include <utility>
#include <vector>

namespace hashguard::scanner::detail {

namespace {

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

std::uint64_t mul(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? saturated : r;
}
std::uint64_t add(std::uint64_t a, std::uint64_t b) noexcept {
  std::uint64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? saturated : r;
}
std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) noexcept {
  return a / b + (a % b != 0 ? 1 : 0);
}

// Bounds-checked reads in the file's byte order.
struct tiff_reader {
  bytes_t b;
  bool little{};

  [[nodiscard]] bool fits(std::uint64_t offset, std::uint64_t length) const noexcept {
    return offset <= b.size() && length <= b.size() - offset;
  }
  [[nodiscard]] std::uint32_t u16(std::uint64_t p) const noexcept {
    return little ? (std::uint32_t{b[p]} | std::uint32_t{b[p + 1]} << 8)
                  : (std::uint32_t{b[p]} << 8 | b[p + 1]);
  }
  [[nodiscard]] std::uint32_t u32(std::uint64_t p) const noexcept {
    return little ? (u16(p) | u16(p + 2) << 16) : (u16(p) << 16 | u16(p + 2));
  }
};

// An IFD entry holding SHORT or LONG values: where they are and how wide each is.
struct field {
  std::uint32_t type{};
  std::uint32_t count{};
  std::uint64_t entry{};  // position of the 12-byte entry; 0 = absent

  [[nodiscard]] bool present() const noexcept { return entry != 0; }
  [[nodiscard]] std::uint32_t width() const noexcept { return type == 3 ? 2 : 4; }
};

// The first value of a SHORT or LONG field (its value field, left-justified).
std::uint64_t scalar(const tiff_reader& r, const field& f, std::uint64_t absent) noexcept {
  if (!f.present()) return absent;
  return f.type == 3 ? r.u16(f.entry + 8) : r.u32(f.entry + 8);
}

// A zlib stream that inflates to its end with a valid checksum and to no more than `limit`
// bytes. libtiff stops inflating a strip once it has the bytes it wants and never sees a broken
// checksum, and OpenCV 4.6 then builds some pixels of such a damaged strip from memory it never
// initialised (found by the TIFF fuzz target: the hash changed with the heap's contents), so
// damaged deflate strips are refused. Inflating stops as soon as the output passes `limit`:
// a stream that holds more than its strip can is refused without being inflated to its end.
// Input goes in by slices of 256 KiB, so a stream that is long without producing anything (a
// run of empty stored blocks) also passes the budget's checks: each step of the loop reads at
// most one slice and writes at most one sink. A spent budget stops the inflating
// (errc::scan_budget_exceeded or scan_cancelled).
errc whole_deflate_stream(bytes_t strip, std::uint64_t limit, scan_budget& budget) noexcept {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return errc::out_of_memory;
  std::array<unsigned char, 16384> sink{};
  constexpr std::size_t slice = 256U << 10U;
  std::size_t fed = 0;
  std::uint64_t produced = 0;
  int state = Z_OK;
  errc spent{};
  while (state == Z_OK && produced <= limit) {
    if (spent = budget.tick(16); spent != errc{}) break;
    if (z.avail_in == 0 && fed < strip.size()) {
      const std::size_t n = std::min(slice, strip.size() - fed);
      z.next_in = const_cast<unsigned char*>(strip.data() + fed);  // zlib never writes its input
      z.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    z.next_out = sink.data();
    z.avail_out = static_cast<uInt>(sink.size());
    state = inflate(&z, Z_NO_FLUSH);
    produced += sink.size() - z.avail_out;
    // No progress possible for want of room or input: go on while either can still come.
    if (state == Z_BUF_ERROR && (z.avail_in > 0 || fed < strip.size())) state = Z_OK;
  }
  inflateEnd(&z);
  if (spent != errc{}) return spent;
  return state == Z_STREAM_END && produced <= limit ? errc{} : errc::corrupt;
}

}  // namespace

errc precheck_tiff(bytes_t b, const image_header& header) {
  scan_budget unlimited;
  return precheck_tiff(b, header, unlimited);
}

errc precheck_tiff(bytes_t b, const image_header& header, scan_budget& budget) {
  const tiff_reader r{b, b[0] == 'I'};
  const std::uint64_t ifd = r.u32(4);
  if (!r.fits(ifd, 2)) return errc::truncated;
  const std::uint32_t entries = r.u16(ifd);
  field offsets;
  field counts;
  field rows_per_strip;
  field tile_width;
  field tile_length;
  field compression;
  field planar;
  bool tiled = false;
  for (std::uint32_t i = 0; i < entries; ++i) {
    if (const errc spent = budget.tick(4096); spent != errc{}) return spent;
    const std::uint64_t e = ifd + 2 + 12 * std::uint64_t{i};
    if (!r.fits(e, 12)) return errc::truncated;
    const std::uint32_t tag = r.u16(e);
    const field f{r.u16(e + 2), r.u32(e + 4), e};
    switch (tag) {
      case 273: offsets = f; break;
      case 324: {
        offsets = f;
        tiled = true;
        break;
      }
      case 279:
      case 325: counts = f; break;
      case 278: rows_per_strip = f; break;
      case 322: tile_width = f; break;
      case 323: tile_length = f; break;
      case 259: compression = f; break;
      case 284: planar = f; break;
      default: break;
    }
  }
  if (offsets.count == 0 || offsets.count != counts.count) return {};  // libtiff will refuse
  for (const field* f : {&offsets, &counts, &rows_per_strip, &tile_width, &tile_length}) {
    if (f->present() && f->type != 3 && f->type != 4) return errc::corrupt;
  }

  // What the image needs: chunks (strips or tiles) per plane, planes, bytes per chunk.
  const std::uint64_t width = header.width;
  const std::uint64_t height = header.height;
  const std::uint64_t samples = std::max<std::uint32_t>(header.samples_per_pixel, 1);
  const std::uint64_t bits = std::max<std::uint32_t>(header.bits_per_sample, 1);
  const bool separate_planes = scalar(r, planar, 1) == 2;
  const std::uint64_t planes = separate_planes ? samples : 1;
  const std::uint64_t samples_per_chunk = separate_planes ? 1 : samples;
  std::uint64_t chunk_width = width;
  std::uint64_t chunk_height = 0;
  std::uint64_t chunks_per_plane = 0;
  if (tiled) {
    chunk_width = scalar(r, tile_width, 0);
    chunk_height = scalar(r, tile_length, 0);
    if (chunk_width == 0 || chunk_height == 0) return errc::corrupt;
    chunks_per_plane = mul(ceil_div(width, chunk_width), ceil_div(height, chunk_height));
  } else {
    // libtiff reads RowsPerStrip past the height as one strip of the whole image.
    chunk_height = std::min(scalar(r, rows_per_strip, height), height);
    if (chunk_height == 0) return errc::corrupt;
    chunks_per_plane = ceil_div(height, chunk_height);
  }
  const std::uint64_t row_bytes = ceil_div(mul(mul(chunk_width, samples_per_chunk), bits), 8);
  const std::uint64_t chunk_bytes = mul(chunk_height, row_bytes);
  if (offsets.count > mul(chunks_per_plane, planes)) return errc::corrupt;
  // Tiles may pad the image, but not without bound: all of them together hold at most four
  // times the image's own samples plus 16 MiB (a 256x256 tile of a small image is common).
  const std::uint64_t image_bytes = mul(height, ceil_div(mul(mul(width, samples), bits), 8));
  if (mul(offsets.count, chunk_bytes) > add(mul(image_bytes, 4), std::uint64_t{16} << 20U)) {
    return errc::corrupt;
  }

  // Each chunk inside the data, no two sharing a byte.
  const auto values_at = [&](const field& f) {
    return std::uint64_t{f.count} * f.width() <= 4 ? f.entry + 8 : r.u32(f.entry + 8);
  };
  const std::uint64_t offsets_at = values_at(offsets);
  const std::uint64_t counts_at = values_at(counts);
  if (!r.fits(offsets_at, std::uint64_t{offsets.count} * offsets.width()) ||
      !r.fits(counts_at, std::uint64_t{counts.count} * counts.width())) {
    return errc::truncated;
  }
  const auto value = [&](const field& f, std::uint64_t at, std::uint32_t i) -> std::uint64_t {
    return f.type == 3 ? r.u16(at + 2 * std::uint64_t{i}) : r.u32(at + 4 * std::uint64_t{i});
  };
  const std::uint64_t scheme = scalar(r, compression, 1);
  const bool deflate = scheme == 8 || scheme == 32946;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;  // (offset, end) of each chunk
  spans.reserve(offsets.count);
  for (std::uint32_t i = 0; i < offsets.count; ++i) {
    if (const errc spent = budget.tick(4096); spent != errc{}) return spent;
    const std::uint64_t o = value(offsets, offsets_at, i);
    const std::uint64_t n = value(counts, counts_at, i);
    if (!r.fits(o, n)) return errc::truncated;
    if (n != 0) spans.emplace_back(o, o + n);
  }
  std::sort(spans.begin(), spans.end());
  if (const errc spent = budget.check(); spent != errc{}) return spent;
  for (std::size_t i = 1; i < spans.size(); ++i) {
    if (spans[i].first < spans[i - 1].second) return errc::corrupt;  // duplicate or overlap
  }
  if (deflate) {
    for (const auto& [begin, end] : spans) {
      const errc e = whole_deflate_stream(b.subspan(begin, end - begin), chunk_bytes, budget);
      if (e != errc{}) return e;
    }
  }
  return {};
}

}  // namespace hashguard::scanner::detail
