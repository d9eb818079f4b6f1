// GIF through giflib, one record and one row at a time (never DGifSlurp, which would hold every
// frame of the file at once). giflib reports errors by return value; the read callback below
// only copies bytes and cannot throw, so nothing unwinds through giflib's frames.
#include "decode_internal.hpp"

#include <gif_lib.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace hashguard::scanner::detail {

namespace {

struct memory_source {
  bytes_t bytes;
  std::size_t pos{};
};

int gif_read(GifFileType* gif, GifByteType* buffer, int wanted) noexcept {
  auto* source = static_cast<memory_source*>(gif->UserData);
  const std::size_t left = source->bytes.size() - source->pos;
  const std::size_t n = std::min(left, static_cast<std::size_t>(std::max(wanted, 0)));
  if (n > 0) std::memcpy(buffer, source->bytes.data() + source->pos, n);
  source->pos += n;
  return static_cast<int>(n);
}

struct gif_closer {
  GifFileType* gif;
  ~gif_closer() {
    int error = 0;
    if (gif != nullptr) DGifCloseFile(gif, &error);
  }
};

using rgb = std::array<std::uint8_t, 3>;

rgb colour_at(const ColorMapObject* map, int index) noexcept {
  if (map == nullptr || index < 0 || index >= map->ColorCount) return {0, 0, 0};
  const GifColorType& c = map->Colors[index];
  return {c.Red, c.Green, c.Blue};
}

void fill_rect(std::vector<std::uint8_t>& canvas, std::uint32_t canvas_width, std::uint32_t x0,
               std::uint32_t y0, std::uint32_t x1, std::uint32_t y1, rgb colour) noexcept {
  for (std::uint32_t y = y0; y < y1; ++y) {
    std::uint8_t* row = canvas.data() + (std::size_t{y} * canvas_width) * 3;
    for (std::uint32_t x = x0; x < x1; ++x) std::memcpy(row + std::size_t{x} * 3, colour.data(), 3);
  }
}

void copy_rect(const std::vector<std::uint8_t>& from, std::vector<std::uint8_t>& to,
               std::uint32_t canvas_width, std::uint32_t x0, std::uint32_t y0, std::uint32_t x1,
               std::uint32_t y1) noexcept {
  for (std::uint32_t y = y0; y < y1; ++y) {
    const std::size_t offset = (std::size_t{y} * canvas_width + x0) * 3;
    std::memcpy(to.data() + offset, from.data() + offset, std::size_t{x1 - x0} * 3);
  }
}

// The row that the n-th decoded line of an interlaced frame belongs to (passes start at rows
// 0, 4, 2, 1 with steps 8, 8, 4, 2).
std::uint32_t interlaced_row(std::uint32_t n, std::uint32_t height) noexcept {
  constexpr std::array<std::uint32_t, 4> start{0, 4, 2, 1};
  constexpr std::array<std::uint32_t, 4> step{8, 8, 4, 2};
  for (std::size_t pass = 0; pass < 4; ++pass) {
    const std::uint32_t rows =
        height > start[pass] ? (height - start[pass] + step[pass] - 1) / step[pass] : 0;
    if (n < rows) return start[pass] + n * step[pass];
    n -= rows;
  }
  return height;  // unreachable for n < height
}

}  // namespace

core::result<void> decode_gif(bytes_t bytes, const image_header& header,
                              const decode_limits& limits, scan_budget& budget,
                              decoded_image& out) {
  memory_source source{bytes};
  int error = 0;
  GifFileType* const gif = DGifOpen(&source, gif_read, &error);
  if (gif == nullptr)
    return error == D_GIF_ERR_NOT_ENOUGH_MEM ? errc::out_of_memory : errc::corrupt;
  const gif_closer closer{gif};
  if (static_cast<std::uint32_t>(gif->SWidth) != header.width ||
      static_cast<std::uint32_t>(gif->SHeight) != header.height) {
    return errc::corrupt;
  }

  const std::uint32_t cw = header.width;
  const std::uint32_t ch = header.height;
  const std::uint64_t canvas_pixels = header.pixel_count();
  const rgb background = colour_at(gif->SColorMap, gif->SBackGroundColor);

  // Each output frame is the canvas after drawing that frame; the next frame's canvas starts
  // as a copy of it with the previous frame's disposal applied. So the frames themselves are
  // the canvas and a still GIF needs one buffer.
  std::vector<std::uint8_t> saved;  // the canvas before a "restore to previous" frame
  std::vector<GifPixelType> line;
  struct rect {
    std::uint32_t x0, y0, x1, y1;
  };
  rect previous_rect{};
  int previous_disposal = DISPOSAL_UNSPECIFIED;

  out.frames_in_file = header.frames;
  std::size_t emitted = 0;
  std::uint64_t emitted_pixels = 0;
  std::uint64_t decoded_pixels = 0;  // the frames' own areas: the LZW work
  const GraphicsControlBlock no_gcb{DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
  GraphicsControlBlock gcb = no_gcb;

  for (;;) {
    // Records are cheap and bounded by the input's size; a clock reading every 1024 of them.
    if (const errc spent = budget.tick(1024); spent != errc{}) return spent;
    GifRecordType record = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif, &record) == GIF_ERROR) break;
    if (record == TERMINATE_RECORD_TYPE) break;
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif, &code, &block) == GIF_ERROR) break;
      if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr &&
          DGifExtensionToGCB(block[0], block + 1, &gcb) == GIF_ERROR) {
        gcb = no_gcb;
      }
      bool ok = true;
      while (ok && block != nullptr) ok = DGifGetExtensionNext(gif, &block) != GIF_ERROR;
      if (!ok) break;
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) break;

    // Every output frame is kept (a canvas of 3 bytes per pixel), plus one saved canvas for
    // "restore to previous": the decode byte budget holds for the animation's buffers
    // together, not only for its largest frame.
    const std::uint64_t canvas_bytes = canvas_pixels * 3;
    const bool saving = !saved.empty() || gcb.DisposalMode == DISPOSE_PREVIOUS;
    const std::uint64_t held_after = (emitted + 1 + (saving ? 1 : 0)) * canvas_bytes;
    if (emitted == limits.max_frames ||
        (emitted > 0 && emitted_pixels + canvas_pixels > limits.max_total_pixels) ||
        (emitted > 0 && held_after > limits.max_decode_bytes)) {
      break;  // the caps end the animation here
    }
    if (const errc spent = budget.check(); spent != errc{}) return spent;  // each frame
    if (DGifGetImageDesc(gif) == GIF_ERROR) break;
    const GifImageDesc& desc = gif->Image;
    const auto fw = static_cast<std::uint32_t>(desc.Width);
    const auto fh = static_cast<std::uint32_t>(desc.Height);
    const auto fx = static_cast<std::uint32_t>(desc.Left);
    const auto fy = static_cast<std::uint32_t>(desc.Top);
    // The rows of a frame are LZW-decoded whether or not they land on the canvas, so the
    // frames' own areas count too: frames far larger than a small screen cannot multiply the
    // work beyond max_total_pixels.
    const std::uint64_t frame_pixels = std::uint64_t{fw} * fh;
    if (emitted > 0 && decoded_pixels + frame_pixels > limits.max_total_pixels) break;
    decoded_pixels += frame_pixels;
    // The part of the frame on the canvas (frames may hang over its edges).
    const rect r{std::min(fx, cw), std::min(fy, ch),
                 static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{fx} + fw, cw)),
                 static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{fy} + fh, ch))};
    const ColorMapObject* map = desc.ColorMap != nullptr ? desc.ColorMap : gif->SColorMap;
    const int transparent = gcb.TransparentColor;

    if (out.frames.size() <= emitted) out.frames.resize(emitted + 1);
    pixels& frame = out.frames[emitted];
    shape(frame, cw, ch, 3);
    std::vector<std::uint8_t>& canvas = frame.data;
    if (emitted == 0) {
      fill_rect(canvas, cw, 0, 0, cw, ch, background);
    } else {
      const std::vector<std::uint8_t>& before = out.frames[emitted - 1].data;
      std::memcpy(canvas.data(), before.data(), canvas.size());
      const rect& p = previous_rect;
      if (previous_disposal == DISPOSE_BACKGROUND) {
        fill_rect(canvas, cw, p.x0, p.y0, p.x1, p.y1, background);
      } else if (previous_disposal == DISPOSE_PREVIOUS) {
        copy_rect(saved, canvas, cw, p.x0, p.y0, p.x1, p.y1);
      }
    }
    if (gcb.DisposalMode == DISPOSE_PREVIOUS) saved = canvas;

    line.resize(fw);
    // LZW decoding of the rows is the frame's work, on the canvas or not: the budget is
    // checked about every 256 Ki pixels.
    const std::uint32_t rows_per_check = std::max<std::uint32_t>(1, (1U << 18U) / std::max(fw, 1U));
    std::uint32_t rows_read = 0;
    for (; rows_read < fh; ++rows_read) {
      if (rows_read % rows_per_check == 0) {
        if (const errc spent = budget.check(); spent != errc{}) return spent;
      }
      if (DGifGetLine(gif, line.data(), static_cast<int>(fw)) == GIF_ERROR) break;
      const std::uint32_t y = fy + (desc.Interlace ? interlaced_row(rows_read, fh) : rows_read);
      if (y < r.y0 || y >= r.y1) continue;
      std::uint8_t* row = canvas.data() + std::size_t{y} * cw * 3;
      for (std::uint32_t x = r.x0; x < r.x1; ++x) {
        const int index = line[x - fx];
        if (index == transparent) continue;
        const rgb c = colour_at(map, index);
        std::memcpy(row + std::size_t{x} * 3, c.data(), 3);
      }
    }
    if (rows_read < fh) {
      // A frame cut short is kept as far as it was read (as browsers show it) and ends the
      // animation; one of which nothing was read is dropped.
      out.damaged = true;
      if (rows_read > 0) ++emitted;
      break;
    }
    ++emitted;
    emitted_pixels += canvas_pixels;
    previous_rect = r;
    previous_disposal = gcb.DisposalMode;
    gcb = no_gcb;
  }

  out.frames.resize(emitted);
  if (emitted == 0) {
    if (gif->Error == D_GIF_ERR_NOT_ENOUGH_MEM) return errc::out_of_memory;
    return gif->Error == D_GIF_ERR_READ_FAILED ? errc::truncated : errc::corrupt;
  }
  // A read error between frames (after the last complete one) also means damage.
  if (gif->Error != 0 && emitted < header.frames && emitted < limits.max_frames) {
    out.damaged = true;
  }
  return {};
}

}  // namespace hashguard::scanner::detail
