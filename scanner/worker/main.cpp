// hashguard-video-worker AS_BYTES CPU_SECONDS: the sandboxed video decoder process
// (video_worker.hpp). Started by video_worker::hash with its stdin and stdout on a socket; it
// closes every other descriptor, enters the sandbox (video_sandbox.hpp), hashes one video and
// exits. Exit status: 0 an answer was written, 2 bad arguments, 3 a broken request or pipe,
// 4 the sandbox could not be entered.
#include "hashguard/scanner/video_sandbox.hpp"
#include "hashguard/scanner/video_worker.hpp"
#include "hashguard/scanner/vpdq.hpp"

#include <unistd.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <string_view>

namespace {

template <typename T>
bool parse(const char* text, T& value) {
  const std::string_view s(text);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc{} && end == s.data() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
  hashguard::scanner::video_sandbox_limits limits;
  if (argc != 3 || !parse(argv[1], limits.address_space_bytes) ||
      !parse(argv[2], limits.cpu_seconds) || limits.cpu_seconds == 0) {
    return 2;
  }
  for (int fd = 3; fd < 1024; ++fd) ::close(fd);  // nothing inherited beyond the pipes
  if (!hashguard::scanner::enter_video_sandbox(limits)) return 4;
  return hashguard::scanner::run_video_worker(0, 1, &hashguard::scanner::hash_video);
}
