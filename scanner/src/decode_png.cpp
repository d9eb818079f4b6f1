// PNG through libpng's low-level read API.
//
// Why not png_image (libpng's simplified API): it treats sample values as light to be managed,
// not as stored numbers. It applies a file's gAMA when it differs from sRGB, reads 16-bit
// files with alpha through linear light, and composites alpha when asked for RGB. The PDQ
// reference (ImageMagick) hashes the stored samples, so every one of those changes a hash. The
// low-level API does only the transformations asked for: palette and low bit depths expanded,
// alpha stripped; 16-bit samples are read as stored and reduced to 8 bits here, as
// ImageMagick reduces them (floor(v / 257)).
//
// libpng reports errors by longjmp. The setjmp lives in read_info() and read_rows() below,
// whose frames and whose callees' frames (libpng's, and png_read's) hold no object with a
// destructor, so the longjmp skips nothing; it never crosses a C++ frame that needs unwinding.
#include "decode_internal.hpp"

#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>

namespace hashguard::scanner::detail {

namespace {

struct png_job {
  bytes_t bytes;
  std::size_t pos{};
  char message[128]{};  // libpng's error text
  std::uint32_t rows_done{};
  bool interlaced{};
  bool sixteen_bit{};
  errc spent{};  // the budget's errc when it stopped the rows
};

void on_error(png_structp png, png_const_charp message) {
  auto* job = static_cast<png_job*>(png_get_error_ptr(png));
  std::strncpy(job->message, message, sizeof(job->message) - 1);
  png_longjmp(png, 1);
}

void on_warning(png_structp /*png*/, png_const_charp /*message*/) {
  // Warnings (a bad ancillary chunk CRC, an unknown chunk) do not change the pixels.
}

void png_read(png_structp png, png_bytep out, png_size_t length) {
  auto* job = static_cast<png_job*>(png_get_io_ptr(png));
  if (length > job->bytes.size() - job->pos) png_error(png, "read beyond end of data");
  std::memcpy(out, job->bytes.data() + job->pos, length);
  job->pos += length;
}

struct png_info {
  std::uint32_t width;
  std::uint32_t height;
  std::uint32_t channels;  // after our transformations: 1 or 3
};

// Stage 1: header and transformations. Returns false on a libpng error (message in job).
// Only trivially destructible locals here and in read_rows: longjmp lands in these frames.
bool read_info(png_structp png, png_infop info, png_job& job, png_info& out) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  png_set_read_fn(png, &job, png_read);
  png_read_info(png, info);
  const png_byte colour_type = png_get_color_type(png, info);
  const png_byte depth = png_get_bit_depth(png, info);
  if (colour_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if ((colour_type & PNG_COLOR_MASK_COLOR) == 0 && depth < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  job.sixteen_bit = depth == 16;
  // Alpha from an alpha channel, or from tRNS (which the expansions above turn into an alpha
  // channel), is dropped: the stored colour stays, as the reference keeps it.
  png_set_strip_alpha(png);
  job.interlaced = png_set_interlace_handling(png) > 1;
  png_read_update_info(png, info);
  out.width = png_get_image_width(png, info);
  out.height = png_get_image_height(png, info);
  out.channels = png_get_channels(png, info);
  return png_get_bit_depth(png, info) == (job.sixteen_bit ? 16 : 8);
}

// 16-bit big-endian samples to 8 bits, in place, as ImageMagick 6 (the reference's decoder)
// reduces them: floor(v / 257), which gives each 8-bit value the 257 16-bit codes v8 * 257
// expands to. (png_set_strip_16 would truncate v >> 8 and png_set_scale_16 would round; both
// disagree with the reference on about a third of the values.)
void reduce_16_to_8(std::vector<std::uint8_t>& data, std::size_t samples) noexcept {
  std::uint8_t* p = data.data();
  for (std::size_t i = 0; i < samples; ++i) {
    const unsigned v = static_cast<unsigned>(p[2 * i]) << 8 | p[2 * i + 1];
    p[i] = static_cast<std::uint8_t>(v / 257U);
  }
  data.resize(samples);
}

// Stage 2: the rows, into row pointers prepared by the caller. job.rows_done counts rows of
// the last pass finished, so a truncated file keeps what was read. The budget is checked
// every `rows_per_check` rows (about 256 KiB of samples); a spent one sets job.spent.
bool read_rows(png_structp png, png_job& job, png_bytepp rows, std::uint32_t height,
               std::uint32_t rows_per_check, scan_budget& budget) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  const int passes = job.interlaced ? 7 : 1;
  for (int pass = 0; pass < passes; ++pass) {
    for (std::uint32_t y = 0; y < height; ++y) {
      if (y % rows_per_check == 0) {
        job.spent = budget.check();
        if (job.spent != errc{}) return false;
      }
      png_read_row(png, rows[y], nullptr);
      if (pass == passes - 1) job.rows_done = y + 1;
    }
  }
  return true;
}

struct png_handles {
  png_structp png{};
  png_infop info{};
  ~png_handles() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
};

errc classify(const png_job& job) noexcept {
  if (std::strstr(job.message, "end of data") != nullptr ||
      std::strstr(job.message, "Not enough image data") != nullptr) {
    return errc::truncated;
  }
  if (std::strstr(job.message, "memory") != nullptr) return errc::out_of_memory;
  return errc::corrupt;
}

}  // namespace

core::result<void> decode_png(bytes_t bytes, const image_header& header, scan_budget& budget,
                              decoded_image& out) {
  png_job job{bytes};
  png_handles h;
  h.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_error, on_warning);
  if (h.png == nullptr) return errc::out_of_memory;
  h.info = png_create_info_struct(h.png);
  if (h.info == nullptr) return errc::out_of_memory;
  // The header check already enforced the pixel cap; let libpng refuse anything else.
  png_set_user_limits(h.png, header.width, header.height);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // Fuzz builds only (HG_FUZZ, scripts/fuzz): mutated chunks reach the decoder instead of
  // stopping at their CRC or zlib checksum.
  png_set_crc_action(h.png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
  png_set_option(h.png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif

  png_info shape_out{};
  if (!read_info(h.png, h.info, job, shape_out)) return classify(job);
  if (shape_out.width != header.width || shape_out.height != header.height ||
      (shape_out.channels != 1 && shape_out.channels != 3)) {
    return errc::corrupt;
  }

  out.frames.resize(1);
  pixels& frame = out.frames.front();
  // 16-bit files are read whole at 16 bits into the same buffer, then reduced in place.
  const std::uint32_t bytes_per_sample = job.sixteen_bit ? 2 : 1;
  shape(frame, header.width, header.height, shape_out.channels * bytes_per_sample);
  frame.channels = shape_out.channels;
  const std::size_t stride = std::size_t{header.width} * shape_out.channels * bytes_per_sample;
  // Interlaced passes fill each row bit by bit: start from black so a cut-off file shows no
  // stale memory.
  if (job.interlaced) std::memset(frame.data.data(), 0, frame.data.size());
  std::vector<png_bytep> rows(header.height);
  for (std::uint32_t y = 0; y < header.height; ++y) rows[y] = frame.data.data() + y * stride;

  const auto rows_per_check =
      static_cast<std::uint32_t>(std::max<std::size_t>(1, (std::size_t{256} << 10U) / stride));
  if (!read_rows(h.png, job, rows.data(), header.height, rows_per_check, budget)) {
    if (job.spent != errc{}) return job.spent;
    const errc e = classify(job);
    // Data that ends or breaks after some rows keeps them, as browsers show it (and as the
    // JPEG decoder does); the rest is black. No complete row at all is an error.
    if (e == errc::out_of_memory || job.rows_done == 0) return e;
    if (!job.interlaced) {
      std::memset(frame.data.data() + job.rows_done * stride, 0,
                  (header.height - job.rows_done) * stride);
    }
    out.damaged = true;
  }
  if (job.sixteen_bit) {
    reduce_16_to_8(frame.data, std::size_t{header.width} * header.height * shape_out.channels);
  }
  return {};
}

}  // namespace hashguard::scanner::detail
