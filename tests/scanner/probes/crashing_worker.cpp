// Test helper: a "video worker" that reads part of its request and then crashes (SIGSEGV by
// raise), as a decoder hit by a hostile video would: video_worker must answer decoder_crashed.
#include <signal.h>
#include <unistd.h>

#include <cstddef>

int main() {
  char buffer[256];
  ssize_t got = 0;
  while (got < static_cast<ssize_t>(sizeof buffer)) {
    const ssize_t n = ::read(0, buffer + got, sizeof buffer - static_cast<std::size_t>(got));
    if (n <= 0) break;
    got += n;
  }
  ::raise(SIGSEGV);
  return 0;
}
