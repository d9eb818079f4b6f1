#include "vector_images.hpp"

#include "hashguard/core/parse.hpp"

#include <openssl/evp.h>
#include <png.h>
#include <turbojpeg.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

namespace hashguard::test {

namespace {

std::optional<scanner::pixels> decode_png(const std::vector<unsigned char>& bytes,
                                          std::string& error) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()) == 0) {
    error = image.message;
    return std::nullopt;
  }
  const bool colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
  // Read with alpha whenever the file may have it, then drop it: asking png_image for a
  // format without alpha composites, which the reference's decoder does not do.
  image.format = colour ? PNG_FORMAT_RGBA : PNG_FORMAT_GA;
  const std::size_t in_channels = colour ? 4 : 2;
  std::vector<unsigned char> buffer(PNG_IMAGE_SIZE(image));
  if (png_image_finish_read(&image, nullptr, buffer.data(), 0, nullptr) == 0) {
    error = image.message;
    png_image_free(&image);
    return std::nullopt;
  }
  scanner::pixels out;
  out.width = image.width;
  out.height = image.height;
  out.channels = colour ? 3 : 1;
  const std::size_t n = std::size_t{out.width} * out.height;
  out.data.resize(n * out.channels);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < out.channels; ++c) {
      out.data[i * out.channels + c] = buffer[i * in_channels + c];
    }
  }
  return out;
}

std::optional<scanner::pixels> decode_jpeg(const std::vector<unsigned char>& bytes,
                                           std::string& error) {
  tjhandle handle = tjInitDecompress();
  if (handle == nullptr) {
    error = "tjInitDecompress failed";
    return std::nullopt;
  }
  int width = 0;
  int height = 0;
  int subsamp = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(handle, bytes.data(), static_cast<unsigned long>(bytes.size()), &width,
                          &height, &subsamp, &colorspace) != 0) {
    error = tjGetErrorStr2(handle);
    tjDestroy(handle);
    return std::nullopt;
  }
  scanner::pixels out;
  out.width = static_cast<std::uint32_t>(width);
  out.height = static_cast<std::uint32_t>(height);
  const std::size_t n = std::size_t{out.width} * out.height;
  int rc = 0;
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    // TurboJPEG will not convert CMYK to RGB; djpeg's conversion is R = C*K/255 rounded.
    std::vector<unsigned char> cmyk(n * 4);
    rc = tjDecompress2(handle, bytes.data(), static_cast<unsigned long>(bytes.size()), cmyk.data(),
                       width, 0, height, TJPF_CMYK, 0);
    out.channels = 3;
    out.data.resize(n * 3);
    for (std::size_t i = 0; i < n; ++i) {
      const double k = cmyk[i * 4 + 3];
      for (std::size_t c = 0; c < 3; ++c) {
        out.data[i * 3 + c] = static_cast<unsigned char>(cmyk[i * 4 + c] * k / 255.0 + 0.5);
      }
    }
  } else if (colorspace == TJCS_GRAY) {
    out.channels = 1;
    out.data.resize(n);
    rc = tjDecompress2(handle, bytes.data(), static_cast<unsigned long>(bytes.size()),
                       out.data.data(), width, 0, height, TJPF_GRAY, 0);
  } else {
    out.channels = 3;
    out.data.resize(n * 3);
    rc = tjDecompress2(handle, bytes.data(), static_cast<unsigned long>(bytes.size()),
                       out.data.data(), width, 0, height, TJPF_RGB, 0);
  }
  if (rc != 0) {
    error = tjGetErrorStr2(handle);
    tjDestroy(handle);
    return std::nullopt;
  }
  tjDestroy(handle);
  return out;
}

std::optional<scanner::pixels> decode_with_opencv(const std::vector<unsigned char>& bytes,
                                                  std::string& error) {
  const cv::Mat bgr = cv::imdecode(bytes, cv::IMREAD_COLOR);
  if (bgr.empty()) {
    error = "cv::imdecode failed";
    return std::nullopt;
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  scanner::pixels out;
  out.width = static_cast<std::uint32_t>(rgb.cols);
  out.height = static_cast<std::uint32_t>(rgb.rows);
  out.channels = 3;
  out.data.resize(std::size_t{out.width} * out.height * 3);
  for (int y = 0; y < rgb.rows; ++y) {
    const unsigned char* row = rgb.ptr<unsigned char>(y);
    std::copy(row, row + std::size_t{out.width} * 3,
              out.data.begin() + static_cast<std::ptrdiff_t>(std::size_t(y) * out.width * 3));
  }
  return out;
}

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  return out;
}

}  // namespace

std::filesystem::path vectors_dir() {
  return std::filesystem::path(HG_TEST_DATA) / "pdq-vectors";
}

std::vector<unsigned char> read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::optional<scanner::pixels> decode_vector_image(const std::filesystem::path& file,
                                                   std::string& error) {
  const std::vector<unsigned char> bytes = read_file(file);
  if (bytes.size() < 4) {
    error = "missing or empty file";
    return std::nullopt;
  }
  if (bytes[0] == 0x89 && bytes[1] == 'P') return decode_png(bytes, error);
  if (bytes[0] == 0xFF && bytes[1] == 0xD8) return decode_jpeg(bytes, error);
  return decode_with_opencv(bytes, error);
}

std::string rgb_md5(const scanner::pixels_view& image) {
  std::vector<unsigned char> rgb;
  const std::size_t n = std::size_t{image.width} * image.height;
  rgb.reserve(n * 3);
  for (std::size_t i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) {
      rgb.push_back(image.channels == 1 ? image.data[i]
                                        : image.data[i * 3 + static_cast<std::size_t>(c)]);
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(rgb.data(), rgb.size(), digest, &length, EVP_md5(), nullptr);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

std::vector<vector_row> read_vector_csv(const std::string& name) {
  std::ifstream in(vectors_dir() / "expected" / name);
  std::vector<vector_row> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto f = split(line, ',');
    if (f.size() != 14) continue;
    vector_row r;
    r.file = f[0];
    r.width = core::parse_int<unsigned>(f[1]).value();
    r.height = core::parse_int<unsigned>(f[2]).value();
    r.channels = core::parse_int<unsigned>(f[3]).value();
    r.pdq = f[4];
    r.quality = core::parse_int<int>(f[5]).value();
    r.dihedral.assign(f.begin() + 6, f.begin() + 13);
    r.decoded_rgb_md5 = f[13];
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace hashguard::test
