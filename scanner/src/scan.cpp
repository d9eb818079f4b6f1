#include "hashguard/scanner/scan.hpp"

#include <new>

namespace hashguard::scanner {

namespace {

using clock = std::chrono::steady_clock;

std::chrono::nanoseconds since(clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start);
}

}  // namespace

struct image_scanner::state {
  explicit state(const scan_options& o) : options(o), decoder(o.limits), pdq(o.kernel) {}

  scan_options options;
  scanner::decoder decoder;
  decoded_image image;  // reused between calls
  pdq_hasher pdq;
  phash_hasher phash;
  digester digests;
  scan_timings timings;
};

image_scanner::image_scanner(scan_options options) : state_(std::make_unique<state>(options)) {}
image_scanner::~image_scanner() = default;
image_scanner::image_scanner(image_scanner&&) noexcept = default;
image_scanner& image_scanner::operator=(image_scanner&&) noexcept = default;

const scan_options& image_scanner::options() const noexcept {
  return state_->options;
}

const scan_timings& image_scanner::last_timings() const noexcept {
  return state_->timings;
}

core::result<scan_result> image_scanner::scan(std::span<const std::uint8_t> bytes) noexcept {
  state& s = *state_;
  s.timings = {};
  try {
    scan_result out;

    // Caps first: a refused image costs neither digests nor decoding.
    const auto header = s.decoder.check(bytes);
    if (!header) return header.error();

    auto start = clock::now();
    auto digest = s.digests.digest(bytes);
    s.timings.digest = since(start);
    if (!digest) return digest.error();
    out.digest = *digest;

    start = clock::now();
    auto decoded = s.decoder.decode(bytes, s.image);
    s.timings.decode = since(start);
    if (!decoded) return decoded.error();

    const decoded_image& image = s.image;
    out.format = image.format;
    out.width = image.width;
    out.height = image.height;
    out.frames_in_file = image.frames_in_file;
    out.damaged = image.damaged;

    start = clock::now();
    const pixels_view first = image.frames.front().view();
    out.pdq = s.pdq.hash(first, s.options.mode);
    out.phash = s.phash.hash(first);
    if (out.animated()) {
      out.frames.reserve(image.frames.size());
      out.frames.push_back({0, out.pdq});
      for (std::size_t i = 1; i < image.frames.size(); ++i) {
        out.frames.push_back(
            {static_cast<std::uint32_t>(i), s.pdq.hash(image.frames[i].view(), s.options.mode)});
      }
    }
    s.timings.hash = since(start);
    out.timings = s.timings;

    // Keep ordinary buffers for the next image; give huge ones back.
    std::size_t held = 0;
    for (const pixels& p : s.image.frames) held += p.data.capacity();
    if (held > s.options.keep_pixel_bytes) s.image = decoded_image{};
    return out;
  } catch (const std::bad_alloc&) {
    s.image = decoded_image{};
    return errc::out_of_memory;
  }
}

}  // namespace hashguard::scanner
