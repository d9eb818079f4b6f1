// Test helper: enters the video sandbox (video_sandbox.hpp) with AS_BYTES and CPU_SECONDS,
// then tries ACTION and exits 0 when the sandbox stopped it as it should, 1 when it did not:
//   socket  socket(AF_INET) must fail (EPERM)
//   alloc   malloc(2 x AS_BYTES) must return null
//   spin    burns CPU forever: RLIMIT_CPU must kill the process (the test checks the signal)
//   exec    execve("/bin/true") must kill the process (the seccomp filter's default action)
// Exit 4: the sandbox could not be entered.
#include "hashguard/scanner/video_sandbox.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  hashguard::scanner::video_sandbox_limits limits;
  limits.address_space_bytes = std::stoull(argv[1]);
  limits.cpu_seconds = static_cast<std::uint32_t>(std::stoul(argv[2]));
  const std::string action = argv[3];
  if (!hashguard::scanner::enter_video_sandbox(limits)) return 4;
  if (action == "socket") {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    return fd < 0 && errno == EPERM ? 0 : 1;
  }
  if (action == "alloc") {
    void* p = std::malloc(static_cast<std::size_t>(limits.address_space_bytes) * 2);
    const bool refused = p == nullptr;
    std::free(p);
    return refused ? 0 : 1;
  }
  if (action == "spin") {
    volatile std::uint64_t x = 0;
    while (true) x = x + 1;
  }
  if (action == "exec") {
    char* args[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", args, nullptr);
    return 1;
  }
  return 2;
}
