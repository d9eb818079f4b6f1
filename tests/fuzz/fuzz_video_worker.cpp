// libFuzzer target: the video worker's side (scanner/video_worker.hpp run_video_worker) with the
// real decoder (hash_video), in process and without the sandbox: the input is the video's
// bytes, framed as the caller frames a request (the wire format in scanner/src/video_worker.cpp)
// with limits scaled down so one input stays in the milliseconds. Checked: the worker answers
// (exit status 0 and an answer starting with the wire magic) for every input; a crash, a leak
// or an allocation over -malloc_limit_mb is the fuzzer's finding.
#include "hashguard/scanner/video_worker.hpp"
#include "hashguard/scanner/vpdq.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

template <class T>
void put(std::string& out, T v) {
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);  // little-endian hosts only, as the worker's wire format
  out.append(b, sizeof v);
}

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1U << 20U)) return 0;
  std::string request("HGV1", 4);
  put<double>(request, 1.0);                // seconds per hash
  put<std::uint32_t>(request, 0);           // downsample
  put<std::uint64_t>(request, 1U << 20U);   // max_bytes
  put<std::uint32_t>(request, 8);           // max_streams
  put<std::uint64_t>(request, 640 * 480);   // max_pixels
  put<double>(request, 60.0);               // max_duration_s
  put<std::uint64_t>(request, 300);         // max_frames
  put<std::uint64_t>(request, 20'000'000);  // max_total_pixels
  put<std::uint64_t>(request, size);
  request.append(reinterpret_cast<const char*>(data), size);  // NOLINT

  const int in = ::memfd_create("fuzz-video-in", MFD_CLOEXEC);
  const int out = ::memfd_create("fuzz-video-out", MFD_CLOEXEC);
  if (in < 0 || out < 0) std::abort();
  if (!write_all(in, request.data(), request.size()) || ::lseek(in, 0, SEEK_SET) != 0) {
    std::abort();
  }
  const int status = hashguard::scanner::run_video_worker(in, out, hashguard::scanner::hash_video);
  char magic[4] = {};
  if (status != 0 || ::pread(out, magic, sizeof magic, 0) != 4 ||
      std::memcmp(magic, "HGV1", 4) != 0) {
    std::abort();
  }
  ::close(in);
  ::close(out);
  return 0;
}
