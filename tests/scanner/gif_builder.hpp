// Builds GIFs in memory with giflib's encoder, so the tests control every frame, disposal
// method, transparency, offset and interlacing.
#pragma once

#include <gif_lib.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace hg_test {

struct gif_frame {
  int left{}, top{}, width{}, height{};
  std::vector<std::uint8_t> indices;  // width * height, row-major (display order)
  int disposal{DISPOSAL_UNSPECIFIED};
  int transparent{NO_TRANSPARENT_COLOR};
  bool interlace{};
  std::vector<GifColorType> local_colours;  // empty: use the global table
};

inline gif_frame make_frame(int left, int top, int width, int height,
                            std::vector<std::uint8_t> indices, int disposal,
                            int transparent = NO_TRANSPARENT_COLOR) {
  gif_frame f;
  f.left = left;
  f.top = top;
  f.width = width;
  f.height = height;
  f.indices = std::move(indices);
  f.disposal = disposal;
  f.transparent = transparent;
  return f;
}

class gif_builder {
 public:
  static std::vector<std::uint8_t> build(int width, int height, int background,
                                         const std::vector<GifColorType>& global,
                                         const std::vector<gif_frame>& frames) {
    std::vector<std::uint8_t> out;
    int error = 0;
    GifFileType* gif = EGifOpen(&out, write, &error);
    if (gif == nullptr) throw std::runtime_error("EGifOpen failed");
    EGifSetGifVersion(gif, true);
    ColorMapObject* map = make_map(global);
    bool ok = EGifPutScreenDesc(gif, width, height, 8, background, map) == GIF_OK;
    GifFreeMapObject(map);
    for (const gif_frame& f : frames) {
      if (!ok) break;
      GraphicsControlBlock gcb{f.disposal, false, 10, f.transparent};
      GifByteType ext[4];
      const auto len = EGifGCBToExtension(&gcb, ext);
      ok = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(len), ext) == GIF_OK;
      ColorMapObject* local = f.local_colours.empty() ? nullptr : make_map(f.local_colours);
      // giflib 5.2 keeps a copy of the previous frame's local table and, given none for this
      // frame, overwrites the pointer without freeing it.
      if (local == nullptr && gif->Image.ColorMap != nullptr) {
        GifFreeMapObject(gif->Image.ColorMap);
        gif->Image.ColorMap = nullptr;
      }
      ok = ok &&
           EGifPutImageDesc(gif, f.left, f.top, f.width, f.height, f.interlace, local) == GIF_OK;
      if (local != nullptr) GifFreeMapObject(local);
      for (int n = 0; ok && n < f.height; ++n) {
        const int row = f.interlace ? interlaced_row(n, f.height) : n;
        std::vector<GifPixelType> line(f.indices.begin() + row * f.width,
                                       f.indices.begin() + (row + 1) * f.width);
        ok = EGifPutLine(gif, line.data(), f.width) == GIF_OK;
      }
    }
    if (EGifCloseFile(gif, &error) != GIF_OK || !ok) throw std::runtime_error("GIF encode failed");
    return out;
  }

 private:
  static int write(GifFileType* gif, const GifByteType* data, int n) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(gif->UserData);
    out->insert(out->end(), data, data + n);
    return n;
  }
  static ColorMapObject* make_map(std::vector<GifColorType> colours) {
    // giflib wants a power of two entries.
    std::size_t size = 2;
    while (size < colours.size()) size *= 2;
    colours.resize(size, GifColorType{0, 0, 0});
    return GifMakeMapObject(static_cast<int>(size), colours.data());
  }
  static int interlaced_row(int n, int height) {
    const int start[4] = {0, 4, 2, 1};
    const int step[4] = {8, 8, 4, 2};
    for (int pass = 0; pass < 4; ++pass) {
      const int rows =
          height > start[pass] ? (height - start[pass] + step[pass] - 1) / step[pass] : 0;
      if (n < rows) return start[pass] + n * step[pass];
      n -= rows;
    }
    return 0;
  }
};

}  // namespace hg_test
