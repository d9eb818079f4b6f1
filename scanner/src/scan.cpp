#include "hashguard/scanner/scan.hpp"

#include "hashguard/core/errc.hpp"

#include <new>
#include <string>

namespace hashguard::scanner {

namespace {

using clock = std::chrono::steady_clock;

std::chrono::nanoseconds since(clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start);
}

}  // namespace

void declare_config(core::config& cfg) {
  const scan_options d;
  auto num = [](auto v) { return std::to_string(v); };
  using core::config_type;
  cfg.declare("scanner.max_bytes", config_type::integer, num(d.limits.max_bytes),
              "largest image accepted, in bytes; over it: too_large");
  cfg.declare("scanner.max_pixels", config_type::integer, num(d.limits.max_pixels),
              "largest width * height (and GIF frame) accepted; over it: too_many_pixels");
  cfg.declare("scanner.max_decode_bytes", config_type::integer, num(d.limits.max_decode_bytes),
              "largest decoded pixel buffer, in bytes (pixels x the format's bytes per pixel, "
              "e.g. 8 for 16-bit RGBA), checked before decoding; over it: too_many_pixels");
  cfg.declare("scanner.max_frames", config_type::integer, num(d.limits.max_frames),
              "animated GIF frames decoded and hashed at most");
  cfg.declare("scanner.max_total_pixels", config_type::integer, num(d.limits.max_total_pixels),
              "pixels of all decoded frames of an animation together");
  cfg.declare("scanner.pdq_mode", config_type::string, "fullres",
              "fullres (PDQ on the full image) or reference-512 (the reference CLI's pre-resize)");
  cfg.declare("scanner.keep_pixel_bytes", config_type::integer, num(d.keep_pixel_bytes),
              "decoded pixel buffers kept per scan thread between images");
  cfg.declare("scanner.max_scan_ms", config_type::integer, num(d.max_scan.count()),
              "CPU time (of the scanning thread) one scan may spend, in milliseconds, checked "
              "between stages and inside the decoders' loops; over it: 422 "
              "scan_budget_exceeded");
}

core::result<scan_options> scan_options_from(const core::config& cfg) {
  scan_options o;
  auto positive = [&](std::string_view key) -> core::result<std::uint64_t> {
    const std::int64_t v = cfg.get_int(key);
    if (v < 1) return core::errc::config_bad_value;
    return static_cast<std::uint64_t>(v);
  };
  const auto bytes = positive("scanner.max_bytes");
  const auto pixels = positive("scanner.max_pixels");
  const auto decode_bytes = positive("scanner.max_decode_bytes");
  const auto frames = positive("scanner.max_frames");
  const auto total = positive("scanner.max_total_pixels");
  const auto keep = positive("scanner.keep_pixel_bytes");
  const auto scan_ms = positive("scanner.max_scan_ms");
  for (const auto* r : {&bytes, &pixels, &decode_bytes, &frames, &total, &keep, &scan_ms}) {
    if (!*r) return r->error();
  }
  if (*frames > 100000) return core::errc::config_bad_value;
  o.limits.max_bytes = static_cast<std::size_t>(*bytes);
  o.limits.max_pixels = *pixels;
  o.limits.max_decode_bytes = *decode_bytes;
  o.limits.max_frames = static_cast<std::uint32_t>(*frames);
  o.limits.max_total_pixels = *total;
  o.keep_pixel_bytes = static_cast<std::size_t>(*keep);
  // Past a day is a typing error, and the nanosecond count must not overflow.
  if (*scan_ms > 86'400'000) return core::errc::config_bad_value;
  o.max_scan = std::chrono::milliseconds(*scan_ms);
  const std::string& mode = cfg.get_string("scanner.pdq_mode");
  if (mode == "fullres") {
    o.mode = pdq_mode::fullres;
  } else if (mode == "reference-512") {
    o.mode = pdq_mode::reference_512;
  } else {
    return core::errc::config_bad_value;
  }
  return o;
}

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
  return scan(bytes, nullptr);
}

core::result<scan_result> image_scanner::scan(std::span<const std::uint8_t> bytes,
                                              const std::atomic<bool>* stop) noexcept {
  scan_budget budget(state_->options.max_scan, stop);
  return scan(bytes, budget);
}

core::result<scan_result> image_scanner::scan(std::span<const std::uint8_t> bytes,
                                              scan_budget& budget) noexcept {
  state& s = *state_;
  s.timings = {};
  try {
    scan_result out;
    // Between stages: a spent budget ends the scan with its errc.
    const auto spent = [&] { return budget.check(); };

    // Caps first: a refused image costs neither digests nor decoding.
    const auto header = s.decoder.check(bytes);
    if (!header) return header.error();
    if (const errc e = spent(); e != errc{}) return e;

    auto start = clock::now();
    auto digest = s.digests.digest(bytes);
    s.timings.digest = since(start);
    if (!digest) return digest.error();
    out.digest = *digest;
    if (const errc e = spent(); e != errc{}) return e;

    start = clock::now();
    auto decoded = s.decoder.decode(bytes, s.image, budget);
    s.timings.decode = since(start);
    if (!decoded) return decoded.error();
    // Keep ordinary buffers for the next image; give huge ones back, on every way out.
    struct release_huge_buffers {
      state& s;
      ~release_huge_buffers() {
        std::size_t held = 0;
        for (const pixels& p : s.image.frames) held += p.data.capacity();
        if (held > s.options.keep_pixel_bytes) s.image = decoded_image{};
      }
    } const release{s};

    const decoded_image& image = s.image;
    out.format = image.format;
    out.width = image.width;
    out.height = image.height;
    out.frames_in_file = image.frames_in_file;
    out.damaged = image.damaged;

    start = clock::now();
    const pixels_view first = image.frames.front().view();
    const auto hash_spent = [&] {  // the hash stage's time counts also when it ends early
      s.timings.hash = since(start);
      return spent();
    };
    // With its 8 dihedral hashes (and, for matching, the 8 orientation hashes).
    out.pdq = s.options.orientations ? s.pdq.hash(first, s.options.mode, out.orientations)
                                     : s.pdq.hash(first, s.options.mode);
    if (const errc e = hash_spent(); e != errc{}) return e;
    out.phash = s.phash.hash(first);
    // Bars before any quality decision: the trimmed content has its own quality, and a padded
    // copy may be low quality only because of its bars.
    if (s.options.trim) {
      if (const errc e = hash_spent(); e != errc{}) return e;
      for (const trimmed_content& found : find_candidates(first, s.options.trimming)) {
        if (const errc e = hash_spent(); e != errc{}) return e;
        trimmed_hash t{found.sides, found.content, {}, {}};
        t.pdq = s.pdq.hash(first, found.content, s.options.mode,
                           s.options.orientations ? &t.orientations : nullptr);
        out.trimmed.push_back(t);
      }
    }
    if (out.animated()) {
      out.frames.reserve(image.frames.size());
      out.frames.push_back({0, out.pdq, out.orientations});
      for (std::size_t i = 1; i < image.frames.size(); ++i) {
        if (const errc e = hash_spent(); e != errc{}) return e;
        frame_hash f{static_cast<std::uint32_t>(i), {}, {}};
        const pixels_view frame = image.frames[i].view();
        f.pdq = s.options.orientations ? s.pdq.hash(frame, s.options.mode, f.orientations)
                                       : s.pdq.hash(frame, s.options.mode);
        out.frames.push_back(f);
      }
    }
    if (const errc e = hash_spent(); e != errc{}) return e;
    out.timings = s.timings;
    return out;
  } catch (const std::bad_alloc&) {
    s.image = decoded_image{};
    return errc::out_of_memory;
  }
}

}  // namespace hashguard::scanner
