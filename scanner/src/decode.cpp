#include "hashguard/scanner/decode.hpp"

#include "decode_internal.hpp"

#include <algorithm>
#include <new>

namespace hashguard::scanner {

namespace detail {

void shape(pixels& frame, std::uint32_t width, std::uint32_t height, std::uint32_t channels) {
  frame.width = width;
  frame.height = height;
  frame.channels = channels;
  // resize() keeps the capacity, so a reused frame of the same size neither allocates nor
  // touches fresh pages; only growth zero-fills the new tail.
  frame.data.resize(std::size_t{width} * height * channels);
}

void drop_channels(std::vector<std::uint8_t>& data, std::size_t pixel_count, std::size_t stride,
                   std::size_t keep) noexcept {
  std::uint8_t* p = data.data();
  // Destination index never passes the source index, so the copy is safe in place.
  for (std::size_t i = 0; i < pixel_count; ++i) {
    for (std::size_t c = 0; c < keep; ++c) p[i * keep + c] = p[i * stride + c];
  }
  data.resize(pixel_count * keep);
}

}  // namespace detail

struct decoder::state {
  decode_limits limits;
  detail::jpeg_decoder jpeg;
};

decoder::decoder(decode_limits limits) : state_(std::make_unique<state>()) {
  state_->limits = limits;
}
decoder::~decoder() = default;
decoder::decoder(decoder&&) noexcept = default;
decoder& decoder::operator=(decoder&&) noexcept = default;

const decode_limits& decoder::limits() const noexcept {
  return state_->limits;
}

core::result<image_header> decoder::check(std::span<const std::uint8_t> bytes) const noexcept {
  const decode_limits& limits = state_->limits;
  if (bytes.empty()) return errc::empty;
  if (bytes.size() > limits.max_bytes) return errc::too_large;
  auto header = read_header(bytes);
  if (!header) return header;
  if (header->unsupported_samples) return errc::unsupported_format;
  const std::uint64_t largest = std::max(header->pixel_count(), header->largest_frame_pixels);
  if (largest > limits.max_pixels) return errc::too_many_pixels;
  // largest * bytes_per_pixel > max_decode_bytes, without overflow.
  if (header->bytes_per_pixel > 0 && largest > limits.max_decode_bytes / header->bytes_per_pixel) {
    return errc::too_many_pixels;
  }
  return header;
}

core::result<void> decoder::decode(std::span<const std::uint8_t> bytes,
                                   decoded_image& out) noexcept {
  scan_budget unlimited;
  return decode(bytes, out, unlimited);
}

core::result<void> decoder::decode(std::span<const std::uint8_t> bytes, decoded_image& out,
                                   scan_budget& budget) noexcept {
  out.damaged = false;
  out.frames_in_file = 1;
  const auto header = check(bytes);
  if (!header) {
    out.frames.clear();
    return header.error();
  }
  out.format = header->format;
  out.width = header->width;
  out.height = header->height;
  core::result<void> r;
  try {
    // Library calls that cannot be interrupted (TurboJPEG, libwebp, libtiff's strip decode) are
    // checked before and after; our own loops check inside.
    if (const errc spent = budget.check(); spent != errc{}) {
      r = spent;
    } else {
      switch (header->format) {
        case image_format::jpeg: r = state_->jpeg.decode(bytes, *header, out); break;
        case image_format::png: r = detail::decode_png(bytes, *header, budget, out); break;
        case image_format::gif:
          r = detail::decode_gif(bytes, *header, state_->limits, budget, out);
          break;
        case image_format::webp: r = detail::decode_webp(bytes, *header, out); break;
        case image_format::bmp: r = detail::decode_bmp(bytes, *header, out); break;
        case image_format::tiff:
          r = detail::decode_tiff(bytes, *header, state_->limits, budget, out);
          break;
      }
    }
    if (r) {
      if (const errc spent = budget.check(); spent != errc{}) r = spent;
    }
  } catch (const std::bad_alloc&) {
    r = errc::out_of_memory;
  }
  if (!r) out.frames.clear();
  return r;
}

core::result<decoded_image> decoder::decode(std::span<const std::uint8_t> bytes) noexcept {
  decoded_image out;
  auto r = decode(bytes, out);
  if (!r) return r.error();
  return out;
}

core::result<decoded_image> decode(std::span<const std::uint8_t> bytes,
                                   const decode_limits& limits) noexcept {
  try {
    decoder d(limits);
    return d.decode(bytes);
  } catch (const std::bad_alloc&) {
    return errc::out_of_memory;
  }
}

}  // namespace hashguard::scanner
